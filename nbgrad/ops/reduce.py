"""Reductions: sum, mean, prod, max/min, argmax, var/std, logsumexp, norm, cumsum/cumprod, all/any.

``dim`` is an int or, where torch allows it, a tuple of ints; ``None`` (or an
empty tuple) reduces every dimension. Each reduction is one graph node whose
backward broadcasts the incoming gradient back over the reduced dims. Ties in
``max``/``min``/``amax``/``amin`` over several elements share the gradient
evenly (as in torch), while ``max(dim=...)`` sends it to the returned index.
"""

from __future__ import annotations

import builtins
import math
from collections import namedtuple

import numpy as np

from nbgrad import backend
from nbgrad.autograd.function import OUTPUT, Function
from nbgrad.autograd.grad_mode import STATE
from nbgrad.ops import elementwise as ew
from nbgrad.ops._util import default_float, dim_of, dims_of
from nbgrad.ops.shape import cat, flip, narrow
from nbgrad.tensor import Tensor, register_method

__all__ = [
    "ValuesIndices",
    "all",
    "amax",
    "amin",
    "any",
    "argmax",
    "argmin",
    "cumprod",
    "cumsum",
    "logsumexp",
    "max",
    "mean",
    "min",
    "norm",
    "prod",
    "std",
    "sum",
    "var",
]

ValuesIndices = namedtuple("ValuesIndices", ["values", "indices"])
ValuesIndices.__doc__ = """``(values, indices)`` returned by ``max``/``min`` with a ``dim`` (torch.return_types)."""

_INF = float("inf")


# ---------------------------------------------------------------------------
# helpers


def _axes(input: Tensor, dim, op: str) -> "tuple | None":
    """The axes to reduce as NumPy wants them: None for all (also for a 0-d input)."""
    shape = input._data.shape
    if dim is None or (isinstance(dim, (tuple, list)) and len(dim) == 0):
        return None
    axes = dims_of(dim, shape, op)
    return axes if shape else None


def _kept_shape(shape: tuple, axes) -> tuple:
    """``shape`` with the reduced axes set to 1 (the keepdim=True result)."""
    if axes is None:
        return (1,) * len(shape)
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _count(shape: tuple, axes) -> int:
    """How many elements each output element reduces."""
    return math.prod(shape) if axes is None else math.prod(shape[i] for i in axes)


def _kept(t: Tensor, shape: tuple, axes, keepdim: bool) -> Tensor:
    """A reduced result ``t`` reshaped to broadcast against the input (reduced dims as size 1)."""
    return t if keepdim else t.reshape(_kept_shape(shape, axes))


def _kept_array(a, shape: tuple, axes, keepdim: bool):
    return a if keepdim else a.reshape(_kept_shape(shape, axes))


def _require_float(input: Tensor, op: str) -> None:
    if input._data.dtype.kind not in "fc":
        raise RuntimeError(
            f"{op}: input dtype must be floating point, got {backend.dtype_name(input.dtype)} "
            f"(shape {tuple(input.shape)}); convert with .float() first"
        )


def _require_nonempty(input: Tensor, axes, op: str) -> None:
    """Reductions without an identity (max, min...) refuse to reduce zero elements."""
    shape = input._data.shape
    if input._data.size == 0 and (axes is None or _count(shape, axes) == 0):
        where = "the whole tensor" if axes is None else f"dims {axes}"
        raise RuntimeError(
            f"{op}: cannot reduce {where} of an empty tensor of shape {shape}: the reduction has no identity; "
            f"specify a dim of non-zero size"
        )


def _int_result(dtype, input: Tensor):
    """torch's accumulation dtype: int64 for integer and bool inputs unless ``dtype`` is given."""
    if dtype is not None:
        return backend.to_dtype(dtype)
    return backend.int64 if input._data.dtype.kind in "iub" else None


def _as_dtype(grad: Tensor, dtype) -> Tensor:
    return grad if grad.dtype == dtype else grad.to(dtype)


# ---------------------------------------------------------------------------
# sum, mean, prod


class Sum(Function):
    _builtin = True

    @staticmethod
    def forward(ctx, x, axes, keepdim, dtype):
        a = x._data
        ctx.meta = (a.shape, axes, keepdim, a.dtype)
        return a.sum(axis=axes, dtype=dtype, keepdims=keepdim)

    @staticmethod
    def backward(ctx, grad):
        shape, axes, keepdim, dtype = ctx.meta
        return _kept(_as_dtype(grad, dtype), shape, axes, keepdim).expand(shape), None, None, None


class Mean(Function):
    _builtin = True

    @staticmethod
    def forward(ctx, x, axes, keepdim, dtype):
        a = x._data
        ctx.meta = (a.shape, axes, keepdim, a.dtype)
        if _count(a.shape, axes):
            return a.mean(axis=axes, dtype=dtype, keepdims=keepdim)
        # The mean of nothing is NaN (torch); NumPy would warn on the way there.
        return a.sum(axis=axes, dtype=dtype, keepdims=keepdim) * np.nan

    @staticmethod
    def backward(ctx, grad):
        shape, axes, keepdim, dtype = ctx.meta
        n = _count(shape, axes)
        return _kept(_as_dtype(grad, dtype) / n, shape, axes, keepdim).expand(shape), None, None, None


class Prod(Function):
    _builtin = True

    @staticmethod
    def forward(ctx, x, axes, keepdim, dtype):
        a = x._data
        ctx.meta = (a.shape, axes, keepdim)
        ctx.save_for_backward(x, OUTPUT)
        return a.prod(axis=axes, dtype=dtype, keepdims=keepdim)

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        shape, axes, keepdim = ctx.meta
        grad = _as_dtype(_kept(grad, shape, axes, keepdim), x.dtype)
        out = _kept(out, shape, axes, keepdim)
        zero = x._data == 0
        if not zero.any():
            return grad * out / x, None, None, None
        if STATE.enabled:  # create_graph: the product of the others must stay differentiable in every x_k
            return grad * _products_of_others(x, axes), None, None, None
        # d(prod)/dx_i is the product of the other elements: out / x_i fails at a zero,
        # so multiply the others directly where x_i is the slice's only zero (else it is 0).
        zeros = Tensor._wrap(zero)
        safe = ew.where(zeros, 1.0, x)
        only_zero = Tensor._wrap(zero.sum(axis=axes, keepdims=True) == 1)
        others = Prod.apply(safe, axes, True, None) * only_zero
        return ew.where(zeros, grad * others, grad * out / safe), None, None, None


def _exclusive_cumprod(x: Tensor, dim: int) -> Tensor:
    """``[1, x_0, x_0 x_1, ...]`` along ``dim``: the product of the elements before each one."""
    n = x._data.shape[dim]
    ones = Tensor._wrap(
        backend.array_module(x._data).ones(x._data.shape[:dim] + (1,) + x._data.shape[dim + 1 :], dtype=x.dtype)
    )
    return Cumprod.apply(cat([ones, narrow(x, dim, 0, n - 1)], dim), dim, None)


def _products_of_others(x: Tensor, axes) -> Tensor:
    """The product of all other elements of each reduced slice, without dividing (exact at zeros)."""
    if axes is None:
        flat = x.reshape(-1)
        return _products_of_others(flat, (0,)).reshape(x._data.shape)
    (dim,) = axes
    return _exclusive_cumprod(x, dim) * flip(_exclusive_cumprod(flip(x, dim), dim), dim)


@register_method("sum")
def sum(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:  # noqa: A001
    """Sum over ``dim`` (an int, a tuple, or None for all); integer and bool inputs sum to int64.

    Example::

        >>> import nbgrad as nb
        >>> nb.tensor([[1.0, 2.0], [3.0, 4.0]]).sum(1)
        tensor([3., 7.])
    """
    return Sum.apply(input, _axes(input, dim, "sum"), bool(keepdim), _int_result(dtype, input))


@register_method("mean")
def mean(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Mean over ``dim`` (an int, a tuple, or None for all); floating point inputs only (or pass ``dtype``).

    Example::

        >>> import nbgrad as nb
        >>> nb.tensor([[1.0, 2.0], [3.0, 4.0]]).mean(0)
        tensor([2., 3.])
    """
    dtype = None if dtype is None else backend.to_dtype(dtype)
    if dtype is None or dtype.kind != "f":
        _require_float(input, "mean")
    return Mean.apply(input, _axes(input, dim, "mean"), bool(keepdim), dtype)


@register_method("prod")
def prod(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Product over one ``dim`` (or all elements); integer and bool inputs multiply in int64.

    The gradient is exact where the input has zeros (the product of the other elements).

    Example::

        >>> import nbgrad as nb
        >>> nb.tensor([[1.0, 2.0], [3.0, 4.0]]).prod(1)
        tensor([ 2., 12.])
    """
    if isinstance(dim, (tuple, list)):
        raise TypeError(f"prod: dim must be an int or None (one dim at a time, as in torch), got {dim!r}")
    return Prod.apply(input, _axes(input, dim, "prod"), bool(keepdim), _int_result(dtype, input))


# ---------------------------------------------------------------------------
# max / min / amax / amin / argmax / argmin


class Amax(Function):
    """max over ``axes``; tied maxima share the gradient evenly."""

    _builtin = True
    _pick = "max"

    @staticmethod
    def forward(ctx, x, axes, keepdim):
        ctx.meta = (axes, keepdim)
        ctx.save_for_backward(x, OUTPUT)
        a = x._data
        return getattr(a, type(ctx)._pick)(axis=axes, keepdims=keepdim)

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        axes, keepdim = ctx.meta
        shape = x._data.shape
        best = _kept_array(out._data, shape, axes, keepdim)
        hit = x._data == best
        nan = best != best
        if nan.any():  # a NaN result came from the NaN inputs
            hit |= (x._data != x._data) & nan
        weight = hit / hit.sum(axis=axes, keepdims=True)
        return _kept(grad, shape, axes, keepdim) * Tensor._wrap(weight.astype(grad.dtype, copy=False)), None, None


class Amin(Amax):
    _pick = "min"


class MaxDim(Function):
    """The values at given indices along one dim; the gradient goes to those indices only."""

    _builtin = True

    @staticmethod
    def forward(ctx, x, dim, keepdim, index):
        a = x._data
        ctx.meta = (a.shape, dim, keepdim, index)
        values = backend.array_module(a).take_along_axis(a, index, axis=dim)
        return values if keepdim else values.squeeze(dim)

    @staticmethod
    def backward(ctx, grad):
        shape, dim, keepdim, index = ctx.meta
        xp = backend.array_module(index)
        positions = xp.arange(shape[dim]).reshape((-1,) + (1,) * (len(shape) - dim - 1))
        picked = Tensor._wrap(positions == index)
        return (grad if keepdim else grad.unsqueeze(dim)) * picked, None, None, None


class MinDim(MaxDim):
    pass


def _arg(input: Tensor, dim, fn: str, op: str):
    """(int64 indices with ``dim`` kept, dim) of ``fn`` (``"argmax"``/``"argmin"``) along one existing dim."""
    a = input._data
    d = dim_of(dim, a.shape, op)
    _require_nonempty(input, (d,), op)
    return getattr(a, fn)(axis=d, keepdims=True).astype(backend.int64, copy=False), d


def _max_min(input: Tensor, dim, keepdim: bool, other, op: str):
    other = dim if other is None else other
    if isinstance(other, Tensor):
        if keepdim:
            raise TypeError(f"{op}: keepdim has no meaning for the elementwise {op}imum of two tensors")
        return (ew.maximum if op == "max" else ew.minimum)(input, other)
    if dim is None:
        if keepdim:
            raise TypeError(f"{op}: keepdim=True needs a dim (use amax/amin for keepdim over all dims)")
        _require_nonempty(input, None, op)
        return (Amax if op == "max" else Amin).apply(input, None, False)
    if input._data.ndim == 0:
        dim_of(dim, (), op)
        index = backend.array_module(input._data).zeros((), dtype=backend.int64)
        return ValuesIndices((Amax if op == "max" else Amin).apply(input, None, False), Tensor._wrap(index))
    index, d = _arg(input, dim, "arg" + op, op)
    values = (MaxDim if op == "max" else MinDim).apply(input, d, bool(keepdim), index)
    return ValuesIndices(values, Tensor._wrap(index if keepdim else index.squeeze(d)))


@register_method("max")
def max(input: Tensor, dim=None, keepdim: bool = False, *, other=None):  # noqa: A001
    """The maximum: of all elements (a 0-d tensor), along ``dim`` (``(values, indices)``), or of two tensors.

    ``max(input)`` shares the gradient among tied maxima; ``max(input, dim)``
    sends it to the returned index; ``max(input, other)`` is :func:`maximum`.

    Example::

        >>> import nbgrad as nb
        >>> x = nb.tensor([[1.0, 5.0], [7.0, 2.0]])
        >>> x.max()
        tensor(7.)
        >>> x.max(1).indices
        tensor([1, 0])
    """
    return _max_min(input, dim, keepdim, other, "max")


@register_method("min")
def min(input: Tensor, dim=None, keepdim: bool = False, *, other=None):  # noqa: A001
    """The minimum: of all elements (a 0-d tensor), along ``dim`` (``(values, indices)``), or of two tensors.

    Example::

        >>> import nbgrad as nb
        >>> nb.tensor([[1.0, 5.0], [7.0, 2.0]]).min(0).values
        tensor([1., 2.])
    """
    return _max_min(input, dim, keepdim, other, "min")


def _amax_amin(input: Tensor, dim, keepdim: bool, cls, op: str) -> Tensor:
    axes = _axes(input, dim, op)
    _require_nonempty(input, axes, op)
    return cls.apply(input, axes, bool(keepdim))


@register_method("amax")
def amax(input: Tensor, dim=(), keepdim: bool = False) -> Tensor:
    """Maximum over ``dim`` (int or tuple; all dims by default); ties share the gradient evenly.

    Example::

        >>> import nbgrad as nb
        >>> nb.tensor([[1.0, 5.0], [7.0, 2.0]]).amax(1)
        tensor([5., 7.])
    """
    return _amax_amin(input, dim, keepdim, Amax, "amax")


@register_method("amin")
def amin(input: Tensor, dim=(), keepdim: bool = False) -> Tensor:
    """Minimum over ``dim`` (int or tuple; all dims by default); ties share the gradient evenly."""
    return _amax_amin(input, dim, keepdim, Amin, "amin")


def _argmax_argmin(input: Tensor, dim, keepdim: bool, op: str) -> Tensor:
    a = input._data
    if dim is None:
        _require_nonempty(input, None, op)
        index = getattr(a, op)()
        xp = backend.array_module(a)
        index = xp.asarray(index, dtype=backend.int64)
        return Tensor._wrap(index.reshape((1,) * a.ndim) if keepdim else index)
    if a.ndim == 0:
        dim_of(dim, (), op)
        return Tensor._wrap(backend.array_module(a).zeros((), dtype=backend.int64))
    index, d = _arg(input, dim, op, op)
    return Tensor._wrap(index if keepdim else index.squeeze(d))


@register_method("argmax")
def argmax(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """Index of the maximum along ``dim`` (of the flattened tensor when ``dim`` is None); int64, no gradient.

    Example::

        >>> import nbgrad as nb
        >>> nb.tensor([[1.0, 5.0], [7.0, 2.0]]).argmax()
        tensor(2)
    """
    return _argmax_argmin(input, dim, keepdim, "argmax")


@register_method("argmin")
def argmin(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """Index of the minimum along ``dim`` (of the flattened tensor when ``dim`` is None); int64, no gradient."""
    return _argmax_argmin(input, dim, keepdim, "argmin")


# ---------------------------------------------------------------------------
# var / std


class Var(Function):
    _builtin = True
    _sqrt = False

    @staticmethod
    def forward(ctx, x, axes, keepdim, correction):
        a = x._data
        n = _count(a.shape, axes)
        ctx.meta = (axes, keepdim, n - correction)
        with np.errstate(divide="ignore", invalid="ignore"):
            centered = a - a.sum(axis=axes, keepdims=True) / n
            out = np.square(centered).sum(axis=axes, keepdims=keepdim) / builtins.max(n - correction, 0)
            if type(ctx)._sqrt:
                out = np.sqrt(out)
        ctx.save_for_backward(x, OUTPUT if type(ctx)._sqrt else None)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        axes, keepdim, dof = ctx.meta
        shape = x._data.shape
        with np.errstate(divide="ignore", invalid="ignore"):
            centered = x - Mean.apply(x, axes, True, None)
            grad = _kept(grad, shape, axes, keepdim)
            if out is None:  # d var / dx = 2 (x - mean) / dof
                return grad * centered * (2.0 / dof if dof > 0 else _INF), None, None, None
            # d std / dx = (x - mean) / (dof * std)
            return grad * centered / (_kept(out, shape, axes, keepdim) * dof), None, None, None


class Std(Var):
    _sqrt = True


def _var_std(input: Tensor, dim, unbiased, keepdim, correction, cls, op: str) -> Tensor:
    if isinstance(dim, bool):  # torch's var(input, unbiased)
        dim, unbiased = None, dim
    if unbiased is not None:
        if correction is not None:
            raise TypeError(f"{op}: pass either unbiased or correction, not both")
        correction = 1 if unbiased else 0
    _require_float(input, op)
    return cls.apply(input, _axes(input, dim, op), bool(keepdim), 1 if correction is None else correction)


@register_method("var")
def var(input: Tensor, dim=None, unbiased=None, keepdim: bool = False, *, correction=None) -> Tensor:
    """Variance over ``dim``, dividing by ``N - correction`` (``correction=1``, Bessel's, by default).

    ``unbiased=False`` is the older spelling of ``correction=0``.

    Example::

        >>> import nbgrad as nb
        >>> nb.tensor([1.0, 2.0, 3.0, 4.0]).var()
        tensor(1.6667)
    """
    return _var_std(input, dim, unbiased, keepdim, correction, Var, "var")


@register_method("std")
def std(input: Tensor, dim=None, unbiased=None, keepdim: bool = False, *, correction=None) -> Tensor:
    """Standard deviation over ``dim``: ``sqrt(var(...))`` with the same arguments (NaN gradient at 0, as torch).

    Example::

        >>> import nbgrad as nb
        >>> nb.tensor([1.0, 3.0]).std(correction=0)
        tensor(1.)
    """
    return _var_std(input, dim, unbiased, keepdim, correction, Std, "std")


# ---------------------------------------------------------------------------
# logsumexp, norm


class LogSumExp(Function):
    _builtin = True

    @staticmethod
    def forward(ctx, x, axes, keepdim):
        a = default_float(x._data)
        xp = backend.array_module(a)
        ctx.meta = (axes, keepdim)
        ctx.save_for_backward(x, OUTPUT)
        shape = _kept_shape(a.shape, axes)
        if _count(a.shape, axes) == 0:  # log(0): the sum of no exponentials
            out = xp.full(shape, -_INF, dtype=a.dtype)
        else:
            # Shift by the max so exp never overflows; infinite maxima shift by 0 instead.
            top = a.max(axis=axes, keepdims=True)
            top = xp.where(xp.isfinite(top), top, 0).astype(a.dtype, copy=False)
            with np.errstate(divide="ignore"):
                out = np.log(np.exp(a - top).sum(axis=axes, keepdims=True)) + top
        return out if keepdim else out.reshape(_reduced_shape(a.shape, axes))

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        axes, keepdim = ctx.meta
        shape = x._data.shape
        return _kept(grad, shape, axes, keepdim) * ew.exp(x - _kept(out, shape, axes, keepdim)), None, None


def _reduced_shape(shape: tuple, axes) -> tuple:
    return () if axes is None else tuple(n for i, n in enumerate(shape) if i not in axes)


@register_method("logsumexp")
def logsumexp(input: Tensor, dim, keepdim: bool = False) -> Tensor:
    """``log(sum(exp(input), dim))``, computed without overflow; integer inputs become float.

    Example::

        >>> import nbgrad as nb
        >>> nb.tensor([1000.0, 1000.0]).logsumexp(0)
        tensor(1000.6932)
    """
    return LogSumExp.apply(input, _axes(input, dim, "logsumexp"), bool(keepdim))


class Norm(Function):
    _builtin = True

    @staticmethod
    def forward(ctx, x, p, axes, keepdim):
        a = x._data
        ctx.meta = (p, axes, keepdim)
        ctx.save_for_backward(x, OUTPUT)
        if p == 2:
            return np.sqrt(np.square(a).sum(axis=axes, keepdims=keepdim))
        if p == 1:
            return np.abs(a).sum(axis=axes, keepdims=keepdim)
        if p == _INF:
            return np.abs(a).max(axis=axes, keepdims=keepdim)
        if p == -_INF:
            return np.abs(a).min(axis=axes, keepdims=keepdim)
        if p == 0:
            return (a != 0).sum(axis=axes, keepdims=keepdim).astype(a.dtype)
        return np.power(np.power(np.abs(a), p).sum(axis=axes, keepdims=keepdim), 1.0 / p)

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        p, axes, keepdim = ctx.meta
        shape = x._data.shape
        grad = _kept(grad, shape, axes, keepdim)
        out = _kept(out, shape, axes, keepdim)
        if p == 0:
            return grad * 0 * x, None, None, None
        if p == 1:
            return grad * ew.sign(x), None, None, None
        # Where the norm is 0 the gradient is 0 (torch's subgradient), not 0/0.
        if p == 2:
            return grad * x / ew.where(out == 0, _INF, out), None, None, None
        if p in (_INF, -_INF):
            hit = np.abs(x._data) == out._data
            weight = Tensor._wrap((hit / hit.sum(axis=axes, keepdims=True)).astype(grad.dtype, copy=False))
            return grad * ew.sign(x) * weight, None, None, None
        with np.errstate(divide="ignore", invalid="ignore"):
            scaled = ew.where(x == 0, 0.0, ew.sign(x) * ew.abs(x) ** (p - 1))
            return grad * scaled * ew.where(out == 0, 0.0, out ** (1 - p)), None, None, None


def _norm_order(p) -> float:
    if p == "fro" or p is None:
        return 2.0
    if isinstance(p, str):
        raise ValueError(f"norm: p={p!r} is not supported; use 'fro', a number, inf or -inf")
    p = float(p)
    if p < 0 and p != -_INF:
        raise ValueError(f"norm: p must be non-negative, inf or -inf, got {p}")
    return p


@register_method("norm")
def norm(input: Tensor, p="fro", dim=None, keepdim: bool = False, dtype=None) -> Tensor:
    """The vector ``p``-norm over ``dim`` (all elements by default): ``sum(|x| ** p) ** (1 / p)``.

    Args:
        input: a floating point tensor.
        p: ``'fro'`` or 2 (Euclidean), 1, ``inf`` (max ``|x|``), ``-inf`` (min ``|x|``), 0 (count of
            non-zeros) or any other positive number.
        dim: an int or tuple of ints; None reduces all dims.
        keepdim: keep the reduced dims as size 1.
        dtype: compute in this dtype.

    The gradient at a zero vector is 0 (not NaN).

    Example::

        >>> import nbgrad as nb
        >>> nb.tensor([3.0, 4.0]).norm()
        tensor(5.)
    """
    p = _norm_order(p)
    if dtype is not None:
        input = input.to(dtype)
    _require_float(input, "norm")
    axes = _axes(input, dim, "norm")
    if p in (_INF, -_INF):
        _require_nonempty(input, axes, "norm")
    return Norm.apply(input, p, axes, bool(keepdim))


# ---------------------------------------------------------------------------
# cumsum, cumprod


def _scan(ufunc, a, dim: int, dtype, reverse: bool):
    """``ufunc.accumulate`` along ``dim`` (from the end when ``reverse``); 0-d arrays pass as 1-element."""
    if a.ndim == 0:
        return a.astype(dtype or a.dtype, copy=True)
    xp = backend.array_module(a)
    scan = xp.cumsum if ufunc is np.add else xp.cumprod
    if not reverse:
        return scan(a, axis=dim, dtype=dtype)
    return xp.flip(scan(xp.flip(a, dim), axis=dim, dtype=dtype), dim)


class Cumsum(Function):
    _builtin = True

    @staticmethod
    def forward(ctx, x, dim, dtype, reverse):
        ctx.meta = (dim, reverse, x._data.dtype)
        return _scan(np.add, x._data, dim, dtype, reverse)

    @staticmethod
    def backward(ctx, grad):
        dim, reverse, dtype = ctx.meta
        return Cumsum.apply(_as_dtype(grad, dtype), dim, None, not reverse), None, None, None


class Cumprod(Function):
    _builtin = True

    @staticmethod
    def forward(ctx, x, dim, dtype):
        ctx.dim = dim
        ctx.save_for_backward(x, OUTPUT)
        return _scan(np.multiply, x._data, dim, dtype, False)

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        dim = ctx.dim
        grad = _as_dtype(grad, x.dtype)
        if x._data.ndim == 0:
            return grad, None, None
        zero = x._data == 0
        # d out_i / d x_j = out_i / x_j for j <= i, summed over i >= j by a reversed cumsum.
        if not zero.any():
            return Cumsum.apply(grad * out, dim, None, True) / x, None, None
        if STATE.enabled:
            return _cumprod_grad_differentiable(x, grad, dim), None, None
        # With zeros, that formula only holds before the first zero of each line. At the first
        # zero the derivative is the cumprod of the line with that zero replaced by 1; after it, 0.
        seen = _scan(np.add, zero, dim, backend.int64, False)
        before, first = Tensor._wrap(seen == 0), Tensor._wrap(zero & (seen == 1))
        safe = ew.where(Tensor._wrap(zero), 1.0, x)
        at_first = Cumsum.apply(grad * Cumprod.apply(ew.where(first, 1.0, x), dim, None), dim, None, True)
        before_first = Cumsum.apply(grad * out, dim, None, True) / safe
        return ew.where(before, before_first, ew.where(first, at_first, 0.0)), None, None


def _cumprod_grad_differentiable(x: Tensor, grad: Tensor, dim: int) -> Tensor:
    """``sum_{i >= j} grad_i prod_{k <= i, k != j} x_k`` as a graph (for double backward through zeros).

    Row ``j`` of an ``n x n`` matrix is ``x`` with ``x_j`` set to 1; its cumprod gives the
    products, masked to ``i >= j``. O(n^2) memory, used only under ``create_graph`` with zeros.
    """
    xm, gm = x.movedim(dim, -1), grad.movedim(dim, -1)
    n = xm._data.shape[-1]
    xp = backend.array_module(x._data)
    eye = Tensor._wrap(xp.eye(n, dtype=bool))
    rows = ew.where(eye, 1.0, xm.unsqueeze(-2).expand(*xm._data.shape[:-1], n, n))
    upper = Tensor._wrap(xp.triu(xp.ones((n, n), dtype=x.dtype)))
    return (Cumprod.apply(rows, rows.ndim - 1, None) * gm.unsqueeze(-2) * upper).sum(-1).movedim(-1, dim)


@register_method("cumsum")
def cumsum(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    """Running sum along ``dim``; integer and bool inputs accumulate in int64.

    Example::

        >>> import nbgrad as nb
        >>> nb.tensor([1, 2, 3]).cumsum(0)
        tensor([1, 3, 6])
    """
    return Cumsum.apply(input, dim_of(dim, input._data.shape, "cumsum"), _int_result(dtype, input), False)


@register_method("cumprod")
def cumprod(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    """Running product along ``dim``; the gradient is exact where the input has zeros.

    Example::

        >>> import nbgrad as nb
        >>> nb.tensor([1.0, 2.0, 3.0]).cumprod(0)
        tensor([1., 2., 6.])
    """
    return Cumprod.apply(input, dim_of(dim, input._data.shape, "cumprod"), _int_result(dtype, input))


# ---------------------------------------------------------------------------
# all, any


def _logical(input: Tensor, dim, keepdim: bool, op: str) -> Tensor:
    a = input._data
    out = getattr(a, op)(axis=_axes(input, dim, op), keepdims=bool(keepdim))
    return Tensor._wrap(backend.array_module(a).asarray(out))


@register_method("all")
def all(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:  # noqa: A001
    """Whether all elements (over ``dim``) are non-zero; a bool tensor (True for an empty reduction).

    Example::

        >>> import nbgrad as nb
        >>> nb.tensor([[True, False], [True, True]]).all(1)
        tensor([False,  True])
    """
    return _logical(input, dim, keepdim, "all")


@register_method("any")
def any(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:  # noqa: A001
    """Whether any element (over ``dim``) is non-zero; a bool tensor (False for an empty reduction)."""
    return _logical(input, dim, keepdim, "any")
