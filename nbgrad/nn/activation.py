"""Activation layers: ``ReLU LeakyReLU ELU GELU SiLU Mish Sigmoid Tanh Softplus Softmax LogSoftmax Hardtanh``...

Each wraps its functional form (:mod:`nbgrad.ops.activation`), with torch's
constructor arguments and reprs.
"""

from __future__ import annotations

import warnings

from nbgrad.nn.module import Module
from nbgrad.ops import activation as act
from nbgrad.ops import elementwise as ew
from nbgrad.tensor import Tensor

__all__ = [
    "ELU",
    "GELU",
    "Hardtanh",
    "LeakyReLU",
    "LogSigmoid",
    "LogSoftmax",
    "Mish",
    "ReLU",
    "ReLU6",
    "SiLU",
    "Sigmoid",
    "Softmax",
    "Softplus",
    "Softsign",
    "Tanh",
    "Tanhshrink",
]


def _inplace_suffix(inplace: bool, first: bool = False) -> str:
    if not inplace:
        return ""
    return "inplace=True" if first else ", inplace=True"


class ReLU(Module):
    """``max(x, 0)`` elementwise.

    Args:
        inplace: write the result into the input.

    Example::

        >>> import nbgrad as nb
        >>> nb.nn.ReLU()(nb.tensor([-1.0, 2.0]))
        tensor([0., 2.])
    """

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return act._apply(ew.Relu, input, "relu", inplace=self.inplace)

    def extra_repr(self) -> str:
        return _inplace_suffix(self.inplace, first=True)


class LeakyReLU(Module):
    """``x`` for positive inputs, ``negative_slope * x`` otherwise.

    Args:
        negative_slope: the slope for negative inputs (default 0.01).
        inplace: write the result into the input.

    Example::

        >>> import nbgrad as nb
        >>> nb.nn.LeakyReLU(0.1)
        LeakyReLU(negative_slope=0.1)
    """

    def __init__(self, negative_slope: float = 1e-2, inplace: bool = False):
        super().__init__()
        self.negative_slope = negative_slope
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return act.leaky_relu(input, self.negative_slope, self.inplace)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}{_inplace_suffix(self.inplace)}"


class ELU(Module):
    r"""``x`` for positive inputs, :math:`\alpha(e^x - 1)` otherwise.

    Example::

        >>> import nbgrad as nb
        >>> nb.nn.ELU()
        ELU(alpha=1.0)
    """

    def __init__(self, alpha: float = 1.0, inplace: bool = False):
        super().__init__()
        self.alpha = alpha
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return act.elu(input, self.alpha, self.inplace)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}{_inplace_suffix(self.inplace)}"


class GELU(Module):
    r""":math:`x\,\Phi(x)`; ``approximate='tanh'`` uses the tanh approximation.

    Example::

        >>> import nbgrad as nb
        >>> nb.nn.GELU(approximate="tanh")
        GELU(approximate='tanh')
    """

    def __init__(self, approximate: str = "none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, input: Tensor) -> Tensor:
        return act.gelu(input, approximate=self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class SiLU(Module):
    r""":math:`x\,\sigma(x)`.

    Example::

        >>> import nbgrad as nb
        >>> nb.nn.SiLU()
        SiLU()
    """

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return act.silu(input, self.inplace)

    def extra_repr(self) -> str:
        return _inplace_suffix(self.inplace, first=True)


class Mish(SiLU):
    r""":math:`x \tanh(\mathrm{softplus}(x))`.

    Example::

        >>> import nbgrad as nb
        >>> nb.nn.Mish(inplace=True)
        Mish(inplace=True)
    """

    def forward(self, input: Tensor) -> Tensor:
        return act.mish(input, self.inplace)


class _Pointwise(Module):
    """An activation without arguments: ``_fn`` applied to the input."""

    _fn = None

    def forward(self, input: Tensor) -> Tensor:
        return type(self)._fn(input)


class Sigmoid(_Pointwise):
    r""":math:`1 / (1 + e^{-x})`.

    Example::

        >>> import nbgrad as nb
        >>> nb.nn.Sigmoid()(nb.tensor([0.0]))
        tensor([0.5000])
    """

    _fn = staticmethod(ew.sigmoid)


class Tanh(_Pointwise):
    r""":math:`\tanh(x)`.

    Example::

        >>> import nbgrad as nb
        >>> nb.nn.Tanh()(nb.tensor([0.0]))
        tensor([0.])
    """

    _fn = staticmethod(ew.tanh)


class LogSigmoid(_Pointwise):
    r""":math:`\log\sigma(x)`."""

    _fn = staticmethod(act.logsigmoid)


class Softsign(_Pointwise):
    r""":math:`x / (1 + |x|)`."""

    _fn = staticmethod(act.softsign)


class Tanhshrink(_Pointwise):
    r""":math:`x - \tanh(x)`."""

    _fn = staticmethod(act.tanhshrink)


class Softplus(Module):
    r""":math:`\frac{1}{\beta}\log(1 + e^{\beta x})`, linear above ``threshold``.

    Example::

        >>> import nbgrad as nb
        >>> nb.nn.Softplus()
        Softplus(beta=1.0, threshold=20.0)
    """

    def __init__(self, beta: float = 1.0, threshold: float = 20.0):
        super().__init__()
        self.beta = beta
        self.threshold = threshold

    def forward(self, input: Tensor) -> Tensor:
        return act.softplus(input, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


def _implicit_dim(ndim: int, name: str) -> int:
    """torch's legacy choice of dimension for ``Softmax(dim=None)``, with its warning."""
    warnings.warn(
        f"Implicit dimension choice for {name} has been deprecated. Change the call to include dim=X as an argument.",
        UserWarning,
        stacklevel=3,
    )
    return 0 if ndim in (0, 1, 3) else 1


class Softmax(Module):
    """Softmax along ``dim``: the outputs along it are positive and sum to 1.

    Example::

        >>> import nbgrad as nb
        >>> nb.nn.Softmax(dim=-1)(nb.tensor([0.0, 0.0]))
        tensor([0.5000, 0.5000])
    """

    _fn = staticmethod(act.softmax)

    def __init__(self, dim: "int | None" = None):
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        dim = self.dim if self.dim is not None else _implicit_dim(input.ndim, type(self).__name__.lower())
        return type(self)._fn(input, dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    """``log(softmax(x))`` along ``dim``, computed stably.

    Example::

        >>> import nbgrad as nb
        >>> nb.nn.LogSoftmax(dim=1)
        LogSoftmax(dim=1)
    """

    _fn = staticmethod(act.log_softmax)


class Hardtanh(Module):
    """The input clamped to ``[min_val, max_val]``.

    Example::

        >>> import nbgrad as nb
        >>> nb.nn.Hardtanh(-2.0, 2.0)
        Hardtanh(min_val=-2.0, max_val=2.0)
    """

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False):
        super().__init__()
        if min_val > max_val:
            raise ValueError(f"Hardtanh: min_val ({min_val}) cannot be greater than max_val ({max_val})")
        self.min_val = min_val
        self.max_val = max_val
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return act.hardtanh(input, self.min_val, self.max_val, self.inplace)

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}{_inplace_suffix(self.inplace)}"


class ReLU6(Hardtanh):
    """``min(max(x, 0), 6)``.

    Example::

        >>> import nbgrad as nb
        >>> nb.nn.ReLU6()
        ReLU6()
    """

    def __init__(self, inplace: bool = False):
        super().__init__(0.0, 6.0, inplace)

    def extra_repr(self) -> str:
        return _inplace_suffix(self.inplace, first=True)
