"""Optimizers (``nb.optim.SGD``, ``Adam``, ``AdamW``, ``RMSprop``, ``Adagrad``) and learning-rate schedulers.

The API is torch's: build an optimizer from ``model.parameters()`` (or from
parameter groups), call ``zero_grad()``, ``backward()``, ``step()``; the
updates are torch's, step for step. Schedulers live in
:mod:`nbgrad.optim.lr_scheduler`.

Example::

    >>> import nbgrad as nb
    >>> w = nb.tensor([3.0], requires_grad=True)
    >>> opt = nb.optim.SGD([w], lr=0.25)
    >>> for _ in range(3):
    ...     opt.zero_grad()
    ...     (w ** 2).sum().backward()
    ...     opt.step()
    >>> w
    tensor([0.3750], requires_grad=True)
"""

from nbgrad.optim import lr_scheduler
from nbgrad.optim.adagrad import Adagrad
from nbgrad.optim.adam import Adam, AdamW
from nbgrad.optim.optimizer import Optimizer
from nbgrad.optim.rmsprop import RMSprop
from nbgrad.optim.sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "lr_scheduler"]
