"""Datasets: ``Dataset``, ``IterableDataset``, ``TensorDataset``, ``ConcatDataset``, ``Subset``, ``random_split``.

The classes mirror ``torch.utils.data``. A map-style dataset answers ``dataset[i]``
and ``len(dataset)``; an iterable-style dataset is iterated.
"""

from __future__ import annotations

import bisect
import itertools
import math
import numbers
import warnings

import numpy as np

from nbgrad.data import _rng
from nbgrad.tensor import Tensor


class Dataset:
    """A map-style dataset: subclasses define ``__getitem__(index)`` and ``__len__()``.

    ``dataset_a + dataset_b`` concatenates two datasets (a :class:`ConcatDataset`).

    Example::

        >>> import nbgrad as nb
        >>> from nbgrad.data import Dataset
        >>> class Squares(Dataset):
        ...     def __len__(self):
        ...         return 4
        ...     def __getitem__(self, i):
        ...         return i * i
        >>> [x for x in Squares() + Squares()][:6]
        [0, 1, 4, 9, 0, 1]
    """

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__}: a Dataset subclass must define __getitem__")

    def __add__(self, other: "Dataset") -> "ConcatDataset":
        return ConcatDataset([self, other])

    def __iter__(self):
        # Without __iter__, Python would iterate through __getitem__ until an IndexError,
        # which many datasets never raise; stop at len() instead.
        return (self[i] for i in range(len(self)))

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        """Notebook display: the type, length and the first sample's shapes and dtypes."""
        from nbgrad.display.data import dataset_mimebundle

        return dataset_mimebundle(self)


class IterableDataset(Dataset):
    """A dataset that is iterated (a stream), for data that has no random access.

    Subclasses define ``__iter__``. A :class:`DataLoader` groups the items it yields into
    batches; ``shuffle`` and samplers do not apply.

    Example::

        >>> from nbgrad.data import IterableDataset, DataLoader
        >>> class Count(IterableDataset):
        ...     def __iter__(self):
        ...         return iter(range(5))
        >>> [b.tolist() for b in DataLoader(Count(), batch_size=2)]
        [[0, 1], [2, 3], [4]]
    """

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__}: an IterableDataset subclass must define __iter__")

    def __getitem__(self, index):
        raise TypeError(f"{type(self).__name__}: an IterableDataset is iterated, not indexed")

    def __add__(self, other: "IterableDataset") -> "ChainDataset":
        return ChainDataset([self, other])


class TensorDataset(Dataset):
    """Samples are slices of tensors along their first dimension: ``dataset[i] == (t[i] for t in tensors)``.

    NumPy arrays are accepted and wrapped as tensors (sharing memory, keeping their dtype).
    A :class:`DataLoader` with the default ``collate_fn`` indexes the tensors with all of a
    batch's indices at once instead of stacking samples one by one.

    Args:
        *tensors: tensors or arrays with the same size in dimension 0.

    Example::

        >>> import nbgrad as nb
        >>> from nbgrad.data import TensorDataset
        >>> ds = TensorDataset(nb.arange(6).reshape(3, 2), nb.tensor([0, 1, 0]))
        >>> len(ds), ds[1]
        (3, (tensor([2, 3]), tensor(1)))
    """

    def __init__(self, *tensors):
        from nbgrad.creation import as_tensor

        if not tensors:
            raise ValueError("TensorDataset: expected at least one tensor")
        converted = []
        for i, t in enumerate(tensors):
            if not isinstance(t, (Tensor, np.ndarray)):
                raise TypeError(
                    f"TensorDataset: argument {i} must be a Tensor or a NumPy array, got {type(t).__name__}"
                )
            if t.ndim == 0:
                raise ValueError(f"TensorDataset: argument {i} is 0-dimensional; every tensor needs a first dimension")
            converted.append(t if isinstance(t, Tensor) else as_tensor(t))
        sizes = [t.shape[0] for t in converted]
        if any(s != sizes[0] for s in sizes):
            shapes = ", ".join(str(tuple(t.shape)) for t in converted)
            raise ValueError(
                f"TensorDataset: size mismatch between tensors: first dimensions {sizes} (shapes {shapes})"
            )
        self.tensors = tuple(converted)

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]

    def _fetch_batch(self, indices: np.ndarray):
        """The collated batch for ``indices`` (what ``default_collate`` would build), or None if unknown."""
        if type(self).__getitem__ is not TensorDataset.__getitem__:
            return None  # a subclass changed what a sample is
        return [t[indices] for t in self.tensors]


class ConcatDataset(Dataset):
    """The concatenation of map-style datasets: indices run through them in order.

    Example::

        >>> from nbgrad.data import ConcatDataset
        >>> ds = ConcatDataset([[1, 2], [3, 4, 5]])
        >>> len(ds), ds[2], ds[-1]
        (5, 3, 5)
    """

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise TypeError("ConcatDataset: does not support IterableDataset (use ChainDataset)")
        self.cumulative_sizes = list(itertools.accumulate(len(d) for d in self.datasets))

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, index: int):
        n = len(self)
        if index < 0:
            if -index > n:
                raise IndexError(f"ConcatDataset: index {index} is out of range for a dataset of length {n}")
            index += n
        if index >= n:
            raise IndexError(f"ConcatDataset: index {index} is out of range for a dataset of length {n}")
        which = bisect.bisect_right(self.cumulative_sizes, index)
        start = self.cumulative_sizes[which - 1] if which else 0
        return self.datasets[which][index - start]


class ChainDataset(IterableDataset):
    """Iterable datasets chained one after another."""

    def __init__(self, datasets):
        self.datasets = list(datasets)

    def __iter__(self):
        return itertools.chain.from_iterable(self.datasets)

    def __len__(self) -> int:
        return sum(len(d) for d in self.datasets)


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order.

    Example::

        >>> from nbgrad.data import Subset
        >>> s = Subset(["a", "b", "c", "d"], [3, 0])
        >>> len(s), s[0], s[1]
        (2, 'd', 'a')
    """

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, idx):
        if isinstance(idx, list):
            return self.dataset[[self.indices[i] for i in idx]]
        return self.dataset[self.indices[idx]]

    def __len__(self) -> int:
        return len(self.indices)

    def _fetch_batch(self, indices: np.ndarray):
        from nbgrad.data.dataloader import _batch_fetcher  # local: the loader module imports this one

        fetch = _batch_fetcher(self.dataset)
        if fetch is None or type(self).__getitem__ is not Subset.__getitem__:
            return None
        return fetch(np.asarray(self.indices, dtype=np.int64)[indices])


def _fraction_lengths(n: int, fractions) -> list:
    """torch's rule: floor each share, then hand the remainder out one by one from the first split."""
    lengths = [math.floor(n * f) for f in fractions]
    for i in range(n - sum(lengths)):
        lengths[i % len(lengths)] += 1
    for i, length in enumerate(lengths):
        if length == 0:
            warnings.warn(
                f"random_split: length of split at index {i} is 0; this might result in an empty dataset", stacklevel=3
            )
    return lengths


def random_split(dataset, lengths, generator=None) -> list:
    """Split ``dataset`` into non-overlapping random subsets of the given lengths.

    Args:
        dataset: a map-style dataset.
        lengths: sizes that add up to ``len(dataset)``, or fractions that add up to 1
            (sizes are then ``floor(len * fraction)``, the remainder spread from the first split on).
        generator: ``None`` (the global generator seeded by :func:`nbgrad.manual_seed`),
            an int seed or a ``numpy.random.Generator``.

    Example::

        >>> import nbgrad as nb
        >>> from nbgrad.data import random_split
        >>> train, val = random_split(range(10), [0.8, 0.2], generator=0)
        >>> len(train), len(val), sorted(list(train) + list(val)) == list(range(10))
        (8, 2, True)
    """
    n = len(dataset)
    lengths = list(lengths)
    if not lengths:
        raise ValueError("random_split: lengths must not be empty")
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        for i, frac in enumerate(lengths):
            if not 0 <= frac <= 1:
                raise ValueError(f"random_split: fraction at index {i} is not between 0 and 1: {frac}")
        lengths = _fraction_lengths(n, lengths)
    if any(not isinstance(x, numbers.Integral) or x < 0 for x in lengths):
        raise ValueError(f"random_split: lengths must be non-negative ints or fractions that sum to 1, got {lengths}")
    if sum(lengths) != n:
        raise ValueError(
            f"random_split: sum of input lengths ({sum(lengths)}) does not equal the length of the input dataset ({n})"
        )
    perm = _rng.resolve(_rng.as_generator(generator, "random_split")).permutation(n).tolist()
    bounds = list(itertools.accumulate(lengths))
    return [Subset(dataset, perm[end - length : end]) for length, end in zip(lengths, bounds)]
