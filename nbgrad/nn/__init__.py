"""Neural-network building blocks.

For now this package holds :mod:`nbgrad.nn.functional` (the stateless ops:
activations, softmax, losses, ``pad``); the ``Module`` library (``Module``,
``Parameter``, layers, ``init``) arrives with the nn issue.
"""

from nbgrad.nn import functional

__all__ = ["functional"]
