"""A small public-domain text corpus and a character-level dataset over it.

The corpus is seven plays by William Shakespeare (Hamlet, Macbeth, Romeo and Juliet, Julius
Caesar, Othello, King Lear, A Midsummer Night's Dream): 937,853 ASCII characters, 73
distinct. The plays are in the public domain; the texts are Project Gutenberg's 1998
etexts (see ``nbgrad/data/datasets/_files/README.md``).
"""

from __future__ import annotations

import functools
import gzip
import numbers
from pathlib import Path

import numpy as np

from nbgrad.data.dataset import Dataset
from nbgrad.tensor import Tensor

_CORPORA = {"shakespeare": Path(__file__).parent / "_files" / "shakespeare.txt.gz"}


@functools.cache
def load_text(name: str = "shakespeare") -> str:
    """A bundled text corpus as one string.

    Args:
        name: ``"shakespeare"``, seven plays by William Shakespeare (public domain), ~0.94 M characters.

    Example::

        >>> from nbgrad.data.datasets import load_text
        >>> text = load_text()
        >>> len(text), text[:25]
        (937853, 'HAMLET, PRINCE OF DENMARK')
    """
    path = _CORPORA.get(name)
    if path is None:
        raise ValueError(f"load_text: unknown corpus {name!r}; available: {sorted(_CORPORA)}")
    with gzip.open(path, "rt", encoding="ascii") as f:
        return f.read()


class CharDataset(Dataset):
    """Character-level language modelling: each sample is a window of text and the same window shifted by one.

    ``dataset[i]`` is ``(x, y)`` with ``x = data[i : i + seq_len]`` and ``y = data[i + 1 : i + seq_len + 1]``,
    both int64 tensors of character indices; there is one window per starting position. The vocabulary
    is built from the whole text, so the training and validation parts share it.

    Args:
        seq_len: the number of characters in each window.
        text: the text; by default the bundled Shakespeare corpus (:func:`load_text`).
        train: ``True`` for the first 90% of the text, ``False`` for the last 10%, ``None`` for all of it.

    Attributes:
        itos: the vocabulary, a sorted list of characters (index -> character).
        stoi: the inverse mapping (character -> index).
        vocab_size: ``len(itos)``.
        data: the encoded text of this part, an int64 tensor.

    Example::

        >>> from nbgrad.data.datasets import CharDataset
        >>> ds = CharDataset(8, text="hello world, hello moon")
        >>> ds.vocab_size, ds.itos[:4]
        (11, [' ', ',', 'd', 'e'])
        >>> x, y = ds[0]
        >>> ds.decode(x), ds.decode(y)
        ('hello wo', 'ello wor')
    """

    def __init__(self, seq_len: int, text: "str | None" = None, train: "bool | None" = True):
        if not isinstance(seq_len, numbers.Integral) or seq_len < 1:
            raise ValueError(f"CharDataset: seq_len must be a positive int, got {seq_len!r}")
        if train not in (True, False, None):
            raise ValueError(f"CharDataset: train must be True, False or None (the whole text), got {train!r}")
        text = load_text() if text is None else text
        if not isinstance(text, str):
            raise TypeError(f"CharDataset: text must be a str, got {type(text).__name__}")
        self.seq_len = int(seq_len)
        self.train = train
        self.itos = sorted(set(text))
        self.stoi = {ch: i for i, ch in enumerate(self.itos)}
        encoded = self._encode_array(text)
        cut = int(len(encoded) * 0.9)
        self._data = {None: encoded, True: encoded[:cut], False: encoded[cut:]}[train]
        if len(self._data) < self.seq_len + 1:
            raise ValueError(
                f"CharDataset: this part of the text has {len(self._data)} characters, fewer than "
                f"seq_len + 1 = {self.seq_len + 1}"
            )
        self._offsets = np.arange(self.seq_len + 1)

    @property
    def vocab_size(self) -> int:
        return len(self.itos)

    @property
    def data(self) -> Tensor:
        return Tensor._wrap(self._data)

    def _encode_array(self, text: str) -> np.ndarray:
        if text.isascii():
            # One table lookup over the bytes instead of a dict lookup per character (50x faster).
            table = np.full(128, -1, dtype=np.int64)
            for c, i in self.stoi.items():
                if ord(c) < 128:
                    table[ord(c)] = i
            ids = table[np.frombuffer(text.encode("ascii"), dtype=np.uint8)]
            if (ids >= 0).all():
                return ids
        try:
            return np.fromiter((self.stoi[c] for c in text), dtype=np.int64, count=len(text))
        except KeyError as exc:
            raise KeyError(f"CharDataset: character {exc.args[0]!r} is not in the vocabulary") from None

    def encode(self, text: str) -> Tensor:
        """The indices of the characters of ``text``, an int64 tensor."""
        return Tensor._wrap(self._encode_array(text))

    def decode(self, indices) -> str:
        """The text for a sequence of indices (a tensor, an array or a list)."""
        if isinstance(indices, Tensor):
            indices = indices.tolist()
        elif isinstance(indices, np.ndarray):
            indices = indices.tolist()
        if isinstance(indices, numbers.Integral):
            indices = [indices]
        return "".join(self.itos[i] for i in indices)

    def __len__(self) -> int:
        return len(self._data) - self.seq_len

    def __getitem__(self, index: int):
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"CharDataset: index {index} is out of range for a dataset of length {n}")
        index %= n
        window = self._data[index : index + self.seq_len + 1]
        return Tensor._wrap(window[:-1]), Tensor._wrap(window[1:])

    def _fetch_batch(self, indices: np.ndarray):
        n = len(self)
        if indices.size and not ((indices >= -n) & (indices < n)).all():
            raise IndexError(f"CharDataset: batch indices out of range for a dataset of length {n}")
        windows = self._data[(indices % n)[:, None] + self._offsets]
        return [Tensor._wrap(windows[:, :-1]), Tensor._wrap(windows[:, 1:])]

    def __repr__(self) -> str:
        part = {None: "all", True: "train", False: "val"}[self.train]
        return (
            f"CharDataset(seq_len={self.seq_len}, part={part!r}, characters={len(self._data)}, "
            f"vocab_size={self.vocab_size}, windows={len(self)})"
        )
