"""Anomaly mode: name the first op whose forward or backward produced NaN/Inf.

When on, every node keeps the stack of the line that created it, forward
outputs are checked as they are made, and the engine checks each gradient a
node returns. The error names the op, shapes, dtypes, the user's code and
the module whose forward recorded the node (``model.block.1.act (ReLU)``),
and carries the statistics of the tensors involved for its HTML report.
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

    Besides its message, the error carries what a report needs, as plain
    values (no tensors: the error keeps no graph or device memory alive).
    In a notebook it shows as an HTML report (:meth:`html`).

    Attributes:
        op: name of the node (``"LogBackward0"``) or op that produced the value.
        phase: ``"forward"`` or ``"backward"``.
        stack: the forward stack where the node was created (``traceback.StackSummary``).
        module_path: the module whose forward created the node, as
            ``"model.block.1.act (ReLU)"`` (``None`` outside any module).
        user_frame: the innermost frame of the stack outside nbgrad (``traceback.FrameSummary``).
        tensors: ``(role, index, stats)`` triples: ``role`` is ``"input"``/``"output"`` in forward
            and ``"grad received"``/``"grad returned"``/``"saved"`` in backward; ``stats`` is what
            :func:`nbgrad.display.stats.tensor_stats` returns (shape, dtype, device, min, max, NaN count...).
    """

    def __init__(self, message, op=None, phase=None, stack=None, module_path=None, tensors=()):
        super().__init__(message)
        self.op = op
        self.phase = phase
        self.stack = stack
        self.module_path = module_path
        self.user_frame = _user_frames(stack)[-1] if stack else None
        self.tensors = tuple(tensors)

    def html(self) -> str:
        """The report as a self-contained HTML fragment (inline CSS, no JavaScript)."""
        from nbgrad.display.report import anomaly_html

        return anomaly_html(self)

    def _repr_html_(self) -> str:
        return self.html()

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        from nbgrad.display.table import bundle

        return bundle(f"{type(self).__name__}: {self}", self.html)


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


# Frames of these packages are machinery, not the user's code.
_NOT_USER = ("/nbgrad/", "/IPython/", "/ipykernel/", "/site-packages/", "/dist-packages/")


def _user_frames(stack) -> list:
    """The frames of ``stack`` outside nbgrad, the standard library and the notebook machinery."""
    import sysconfig

    stdlib = sysconfig.get_paths()["stdlib"].replace("\\", "/")

    def is_user(frame) -> bool:
        name = frame.filename.replace("\\", "/")
        return not name.startswith(stdlib) and not any(part in name for part in _NOT_USER)

    return [f for f in stack if is_user(f)] or list(stack)


def _where(stack) -> str:
    if not stack:
        return ""
    frames = traceback.format_list(_user_frames(stack)[-4:])
    return "\nThe op was created here (most recent call last):\n" + "".join(frames)


def _modules_of(node) -> "tuple | None":
    """The modules whose forward was running when ``node`` was recorded, outermost first (None outside modules).

    Read from ``node._module``, the module call (with its parent calls) that every node records.
    """
    call = getattr(node, "_module", None)
    modules = []
    while call is not None:
        modules.append(call.module)
        call = call.parent
    return tuple(reversed(modules)) or None


def module_path(modules) -> "str | None":
    """``"model.block.1.act (ReLU)"`` for a stack of running modules, outermost first.

    The outermost module is ``model``; each inner module is named by its
    attribute name in the module that called it, or, when it is not a direct
    child (a grandchild called directly), by its path under the outermost one.
    The format is the one :mod:`nbgrad.nn.module` gives errors raised inside a module.
    """
    if not modules:
        return None
    root, parts = modules[0], ["model"]
    for parent, child in zip(modules, modules[1:]):
        name = next((n for n, m in parent._modules.items() if m is child), None)
        if name is not None:
            parts.append(name)
            continue
        path = next((p for p, m in root.named_modules() if m is child), None)
        parts = ["model", path] if path else ["model", f"<unregistered {type(child).__name__}>"]
    return f"{'.'.join(parts)} ({type(modules[-1]).__name__})"


def _stats(role: str, tensors, skip_none: bool = True) -> list:
    """``(role, index, stats)`` for each tensor; computed only when an anomaly is reported."""
    from nbgrad.display.stats import tensor_stats

    out = []
    for i, t in enumerate(tensors or ()):
        if t is None or not hasattr(t, "_data"):
            continue
        out.append((role, i, tensor_stats(t)))
    return out


def check_forward(node, outputs, inputs=()) -> None:
    """Raise :class:`AnomalyError` if an output of ``node`` holds NaN/Inf.

    Called by ``Function._connect`` for every recorded node while anomaly mode
    is on; ``inputs`` are the node's forward arguments (for the report's stats).
    """
    if not STATE.check_nan:
        return
    for t in outputs:
        if t is None:
            continue
        nans, infs = _bad_counts(t._data)
        if nans or infs:
            op = node.name().replace("Backward0", "").replace("Backward", "")
            stack = getattr(node, "_stack", None)
            message = (
                f"anomaly detected: forward of {op} produced {nans} NaN and {infs} Inf value(s)\n"
                f"outputs:\n{_describe(outputs)}{_where(stack)}"
            )
            tensors = _stats("input", inputs) + _stats("output", outputs)
            where = module_path(_modules_of(node))
            raise AnomalyError(message, op=op, phase="forward", stack=stack, module_path=where, tensors=tensors)


def check_backward(node, grads, grad_outputs) -> None:
    if not STATE.check_nan:
        return
    for i, g in enumerate(grads):
        if g is None:
            continue
        nans, infs = _bad_counts(g._data)
        if nans or infs:
            stack = getattr(node, "_stack", None)
            where = module_path(_modules_of(node))
            message = (
                f"anomaly detected: {node.name()} returned {nans} NaN and {infs} Inf value(s) in the gradient "
                f"of its input {i}" + (f" (op created in {where})" if where else "") + "\n"
                f"gradients it received:\n{_describe(grad_outputs)}\n"
                f"gradients it returned:\n{_describe(grads)}{_where(stack)}"
            )
            tensors = _stats("grad received", grad_outputs) + _stats("grad returned", grads) + _saved_stats(node)
            raise AnomalyError(
                message, op=node.name(), phase="backward", stack=stack, module_path=where, tensors=tensors
            )


def _saved_stats(node) -> list:
    """Stats of the values the node saved in forward (the usual culprits: ``log(0)``, ``sqrt(0)``)."""
    try:
        saved = node.saved_tensors
    except Exception:  # freed, or modified in place: the report goes on without them
        return []
    return _stats("saved", saved)
