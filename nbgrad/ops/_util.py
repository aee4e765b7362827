"""Helpers shared by the op families: operand checks, broadcasting, dims."""

from __future__ import annotations

import numbers
import operator

import numpy as np

from nbgrad import backend
from nbgrad.tensor import Tensor, _wrap_dim

PYTHON_SCALARS = (bool, int, float)


def data(v):
    """The array behind a Tensor; Python scalars pass through (they stay weak)."""
    return v._data if isinstance(v, Tensor) else v


def as_operand(v, op: str):
    """A Tensor or Python scalar; NumPy arrays/scalars become constant Tensors."""
    if isinstance(v, Tensor) or type(v) in PYTHON_SCALARS:
        return v
    if isinstance(v, numbers.Number) and not isinstance(v, complex):
        return Tensor._wrap(np.asarray(v))
    if isinstance(v, np.ndarray):
        backend.to_dtype(v.dtype)
        return Tensor._wrap(v)
    raise TypeError(f"{op}: unsupported operand type {type(v).__name__}; expected a Tensor or a number")


def check_same_device(op: str, *tensors) -> None:
    """Raise an error naming both devices when tensors live on different devices."""
    first = None
    for t in tensors:
        if isinstance(t, Tensor):
            if first is None:
                first = t
            elif type(t._data) is not type(first._data) or t.device != first.device:
                raise RuntimeError(
                    f"{op}: expected all tensors to be on the same device, but found at least two devices, "
                    f"{first.device} (shape {tuple(first.shape)}) and {t.device} (shape {tuple(t.shape)}); "
                    "move one with .to(device)"
                )


def default_float(array):
    """Integer/bool arrays become the default float dtype (torch's rule for exp, sqrt, /...)."""
    if array.dtype.kind in "iub":
        return array.astype(backend.get_default_dtype())
    return array


def describe(v) -> str:
    """``(3, 4) float32 on cpu`` for an error message, or the scalar's repr."""
    if isinstance(v, Tensor):
        return f"{tuple(v.shape)} {v.dtype} on {v.device}"
    return repr(v)


def normalize_dims(dim, ndim: int, op: str) -> "tuple | None":
    """``dim`` (None, int, or a tuple of ints) as a sorted tuple of non-negative axes."""
    if dim is None:
        return None
    if isinstance(dim, (list, tuple)):
        axes = tuple(sorted({_wrap_dim(int(d), ndim, op) for d in dim}))
        if len(axes) != len(dim):
            raise RuntimeError(f"{op}: dim {tuple(dim)} appears multiple times in the list of dims")
        return axes
    return (_wrap_dim(int(dim), ndim, op),)


wrap_dim = _wrap_dim


def broadcast_shapes(op: str, *shapes) -> tuple:
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        raise RuntimeError(
            f"{op}: shapes {' and '.join(str(tuple(s)) for s in shapes)} cannot be broadcast together"
        ) from None


def dim_of(dim, shape: tuple, op: str, extra: int = 0) -> int:
    """``wrap_dim`` for a tensor of ``shape``; the error also names the shape.

    ``extra=1`` allows one dimension past the end (``unsqueeze``, ``stack``).
    """
    try:
        return _wrap_dim(operator.index(dim), len(shape) + extra, op)
    except IndexError as e:
        raise IndexError(f"{e} for a tensor of shape {tuple(shape)}") from None
    except TypeError:
        raise TypeError(f"{op}: dim must be an int, got {dim!r}") from None


def dims_of(dim, shape: tuple, op: str) -> "tuple | None":
    """``normalize_dims`` for a tensor of ``shape``; the error also names the shape."""
    try:
        return normalize_dims(dim, len(shape), op)
    except IndexError as e:
        raise IndexError(f"{e} for a tensor of shape {tuple(shape)}") from None
    except (TypeError, ValueError):
        raise TypeError(f"{op}: dim must be an int or a tuple of ints, got {dim!r}") from None
