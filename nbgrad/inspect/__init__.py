"""``nbgrad.inspect``: look inside a model while it runs.

* :func:`capture`: the output (and optionally input and gradient) of every submodule;
* :func:`grad_report`: gradient norms, ratios and flags (vanishing, exploding, NaN, dead units).

Both return objects that render as tables in a notebook.
"""

from nbgrad.inspect.capture import CallRecord, Capture, capture
from nbgrad.inspect.grad_report import GradReport, GradRow, grad_report

__all__ = ["CallRecord", "Capture", "GradReport", "GradRow", "capture", "grad_report"]
