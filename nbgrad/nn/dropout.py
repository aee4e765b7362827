"""Dropout layers: ``Dropout Dropout2d`` (active in training mode, the identity in eval mode)."""

from __future__ import annotations

from nbgrad.nn.module import Module
from nbgrad.ops.dropout import dropout, dropout2d
from nbgrad.tensor import Tensor

__all__ = ["Dropout", "Dropout2d"]


class _DropoutNd(Module):
    def __init__(self, p: float = 0.5, inplace: bool = False):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"{type(self).__name__}: dropout probability has to be between 0 and 1, but got {p}")
        self.p = p
        self.inplace = inplace

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    r"""Zero each element with probability ``p`` during training, scaling the rest by :math:`1/(1-p)`.

    Args:
        p: the probability of zeroing an element.
        inplace: modify the input in place.

    Shape:
        - Input: any. Output: the same.

    Example::

        >>> import nbgrad as nb
        >>> drop = nb.nn.Dropout(0.2)
        >>> drop
        Dropout(p=0.2, inplace=False)
        >>> x = nb.ones(4)
        >>> drop.eval()(x) is x
        True
    """

    def forward(self, input: Tensor) -> Tensor:
        return dropout(input, self.p, self.training, self.inplace)


class Dropout2d(_DropoutNd):
    r"""Zero whole channels with probability ``p`` during training, scaling the rest by :math:`1/(1-p)`.

    Args:
        p: the probability of zeroing a channel.
        inplace: modify the input in place.

    Shape:
        - Input: ``(N, C, H, W)`` or ``(C, H, W)``. Output: the same.

    Example::

        >>> import nbgrad as nb
        >>> nb.nn.Dropout2d(0.5)(nb.ones(2, 3, 4, 4)).shape
        nbgrad.Size([2, 3, 4, 4])
    """

    def forward(self, input: Tensor) -> Tensor:
        return dropout2d(input, self.p, self.training, self.inplace)
