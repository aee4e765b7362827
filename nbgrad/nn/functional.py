"""Stateless neural-network ops in torch's ``torch.nn.functional`` layout (``import nbgrad.nn.functional as F``).

Nothing is implemented here: each name is the op from its family in
:mod:`nbgrad.ops`, so ``F.softmax is nb.softmax``.
"""

from nbgrad.ops.elementwise import relu, sigmoid, tanh
from nbgrad.ops.nn import cross_entropy, log_softmax, mse_loss, nll_loss, softmax

__all__ = [
    "cross_entropy",
    "log_softmax",
    "mse_loss",
    "nll_loss",
    "pad",  # noqa: F822 - pad: see __getattr__
    "relu",
    "sigmoid",
    "softmax",
    "tanh",
]


def __getattr__(name: str):
    # pad lives in nbgrad.ops.shape; resolved on first use so that this module
    # imports whatever order the op families are loaded in.
    if name == "pad":
        from nbgrad.ops.shape import pad

        return pad
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
