"""Stateless neural-network ops in torch's ``torch.nn.functional`` layout (``import nbgrad.nn.functional as F``).

Nothing is implemented here: each name is the op from its family in
:mod:`nbgrad.ops`, so ``F.softmax is nb.softmax``.
"""

from nbgrad.ops.elementwise import relu, sigmoid, tanh
from nbgrad.ops.nn import cross_entropy, log_softmax, mse_loss, nll_loss, softmax
from nbgrad.ops.shape import pad

__all__ = ["cross_entropy", "log_softmax", "mse_loss", "nll_loss", "pad", "relu", "sigmoid", "softmax", "tanh"]
