"""Handwritten digits, 8x8 pixels: 1,797 images in 10 classes, shipped with nbgrad (no download).

Data: E. Alpaydin and C. Kaynak, *Optical Recognition of Handwritten Digits*, UCI Machine
Learning Repository (1998), https://doi.org/10.24432/C50P49, licensed CC BY 4.0 — the
1,797-image copy that scikit-learn distributes as ``load_digits``. See
``nbgrad/data/datasets/_files/README.md``.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from nbgrad.data.datasets._image import ImageClassification

_FILE = Path(__file__).parent / "_files" / "digits.npz"
_SPLITS = ("all", "train", "test")


@functools.cache
def _arrays() -> tuple:
    """(images uint8 (N, 8, 8) in 0..16, labels uint8 (N,), test mask): read once per process."""
    with np.load(_FILE) as f:
        arrays = f["images"], f["labels"], f["test"].astype(bool)
    for a in arrays:
        a.flags.writeable = False  # shared by every Digits instance
    return arrays


def _select(split: str) -> tuple:
    images, labels, test = _arrays()
    if split == "all":
        return images, labels
    mask = test if split == "test" else ~test
    return images[mask], labels[mask]


class Digits(ImageClassification):
    """The 8x8 handwritten digits as a dataset of ``(image, label)`` pairs.

    A fixed stratified split (20% of each class, chosen once with a seeded shuffle and
    stored with the data) gives 1,438 training and 359 test images.

    Args:
        train: ``True`` for the training part, ``False`` for the test part, ``None`` for all 1,797.
        transform: applied to each image tensor.
        target_transform: applied to each label.
        flatten: images of shape ``(64,)`` instead of ``(1, 8, 8)``, for an MLP.

    Shape:
        - image: ``(1, 8, 8)`` float32 in [0, 1] (pixel counts 0..16 divided by 16), or ``(64,)``.
        - label: an int in 0..9.

    Example::

        >>> from nbgrad.data.datasets import Digits
        >>> train = Digits(train=True)
        >>> len(train), len(Digits(train=False))
        (1438, 359)
        >>> image, label = train[0]
        >>> image.shape, label
        (nbgrad.Size([1, 8, 8]), 0)
    """

    classes = [str(d) for d in range(10)]

    def __init__(self, train: "bool | None" = True, transform=None, target_transform=None, flatten: bool = False):
        if train not in (True, False, None):
            raise ValueError(f"Digits: train must be True, False or None (all images), got {train!r}")
        self.train = train
        images, labels = _select({True: "train", False: "test", None: "all"}[train])
        self._init_arrays(images, labels, 16.0, flatten, transform, target_transform)


def load_digits(split: str = "all", flatten: bool = False) -> tuple:
    """The handwritten digits as two tensors ``(images, labels)``.

    Args:
        split: ``"all"`` (1,797 images), ``"train"`` (1,438) or ``"test"`` (359), the split of :class:`Digits`.
        flatten: images of shape ``(N, 64)`` instead of ``(N, 1, 8, 8)``.

    Returns:
        ``images``: float32 in [0, 1], shape ``(N, 1, 8, 8)`` or ``(N, 64)``;
        ``labels``: int64, shape ``(N,)``.

    Example::

        >>> from nbgrad.data.datasets import load_digits
        >>> x, y = load_digits()
        >>> x.shape, y.shape, x.dtype, y.dtype
        (nbgrad.Size([1797, 1, 8, 8]), nbgrad.Size([1797]), dtype('float32'), dtype('int64'))
        >>> float(x.max()), y[:5].tolist()
        (1.0, [0, 1, 2, 3, 4])
    """
    if split not in _SPLITS:
        raise ValueError(f"load_digits: split must be one of {_SPLITS}, got {split!r}")
    return Digits(train={"all": None, "train": True, "test": False}[split]).arrays(flatten=flatten)
