"""Indexing: ``x[key]``, ``x[key] = v``, gather/scatter, index_select, masked ops, nonzero.

Three nodes do all the work, and each is another's backward:

- ``Index``: ``x[key]`` (a view when the key is basic: ints, slices, ``None``, ``...``);
- ``Embed``: zeros with ``values`` added at ``key`` (the backward of ``Index``);
- ``IndexPut``: ``x`` with ``values`` written or added at ``key`` (setitem, scatter).

gather, index_select, take_along_dim and masked_select only build a key for
``Index``; scatter and scatter_add build one for ``IndexPut``. Repeated
integer indices accumulate their gradients (``np.add.at`` semantics).
"""

from __future__ import annotations

import importlib
import re

import numpy as np

from nbgrad import backend
from nbgrad.autograd import views
from nbgrad.autograd.function import Function
from nbgrad.ops._util import broadcast_shapes, check_same_device, wrap_dim
from nbgrad.ops.broadcast import broadcast_to, sum_to
from nbgrad.ops.elementwise import where
from nbgrad.tensor import Tensor, register_method

__all__ = [
    "gather",
    "scatter",
    "scatter_add",
    "index_select",
    "masked_fill",
    "masked_select",
    "take_along_dim",
    "nonzero",
    "argwhere",
]

_BASIC_TYPES = (int, slice, type(None), type(Ellipsis))


# ---------------------------------------------------------------------------
# keys


def _scatter_add(array, key, values) -> None:
    """``array[key] += values`` where repeated indices accumulate (``np.add.at`` semantics)."""
    if type(array) is np.ndarray:
        np.add.at(array, key, values)
    else:
        # cupyx is CuPy's companion package: reached only for a CuPy array, so never imported on the cpu.
        importlib.import_module("cupyx").scatter_add(array, key, values)


def _index_array(x: Tensor, item, op: str):
    """An array index (integer or bool) on ``x``'s device, from a Tensor, list or NumPy array."""
    if isinstance(item, Tensor):
        if item.device != x.device or type(item._data) is not type(x._data):
            raise RuntimeError(
                f"{op}: indices are on {item.device} but the indexed tensor (shape {tuple(x.shape)}) is on "
                f"{x.device}; move the indices with .to({str(x.device)!r})"
            )
        array = item._data
    elif isinstance(item, (list, tuple, np.ndarray)):
        xp = backend.array_module(x._data)
        try:
            array = xp.asarray(item)
        except (ValueError, TypeError):
            raise IndexError(f"{op}: cannot build an index array from {item!r} (ragged or mixed lists)") from None
        if array.size == 0 and array.dtype.kind == "f":
            array = array.astype(np.int64)  # ``x[[]]`` selects nothing, as in torch
    else:
        raise IndexError(
            f"{op}: only integers, slices (`:`), ellipsis (`...`), None and integer or boolean tensors/lists "
            f"are valid indices; got {type(item).__name__} (indexed tensor of shape {tuple(x.shape)})"
        )
    if array.dtype.kind not in "iub":
        raise IndexError(f"{op}: tensors used as indices must be long, int or bool tensors, got dtype {array.dtype}")
    return array


def _prepare_key(x: Tensor, key, op: str) -> tuple:
    """``key`` as a tuple of ints, slices, None, Ellipsis, Python bools and arrays on ``x``'s device."""
    items = key if type(key) is tuple else (key,)
    out = []
    for item in items:
        if isinstance(item, _BASIC_TYPES) or isinstance(item, (bool, np.bool_)):
            out.append(item)
        elif isinstance(item, np.integer):
            out.append(int(item))
        else:
            out.append(_index_array(x, item, op))
    return tuple(out)


def _is_basic(key: tuple) -> bool:
    """True when NumPy returns a view for ``key`` (no arrays, no Python bools)."""
    for item in key:
        if type(item) not in _BASIC_TYPES:
            return False
    return True


def _accumulates(key: tuple) -> bool:
    """True when ``key`` holds an integer array: indices may repeat, so writes must add up."""
    for item in key:
        if hasattr(item, "dtype") and item.dtype.kind != "b":
            return True
    return False


_OUT_OF_BOUNDS = re.compile(r"index (-?\d+) is out of bounds for axis (\d+) with size (\d+)")


def _index_error(op: str, shape: tuple, err: Exception) -> IndexError:
    """NumPy's indexing error with the op, torch's words (dimension, tensor) and the shape."""
    text = str(err)
    m = _OUT_OF_BOUNDS.search(text)
    if m:
        text = f"index {m[1]} is out of bounds for dimension {m[2]} with size {m[3]}"
    else:
        text = text.replace("axis", "dimension").replace("array", "tensor")
    return IndexError(f"{op}: {text} (indexed tensor of shape {tuple(shape)})")


def _check_bounds(shape: tuple, key: tuple, op: str) -> None:
    """Range-check the integer arrays of ``key``: CuPy wraps out-of-range indices silently."""
    consumed = sum(
        0
        if item is None or item is Ellipsis or type(item) is bool
        else (item.ndim if hasattr(item, "dtype") and item.dtype.kind == "b" else 1)
        for item in key
    )
    dim = 0
    for item in key:
        if item is None or type(item) is bool:
            continue
        if item is Ellipsis:
            dim += len(shape) - consumed
            continue
        if hasattr(item, "dtype"):
            if item.dtype.kind == "b":
                dim += item.ndim
                continue
            if item.size and dim < len(shape):
                _check_range(op, item, shape[dim], dim, allow_negative=True)
        dim += 1


def _check_range(op: str, index, size: int, dim: int, allow_negative: bool = False) -> None:
    if index.size == 0:
        return
    lo, hi = int(index.min()), int(index.max())
    bad = hi if hi >= size else lo if lo < (-size if allow_negative else 0) else None
    if bad is not None:
        raise IndexError(f"{op}: index {bad} is out of bounds for dimension {dim} with size {size}")


# ---------------------------------------------------------------------------
# the three nodes


class Index(Function):
    """``x[key]`` for a prepared key; basic keys give a view."""

    _builtin = True

    @staticmethod
    def forward(ctx, x, key, op):
        ctx.shape = x._data.shape
        ctx.key = key
        try:
            return x._data[key]
        except IndexError as err:
            raise _index_error(op, x._data.shape, err) from None

    @staticmethod
    def backward(ctx, grad):
        return Embed.apply(grad, ctx.shape, ctx.key), None, None


class Embed(Function):
    """Zeros of ``shape`` with ``values`` added at ``key`` (repeated indices add up)."""

    _builtin = True

    @staticmethod
    def forward(ctx, values, shape, key):
        ctx.key = key
        v = values._data
        out = backend.array_module(v).zeros(shape, dtype=v.dtype)
        if _accumulates(key):
            _scatter_add(out, key, v)
        else:
            out[key] = v  # slices and masks never repeat an element: a plain write is enough
        return out

    @staticmethod
    def backward(ctx, grad):
        return Index.apply(grad, ctx.key, "index"), None, None


class IndexPut(Function):
    """A copy of ``x`` with ``values`` (a Tensor or number) written, or added, at ``key``."""

    _builtin = True

    @staticmethod
    def forward(ctx, x, values, key, accumulate, op):
        ctx.key = key
        ctx.accumulate = accumulate
        is_tensor = isinstance(values, Tensor)
        ctx.values_meta = (values._data.shape, values._data.dtype) if is_tensor else None
        out = x._data.copy()
        v = values._data.astype(out.dtype, copy=False) if is_tensor else values
        try:
            if accumulate:
                _scatter_add(out, key, v)
            else:
                out[key] = v
        except IndexError as err:
            raise _index_error(op, out.shape, err) from None
        except ValueError:
            target = tuple(out[key].shape)
            raise RuntimeError(
                f"{op}: shape mismatch: value tensor of shape {ctx.values_meta[0] if is_tensor else ()} cannot be "
                f"broadcast to the indexing result of shape {target} (tensor of shape {tuple(out.shape)})"
            ) from None
        return out

    @staticmethod
    def backward(ctx, grad):
        need_x, need_v = ctx.needs_input_grad[:2]
        key = ctx.key
        gx = gv = None
        if need_x:
            if ctx.accumulate:
                gx = grad
            else:
                # Overwritten elements do not depend on the old x.
                keep = backend.array_module(grad._data).ones(grad._data.shape, dtype=bool)
                keep[key] = False
                gx = grad * Tensor._wrap(keep)
        if need_v:
            shape, dtype = ctx.values_meta
            gv = sum_to(Index.apply(grad, key, "index"), shape)
            if gv.dtype != dtype:
                gv = gv.to(dtype)
        return gx, gv, None, None, None


def _index(x: Tensor, key: tuple, op: str) -> Tensor:
    """``x[key]`` for a prepared key: a view sharing ``x``'s version counter when the key is basic."""
    if _is_basic(key):
        if Ellipsis not in key:
            key = key + (Ellipsis,)  # keeps a full integer key a 0-d view instead of a NumPy scalar copy
        return views.apply_view(Index, x, key, op)
    _check_bounds(x._data.shape, key, op)
    return Index.apply(x, key, op)


def _getitem(self: Tensor, key) -> Tensor:
    """``self[key]``: NumPy indexing (ints, slices, None, ``...``, integer and bool tensors/lists).

    Example::

        >>> import nbgrad as nb
        >>> x = nb.arange(6).reshape(2, 3)
        >>> x[1, ::2]
        tensor([3, 5])
        >>> x[x > 2]
        tensor([3, 4, 5])
    """
    return _index(self, _prepare_key(self, key, "index"), "index")


def _setitem(self: Tensor, key, value) -> None:
    """``self[key] = value`` in place (recorded for autograd when ``self`` or ``value`` requires grad)."""
    from nbgrad.ops.inplace import apply_inplace  # inplace imports this module

    key = _prepare_key(self, key, "setitem")
    if not _is_basic(key):
        _check_bounds(self._data.shape, key, "setitem")
    if isinstance(value, np.ndarray):
        value = Tensor._wrap(backend.array_module(self._data).asarray(value))

    def write(array, v):
        array[key] = v

    apply_inplace(self, "setitem", lambda s, v: IndexPut.apply(s, v, key, False, "setitem"), value, fast=write)


Tensor.__getitem__ = _getitem
Tensor.__setitem__ = _setitem


# ---------------------------------------------------------------------------
# gather and scatter


def _index_tensor(op: str, input: Tensor, index, name: str = "index"):
    """The array of an integer index Tensor, on ``input``'s device."""
    if not isinstance(index, Tensor):
        raise TypeError(f"{op}: {name} must be an integer Tensor, got {type(index).__name__}")
    if index.dtype.kind not in "iu":
        raise RuntimeError(f"{op}: expected an integer dtype (int64) for {name}, got {index.dtype}")
    check_same_device(op, input, index)
    return index._data


def _along_dim_key(index, dim: int) -> tuple:
    """The key that reads ``x[i0, .., index[i0, ..], ..]``: gather's rule, as a NumPy advanced index."""
    xp = backend.array_module(index)
    nd = index.ndim
    return tuple(
        index if d == dim else xp.arange(n).reshape((n,) + (1,) * (nd - 1 - d)) for d, n in enumerate(index.shape)
    )


def _check_gather_shapes(op: str, dim: int, index, input_shape: tuple, src_shape: "tuple | None" = None) -> None:
    if index.ndim != len(input_shape):
        raise RuntimeError(
            f"{op}: index tensor must have the same number of dimensions as the input tensor: index has shape "
            f"{tuple(index.shape)}, input has shape {tuple(input_shape)}"
        )
    for d, n in enumerate(index.shape):
        if (d != dim and n > input_shape[d]) or (src_shape is not None and n > src_shape[d]):
            what = f"input {tuple(input_shape)} apart from dimension {dim}"
            if src_shape is not None:
                what += f" and src {tuple(src_shape)}"
            raise RuntimeError(
                f"{op}: size does not match at dimension {d}: index {tuple(index.shape)} must be no larger than {what}"
            )
    _check_range(op, index, input_shape[dim], dim)


@register_method("gather")
def gather(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """Values of ``input`` along ``dim`` at ``index``: ``out[i][j] = input[i][index[i][j]]`` for ``dim=1``.

    Args:
        input: the source tensor.
        dim: the dimension to index along.
        index: an integer tensor with ``input``'s number of dimensions, no larger than ``input``
            in the other dimensions.

    Shape:
        the output has ``index``'s shape.

    Example::

        >>> import nbgrad as nb
        >>> x = nb.tensor([[1.0, 2.0], [3.0, 4.0]])
        >>> nb.gather(x, 1, nb.tensor([[0, 0], [1, 0]]))
        tensor([[1., 1.],
                [4., 3.]])
    """
    idx = _index_tensor("gather", input, index)
    if input.ndim == 0 and idx.ndim == 0:
        return gather(input[None], 0, index[None])[0]
    dim = wrap_dim(dim, input.ndim, "gather")
    _check_gather_shapes("gather", dim, idx, input._data.shape)
    return Index.apply(input, _along_dim_key(idx, dim), "gather")


def _scatter(op: str, input: Tensor, dim: int, index: Tensor, src, accumulate: bool) -> Tensor:
    idx = _index_tensor(op, input, index)
    dim = wrap_dim(dim, input.ndim, op)
    if isinstance(src, Tensor):
        check_same_device(op, input, src)
        if src.ndim != idx.ndim:
            raise RuntimeError(
                f"{op}: src tensor of shape {tuple(src.shape)} must have the same number of "
                f"dimensions as index {tuple(idx.shape)}"
            )
        _check_gather_shapes(op, dim, idx, input._data.shape, src._data.shape)
        if src._data.shape != idx.shape:
            src = _index(src, tuple(slice(0, n) for n in idx.shape), op)
    elif isinstance(src, (bool, int, float)) and not accumulate:
        _check_gather_shapes(op, dim, idx, input._data.shape)
    else:
        raise TypeError(f"{op}: src must be a Tensor{'' if accumulate else ' or a number'}, got {type(src).__name__}")
    return IndexPut.apply(input, src, _along_dim_key(idx, dim), accumulate, op)


@register_method("scatter")
def scatter(input: Tensor, dim: int, index: Tensor, src=None, *, value=None) -> Tensor:
    """A copy of ``input`` with ``src`` written at ``index`` along ``dim`` (the inverse of gather).

    ``out[i][index[i][j]] = src[i][j]`` for ``dim=1``. Where ``index`` repeats a
    position, one of the values wins (which one is unspecified, as in torch).

    Args:
        input: the tensor to copy.
        dim: the dimension to index along.
        index: an integer tensor, no larger than ``src`` (and than ``input`` apart from ``dim``).
        src: a tensor, or a number written everywhere ``index`` points.
        value: the number to write (keyword alternative to a numeric ``src``).

    Example::

        >>> import nbgrad as nb
        >>> nb.scatter(nb.zeros(2, 3), 1, nb.tensor([[2], [0]]), 1.0)
        tensor([[0., 0., 1.],
                [1., 0., 0.]])
    """
    if (src is None) == (value is None):
        raise TypeError("scatter: pass exactly one of src (a Tensor or number) or value (a number)")
    return _scatter("scatter", input, dim, index, value if src is None else src, False)


@register_method("scatter_add")
def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """A copy of ``input`` with ``src`` added at ``index`` along ``dim``; repeated indices add up.

    Example::

        >>> import nbgrad as nb
        >>> nb.scatter_add(nb.zeros(3), 0, nb.tensor([0, 0, 2]), nb.tensor([1.0, 2.0, 3.0]))
        tensor([3., 0., 3.])
    """
    return _scatter("scatter_add", input, dim, index, src, True)


@register_method("index_select")
def index_select(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """The slices of ``input`` along ``dim`` at the positions in the 1-D ``index``.

    Example::

        >>> import nbgrad as nb
        >>> x = nb.tensor([[1, 2, 3], [4, 5, 6]])
        >>> nb.index_select(x, 1, nb.tensor([2, 0]))
        tensor([[3, 1],
                [6, 4]])
    """
    idx = _index_tensor("index_select", input, index)
    if idx.ndim > 1:
        raise IndexError(f"index_select: index must be 0-D or 1-D, got shape {tuple(idx.shape)}")
    if input.ndim == 0:
        return index_select(input[None], 0, index)[0]  # torch keeps a 0-d input 0-d
    dim = wrap_dim(dim, input.ndim, "index_select")
    _check_range("index_select", idx, input._data.shape[dim], dim)
    return Index.apply(input, (slice(None),) * dim + (idx.reshape(-1),), "index_select")


@register_method("take_along_dim")
def take_along_dim(input: Tensor, indices: Tensor, dim: "int | None" = None) -> Tensor:
    """``gather`` with broadcasting: values of ``input`` at ``indices`` along ``dim``.

    With ``dim=None`` both are flattened first. ``indices`` is typically the
    output of ``argmax``/``argsort`` with ``keepdim=True``.

    Example::

        >>> import nbgrad as nb
        >>> x = nb.tensor([[10.0, 30.0, 20.0], [60.0, 40.0, 50.0]])
        >>> nb.take_along_dim(x, nb.tensor([[1], [0]]), dim=1)
        tensor([[30.],
                [60.]])
    """
    idx = _index_tensor("take_along_dim", input, indices, "indices")
    if dim is None:
        if input.ndim == 0:
            input = input[None]
        _check_range("take_along_dim", idx, input.numel(), 0)
        xp = backend.array_module(idx)
        return Index.apply(input, tuple(xp.unravel_index(idx, input._data.shape)), "take_along_dim")
    if idx.ndim != input.ndim:
        raise RuntimeError(
            f"take_along_dim: input {tuple(input.shape)} and indices {tuple(idx.shape)} should have the same "
            "number of dimensions"
        )
    dim = wrap_dim(dim, input.ndim, "take_along_dim")
    others = broadcast_shapes(
        "take_along_dim",
        tuple(1 if d == dim else n for d, n in enumerate(input._data.shape)),
        tuple(1 if d == dim else n for d, n in enumerate(idx.shape)),
    )
    in_shape = others[:dim] + (input._data.shape[dim],) + others[dim + 1 :]
    idx_shape = others[:dim] + (idx.shape[dim],) + others[dim + 1 :]
    input = broadcast_to(input, in_shape)
    idx = backend.array_module(idx).broadcast_to(idx, idx_shape)
    _check_range("take_along_dim", idx, in_shape[dim], dim)
    return Index.apply(input, _along_dim_key(idx, dim), "take_along_dim")


# ---------------------------------------------------------------------------
# masks


def _mask_array(op: str, input: Tensor, mask):
    if not isinstance(mask, Tensor) or mask.dtype != backend.bool_:
        got = mask.dtype if isinstance(mask, Tensor) else type(mask).__name__
        raise RuntimeError(f"{op}: expected mask to be a bool Tensor, got {got}")
    check_same_device(op, input, mask)
    return mask._data


@register_method("masked_fill")
def masked_fill(input: Tensor, mask: Tensor, value) -> Tensor:
    """A copy of ``input`` with ``value`` where the bool ``mask`` is True (broadcast together).

    Args:
        input: the tensor to copy.
        mask: a bool tensor broadcastable with ``input``.
        value: a number or a 0-d tensor (its gradient is the sum over the filled positions).

    Example::

        >>> import nbgrad as nb
        >>> x = nb.tensor([1.0, 2.0, 3.0])
        >>> x.masked_fill(x > 1.5, 0.0)
        tensor([1., 0., 0.])
    """
    _mask_array("masked_fill", input, mask)
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise RuntimeError(
                f"masked_fill: only supports a 0-dimensional value tensor, but got shape {tuple(value.shape)}"
            )
        check_same_device("masked_fill", input, value)
        if value.dtype != input.dtype:
            value = value.to(input.dtype)
    elif isinstance(value, (bool, int, float)):
        # torch keeps input's dtype (an int tensor filled with 9.7 holds 9): cast the value first.
        value = Tensor._wrap(backend.array_module(input._data).asarray(value, dtype=input.dtype))
    else:
        raise TypeError(f"masked_fill: value must be a number or a 0-d Tensor, got {type(value).__name__}")
    return where(mask, value, input)


@register_method("masked_select")
def masked_select(input: Tensor, mask: Tensor) -> Tensor:
    """A 1-D tensor of the elements of ``input`` where ``mask`` is True (broadcast together).

    Example::

        >>> import nbgrad as nb
        >>> x = nb.tensor([[1.0, -2.0], [-3.0, 4.0]])
        >>> nb.masked_select(x, x > 0)
        tensor([1., 4.])
    """
    m = _mask_array("masked_select", input, mask)
    shape = broadcast_shapes("masked_select", input._data.shape, m.shape)
    if m.shape != shape:
        m = backend.array_module(m).broadcast_to(m, shape)
    return Index.apply(broadcast_to(input, shape), (m,), "masked_select")


@register_method("nonzero")
def nonzero(input: Tensor, *, as_tuple: bool = False):
    """The indices of the non-zero elements (not differentiable).

    Returns:
        a ``(count, input.ndim)`` int64 tensor, one row per element, or with
        ``as_tuple=True`` one 1-D tensor per dimension (usable as an index).

    Example::

        >>> import nbgrad as nb
        >>> nb.nonzero(nb.tensor([[0, 1], [2, 0]]))
        tensor([[0, 1],
                [1, 0]])
    """
    a = input._data
    xp = backend.array_module(a)
    # NumPy refuses nonzero on 0-d arrays; torch treats them as one element.
    found = xp.nonzero(a.reshape(1) if a.ndim == 0 else a)
    found = tuple(i.astype(np.int64, copy=False) for i in found)
    if as_tuple:
        return tuple(Tensor._wrap(i) for i in found)
    if a.ndim == 0:
        return Tensor._wrap(xp.zeros((found[0].size, 0), dtype=np.int64))
    return Tensor._wrap(xp.stack(found, axis=1))


@register_method("argwhere")
def argwhere(input: Tensor) -> Tensor:
    """``nonzero(input)``: a ``(count, input.ndim)`` tensor of the indices of non-zero elements."""
    return nonzero(input)
