"""Anomaly mode: name the first op whose forward or backward produced NaN/Inf.

When on, every node keeps the stack of the line that created it, forward
outputs are checked as they are made, and the engine checks each gradient a
node returns. The error names the op, shapes, dtypes and the user's code.
"""

from __future__ import annotations

import traceback


class _AnomalyState:
    __slots__ = ("enabled", "check_nan")

    def __init__(self):
        self.enabled = False
        self.check_nan = True


STATE = _AnomalyState()


class AnomalyError(RuntimeError):
    """Raised in anomaly mode when an op produces NaN or Inf.

    Attributes:
        op: name of the node (``"LogBackward0"``) or op that produced the value.
        phase: ``"forward"`` or ``"backward"``.
        stack: the forward stack where the node was created (``traceback.StackSummary``).
    """

    def __init__(self, message, op=None, phase=None, stack=None):
        super().__init__(message)
        self.op = op
        self.phase = phase
        self.stack = stack


def is_anomaly_enabled() -> bool:
    return STATE.enabled


class set_detect_anomaly:
    """Turn anomaly detection on or off; also a context manager that restores it.

    Args:
        mode: on (``True``) or off.
        check_nan: also raise on NaN/Inf (default ``True``).
    """

    def __init__(self, mode: bool, check_nan: bool = True):
        self._prev = (STATE.enabled, STATE.check_nan)
        STATE.enabled = bool(mode)
        STATE.check_nan = bool(check_nan)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        STATE.enabled, STATE.check_nan = self._prev
        return False


class detect_anomaly(set_detect_anomaly):
    """Context manager that turns anomaly detection on for its block.

    Example::

        >>> import nbgrad as nb
        >>> x = nb.tensor([0.0], requires_grad=True)
        >>> with nb.autograd.detect_anomaly():
        ...     y = (x.sqrt() * 0).sum()
        ...     y.backward()  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        AnomalyError: SqrtBackward0 returned nan ...
    """

    def __init__(self, check_nan: bool = True):
        super().__init__(True, check_nan)


def _bad_counts(array):
    """(nan count, inf count) of a floating array; (0, 0) for other dtypes."""
    if array.dtype.kind not in "fc":
        return 0, 0
    xp = _xp(array)
    if bool(xp.isfinite(array).all()):
        return 0, 0
    return int(xp.isnan(array).sum()), int(xp.isinf(array).sum())


def _xp(array):
    from nbgrad.backend import array_module

    return array_module(array)


def _describe(tensors) -> str:
    parts = []
    for i, t in enumerate(tensors):
        if t is None:
            continue
        parts.append(f"  [{i}] shape={tuple(t.shape)} dtype={t.dtype} device={t.device}")
    return "\n".join(parts)


def _where(stack) -> str:
    if not stack:
        return ""
    user = [f for f in stack if "/nbgrad/" not in f.filename.replace("\\", "/")]
    frames = traceback.format_list(user[-4:] if user else stack[-4:])
    return "\nThe op was created here (most recent call last):\n" + "".join(frames)


def check_forward(node, outputs) -> None:
    if not STATE.check_nan:
        return
    for t in outputs:
        if t is None:
            continue
        nans, infs = _bad_counts(t._data)
        if nans or infs:
            op = node.name().replace("Backward0", "").replace("Backward", "")
            message = (
                f"anomaly detected: forward of {op} produced {nans} NaN and {infs} Inf value(s)\n"
                f"outputs:\n{_describe(outputs)}{_where(getattr(node, '_stack', None))}"
            )
            raise AnomalyError(message, op=op, phase="forward", stack=getattr(node, "_stack", None))


def check_backward(node, grads, grad_outputs) -> None:
    if not STATE.check_nan:
        return
    for i, g in enumerate(grads):
        if g is None:
            continue
        nans, infs = _bad_counts(g._data)
        if nans or infs:
            stack = node.__dict__.get("_stack")
            message = (
                f"anomaly detected: {node.name()} returned {nans} NaN and {infs} Inf value(s) in the gradient "
                f"of its input {i}\ngradients it received:\n{_describe(grad_outputs)}\n"
                f"gradients it returned:\n{_describe(grads)}{_where(stack)}"
            )
            raise AnomalyError(message, op=node.name(), phase="backward", stack=stack)
