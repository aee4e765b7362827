"""Activation functions that are single fused graph nodes: ``softmax`` and ``log_softmax``.

Both subtract the row maximum first, so large logits do not overflow, and
their backward is hand-written (one node instead of exp/sum/div nodes).
"""

from __future__ import annotations

import numpy as np

from nbgrad import backend
from nbgrad.autograd.function import OUTPUT, Function
from nbgrad.autograd.grad_mode import is_grad_enabled
from nbgrad.ops import math_ns
from nbgrad.ops._util import default_float, wrap_dim
from nbgrad.tensor import Tensor, register_method

__all__ = ["log_softmax", "softmax"]


def _shifted(x, axis):
    """``x - max(x)`` along ``axis``: exp of it never overflows."""
    return x - x.max(axis=axis, keepdims=True)


def _softmax_array(x, dim: int):
    if x.size == 0 or x.ndim == 0:  # nothing to normalise; a lone value has probability 1
        return backend.array_module(x).ones_like(x)
    e = _shifted(x, dim)
    np.exp(e, out=e)
    e /= e.sum(axis=dim, keepdims=True)
    return e


def _log_softmax_array(x, dim: int):
    if x.size == 0 or x.ndim == 0:
        return backend.array_module(x).zeros_like(x)
    s = _shifted(x, dim)
    s -= np.log(np.exp(s).sum(axis=dim, keepdims=True))
    return s


def _keep_shape(shape, dim: int) -> tuple:
    """``shape`` with dimension ``dim`` reduced to 1 (the shape of a keepdim sum)."""
    return tuple(1 if i == dim else n for i, n in enumerate(shape))


class Softmax(Function):
    _builtin = True

    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim = dim
        ctx.save_for_backward(OUTPUT)
        return _softmax_array(x._data, dim)

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        keep = _keep_shape(y.shape, ctx.dim)
        # y * (g - <g, y>) along dim; y is the node's own output, so under
        # create_graph a second derivative flows through this node again.
        return math_ns.run(lambda g, y, m: y * (g - m.sum_to(g * y, keep)), grad, y), None


class LogSoftmax(Function):
    _builtin = True

    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim = dim
        ctx.save_for_backward(OUTPUT)
        return _log_softmax_array(x._data, dim)

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        keep = _keep_shape(y.shape, ctx.dim)
        p = y.exp() if is_grad_enabled() else Tensor._wrap(np.exp(y._data))
        return math_ns.run(lambda g, p, m: g - p * m.sum_to(g, keep), grad, p), None


def _softmax_input(input: Tensor, dtype, op: str) -> Tensor:
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(input).__name__}")
    if dtype is not None:
        return input.to(backend.to_dtype(dtype))
    if input.dtype.kind not in "fc":
        # Integers become the default float, as for exp: a softmax of ints is a probability.
        return Tensor._wrap(default_float(input._data))
    return input


@register_method("softmax")
def softmax(input: Tensor, dim: int, dtype=None) -> Tensor:
    r"""Softmax along ``dim``: :math:`\exp(x_i) / \sum_j \exp(x_j)`, computed without overflow.

    Args:
        input: the tensor.
        dim: the dimension along which the outputs sum to 1.
        dtype: cast ``input`` to this dtype first (e.g. ``nb.float64``).

    Shape:
        Output: the shape of ``input``.

    Example::

        >>> import nbgrad as nb
        >>> nb.softmax(nb.tensor([[1.0, 2.0, 3.0]]), dim=1)
        tensor([[0.0900, 0.2447, 0.6652]])
    """
    x = _softmax_input(input, dtype, "softmax")
    return Softmax.apply(x, wrap_dim(dim, x.ndim, "softmax"))


@register_method("log_softmax")
def log_softmax(input: Tensor, dim: int, dtype=None) -> Tensor:
    r"""``log(softmax(input, dim))``, computed stably as :math:`x_i - \log\sum_j \exp(x_j)`.

    Args:
        input: the tensor.
        dim: the dimension to normalise over.
        dtype: cast ``input`` to this dtype first.

    Shape:
        Output: the shape of ``input``.

    Example::

        >>> import nbgrad as nb
        >>> nb.log_softmax(nb.tensor([0.0, 0.0]), dim=0)
        tensor([-0.6931, -0.6931])
    """
    x = _softmax_input(input, dtype, "log_softmax")
    return LogSoftmax.apply(x, wrap_dim(dim, x.ndim, "log_softmax"))


# ---------------------------------------------------------------------------
# classification losses: argument checks shared by cross_entropy and nll_loss
