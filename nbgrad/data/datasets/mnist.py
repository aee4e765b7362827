"""MNIST and Fashion-MNIST, downloaded on first use into a cache folder and checked against published MD5s."""

from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path

import numpy as np

from nbgrad.data.datasets import _download
from nbgrad.data.datasets._image import ImageClassification

# IDX type codes (http://yann.lecun.com/exdb/mnist/): the data are big-endian.
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path) -> np.ndarray:
    """Parse an IDX file (gzip-compressed when its name ends in ``.gz``) into a NumPy array.

    Raises:
        ValueError: naming the file, when it is not a well-formed IDX file.
    """
    path = Path(path)
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as f:
                raw = f.read()
        else:
            raw = path.read_bytes()
    except (OSError, EOFError, zlib.error) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise ValueError(f"read_idx: {path} is not a readable gzip file: {exc}") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise ValueError(f"read_idx: {path} is not an IDX file (magic number {raw[:4].hex() or 'missing'})")
    dtype, ndim = np.dtype(_IDX_DTYPES[raw[2]]), raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"read_idx: {path} is truncated inside its header")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ValueError(
            f"read_idx: {path} holds {len(raw) - header} bytes of data, but its header announces shape {shape} "
            f"of {dtype.newbyteorder('=')} ({expected} bytes)"
        )
    return np.frombuffer(raw, dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="), copy=False)


class MNIST(ImageClassification):
    """The MNIST handwritten digits: 60,000 training and 10,000 test images of 28x28 pixels.

    The two files of the requested part are downloaded on first use into
    ``root/MNIST/raw/`` (torchvision's layout, so a folder filled by torchvision works
    too) from the first of :attr:`mirrors` that answers, and verified against the MD5
    checksums torchvision publishes. Later uses read the cached files (checking their MD5)
    and need no network.

    Data: Yann LeCun, Corinna Cortes and Christopher J.C. Burges, *The MNIST database of
    handwritten digits*, licensed CC BY-SA 3.0.

    Args:
        root: the cache folder; default ``~/.cache/nbgrad`` (``$XDG_CACHE_HOME/nbgrad``).
        train: the 60,000 training images (``True``) or the 10,000 test images.
        transform: applied to each image tensor.
        target_transform: applied to each label.
        download: fetch missing files; with ``False`` a missing file raises.
        flatten: images of shape ``(784,)`` instead of ``(1, 28, 28)``.

    Shape:
        - image: ``(1, 28, 28)`` float32 in [0, 1] (pixels divided by 255), or ``(784,)``.
        - label: an int in 0..9.

    Example::

        >>> from nbgrad.data.datasets import MNIST
        >>> train = MNIST(train=True)  # doctest: +SKIP
        >>> image, label = train[0]  # doctest: +SKIP
        >>> image.shape, label  # doctest: +SKIP
        (nbgrad.Size([1, 28, 28]), 5)
    """

    #: base URLs tried in order; each gets the file name appended.
    mirrors = ["https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"]
    #: (file name, MD5) of the training images, training labels, test images and test labels.
    resources = [
        ("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
        ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
        ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
        ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"),
    ]
    classes = [
        "0 - zero",
        "1 - one",
        "2 - two",
        "3 - three",
        "4 - four",
        "5 - five",
        "6 - six",
        "7 - seven",
        "8 - eight",
        "9 - nine",
    ]

    def __init__(
        self,
        root=None,
        train: bool = True,
        transform=None,
        target_transform=None,
        download: bool = True,
        flatten: bool = False,
    ):
        name = type(self).__name__
        if not isinstance(train, bool):
            raise ValueError(f"{name}: train must be True or False, got {train!r}")
        self.root = Path(root).expanduser() if root is not None else _download.default_root()
        self.train = train
        images_file, labels_file = self.resources[:2] if train else self.resources[2:]
        images, labels = (read_idx(self._file(f, md5, download)) for f, md5 in (images_file, labels_file))
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise ValueError(
                f"{name}: expected images (N, H, W) and labels (N,), got shapes {images.shape} and {labels.shape} "
                f"in {self.raw_folder}"
            )
        self._init_arrays(images, labels, 255.0, flatten, transform, target_transform)

    @property
    def raw_folder(self) -> Path:
        return self.root / type(self).__name__ / "raw"

    def _file(self, filename: str, md5: str, download: bool) -> Path:
        path = self.raw_folder / filename
        if download:
            urls = [base.rstrip("/") + "/" + filename for base in self.mirrors]
            return _download.download(urls, path, md5, type(self).__name__)
        if not path.is_file():
            raise RuntimeError(f"{type(self).__name__}: dataset not found: {path} is missing; use download=True")
        return path


class FashionMNIST(MNIST):
    """Fashion-MNIST: 28x28 grey-scale images of 10 kinds of clothing, 60,000 for training and 10,000 for test.

    The same interface as :class:`MNIST`; files go to ``root/FashionMNIST/raw/``.

    Data: Han Xiao, Kashif Rasul and Roland Vollgraf, *Fashion-MNIST* (Zalando Research, 2017),
    MIT licence.

    Example::

        >>> from nbgrad.data.datasets import FashionMNIST
        >>> test = FashionMNIST(train=False)  # doctest: +SKIP
        >>> test.classes[test[0][1]]  # doctest: +SKIP
        'Ankle boot'
    """

    mirrors = ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"]
    resources = [
        ("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
        ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
        ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
        ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"),
    ]
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
