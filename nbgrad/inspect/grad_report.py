"""``grad_report``: is each parameter's gradient healthy? Norms, ratios and flags, one row per parameter.

Statistics come from :func:`nbgrad.display.stats.tensor_stats`: computed on
the parameter's device, only scalars cross to the host.
"""

from __future__ import annotations

from nbgrad import backend
from nbgrad.display.stats import tensor_stats
from nbgrad.display.table import ReportRepr

# Layers whose weight rows (axis 0) are the output units: a row whose gradient is
# all zero is a unit that took no part in the loss (a dead ReLU behind it, say).
# Embedding rows are excluded on purpose: tokens absent from a batch get no gradient.
_UNIT_ROW_LAYERS = ("Linear", "Conv1d", "Conv2d")
# Activations whose outputs are exactly zero for inactive units.
RELU_LIKE = ("ReLU", "ReLU6", "Threshold", "Hardtanh")


class GradRow:
    """One parameter of a :class:`GradReport`.

    Attributes:
        name: the dotted name (``"encoder.0.weight"``).
        shape: the parameter's shape (a tuple).
        numel: its number of elements.
        requires_grad: whether it is trainable.
        grad_norm: L2 norm of ``.grad`` (``None`` when there is no gradient).
        weight_norm: L2 norm of the parameter.
        ratio: ``grad_norm / weight_norm`` (``None`` without a gradient or for all-zero weights).
        update_norm: L2 norm of the change made by the last optimizer step, after
            :meth:`GradReport.after_step` (else ``None``).
        update_ratio: ``update_norm / weight_norm`` before the step (``None`` for all-zero weights).
        nan, inf: number of NaN / Inf values in the gradient.
        dead_units, units: output units (weight rows of a Linear/Conv layer) whose
            gradient is all zero, out of how many (``None`` for other parameters).
        flags: short strings: ``"nan"``, ``"inf"``, ``"no grad"``, ``"zero"``,
            ``"vanishing"``, ``"exploding"``, ``"dead units"``.
    """

    __slots__ = (
        "name",
        "shape",
        "numel",
        "requires_grad",
        "grad_norm",
        "weight_norm",
        "ratio",
        "update_norm",
        "update_ratio",
        "nan",
        "inf",
        "dead_units",
        "units",
        "flags",
    )

    def __init__(self, **fields):
        for slot in self.__slots__:
            setattr(self, slot, fields.get(slot))

    def __repr__(self) -> str:
        return f"GradRow(name={self.name!r}, grad_norm={self.grad_norm}, flags={self.flags})"


class DeadActivations:
    """Activations of a ReLU-like layer that were zero for every sample of the batch (from a capture).

    Attributes:
        path: the module's path; dead: positions (features, or channel x pixel) always zero;
        total: positions per sample.
    """

    __slots__ = ("path", "module_type", "dead", "total")

    def __init__(self, path, module_type, dead, total):
        self.path, self.module_type, self.dead, self.total = path, module_type, dead, total

    def __repr__(self) -> str:
        return f"DeadActivations(path={self.path!r}, dead={self.dead}, total={self.total})"


class GradReport(ReportRepr):
    """The gradient health of a model's parameters; made by :func:`grad_report`.

    Attributes:
        rows: one :class:`GradRow` per parameter, in ``named_parameters()`` order.
        dead_activations: one :class:`DeadActivations` per ReLU-like layer of the
            capture given to :func:`grad_report` (empty without one).
        vanish, explode: the thresholds the flags used.
    """

    _text_renderer, _html_renderer = "grad_report_text", "grad_report_html"

    def __init__(self, rows, dead_activations, vanish, explode, snapshot):
        self.rows = rows
        self.dead_activations = dead_activations
        self.vanish = vanish
        self.explode = explode
        self._snapshot = snapshot  # name -> (parameter, copy of its array), for after_step()

    def __getitem__(self, name: str) -> GradRow:
        for row in self.rows:
            if row.name == name:
                return row
        raise KeyError(f"grad_report: no parameter named {name!r}")

    @property
    def flagged(self) -> list:
        """The rows with at least one flag."""
        return [row for row in self.rows if row.flags]

    def after_step(self) -> "GradReport":
        """Measure what the optimizer step just taken changed: fills ``update_norm``/``update_ratio``.

        Call it once, after ``optimizer.step()``; the weight copies taken by
        :func:`grad_report` are then released. Returns the report (so a cell
        ending with ``report.after_step()`` shows the updated table).
        """
        if self._snapshot is None:
            raise RuntimeError(
                "grad_report: no weight snapshot to compare with: call grad_report(model) before optimizer.step() "
                "(with snapshot=True, the default), then report.after_step() once"
            )
        for row in self.rows:
            entry = self._snapshot.get(row.name)
            if entry is None:
                continue
            param, before = entry
            xp = backend.array_module(before)
            row.update_norm = tensor_stats(xp.subtract(param._data, before, dtype=xp.float64)).norm
            row.update_ratio = _safe_ratio(row.update_norm, row.weight_norm)
        self._snapshot = None
        return self


def grad_report(model, capture=None, vanish: float = 1e-7, explode: float = 100.0, snapshot: bool = True):
    """A table of gradient health, one row per parameter of ``model``; call it after ``backward()``.

    For each parameter: the L2 norms of the gradient and of the weights, their
    ratio, the number of NaN/Inf values in the gradient, and flags:

    * ``nan`` / ``inf``: the gradient holds NaN / Inf values;
    * ``no grad``: the parameter is trainable but got no gradient (unused in the loss?);
    * ``zero``: the gradient is exactly zero;
    * ``vanishing``: ``grad_norm < vanish * max(weight_norm, 1)``;
    * ``exploding``: ``grad_norm > explode * max(weight_norm, 1)``;
      (``max(..., 1)``: zero-initialised biases would make any ratio meaningless);
    * ``dead units``: rows of a Linear/Conv weight (output units) whose gradient is all zero.

    How big was the step? The report keeps a copy of the weights
    (``snapshot=True``: as much memory as the parameters); after
    ``optimizer.step()``, ``report.after_step()`` measures the change each
    parameter went through (``update_norm`` and ``update_ratio =
    update_norm / weight_norm``; around 1e-3 is the usual healthy size). This
    works for any optimizer, since nothing is estimated.

    Args:
        model: the :class:`nbgrad.nn.Module` whose parameters are reported.
        capture: a :class:`~nbgrad.inspect.Capture` of the forward pass: adds,
            for each ReLU-like layer, the activations that were zero for every
            sample of the batch (``report.dead_activations``).
        vanish: relative threshold of the ``vanishing`` flag.
        explode: relative threshold of the ``exploding`` flag.
        snapshot: copy the weights so that :meth:`GradReport.after_step` can measure the step.

    Returns:
        a :class:`GradReport` (rows for code, a table in a notebook).

    Example::

        >>> import nbgrad as nb
        >>> model = nb.nn.Linear(3, 2)
        >>> model(nb.ones(4, 3)).sum().backward()
        >>> report = nb.inspect.grad_report(model)
        >>> [row.name for row in report.rows], report.flagged
        (['weight', 'bias'], [])
    """
    owner = _owners(model)
    rows, snap = [], {} if snapshot else None
    any_grad = any(p.grad is not None for p in model.parameters())
    for name, param in model.named_parameters():
        row = _row(name, param, owner.get(name), vanish, explode, any_grad)
        rows.append(row)
        if snap is not None and param.requires_grad:
            snap[name] = (param, param._data.copy())
    dead = _dead_activations(capture) if capture is not None else []
    return GradReport(rows, dead, vanish, explode, snap)


def _owners(model) -> dict:
    """parameter name -> class name of the module that owns it."""
    out = {}
    for path, module in model.named_modules():
        for pname in module._parameters:
            out[f"{path}.{pname}" if path else pname] = type(module).__name__
    return out


def _safe_ratio(num, den):
    """``num / den``; None when either is missing or ``den`` is zero (zero-initialised biases have no ratio)."""
    if num is None or not den:
        return None
    return num / den


def _row(name, param, owner, vanish, explode, any_grad) -> GradRow:
    data = param._data
    weight_norm = tensor_stats(data).norm if data.dtype.kind == "f" else None
    row = GradRow(
        name=name,
        shape=tuple(param.shape),
        numel=int(data.size),
        requires_grad=bool(param.requires_grad),
        weight_norm=weight_norm,
        nan=0,
        inf=0,
    )
    flags = []
    grad = param.grad
    if grad is None:
        # Before any backward every parameter lacks a gradient: flag only the odd ones out.
        if param.requires_grad and any_grad:
            flags.append("no grad")
        row.flags = tuple(flags)
        return row
    g = grad._data
    stats = tensor_stats(g)
    row.nan, row.inf = stats.nan, stats.posinf + stats.neginf
    flags += [f for f, n in (("nan", row.nan), ("inf", row.inf)) if n]
    row.grad_norm = stats.norm  # over the finite values: a NaN does not hide the size of the rest
    row.ratio = _safe_ratio(row.grad_norm, weight_norm)
    if not (row.nan or row.inf):
        scale = max(weight_norm or 0.0, 1.0)
        if stats.zeros == stats.numel:
            flags.append("zero")
        elif row.grad_norm < vanish * scale:
            flags.append("vanishing")
        elif row.grad_norm > explode * scale:
            flags.append("exploding")
    if owner in _UNIT_ROW_LAYERS and name.endswith("weight") and g.ndim >= 2 and g.shape[0] > 1:
        xp = backend.array_module(g)
        alive = xp.any(g.reshape(g.shape[0], -1) != 0, axis=1)
        row.units = int(g.shape[0])
        row.dead_units = row.units - int(xp.count_nonzero(alive))
        if row.dead_units and "zero" not in flags:
            flags.append("dead units")
    row.flags = tuple(flags)
    return row


def _dead_activations(capture) -> list:
    """For each ReLU-like layer's last call: positions that are zero for every sample of the batch."""
    out = []
    seen = set()
    for rec in reversed(capture.records):
        if rec.module_type not in RELU_LIKE or rec.path in seen:
            continue
        seen.add(rec.path)
        value = rec.output
        if not hasattr(value, "_data") or value.ndim < 2:
            continue
        a = value._data
        xp = backend.array_module(a)
        always_zero = xp.all(a.reshape(a.shape[0], -1) == 0, axis=0)
        out.append(
            DeadActivations(rec.path, rec.module_type, int(xp.count_nonzero(always_zero)), int(always_zero.size))
        )
    out.reverse()
    return out
