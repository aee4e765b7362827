"""In-place ops: ``add_``, ``mul_``, ``+=``, ``zero_``, ``copy_``... and the version counters they bump.

All of them go through :func:`apply_inplace`, which runs the out-of-place op
and writes its result into the tensor's own memory, so that every view of the
tensor sees the change. When a graph is being recorded, the out-of-place op
runs on a snapshot of the old value and the tensor is rebound to the new
node; the version bump makes any node that saved the old value refuse to
backward (as in torch) instead of silently using the overwritten data.
"""

from __future__ import annotations

import numpy as np

from nbgrad.autograd import views
from nbgrad.autograd.grad_mode import STATE, no_grad
from nbgrad.ops import elementwise as ew
from nbgrad.ops._util import as_operand, check_same_device, data
from nbgrad.ops.indexing import IndexPut, masked_fill, scatter, scatter_add
from nbgrad.tensor import Tensor, register_method

__all__ = []  # every op here is a method (``x.add_(1)``), as in torch

_TORCH_DTYPE_NAMES = {
    "float16": "Half",
    "float32": "Float",
    "float64": "Double",
    "int8": "Char",
    "int16": "Short",
    "int32": "Int",
    "int64": "Long",
    "uint8": "Byte",
    "bool": "Bool",
}


def _torch_name(dtype) -> str:
    return _TORCH_DTYPE_NAMES.get(np.dtype(dtype).name, str(dtype))


def _check_writable(self: Tensor, name: str) -> None:
    if STATE.enabled:
        base = self._view[0] if self._view is not None else self
        if base.requires_grad and base.grad_fn is None:
            if base is self:
                raise RuntimeError(
                    f"{name}: a leaf Variable that requires grad is being used in an in-place operation."
                )
            # A view of a leaf (w[0], w.T[1:], even one made under no_grad): writing would change the
            # leaf behind autograd's back.
            raise RuntimeError(
                f"{name}: a view of a leaf Variable that requires grad is being used in an in-place "
                f"operation (view of shape {tuple(self.shape)}, leaf of shape {tuple(base.shape)})."
            )
    if not getattr(self._data.flags, "writeable", True):
        raise RuntimeError(
            f"{name}: unsupported operation: more than one element of the written-to tensor (shape "
            f"{tuple(self.shape)}) refers to a single memory location (an expand/broadcast view). "
            "Please clone() the tensor before performing the operation."
        )


def _write(self: Tensor, result: Tensor, name: str) -> None:
    """Copy ``result`` into ``self``'s memory after checking that it fits (shape and dtype)."""
    res = result._data
    if res.shape != self._data.shape:
        raise RuntimeError(
            f"{name}: output with shape {tuple(self.shape)} doesn't match the broadcast shape {tuple(res.shape)}"
        )
    if res.dtype != self._data.dtype and not np.can_cast(res.dtype, self._data.dtype, "same_kind"):
        raise RuntimeError(
            f"{name}: result type {_torch_name(res.dtype)} can't be cast to the desired output type "
            f"{_torch_name(self.dtype)} (tensor of shape {tuple(self.shape)})"
        )
    self._data[...] = res
    self._version[0] += 1


def apply_inplace(self: Tensor, name: str, op, *args, fast=None) -> Tensor:
    """Run ``op(self, *args)`` and store the result in ``self``'s memory; returns ``self``.

    Args:
        self: the tensor to modify.
        name: the op's name, for errors (``"add_"``).
        op: the out-of-place op, ``op(self, *args) -> Tensor``.
        args: the other operands (Tensors among them may require grad).
        fast: ``fast(array, *arg_arrays)`` that writes the result straight into
            ``array`` (NumPy ``out=``); used when no graph is recorded. It may
            raise TypeError/ValueError/IndexError, and the checked path then explains why.
    """
    _check_writable(self, name)
    check_same_device(name, self, *args)
    record = STATE.enabled and (self.requires_grad or any(isinstance(a, Tensor) and a.requires_grad for a in args))
    if not record:
        if fast is not None:
            try:
                fast(self._data, *[data(a) for a in args])
            except (TypeError, ValueError, IndexError):
                pass
            else:
                self._version[0] += 1
                return self
        with no_grad():
            _write(self, op(self, *args), name)
        return self
    if views.is_stale(self):  # a view whose base changed since: start from the base's current history
        views.refresh(self)
    # Nodes that save ``self`` (mul_, pow_...) need its old value: hand them a copy with the same history.
    snapshot = Tensor._wrap(self._data.copy())
    snapshot.grad_fn, snapshot._output_nr, snapshot.requires_grad = self.grad_fn, self._output_nr, self.requires_grad
    result = op(snapshot, *args)
    _write(self, result, name)
    if result.dtype != self.dtype:
        result = result.to(self.dtype)  # later gradients must have self's dtype
    if self._view is not None:
        views.rewrite_base(self, result)  # the base changed too: its history now goes through result
    else:
        self.grad_fn, self._output_nr, self.requires_grad = result.grad_fn, result._output_nr, result.requires_grad
    return self


# ---------------------------------------------------------------------------
# arithmetic


def _ufunc_out(ufunc):
    def fast(array, *others):
        ufunc(array, *others, out=array, casting="same_kind")

    return fast


_ADD, _SUB, _MUL, _DIV, _POW = (_ufunc_out(u) for u in (np.add, np.subtract, np.multiply, np.true_divide, np.power))


def _scaled(other, alpha, name: str):
    other = as_operand(other, name)
    return other if alpha == 1 else other * alpha


@register_method("add_")
def add_(input: Tensor, other, *, alpha=1) -> Tensor:
    """``input += alpha * other`` in place; returns ``input``.

    Example::

        >>> import nbgrad as nb
        >>> x = nb.zeros(3)
        >>> x.add_(1).mul_(2)
        tensor([2., 2., 2.])
    """
    return apply_inplace(input, "add_", ew.add, _scaled(other, alpha, "add_"), fast=_ADD)


@register_method("sub_", "subtract_")
def sub_(input: Tensor, other, *, alpha=1) -> Tensor:
    """``input -= alpha * other`` in place; returns ``input``."""
    return apply_inplace(input, "sub_", ew.sub, _scaled(other, alpha, "sub_"), fast=_SUB)


@register_method("mul_", "multiply_")
def mul_(input: Tensor, other) -> Tensor:
    """``input *= other`` in place; returns ``input``."""
    return apply_inplace(input, "mul_", ew.mul, as_operand(other, "mul_"), fast=_MUL)


@register_method("div_", "divide_")
def div_(input: Tensor, other, *, rounding_mode=None) -> Tensor:
    """``input /= other`` in place (``rounding_mode`` as in :func:`nbgrad.div`); returns ``input``."""
    other = as_operand(other, "div_")
    if rounding_mode is None:
        return apply_inplace(input, "div_", ew.div, other, fast=_DIV)
    return apply_inplace(input, "div_", lambda s, o: ew.div(s, o, rounding_mode=rounding_mode), other)


@register_method("pow_")
def pow_(input: Tensor, exponent) -> Tensor:
    """``input **= exponent`` in place; returns ``input``."""
    return apply_inplace(input, "pow_", ew.pow, as_operand(exponent, "pow_"), fast=_POW)


Tensor.__iadd__ = add_
Tensor.__isub__ = sub_
Tensor.__imul__ = mul_
Tensor.__itruediv__ = div_
Tensor.__ipow__ = pow_


def _unary_inplace(name: str, op, ufunc=None):
    fast = _ufunc_out(ufunc) if ufunc is not None else None

    def method(input: Tensor) -> Tensor:
        return apply_inplace(input, name, op, fast=fast)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"In-place :func:`nbgrad.{op.__name__}`; returns ``input``."
    register_method(name)(method)
    return method


neg_ = _unary_inplace("neg_", ew.neg, np.negative)
abs_ = _unary_inplace("abs_", ew.abs, np.abs)
exp_ = _unary_inplace("exp_", ew.exp, np.exp)
log_ = _unary_inplace("log_", ew.log, np.log)
sqrt_ = _unary_inplace("sqrt_", ew.sqrt, np.sqrt)
tanh_ = _unary_inplace("tanh_", ew.tanh, np.tanh)
sigmoid_ = _unary_inplace("sigmoid_", ew.sigmoid)
relu_ = _unary_inplace("relu_", ew.relu)


# ---------------------------------------------------------------------------
# filling and copying


def _put_all(name: str):
    """The recorded form of fill_/copy_: every element overwritten (old history cut, value gets the grad)."""
    return lambda s, v: IndexPut.apply(s, v, (Ellipsis,), False, name)


def _assign(array, value) -> None:
    array[...] = value


def _fill(input: Tensor, value, name: str) -> Tensor:
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise RuntimeError(
                f"{name}: only supports a 0-dimensional value tensor, but got tensor of shape {tuple(value.shape)}"
            )
    elif not isinstance(value, (bool, int, float)):
        value = as_operand(value, name)
    return apply_inplace(input, name, _put_all(name), value, fast=_assign)


@register_method("fill_")
def fill_(input: Tensor, value) -> Tensor:
    """Set every element to ``value`` (a number or 0-d tensor); returns ``input``."""
    return _fill(input, value, "fill_")


@register_method("zero_")
def zero_(input: Tensor) -> Tensor:
    """Set every element to 0; returns ``input``.

    Example::

        >>> import nbgrad as nb
        >>> nb.ones(2).zero_()
        tensor([0., 0.])
    """
    return _fill(input, 0, "zero_")


@register_method("copy_")
def copy_(input: Tensor, src: Tensor, non_blocking: bool = False) -> Tensor:
    """Copy ``src`` (broadcast, cast to ``input``'s dtype, moved from any device) into ``input``."""
    if not isinstance(src, Tensor):
        src = as_operand(src, "copy_")
        if not isinstance(src, Tensor):
            return _fill(input, src, "copy_")
    if src.device != input.device or type(src._data) is not type(input._data):
        src = src.to(input.device)
    return apply_inplace(input, "copy_", _put_all("copy_"), src, fast=_assign)


@register_method("clamp_", "clip_")
def clamp_(input: Tensor, min=None, max=None) -> Tensor:
    """In-place :func:`nbgrad.clamp`; returns ``input``."""
    if min is None and max is None:
        raise RuntimeError("clamp_: at least one of 'min' or 'max' must not be None")
    return apply_inplace(input, "clamp_", ew.clamp, min, max)


@register_method("masked_fill_")
def masked_fill_(input: Tensor, mask: Tensor, value) -> Tensor:
    """In-place :func:`nbgrad.masked_fill`; ``mask`` must broadcast to ``input``'s shape."""
    return apply_inplace(input, "masked_fill_", lambda s, v: masked_fill(s, mask, v), value)


@register_method("scatter_")
def scatter_(input: Tensor, dim: int, index: Tensor, src=None, *, value=None) -> Tensor:
    """In-place :func:`nbgrad.scatter`; returns ``input``."""
    return apply_inplace(input, "scatter_", lambda s, v: scatter(s, dim, index, v), value if src is None else src)


@register_method("scatter_add_")
def scatter_add_(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """In-place :func:`nbgrad.scatter_add`; returns ``input``."""
    return apply_inplace(input, "scatter_add_", lambda s, v: scatter_add(s, dim, index, v), src)
