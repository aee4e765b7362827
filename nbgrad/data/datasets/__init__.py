"""Datasets: small ones that ship with nbgrad and work offline, and MNIST/FashionMNIST downloaders.

Offline (bundled, each loads in milliseconds):

* :func:`load_digits` / :class:`Digits`: 1,797 handwritten digits of 8x8 pixels, 10 classes
  (UCI, E. Alpaydin and C. Kaynak, CC BY 4.0);
* :func:`load_text` / :class:`CharDataset`: seven Shakespeare plays (public domain) for
  character-level models;
* :func:`make_moons`, :func:`make_spirals`, :func:`make_blobs`, :func:`make_sine`: synthetic data.

Downloaded on first use, with checksums: :class:`MNIST`, :class:`FashionMNIST`.

Example::

    >>> from nbgrad.data import DataLoader
    >>> from nbgrad.data.datasets import Digits
    >>> loader = DataLoader(Digits(train=True), batch_size=64, shuffle=True)
    >>> images, labels = next(iter(loader))
    >>> images.shape, labels.dtype
    (nbgrad.Size([64, 1, 8, 8]), dtype('int64'))
"""

from nbgrad.data.datasets.digits import Digits, load_digits
from nbgrad.data.datasets.mnist import MNIST, FashionMNIST, read_idx
from nbgrad.data.datasets.synthetic import make_blobs, make_moons, make_sine, make_spirals
from nbgrad.data.datasets.text import CharDataset, load_text

__all__ = [
    "MNIST",
    "CharDataset",
    "Digits",
    "FashionMNIST",
    "load_digits",
    "load_text",
    "make_blobs",
    "make_moons",
    "make_sine",
    "make_spirals",
    "read_idx",
]
