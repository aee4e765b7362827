"""``dropout`` and ``dropout2d``: zero random elements (or whole channels) during training.

Inverted dropout: kept values are scaled by ``1 / (1 - p)`` at training time,
so evaluation is the identity. The mask is drawn from nbgrad's seeded
generator for the input's device (``nb.manual_seed`` makes it reproducible)
and saved, already scaled, as the node's only state: the backward is one
multiplication.
"""

from __future__ import annotations

import warnings

from nbgrad import backend, random
from nbgrad.autograd.function import Function
from nbgrad.ops import math_ns
from nbgrad.tensor import Tensor

__all__ = ["dropout", "dropout2d"]


class Dropout(Function):
    _builtin = True

    @staticmethod
    def forward(ctx, x, mask):
        ctx.mask = mask
        return x._data * mask

    @staticmethod
    def backward(ctx, grad):
        return math_ns.run(lambda g, mask, m: g * mask, grad, Tensor._wrap(ctx.mask)), None


def _scaled_mask(input: Tensor, p: float, shape: tuple):
    """0 with probability ``p``, else ``1 / (1 - p)``, in the input's dtype, of ``shape``."""
    a = input._data
    dev = input.device
    with backend.device_context(dev):
        u = random.generator(dev).random(shape, dtype=a.dtype if a.dtype.itemsize >= 4 else "float32")
    keep = u >= p
    return keep.astype(a.dtype) * (1 / (1 - p)) if p < 1 else keep.astype(a.dtype)


def _dropout(input: Tensor, p: float, training: bool, inplace: bool, mask_shape, op: str) -> Tensor:
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(input).__name__}")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{op}: dropout probability has to be between 0 and 1, but got {p}")
    if input.dtype.kind != "f":
        raise TypeError(f"{op}: input must be a floating point tensor, got dtype {input.dtype}")
    if not training or p == 0.0:
        return input
    mask = _scaled_mask(input, p, mask_shape)
    if inplace:
        return input.mul_(Tensor._wrap(mask))
    return Dropout.apply(input, mask)


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    r"""Zero each element with probability ``p`` and scale the rest by :math:`1/(1-p)`.

    Args:
        input: the tensor.
        p: the probability of zeroing an element.
        training: apply dropout (``False``: return ``input`` unchanged).
        inplace: modify ``input`` in place.

    Example::

        >>> import nbgrad as nb
        >>> import nbgrad.nn.functional as F
        >>> nb.manual_seed(0)
        >>> F.dropout(nb.ones(6), p=0.5)
        tensor([2., 2., 2., 0., 0., 0.])
    """
    return _dropout(input, p, training, inplace, tuple(input.shape) if isinstance(input, Tensor) else (), "dropout")


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    r"""Zero whole channels (feature maps) with probability ``p``; scale the rest by :math:`1/(1-p)`.

    Args:
        input: ``(N, C, H, W)``, or ``(C, H, W)`` without a batch dimension.
        p: the probability of zeroing a channel.
        training: apply dropout.
        inplace: modify ``input`` in place.

    Example::

        >>> import nbgrad as nb
        >>> import nbgrad.nn.functional as F
        >>> F.dropout2d(nb.ones(2, 3, 4, 4), p=0.5).shape
        nbgrad.Size([2, 3, 4, 4])
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"dropout2d: input must be a Tensor, got {type(input).__name__}")
    shape = tuple(input.shape)
    if input.ndim not in (3, 4):
        warnings.warn(
            f"dropout2d: received a {input.ndim}-D input of shape {shape}; dropout2d expects (N, C, H, W) or "
            "(C, H, W); whole slices along dimension 0 are dropped, as torch does.",
            UserWarning,
            stacklevel=2,
        )
    # One mask value per (sample, channel); without a batch dimension, per dimension-0 slice (as torch).
    channel_dims = 2 if input.ndim == 4 else 1
    mask_shape = shape[:channel_dims] + (1,) * (input.ndim - channel_dims)
    return _dropout(input, p, training, inplace, mask_shape, "dropout2d")
