"""Shape ops: reshape/view, transpose/permute, squeeze, cat/stack, split/chunk, flip, roll, pad...

View ops (``reshape`` when NumPy can return a view, ``view``, ``transpose``,
``permute``, ``squeeze``, ``unsqueeze``, ``flatten``, ``unflatten``,
``narrow``, ``movedim`` and the pieces of ``split``/``chunk``/``unbind``)
share memory and the version counter with their input, so an in-place change
of either is seen by autograd. ``flip`` and ``roll`` copy, as in torch
(``np.flip`` would return a view; torch documents that ``flip`` copies).

Slicing and zero-padding are each other's backward (``Slice``/``Embed``), and
so are gathering and scatter-adding along a dim (``Take``/``IndexAdd``, used by
the reflect/replicate/circular pads): every backward is made of ops that are
themselves differentiable, so higher-order gradients work.
"""

from __future__ import annotations

import operator

import numpy as np

from nbgrad import backend
from nbgrad.autograd import views
from nbgrad.autograd.function import Function
from nbgrad.ops._util import dim_of, dims_of
from nbgrad.tensor import Tensor, register_method

__all__ = [
    "cat",
    "chunk",
    "concat",
    "concatenate",
    "flatten",
    "flip",
    "movedim",
    "moveaxis",
    "narrow",
    "pad",
    "permute",
    "repeat",
    "reshape",
    "roll",
    "select",
    "split",
    "squeeze",
    "stack",
    "swapaxes",
    "swapdims",
    "transpose",
    "unbind",
    "unflatten",
    "unsqueeze",
    "view",
]


# ---------------------------------------------------------------------------
# helpers


def _size_args(args: tuple, op: str) -> tuple:
    """Sizes given as ``f(2, 3)`` or ``f((2, 3))`` as a tuple of ints."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = args[0]
    try:
        return tuple(operator.index(s) for s in args)
    except TypeError:
        raise TypeError(f"{op}: sizes must be integers, got {tuple(args)!r}") from None


def _infer_size(sizes: tuple, numel: int) -> "tuple | None":
    """``sizes`` with its one ``-1`` filled in so that it holds ``numel`` elements; None if impossible."""
    known, infer = 1, None
    for i, s in enumerate(sizes):
        if s == -1 and infer is None:
            infer = i
        elif s < 0:
            return None
        else:
            known *= s
    if infer is None:
        return sizes if known == numel else None
    if known == 0 or numel % known:
        return None
    return sizes[:infer] + (numel // known,) + sizes[infer + 1 :]


def _target_shape(input: Tensor, args: tuple, op: str) -> tuple:
    sizes = _size_args(args, op)
    shape = _infer_size(sizes, input._data.size)
    if shape is None:
        if sizes.count(-1) > 1:
            raise RuntimeError(f"{op}: only one dimension can be inferred (-1), got shape {sizes}")
        raise RuntimeError(
            f"{op}: shape {sizes} is invalid for input of size {input._data.size} (shape {tuple(input.shape)})"
        )
    return shape


def _existing_dim(input: Tensor, dim, op: str) -> int:
    """A dim that must index an actual dimension (0-d tensors have none)."""
    if input._data.ndim == 0:
        raise IndexError(f"{op}: dimension specified as {dim} but the tensor has no dimensions (shape ())")
    return dim_of(dim, input._data.shape, op)


def _along(ndim: int, dim: int, index) -> tuple:
    """A basic index that applies ``index`` along ``dim`` only."""
    return (slice(None),) * dim + (index,)


# ---------------------------------------------------------------------------
# reshaping views


class View(Function):
    """Same data, new shape (a view where NumPy can make one)."""

    _builtin = True

    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x._data.shape
        return x._data.reshape(shape)

    @staticmethod
    def backward(ctx, grad):
        return View.apply(grad, ctx.in_shape), None


class Squeeze(View):
    pass


class Unsqueeze(View):
    pass


def _reshaped(input: Tensor, shape: tuple, cls=View) -> Tensor:
    """``cls.apply(input, shape)``, sharing the version counter when the result is a view."""
    out = cls.apply(input, shape)
    a = input._data
    if a.flags.c_contiguous or backend.array_module(a).may_share_memory(a, out._data):
        views.mark_view(out, input, cls, shape)
    return out


@register_method("reshape")
def reshape(input: Tensor, *shape) -> Tensor:
    """The same elements in a new shape; one size may be ``-1`` (inferred).

    Returns a view when the memory layout allows it, else a copy.

    Example::

        >>> import nbgrad as nb
        >>> nb.arange(6).reshape(2, -1)
        tensor([[0, 1, 2],
                [3, 4, 5]])
    """
    return _reshaped(input, _target_shape(input, shape, "reshape"))


@register_method("view")
def view(input: Tensor, *shape) -> Tensor:
    """Like :func:`reshape`, but always a view: raises when the strides make that impossible.

    Example::

        >>> import nbgrad as nb
        >>> nb.zeros(2, 3).view(-1).shape
        nbgrad.Size([6])
    """
    target = _target_shape(input, shape, "view")
    out = _reshaped(input, target)
    if out._version is not input._version and input._data.size:
        strides = tuple(s // input._data.itemsize for s in input._data.strides)
        raise RuntimeError(
            f"view: view size {target} is not compatible with input tensor's size and stride (shape "
            f"{tuple(input.shape)}, strides {strides}): at least one dimension spans across two contiguous "
            f"subspaces. Use .reshape({', '.join(map(str, target))}) instead."
        )
    return out


@register_method("view_as")
def view_as(input: Tensor, other: Tensor) -> Tensor:
    """``input.view(other.shape)``."""
    return view(input, tuple(other.shape))


@register_method("reshape_as")
def reshape_as(input: Tensor, other: Tensor) -> Tensor:
    """``input.reshape(other.shape)``."""
    return reshape(input, tuple(other.shape))


@register_method("squeeze")
def squeeze(input: Tensor, dim=None) -> Tensor:
    """Remove dimensions of size 1 (all of them, or those in ``dim``: an int or tuple).

    Dimensions in ``dim`` whose size is not 1 are left alone, as in torch.

    Example::

        >>> import nbgrad as nb
        >>> nb.zeros(2, 1, 3, 1).squeeze(1).shape
        nbgrad.Size([2, 3, 1])
    """
    shape = input._data.shape
    if dim is None:
        new = tuple(s for s in shape if s != 1)
    else:
        axes = dims_of(dim, shape, "squeeze")
        new = tuple(s for i, s in enumerate(shape) if s != 1 or i not in axes)
    return views.apply_view(Squeeze, input, new)


@register_method("unsqueeze")
def unsqueeze(input: Tensor, dim: int) -> Tensor:
    """Insert a dimension of size 1 at ``dim`` (``-1`` appends one).

    Example::

        >>> import nbgrad as nb
        >>> nb.zeros(2, 3).unsqueeze(-1).shape
        nbgrad.Size([2, 3, 1])
    """
    shape = input._data.shape
    d = dim_of(dim, shape, "unsqueeze", extra=1)
    return views.apply_view(Unsqueeze, input, shape[:d] + (1,) + shape[d:])


@register_method("flatten")
def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dimensions ``start_dim`` to ``end_dim`` (inclusive) into one.

    A 0-d tensor becomes 1-d; when there is nothing to merge ``input`` itself is returned.

    Example::

        >>> import nbgrad as nb
        >>> nb.zeros(2, 3, 4).flatten(1).shape
        nbgrad.Size([2, 12])
    """
    shape = input._data.shape
    if not shape:
        return _reshaped(input, (1,))
    s, e = dim_of(start_dim, shape, "flatten"), dim_of(end_dim, shape, "flatten")
    if s > e:
        raise RuntimeError(
            f"flatten: start_dim ({start_dim}) cannot come after end_dim ({end_dim}) for a tensor of shape {shape}"
        )
    if s == e:
        return input
    merged = 1
    for n in shape[s : e + 1]:
        merged *= n
    return _reshaped(input, shape[:s] + (merged,) + shape[e + 1 :])


@register_method("unflatten")
def unflatten(input: Tensor, dim: int, sizes) -> Tensor:
    """Split dimension ``dim`` into ``sizes`` (one of which may be ``-1``).

    Example::

        >>> import nbgrad as nb
        >>> nb.zeros(2, 12).unflatten(1, (3, -1)).shape
        nbgrad.Size([2, 3, 4])
    """
    shape = input._data.shape
    d = _existing_dim(input, dim, "unflatten")
    sizes = _size_args((sizes,), "unflatten")
    filled = _infer_size(sizes, shape[d])
    if filled is None or not sizes:
        raise RuntimeError(
            f"unflatten: sizes {sizes} don't multiply up to the size of dim {dim} ({shape[d]}) of the input "
            f"of shape {shape}"
        )
    return _reshaped(input, shape[:d] + filled + shape[d + 1 :])


# ---------------------------------------------------------------------------
# transposing views


class Transpose(Function):
    _builtin = True

    @staticmethod
    def forward(ctx, x, dim0, dim1):
        ctx.dims = (dim0, dim1)
        a = x._data
        return a.swapaxes(dim0, dim1) if a.ndim else a

    @staticmethod
    def backward(ctx, grad):
        return Transpose.apply(grad, *ctx.dims), None, None


class Permute(Function):
    _builtin = True

    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return x._data.transpose(dims)

    @staticmethod
    def backward(ctx, grad):
        return Permute.apply(grad, tuple(np.argsort(ctx.dims).tolist())), None


@register_method("transpose", "swapaxes", "swapdims")
def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    """Swap dimensions ``dim0`` and ``dim1`` (a view).

    Example::

        >>> import nbgrad as nb
        >>> nb.zeros(2, 3, 4).transpose(0, -1).shape
        nbgrad.Size([4, 3, 2])
    """
    shape = input._data.shape
    d0, d1 = dim_of(dim0, shape, "transpose"), dim_of(dim1, shape, "transpose")
    return views.apply_view(Transpose, input, d0, d1)


swapaxes = swapdims = transpose


def _permutation(dims, ndim: int, shape: tuple, op: str) -> tuple:
    if len(dims) != ndim:
        raise RuntimeError(
            f"{op}: number of dims don't match: got {len(dims)} dims {tuple(dims)} for a tensor of shape {shape} "
            f"({ndim} dims)"
        )
    perm = tuple(dim_of(d, shape, op) for d in dims)
    if len(set(perm)) != ndim:
        raise RuntimeError(f"{op}: repeated dim in {tuple(dims)} for a tensor of shape {shape}")
    return perm


@register_method("permute")
def permute(input: Tensor, *dims) -> Tensor:
    """Reorder the dimensions: output dim ``i`` is input dim ``dims[i]`` (a view).

    Example::

        >>> import nbgrad as nb
        >>> nb.zeros(2, 3, 4).permute(2, 0, 1).shape
        nbgrad.Size([4, 2, 3])
    """
    shape = input._data.shape
    perm = _permutation(_size_args(dims, "permute"), len(shape), shape, "permute")
    return views.apply_view(Permute, input, perm)


def _dim_list(dims, op: str) -> tuple:
    return _size_args((dims,) if isinstance(dims, (tuple, list)) else (dims,), op)


@register_method("movedim", "moveaxis")
def movedim(input: Tensor, source, destination) -> Tensor:
    """Move dims ``source`` (int or tuple) to positions ``destination``; the others keep their order.

    Example::

        >>> import nbgrad as nb
        >>> nb.zeros(2, 3, 4).movedim(0, -1).shape
        nbgrad.Size([3, 4, 2])
    """
    shape = input._data.shape
    src, dst = _dim_list(source, "movedim"), _dim_list(destination, "movedim")
    if len(src) != len(dst):
        raise RuntimeError(
            f"movedim: source {src} and destination {dst} must have the same number of dims ({len(src)} vs {len(dst)})"
        )
    src = tuple(dim_of(d, shape, "movedim") for d in src)
    dst = tuple(dim_of(d, shape, "movedim") for d in dst)
    if len(set(src)) != len(src) or len(set(dst)) != len(dst):
        raise RuntimeError(f"movedim: repeated dim in source {src} or destination {dst} (shape {shape})")
    order = [d for d in range(len(shape)) if d not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return views.apply_view(Permute, input, tuple(order))


moveaxis = movedim


# ---------------------------------------------------------------------------
# slicing and its adjoint, zero padding


class Slice(Function):
    """A basic-index view ``x[index]`` (ints and slices with step 1)."""

    _builtin = True

    @staticmethod
    def forward(ctx, x, index):
        ctx.in_shape = x._data.shape
        ctx.index = index
        return x._data[index]

    @staticmethod
    def backward(ctx, grad):
        return Embed.apply(grad, ctx.in_shape, ctx.index, 0), None


class Select(Slice):
    pass


class Embed(Function):
    """A tensor of ``shape`` filled with ``value``, with ``x`` written at ``index`` (the adjoint of Slice)."""

    _builtin = True

    @staticmethod
    def forward(ctx, x, shape, index, value):
        ctx.index = index
        a = x._data
        out = backend.array_module(a).full(shape, value, dtype=a.dtype)
        out[index] = a
        return out

    @staticmethod
    def backward(ctx, grad):
        return Slice.apply(grad, ctx.index), None, None, None


class ConstantPad(Embed):
    pass


@register_method("narrow")
def narrow(input: Tensor, dim: int, start: int, length: int) -> Tensor:
    """Elements ``start`` to ``start + length`` along ``dim`` (a view; ``start`` may be negative).

    Example::

        >>> import nbgrad as nb
        >>> nb.arange(6).narrow(0, 1, 3)
        tensor([1, 2, 3])
    """
    shape = input._data.shape
    d = _existing_dim(input, dim, "narrow")
    n = shape[d]
    start, length = operator.index(start), operator.index(length)
    begin = start + n if start < 0 else start
    if not 0 <= begin <= n:
        raise IndexError(f"narrow: start ({start}) is out of range for dim {dim} of size {n} (shape {shape})")
    if length < 0 or begin + length > n:
        raise RuntimeError(
            f"narrow: start ({start}) + length ({length}) exceeds the size ({n}) of dim {dim} (shape {shape})"
        )
    return views.apply_view(Slice, input, _along(len(shape), d, slice(begin, begin + length)))


@register_method("split")
def split(tensor: Tensor, split_size_or_sections, dim: int = 0) -> tuple:
    """Split into pieces of ``split_size_or_sections`` (an int: the last piece may be smaller; or a list of sizes).

    Each piece is a view of ``tensor`` with its own gradient path.

    Example::

        >>> import nbgrad as nb
        >>> [t.tolist() for t in nb.arange(5).split(2)]
        [[0, 1], [2, 3], [4]]
    """
    shape = tensor._data.shape
    d = _existing_dim(tensor, dim, "split")
    n = shape[d]
    if isinstance(split_size_or_sections, (list, tuple)):
        sizes = _size_args((split_size_or_sections,), "split")
        if sum(sizes) != n or any(s < 0 for s in sizes):
            raise RuntimeError(
                f"split: split sizes {sizes} must be non-negative and sum to the size ({n}) of dim {dim} "
                f"(shape {shape})"
            )
    else:
        size = operator.index(split_size_or_sections)
        if size < 0 or (size == 0 and n):
            raise RuntimeError(f"split: split_size must be positive, got {size} (dim {dim} of shape {shape})")
        sizes = tuple(min(size, n - s) for s in range(0, n, size)) if n else (0,)
    return _pieces(tensor, d, sizes)


def _pieces(tensor: Tensor, dim: int, sizes) -> tuple:
    ndim, pieces, start = tensor._data.ndim, [], 0
    for size in sizes:
        pieces.append(views.apply_view(Slice, tensor, _along(ndim, dim, slice(start, start + size))))
        start += size
    return tuple(pieces)


@register_method("chunk")
def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple:
    """Split into ``chunks`` pieces of ``ceil(size / chunks)`` along ``dim`` (maybe fewer pieces, as in torch).

    Example::

        >>> import nbgrad as nb
        >>> [t.tolist() for t in nb.arange(5).chunk(2)]
        [[0, 1, 2], [3, 4]]
    """
    chunks = operator.index(chunks)
    shape = input._data.shape
    if chunks <= 0:
        raise RuntimeError(f"chunk: chunks must be greater than 0, got {chunks} (shape {shape})")
    d = _existing_dim(input, dim, "chunk")
    n = shape[d]
    if n == 0:
        return _pieces(input, d, (0,) * chunks)
    size = -(-n // chunks)
    return _pieces(input, d, tuple(min(size, n - s) for s in range(0, n, size)))


@register_method("select")
def select(input: Tensor, dim: int, index: int) -> Tensor:
    """The slice at ``index`` along ``dim``, with that dim removed (a view; ``index`` may be negative).

    Example::

        >>> import nbgrad as nb
        >>> nb.tensor([[1, 2], [3, 4]]).select(1, -1)
        tensor([2, 4])
    """
    shape = input._data.shape
    d = _existing_dim(input, dim, "select")
    i, n = operator.index(index), shape[d]
    if not -n <= i < n:
        raise IndexError(f"select: index {index} is out of range for dim {dim} of size {n} (shape {shape})")
    return views.apply_view(Select, input, _along(len(shape), d, i % n))


@register_method("unbind")
def unbind(input: Tensor, dim: int = 0) -> tuple:
    """The slices along ``dim``, with that dim removed (views).

    Example::

        >>> import nbgrad as nb
        >>> [t.tolist() for t in nb.tensor([[1, 2], [3, 4]]).unbind(1)]
        [[1, 3], [2, 4]]
    """
    d = _existing_dim(input, dim, "unbind")
    ndim = input._data.ndim
    return tuple(views.apply_view(Select, input, _along(ndim, d, i)) for i in range(input._data.shape[d]))


# ---------------------------------------------------------------------------
# cat / stack


def _joined_dtype(tensors, op: str):
    """Check devices and pick the result dtype by torch's rule: float > int > bool, then the wider."""
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: expected a sequence of Tensors, but element {i} is {type(t).__name__}")
    first = tensors[0]
    kind = type(first._data)
    for i, t in enumerate(tensors):
        if type(t._data) is not kind or (kind is not np.ndarray and t.device != first.device):
            raise RuntimeError(
                f"{op}: expected all tensors to be on the same device, but tensor 0 is on {first.device} "
                f"(shape {tuple(first.shape)}) and tensor {i} is on {t.device} (shape {tuple(t.shape)})"
            )
    dtypes = {t._data.dtype for t in tensors}
    if len(dtypes) == 1:
        return first._data.dtype
    rank = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}
    top = max(rank[d.kind] for d in dtypes)
    return np.result_type(*[d for d in dtypes if rank[d.kind] == top])


def _tensor_list(tensors, op: str) -> list:
    if isinstance(tensors, Tensor):
        raise TypeError(f"{op}: expected a sequence of Tensors, got a single Tensor of shape {tuple(tensors.shape)}")
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError(f"{op}: expected a non-empty list of Tensors")
    return tensors


class Cat(Function):
    _builtin = True

    @staticmethod
    def forward(ctx, dim, dtype, *tensors):
        arrays = [t._data if t._data.dtype == dtype else t._data.astype(dtype) for t in tensors]
        ctx.meta = (dim, [(a.shape[dim], t._data.dtype) for a, t in zip(arrays, tensors)])
        return backend.array_module(arrays[0]).concatenate(arrays, axis=dim)

    @staticmethod
    def backward(ctx, grad):
        dim, parts = ctx.meta
        grads, start, ndim = [None, None], 0, grad.ndim
        for need, (size, dtype) in zip(ctx.needs_input_grad[2:], parts):
            g = None
            if need:
                g = Slice.apply(grad, _along(ndim, dim, slice(start, start + size)))
                g = g if g.dtype == dtype else g.to(dtype)
            grads.append(g)
            start += size
        return tuple(grads)


class Stack(Function):
    _builtin = True

    @staticmethod
    def forward(ctx, dim, dtype, *tensors):
        ctx.meta = (dim, [t._data.dtype for t in tensors])
        arrays = [t._data if t._data.dtype == dtype else t._data.astype(dtype) for t in tensors]
        return backend.array_module(arrays[0]).stack(arrays, axis=dim)

    @staticmethod
    def backward(ctx, grad):
        dim, dtypes = ctx.meta
        grads, ndim = [None, None], grad.ndim
        for i, (need, dtype) in enumerate(zip(ctx.needs_input_grad[2:], dtypes)):
            g = Select.apply(grad, _along(ndim, dim, i)) if need else None
            grads.append(g if g is None or g.dtype == dtype else g.to(dtype))
        return tuple(grads)


def cat(tensors, dim: int = 0) -> Tensor:
    """Concatenate tensors along an existing dimension ``dim``.

    All sizes must match except along ``dim``. Mixed dtypes are promoted as in
    torch (float beats int beats bool, then the wider type); the gradient of each
    input is cast back to its dtype. 1-d empty tensors are skipped (torch's legacy rule).

    Example::

        >>> import nbgrad as nb
        >>> nb.cat([nb.zeros(2, 3), nb.ones(1, 3)]).shape
        nbgrad.Size([3, 3])
    """
    tensors = _tensor_list(tensors, "cat")
    dtype = _joined_dtype(tensors, "cat")
    kept = [i for i, t in enumerate(tensors) if t._data.shape != (0,)] or list(range(len(tensors)))
    ref = kept[0]
    shape = tensors[ref]._data.shape
    if not shape:
        raise RuntimeError(f"cat: zero-dimensional tensor (at position {ref}) cannot be concatenated")
    d = dim_of(dim, shape, "cat")
    for i in kept:
        other = tensors[i]._data.shape
        if len(other) != len(shape):
            raise RuntimeError(
                f"cat: tensors must have the same number of dimensions: tensor {ref} has shape {shape} but "
                f"tensor {i} has shape {other}"
            )
        for k, (a, b) in enumerate(zip(shape, other)):
            if a != b and k != d:
                raise RuntimeError(
                    f"cat: sizes of tensors must match except in dimension {d}: tensor {ref} has shape {shape} "
                    f"but tensor {i} has shape {other} (mismatch in dimension {k})"
                )
    return Cat.apply(d, dtype, *[tensors[i] for i in kept])


concat = concatenate = cat


def stack(tensors, dim: int = 0) -> Tensor:
    """Join equally shaped tensors along a new dimension ``dim``.

    Mixed dtypes are promoted as in :func:`cat`.

    Example::

        >>> import nbgrad as nb
        >>> nb.stack([nb.zeros(2, 3), nb.ones(2, 3)], dim=1).shape
        nbgrad.Size([2, 2, 3])
    """
    tensors = _tensor_list(tensors, "stack")
    dtype = _joined_dtype(tensors, "stack")
    shape = tensors[0]._data.shape
    for i, t in enumerate(tensors):
        if t._data.shape != shape:
            raise RuntimeError(
                f"stack: expects each tensor to be equal size, but got {shape} at entry 0 and "
                f"{t._data.shape} at entry {i}"
            )
    return Stack.apply(dim_of(dim, shape, "stack", extra=1), dtype, *tensors)


# ---------------------------------------------------------------------------
# repeat, flip, roll


class Repeat(Function):
    _builtin = True

    @staticmethod
    def forward(ctx, x, sizes):
        ctx.meta = (x._data.shape, sizes)
        return backend.array_module(x._data).tile(x._data, sizes)

    @staticmethod
    def backward(ctx, grad):
        in_shape, sizes = ctx.meta
        padded = (1,) * (len(sizes) - len(in_shape)) + in_shape
        # Each output dim is (repeat, size) flattened: split it and sum over the repeats.
        split_shape = tuple(n for pair in zip(sizes, padded) for n in pair)
        summed = grad.reshape(split_shape).sum(tuple(range(0, 2 * len(sizes), 2)))
        return summed.reshape(in_shape), None


@register_method("repeat")
def repeat(input: Tensor, *sizes) -> Tensor:
    """Tile ``input``: ``sizes[i]`` copies along dim ``i`` (extra leading sizes add dims), like ``np.tile``.

    Example::

        >>> import nbgrad as nb
        >>> nb.tensor([1, 2]).repeat(2, 2)
        tensor([[1, 2, 1, 2],
                [1, 2, 1, 2]])
    """
    sizes = _size_args(sizes, "repeat")
    shape = input._data.shape
    if len(sizes) < len(shape):
        raise RuntimeError(
            f"repeat: number of repeat dims ({len(sizes)}) can not be smaller than the number of dimensions of "
            f"the tensor ({len(shape)}, shape {shape})"
        )
    if any(s < 0 for s in sizes):
        raise RuntimeError(f"repeat: repeats must be non-negative, got {sizes}")
    return Repeat.apply(input, sizes)


class Flip(Function):
    _builtin = True

    @staticmethod
    def forward(ctx, x, axes):
        ctx.axes = axes
        a = x._data
        return backend.array_module(a).flip(a, axes).copy() if a.ndim else a.copy()

    @staticmethod
    def backward(ctx, grad):
        return Flip.apply(grad, ctx.axes), None


@register_method("flip")
def flip(input: Tensor, *dims) -> Tensor:
    """Reverse the order of elements along ``dims`` (a copy, as in torch).

    Example::

        >>> import nbgrad as nb
        >>> nb.arange(4).flip(0)
        tensor([3, 2, 1, 0])
    """
    dims = dims[0] if len(dims) == 1 else dims
    return Flip.apply(input, dims_of(dims, input._data.shape, "flip"))


class Roll(Function):
    _builtin = True

    @staticmethod
    def forward(ctx, x, shifts, axes):
        ctx.meta = (shifts, axes)
        return backend.array_module(x._data).roll(x._data, shifts, axes)

    @staticmethod
    def backward(ctx, grad):
        shifts, axes = ctx.meta
        back = -shifts if axes is None else tuple(-s for s in shifts)
        return Roll.apply(grad, back, axes), None, None


@register_method("roll")
def roll(input: Tensor, shifts, dims=None) -> Tensor:
    """Shift elements circularly by ``shifts`` along ``dims`` (over the flattened tensor when ``dims`` is None).

    Example::

        >>> import nbgrad as nb
        >>> nb.arange(5).roll(2)
        tensor([3, 4, 0, 1, 2])
    """
    shape = input._data.shape
    shifts = _dim_list(shifts, "roll")
    if dims is None:
        if len(shifts) != 1:
            raise RuntimeError(f"roll: without dims, shifts must be a single int, got {shifts} (shape {shape})")
        return Roll.apply(input, shifts[0], None)
    dims = _dim_list(dims, "roll")
    if len(shifts) != len(dims):
        raise RuntimeError(f"roll: shifts {shifts} and dims {dims} must have the same length (shape {shape})")
    if not shape:
        return Roll.apply(input, 0, None)
    return Roll.apply(input, shifts, tuple(dim_of(d, shape, "roll") for d in dims))


# ---------------------------------------------------------------------------
# pad


class Take(Function):
    """Gather positions ``idx`` (a host int array) along ``axis``."""

    _builtin = True

    @staticmethod
    def forward(ctx, x, axis, idx):
        ctx.meta = (axis, idx, x._data.shape[axis])
        xp = backend.array_module(x._data)
        return xp.take(x._data, xp.asarray(idx), axis=axis)

    @staticmethod
    def backward(ctx, grad):
        axis, idx, n = ctx.meta
        return IndexAdd.apply(grad, axis, idx, n), None, None


class IndexAdd(Function):
    """Sum the slices of ``x`` along ``axis`` into ``n`` positions ``idx`` (the adjoint of Take)."""

    _builtin = True

    @staticmethod
    def forward(ctx, x, axis, idx, n):
        ctx.meta = (axis, idx)
        return _scatter_add(x._data, axis, idx, n)

    @staticmethod
    def backward(ctx, grad):
        axis, idx = ctx.meta
        return Take.apply(grad, axis, idx), None, None, None


def _runs(idx) -> list:
    """``idx`` as runs ``(src_start, length, dst_start, step)`` with step 1, -1 or 0.

    Padding index maps are a few such runs (the interior, one per border), so the
    scatter-add costs a handful of slice additions instead of one per position.
    """
    runs, i, m = [], 0, len(idx)
    while i < m:
        step = int(idx[i + 1] - idx[i]) if i + 1 < m else 1
        if step not in (-1, 0, 1):
            step = 1
        j = i + 1
        while j < m and idx[j] - idx[j - 1] == step:
            j += 1
        runs.append((i, j - i, int(idx[i]), step))
        i = j
    return runs


def _scatter_add(a, axis: int, idx, n: int):
    shape = a.shape[:axis] + (n,) + a.shape[axis + 1 :]
    xp = backend.array_module(a)
    out = xp.zeros(shape, dtype=a.dtype)
    for src, length, dst, step in _runs(idx):
        part = a[_along(a.ndim, axis, slice(src, src + length))]
        if step == 1:
            out[_along(a.ndim, axis, slice(dst, dst + length))] += part
        elif step == -1:
            out[_along(a.ndim, axis, slice(dst - length + 1, dst + 1))] += xp.flip(part, axis)
        else:
            out[_along(a.ndim, axis, slice(dst, dst + 1))] += part.sum(axis=axis, keepdims=True)
    return out


class IndexPad(Function):
    """reflect / replicate / circular padding: one ``xp.pad`` forward, a scatter-add per padded dim backward."""

    _builtin = True

    @staticmethod
    def forward(ctx, x, widths, mode):
        a = x._data
        ctx.maps = [
            (axis, np.pad(np.arange(a.shape[axis]), w, mode), a.shape[axis])
            for axis, w in enumerate(widths)
            if w != (0, 0)
        ]
        return backend.array_module(a).pad(a, widths, mode=mode)

    @staticmethod
    def backward(ctx, grad):
        for axis, idx, n in ctx.maps:
            grad = IndexAdd.apply(grad, axis, idx, n)
        return grad, None, None


_NUMPY_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def pad(input: Tensor, pad, mode: str = "constant", value=None) -> Tensor:
    """Pad ``input``; ``pad`` lists the last dimension first: ``(left, right, top, bottom, front, back, ...)``.

    Args:
        input: the tensor to pad.
        pad: pairs of non-negative padding widths, starting from the last dimension.
        mode: ``'constant'`` (fill with ``value``), ``'reflect'`` (mirror, excluding the edge),
            ``'replicate'`` (repeat the edge) or ``'circular'`` (wrap around).
        value: the fill value for ``'constant'`` (default 0).

    Unlike torch, the non-constant modes accept any number of leading dimensions,
    and negative padding (cropping) is not supported: slice or :func:`narrow` instead.

    Shape:
        each padded dim grows by its two widths.

    Example::

        >>> import nbgrad as nb
        >>> nb.pad(nb.tensor([[1, 2, 3]]), (2, 1), mode="reflect")
        tensor([[3, 2, 1, 2, 3, 2]])
    """
    shape = input._data.shape
    pad = _size_args((pad,), "pad")
    if len(pad) % 2:
        raise RuntimeError(f"pad: padding length must be divisible by 2, got {len(pad)} values {pad}")
    if len(pad) // 2 > len(shape):
        raise RuntimeError(
            f"pad: padding {pad} has {len(pad)} values, too many for a tensor of shape {shape} "
            f"(at most 2 per dimension)"
        )
    if any(p < 0 for p in pad):
        raise RuntimeError(f"pad: negative padding {pad} is not supported; crop with narrow or slicing instead")
    widths = [(0, 0)] * len(shape)
    for k in range(len(pad) // 2):
        widths[len(shape) - 1 - k] = (pad[2 * k], pad[2 * k + 1])
    if mode == "constant":
        out_shape = tuple(n + lo + hi for n, (lo, hi) in zip(shape, widths))
        index = tuple(slice(lo, lo + n) for n, (lo, _) in zip(shape, widths))
        return ConstantPad.apply(input, out_shape, index, 0 if value is None else value)
    if mode not in _NUMPY_MODES:
        raise ValueError(f"pad: unknown mode {mode!r}; expected 'constant', 'reflect', 'replicate' or 'circular'")
    if value is not None:
        raise ValueError(f"pad: mode {mode!r} doesn't take a value argument (got value={value!r})")
    for axis, (lo, hi) in enumerate(widths):
        n, width = shape[axis], max(lo, hi)
        if mode == "reflect" and width >= n:
            raise RuntimeError(
                f"pad: reflect padding {(lo, hi)} of dim {axis} must be less than its size {n} (input shape {shape})"
            )
        if mode == "circular" and width > n:
            raise RuntimeError(
                f"pad: circular padding {(lo, hi)} of dim {axis} must be at most its size {n} (input shape {shape})"
            )
        if mode == "replicate" and width and not n:
            raise RuntimeError(f"pad: cannot replicate-pad dim {axis} of size 0 (input shape {shape})")
    return IndexPad.apply(input, tuple(widths), _NUMPY_MODES[mode])
