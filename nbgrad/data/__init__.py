"""Datasets and data loading, with the API of ``torch.utils.data`` (also importable as ``nbgrad.utils.data``).

* :class:`Dataset`, :class:`IterableDataset`, :class:`TensorDataset`, :class:`ConcatDataset`,
  :class:`Subset`, :func:`random_split`;
* :class:`DataLoader` with the samplers and :func:`default_collate`;
* :mod:`nbgrad.data.datasets`: small datasets that ship with nbgrad (handwritten digits,
  a Shakespeare corpus, synthetic moons/spirals/blobs/sine) and MNIST/FashionMNIST downloaders.

Example::

    >>> import nbgrad as nb
    >>> from nbgrad.data import DataLoader, TensorDataset
    >>> x, y = nb.randn(100, 3), nb.randint(0, 2, (100,))
    >>> xb, yb = next(iter(DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True)))
    >>> xb.shape, yb.shape
    (nbgrad.Size([32, 3]), nbgrad.Size([32]))
"""

from nbgrad.data import datasets
from nbgrad.data.dataloader import DataLoader, default_collate, default_convert
from nbgrad.data.dataset import (
    ChainDataset,
    ConcatDataset,
    Dataset,
    IterableDataset,
    Subset,
    TensorDataset,
    random_split,
)
from nbgrad.data.sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)

__all__ = [
    "BatchSampler",
    "ChainDataset",
    "ConcatDataset",
    "DataLoader",
    "Dataset",
    "IterableDataset",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "Subset",
    "SubsetRandomSampler",
    "TensorDataset",
    "WeightedRandomSampler",
    "datasets",
    "default_collate",
    "default_convert",
    "random_split",
]
