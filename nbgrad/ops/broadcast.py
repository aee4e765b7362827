"""Broadcasting and its adjoint: ``expand``/``broadcast_to`` and ``sum_to``.

Each is the other's backward: a gradient flowing into a broadcast input is
summed over the broadcast axes, and the gradient of that sum is broadcast.
"""

from __future__ import annotations

from nbgrad.autograd import views
from nbgrad.autograd.function import Function
from nbgrad.backend import array_module
from nbgrad.ops._util import broadcast_shapes
from nbgrad.tensor import Tensor, register_method


def _sum_axes(from_shape: tuple, to_shape: tuple) -> "tuple[tuple, int]":
    """Axes of ``from_shape`` to sum to get ``to_shape``, and how many leading ones to drop."""
    lead = len(from_shape) - len(to_shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(to_shape) if n == 1 and from_shape[lead + i] != 1)
    return axes, lead


def sum_to_array(array, shape: tuple):
    """``array`` summed over the axes that broadcasting added to reach its shape from ``shape``."""
    if array.shape == shape:
        return array
    axes, lead = _sum_axes(array.shape, shape)
    out = array.sum(axis=axes, keepdims=True) if axes else array
    return out.reshape(shape) if lead or out.shape != shape else out


class SumTo(Function):
    """Sum a broadcast tensor back to ``shape`` (the backward of broadcasting)."""

    _builtin = True

    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x._data.shape
        return sum_to_array(x._data, shape)

    @staticmethod
    def backward(ctx, grad):
        return BroadcastTo.apply(grad, ctx.in_shape), None


class BroadcastTo(Function):
    """A read-only broadcast view (no copy)."""

    _builtin = True

    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x._data.shape
        return array_module(x._data).broadcast_to(x._data, shape)

    @staticmethod
    def backward(ctx, grad):
        return SumTo.apply(grad, ctx.in_shape), None


def sum_to(grad: Tensor, shape: tuple) -> Tensor:
    """``grad`` summed over the axes that broadcasting added to reach its shape from ``shape``."""
    if grad._data.shape == shape:
        return grad
    return SumTo.apply(grad, tuple(shape))


@register_method("broadcast_to")
def broadcast_to(input: Tensor, size) -> Tensor:
    """A view of ``input`` broadcast to ``size`` (no copy).

    Shape:
        ``input`` must be broadcastable to ``size``.
    """
    size = tuple(size)
    target = broadcast_shapes("broadcast_to", input.shape, size)
    if target != size:
        raise RuntimeError(f"broadcast_to: tensor of shape {tuple(input.shape)} cannot be broadcast to {size}")
    if tuple(input.shape) == size:
        return input
    return views.apply_view(BroadcastTo, input, size)


@register_method("expand")
def expand(input: Tensor, *sizes) -> Tensor:
    """Broadcast to ``sizes``; ``-1`` keeps a dimension's size. Returns a view.

    Example::

        >>> import nbgrad as nb
        >>> nb.tensor([[1], [2]]).expand(2, 3)
        tensor([[1, 1, 1],
                [2, 2, 2]])
    """
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = tuple(sizes[0])
    lead = len(sizes) - input.ndim
    if lead < 0:
        raise RuntimeError(
            f"expand: the number of sizes provided ({len(sizes)}) must be greater or equal to the number of "
            f"dimensions in the tensor ({input.ndim}), shape {tuple(input.shape)}"
        )
    shape = tuple(input.shape[i - lead] if s == -1 and i >= lead else s for i, s in enumerate(sizes))
    if any(s < 0 for s in shape):
        raise RuntimeError(f"expand: -1 is not allowed in a leading, non-existing dimension: sizes {tuple(sizes)}")
    return broadcast_to(input, shape)


@register_method("expand_as")
def expand_as(input: Tensor, other: Tensor) -> Tensor:
    """``input.expand(other.shape)``."""
    return expand(input, tuple(other.shape))
