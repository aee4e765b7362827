"""Statistics of a tensor, computed where its data lives.

Every rich view (tensor, capture table, grad report) reads the same numbers
from :func:`tensor_stats`: the reductions run on the tensor's device (NumPy or
CuPy) in a few passes, and only Python scalars cross to the host. Pictures
work from a bounded, strided :func:`sample` or a downsampled view
(:func:`block_reduce`); a tensor is never copied to the host whole.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from nbgrad import backend

# Elements per chunk of the float64-accumulated pass: small enough for the
# CPU's cache; a GPU takes bigger chunks, as each one costs kernel launches.
_CHUNK_CPU = 1 << 18
_CHUNK_GPU = 1 << 24


class TensorStats(NamedTuple):
    """What :func:`tensor_stats` returns: Python scalars only.

    ``min``, ``max``, ``mean``, ``std`` and ``norm`` are taken over the finite
    values (``None`` when there are none; ``std`` needs two). ``std`` is the
    sample standard deviation (``correction=1``, as ``torch.std``). ``norm`` is
    the L2 norm of the finite values.
    """

    shape: tuple
    dtype: np.dtype
    device: backend.device
    numel: int
    min: "float | int | bool | None"
    max: "float | int | bool | None"
    mean: "float | None"
    std: "float | None"
    norm: "float | None"
    zeros: int
    nan: int
    posinf: int
    neginf: int

    @property
    def finite(self) -> int:
        """How many elements are neither NaN nor infinite."""
        return self.numel - self.nan - self.posinf - self.neginf


def _array(tensor):
    """The NumPy/CuPy array behind a Tensor (or the array itself)."""
    return getattr(tensor, "_data", tensor)


def _host_scalars(xp, values) -> list:
    """Move a few device scalars to the host in one transfer, as Python floats."""
    return backend.to_numpy(xp.stack([xp.asarray(v, dtype=xp.float64) for v in values])).tolist()


def tensor_stats(tensor) -> TensorStats:
    """Summary statistics of a Tensor (or NumPy/CuPy array), computed on its device.

    Passes over the data: min and max (which also tell whether any value is
    not finite, as both propagate NaN), a zero count, and one chunked pass
    accumulating the sum and the sum of squares in float64 (around a shift
    for data far from zero, which keeps the variance accurate). NaN/Inf
    counts and a finite copy are made only when min/max show non-finite
    values. Three transfers of at most two scalars each in the common case.

    Args:
        tensor: a :class:`~nbgrad.Tensor`, ``numpy.ndarray`` or ``cupy.ndarray``.

    Example::

        >>> import nbgrad as nb
        >>> s = tensor_stats(nb.tensor([0.0, 1.0, float("nan"), float("inf")]))
        >>> (s.min, s.max, s.zeros, s.nan, s.posinf, s.neginf)
        (0.0, 1.0, 1, 1, 1, 0)
    """
    a = _array(tensor)
    xp = backend.array_module(a)
    dev = backend.device_of(a)
    numel = int(a.size)
    head = (tuple(int(n) for n in a.shape), a.dtype, dev, numel)
    if numel == 0:
        return TensorStats(*head, None, None, None, None, None, 0, 0, 0, 0)
    if a.dtype.kind == "b":
        # Bools: counts only; min/max/mean as for 0/1 values.
        ones = _host_scalars(xp, [xp.count_nonzero(a)])[0]
        mean = ones / numel
        std = math.sqrt(max(0.0, (ones - numel * mean * mean) / (numel - 1))) if numel > 1 else None
        lo, hi = bool(ones == numel), bool(ones > 0)
        return TensorStats(*head, lo, hi, mean, std, math.sqrt(ones), int(numel - ones), 0, 0, 0)
    flat = a.reshape(-1)  # a copy only for a non-contiguous array, made on its device
    if xp is np and flat.dtype == np.float16:
        # NumPy emulates float16 arithmetic (about 10x slower): one float32 copy pays for itself.
        flat = flat.astype(np.float32)
    # Extremes in their own dtype (exact for int64); (x == 0) is counted faster than x != 0.
    lo, hi = backend.to_numpy(xp.stack([flat.min(), flat.max()])).tolist()
    zeros = int(_host_scalars(xp, [xp.count_nonzero(flat == 0)])[0])
    nan = posinf = neginf = 0
    finite = flat
    if not (math.isfinite(lo) and math.isfinite(hi)):
        # Rare, and where a debugging session looks: count what is not finite and
        # take the finite values apart (one copy, on the device).
        finite = flat[xp.isfinite(flat)]
        nan, posinf = _host_scalars(xp, [xp.count_nonzero(xp.isnan(flat)), xp.count_nonzero(flat == np.inf)])
        nan, posinf = int(nan), int(posinf)
        neginf = numel - int(finite.size) - nan - posinf
        if finite.size == 0:
            return TensorStats(*head, None, None, None, None, None, zeros, nan, posinf, neginf)
        lo, hi = _host_scalars(xp, [finite.min(), finite.max()])
    mean, std, norm = _moments(xp, finite)
    return TensorStats(*head, lo, hi, mean, std, norm, zeros, nan, posinf, neginf)


def _moments(xp, finite):
    """Mean, sample std and L2 norm of a flat array of finite values, accumulated in float64."""
    n = int(finite.size)
    # Work in float32 for float16/float32 (the squares are exact enough; the
    # sums are float64), in float64 for float64 and integers.
    work = xp.float32 if finite.dtype in (np.float16, np.float32) else xp.float64
    # A shift near the mean keeps the variance of offset data (1e4 + noise)
    # accurate. Only for such data, whose values sit within a factor 2 of the
    # shift, is x - shift exact in float32; data around zero use no shift,
    # which is exact too. Decided on the device from a strided sample.
    probe = finite[:: max(1, n // 4096)].astype(xp.float64)
    m = probe.mean()
    shift = xp.where(xp.abs(m) > 4 * probe.std(), m, xp.zeros_like(m)).astype(work)
    chunk = _CHUNK_CPU if xp is np else _CHUNK_GPU
    total = squares = xp.zeros((), dtype=xp.float64)
    buf = xp.empty(min(chunk, n), dtype=work)
    for start in range(0, n, chunk):
        part = finite[start : start + chunk]
        d = buf[: part.size]
        xp.subtract(part, shift, out=d)
        total = total + d.sum(dtype=xp.float64)
        xp.multiply(d, d, out=d)
        squares = squares + d.sum(dtype=xp.float64)
    s, ss, k = _host_scalars(xp, [total, squares, shift])
    mean = k + s / n
    centred = max(0.0, ss - s * s / n)  # sum of (x - mean)^2
    std = math.sqrt(centred / (n - 1)) if n > 1 else None
    # sum x^2 = sum (x - mean)^2 + n mean^2
    norm = math.sqrt(centred + n * mean * mean)
    return mean, std, norm


def sample(tensor, n: int = 100_000) -> np.ndarray:
    """A flat host copy of at most ``n`` elements, picked with fixed strides (deterministic).

    Only the sample crosses to the host. A contiguous array is sampled along
    its flat order; other layouts with a stride per axis, largest axes first,
    so that no full-size copy is made.
    """
    a = _array(tensor)
    numel = int(a.size)
    if numel <= n:
        return backend.to_numpy(a).reshape(-1)
    if a.flags.c_contiguous:
        step = -(-numel // n)
        return backend.to_numpy(a.reshape(-1)[::step])
    steps = [1] * a.ndim
    kept = numel
    for axis in sorted(range(a.ndim), key=lambda i: -a.shape[i]):
        if kept <= n:
            break
        size = a.shape[axis]
        keep = max(1, size * n // kept)  # this axis' share of the reduction
        steps[axis] = -(-size // keep)
        kept = kept // size * -(-size // steps[axis])
    view = a[tuple(slice(None, None, s) for s in steps)]
    return backend.to_numpy(view.reshape(-1)[:n])


def histogram(values: np.ndarray, bins: int = 40, range: "tuple | None" = None):
    """Counts of the finite ``values`` (host NumPy) in ``bins`` equal bins.

    Integer (and bool) data over a short range get one bin per integer, so
    that bars sit on the values. A single-valued range is widened by 0.5 on
    each side.

    Returns:
        ``(counts, edges)`` as ``numpy.histogram`` does.
    """
    values = np.asarray(values).reshape(-1)
    if values.dtype.kind == "b":
        values = values.astype(np.uint8)
    if values.dtype.kind == "f":
        values = values[np.isfinite(values)]
    if range is None:
        range = (values.min(), values.max()) if values.size else (0.0, 1.0)
    lo, hi = float(range[0]), float(range[1])
    if values.dtype.kind in "iub" and hi - lo + 1 <= bins:
        edges = np.arange(lo - 0.5, hi + 1.0, 1.0)
        return np.histogram(values, bins=edges)
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    return np.histogram(values, bins=bins, range=(lo, hi))


def block_reduce(array, axis: int, size: int, how: str):
    """Shrink ``array`` along ``axis`` to at most ``size`` entries, on its device.

    Blocks of ``ceil(n / size)`` consecutive entries become one: ``how`` is
    ``"mean"`` (float32 accumulation, float64 for float64), ``"min"``, ``"max"``
    or ``"nearest"`` (the first entry of each block). The last block may be
    shorter; no entry is dropped. A NaN or Inf inside a block shows in its
    mean, min or max.
    """
    n = array.shape[axis]
    factor = -(-n // size)
    if factor <= 1:
        return array
    index = [slice(None)] * array.ndim
    if how == "nearest":
        index[axis] = slice(None, None, factor)
        return array[tuple(index)]
    xp = backend.array_module(array)
    full = n // factor
    index[axis] = slice(0, full * factor)
    head = array[tuple(index)]
    head = head.reshape(array.shape[:axis] + (full, factor) + array.shape[axis + 1 :])
    parts = [_reduce(head, axis + 1, how, keepdims=False)]
    if full * factor < n:
        index[axis] = slice(full * factor, n)
        parts.append(_reduce(array[tuple(index)], axis, how, keepdims=True))
    return parts[0] if len(parts) == 1 else xp.concatenate(parts, axis=axis)


def _reduce(array, axis: int, how: str, keepdims: bool):
    if how == "mean":
        dtype = np.float64 if array.dtype == np.float64 else np.float32
        return array.mean(axis=axis, dtype=dtype, keepdims=keepdims)
    if how == "min":
        return array.min(axis=axis, keepdims=keepdims)
    if how == "max":
        return array.max(axis=axis, keepdims=keepdims)
    raise ValueError(f"block_reduce: unknown reduction {how!r}; use 'mean', 'min', 'max' or 'nearest'")
