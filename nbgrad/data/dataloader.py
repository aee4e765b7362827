"""``DataLoader`` and the collate functions that turn samples into batches."""

from __future__ import annotations

import collections.abc
import copy
import itertools
import numbers

import numpy as np

from nbgrad.data import _rng
from nbgrad.data.dataset import IterableDataset
from nbgrad.data.sampler import BatchSampler, RandomSampler, SequentialSampler
from nbgrad.tensor import Tensor

_COLLATE_TYPES = "tensors, numpy arrays, numbers, strings, dicts or lists"


def _as_tensor(array) -> Tensor:
    from nbgrad.creation import as_tensor  # local: creation is imported lazily by nbgrad.data users

    return as_tensor(array)


def _check_numpy_dtype(array, op: str) -> None:
    # torch refuses string and object arrays: they have no tensor dtype.
    if array.dtype.kind in "SUOV":
        raise TypeError(f"{op}: batch must contain {_COLLATE_TYPES}; found a numpy array of dtype {array.dtype}")


def _is_namedtuple(x) -> bool:
    return isinstance(x, tuple) and hasattr(x, "_fields")


def default_collate(batch):
    """Merge a list of samples into a batch, as ``torch.utils.data.default_collate`` does.

    * tensors are stacked along a new first dimension; NumPy arrays too, into a tensor;
    * Python floats become a float64 tensor, ints an int64 tensor, bools a bool tensor,
      NumPy scalars a tensor of their dtype;
    * strings are left as a list;
    * dicts are collated key by key, named tuples field by field, and tuples and lists
      position by position (a list of batches comes back, as in torch).

    Example::

        >>> import nbgrad as nb
        >>> from nbgrad.data import default_collate
        >>> default_collate([(nb.tensor([1, 2]), 0), (nb.tensor([3, 4]), 1)])
        [tensor([[1, 2],
                [3, 4]]), tensor([0, 1])]
        >>> default_collate([{"x": 1.5}, {"x": 2.5}])
        {'x': tensor([1.5000, 2.5000], dtype=nbgrad.float64)}
    """
    elem = batch[0]
    if isinstance(elem, Tensor):
        from nbgrad.ops.shape import stack

        shapes = {tuple(t.shape) for t in batch if isinstance(t, Tensor)}
        if len(shapes) > 1:
            raise RuntimeError(
                f"default_collate: stack expects each tensor to be equal size, but got shapes {sorted(shapes)}; "
                "pad the samples or pass a collate_fn"
            )
        return stack(batch, 0)
    if isinstance(elem, np.ndarray):
        _check_numpy_dtype(elem, "default_collate")
        shapes = {np.shape(a) for a in batch}
        if len(shapes) > 1:
            raise RuntimeError(
                f"default_collate: expected numpy arrays of equal shape, but got shapes {sorted(shapes)}; "
                "pad the samples or pass a collate_fn"
            )
        return _as_tensor(np.stack(batch))
    if isinstance(elem, (np.bool_, np.number)):
        return _as_tensor(np.asarray(batch))
    if isinstance(elem, bool):
        return _as_tensor(np.asarray(batch, dtype=np.bool_))
    if isinstance(elem, numbers.Integral):
        return _as_tensor(np.asarray(batch, dtype=np.int64))
    if isinstance(elem, numbers.Real):
        return _as_tensor(np.asarray(batch, dtype=np.float64))  # torch: Python floats collate to float64
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        collated = {key: default_collate([d[key] for d in batch]) for key in elem}
        if isinstance(elem, collections.abc.MutableMapping):
            clone = copy.copy(elem)  # keeps the mapping's type (OrderedDict, defaultdict...)
            clone.update(collated)
            return clone
        return collated
    if _is_namedtuple(elem):
        return type(elem)(*(default_collate(list(samples)) for samples in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        lengths = {len(sample) for sample in batch}
        if len(lengths) > 1:
            raise RuntimeError(
                f"default_collate: each element in list of batch should be of equal size, got lengths {sorted(lengths)}"
            )
        return [default_collate(list(samples)) for samples in zip(*batch)]
    raise TypeError(f"default_collate: batch must contain {_COLLATE_TYPES}; found {type(elem).__name__}")


def default_convert(data):
    """Turn NumPy arrays (also inside dicts, tuples and lists) into tensors; leave the rest as is.

    The loader uses it instead of :func:`default_collate` when ``batch_size=None``.
    """
    if isinstance(data, np.ndarray) and data.dtype.kind not in "SUOV":
        return _as_tensor(data)
    if isinstance(data, (np.bool_, np.number)):
        return _as_tensor(np.asarray(data))
    if isinstance(data, collections.abc.Mapping):
        converted = {key: default_convert(value) for key, value in data.items()}
        if isinstance(data, collections.abc.MutableMapping):
            clone = copy.copy(data)
            clone.update(converted)
            return clone
        return converted
    if _is_namedtuple(data):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        return [default_convert(d) for d in data]
    return data


def _batch_fetcher(dataset):
    """A function ``indices -> collated batch`` that indexes all of a batch at once, or None.

    Only for datasets whose samples are rows of arrays, where one fancy-indexing call
    gives exactly what ``default_collate`` would build from the rows one by one.
    """
    fetch = getattr(dataset, "_fetch_batch", None)
    if fetch is not None:
        return fetch
    if isinstance(dataset, Tensor) and dataset.ndim > 0:
        return dataset.__getitem__
    if isinstance(dataset, np.ndarray) and dataset.ndim > 0 and dataset.dtype.kind not in "SUOV":
        return lambda indices: _as_tensor(dataset[indices])
    return None


class DataLoader:
    """Iterate over a dataset in (shuffled) batches.

    Args:
        dataset: a map-style dataset (``__getitem__`` and ``__len__``: a :class:`Dataset`,
            a tensor, a NumPy array, a list...) or an :class:`IterableDataset`.
        batch_size: samples per batch; ``None`` turns batching off (each sample is yielded
            after :func:`default_convert`).
        shuffle: visit the samples in a new random order every epoch.
        sampler: the order of the indices (a :class:`Sampler` or any iterable); excludes ``shuffle``.
        batch_sampler: yields lists of indices; excludes ``batch_size``, ``shuffle``,
            ``sampler`` and ``drop_last``.
        num_workers: must be 0: batches are built in the main process (see below).
        collate_fn: merges a list of samples into a batch; default :func:`default_collate`.
        pin_memory: accepted for PyTorch code; has no effect (NumPy and CuPy loaders
            have no pinned host memory to use).
        drop_last: drop the last batch when it is smaller than ``batch_size``.
        generator: the random source of ``shuffle``: ``None`` draws from the global generator
            (seeded by :func:`nbgrad.manual_seed`, so a seeded run repeats), an int seeds a
            generator of this loader once (epochs differ, runs repeat), or a
            ``numpy.random.Generator``.

    ``num_workers > 0`` raises ``NotImplementedError``: nbgrad is made for notebooks,
    where worker processes are fragile (Windows and macOS re-import the notebook), and
    the batches of in-memory data (:class:`TensorDataset`, tensors, arrays, the bundled
    datasets) are built with one fancy-indexing call per batch instead of sample-by-sample
    stacking, which is faster than handing samples between processes.

    Example::

        >>> import nbgrad as nb
        >>> from nbgrad.data import DataLoader, TensorDataset
        >>> ds = TensorDataset(nb.arange(10).float().reshape(5, 2), nb.arange(5))
        >>> loader = DataLoader(ds, batch_size=2, shuffle=True, generator=0)
        >>> len(loader)
        3
        >>> [len(y) for x, y in loader], sorted(i for x, y in loader for i in y.tolist())
        ([2, 2, 1], [0, 1, 2, 3, 4])
    """

    def __init__(
        self,
        dataset,
        batch_size: "int | None" = 1,
        shuffle: "bool | None" = None,
        sampler=None,
        batch_sampler=None,
        num_workers: int = 0,
        collate_fn=None,
        pin_memory: bool = False,
        drop_last: bool = False,
        generator=None,
    ):
        if not isinstance(num_workers, numbers.Integral) or num_workers < 0:
            raise ValueError(
                f"DataLoader: num_workers option should be non-negative, got {num_workers!r}; "
                "use num_workers=0 to load in the main process"
            )
        if num_workers > 0:
            raise NotImplementedError(
                f"DataLoader: num_workers={num_workers} is not supported; nbgrad builds batches in the main process "
                "(num_workers=0): in-memory datasets are indexed a whole batch at a time, and worker processes are "
                "fragile in notebooks"
            )
        self.dataset = dataset
        self.num_workers = 0
        self.pin_memory = pin_memory
        self.generator = _rng.as_generator(generator, "DataLoader")
        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable:
            for name, value in (("shuffle", shuffle), ("sampler", sampler), ("batch_sampler", batch_sampler)):
                if value not in (None, False):
                    raise ValueError(
                        f"DataLoader: with an IterableDataset, expected unspecified {name} option, "
                        f"but got {name}={value!r} (an iterable dataset sets its own order)"
                    )
        elif sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError(
                    "DataLoader: batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, "
                    "and drop_last"
                )
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError(
                "DataLoader: batch_size=None option disables auto-batching and is mutually exclusive with drop_last"
            )
        if batch_size is not None and (not isinstance(batch_size, numbers.Integral) or batch_size <= 0):
            raise ValueError(f"DataLoader: batch_size should be a positive integer value or None, got {batch_size!r}")
        if not self._iterable:
            if sampler is None:
                sampler = RandomSampler(dataset, generator=self.generator) if shuffle else SequentialSampler(dataset)
            if batch_size is not None and batch_sampler is None:
                batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn

    @property
    def _auto_collation(self) -> bool:
        return self.batch_sampler is not None or (self._iterable and self.batch_size is not None)

    def __iter__(self):
        if self._iterable:
            return self._iter_stream()
        if self.batch_sampler is None:
            return (self.collate_fn(self.dataset[i]) for i in self.sampler)
        return self._iter_batches()

    def _iter_batches(self):
        dataset, collate = self.dataset, self.collate_fn
        fetch = _batch_fetcher(dataset) if collate is default_collate else None
        for indices in self.batch_sampler:
            if fetch is not None:
                index_array = np.asarray(indices)
                batch = fetch(index_array) if index_array.dtype.kind in "iu" else None
                if batch is not None:
                    yield batch
                    continue
                fetch = None  # this dataset cannot index whole batches: stop asking
            yield collate([dataset[i] for i in indices])

    def _iter_stream(self):
        it = iter(self.dataset)
        if self.batch_size is None:
            yield from (self.collate_fn(item) for item in it)
            return
        while True:
            chunk = list(itertools.islice(it, self.batch_size))
            if not chunk or (self.drop_last and len(chunk) < self.batch_size):
                return
            yield self.collate_fn(chunk)

    def __len__(self) -> int:
        if self._iterable:
            n = len(self.dataset)  # a TypeError for streams without a length, as in torch
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        return len(self.batch_sampler if self.batch_sampler is not None else self.sampler)

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        """Notebook display: batch size, shuffling, number of batches and the first sample's shapes."""
        from nbgrad.display.data import loader_mimebundle

        return loader_mimebundle(self)
