"""``nbgrad.train``: :func:`fit`, a training loop for notebooks, and the :class:`History` it returns.

* :func:`fit`: progress bars, a live loss plot in notebooks, validation and metrics,
  LR schedulers, checkpoints, and a clean stop on Ctrl-C / "interrupt kernel";
* :class:`History`: per-epoch records and per-step losses, a rich view and ``.plot()``;
* :class:`Callback` and :class:`Run`: hooks into the loop.
"""

from nbgrad.train.callbacks import Callback, Run
from nbgrad.train.fit import accuracy, fit
from nbgrad.train.history import History

__all__ = ["Callback", "History", "Run", "accuracy", "fit"]
