"""``nb.widgets.TrainingMonitor``: gradient, weight and activation statistics of a model while it trains.

One line attaches it; the training loop stays as it is::

    monitor = nb.widgets.TrainingMonitor(model, optimizer=opt)   # wraps opt.step
    monitor                                                     # show it (a cell's last line)
    ...                                                         # train as before
    monitor.detach()                                            # every hook removed

Without ``optimizer=``, call ``monitor.step()`` after ``optimizer.step()`` (or
pass the monitor to :func:`nbgrad.fit` as a callback).

Every ``every`` steps (a *measured* step) the monitor records, per parameter,
the gradient norm, the weight norm and the size of the step just taken
(``update / weight``), and, per layer (each leaf module), the mean, the
standard deviation and the fraction of zeros of its output, and for ReLU-like
layers the fraction of units that were zero for every sample of the batch.
Numbers and flags come from :func:`nbgrad.inspect.grad_report` (the same
thresholds and definitions: ``nan``, ``inf``, ``no grad``, ``zero``,
``vanishing``, ``exploding``, ``dead units``; the last needs at least half of a
layer's units dead for the batch, as a few idle units are normal), computed on
the parameters' device; only scalars reach the host. The other steps cost a counter increment:
forward hooks return at once, no weight is copied.

Series are held in bounded memory (:class:`~nbgrad.widgets.downsample.MinMaxHistory`,
which keeps each bucket's extremes, as :class:`~nbgrad.widgets.LossPlot` does)
and travel to the front end as one float64 buffer, at most every ``interval``
seconds and at the end of each cell. The static fallback is an HTML table with
inline SVG sparklines.
"""

from __future__ import annotations

import functools
import inspect as _inspect

import numpy as np
import traitlets as t

from nbgrad.autograd import is_grad_enabled
from nbgrad.display import html
from nbgrad.display import table as tbl
from nbgrad.display.stats import tensor_stats
from nbgrad.inspect.capture import CallRecord
from nbgrad.inspect.grad_report import GradReport, grad_report
from nbgrad.tensor import Tensor
from nbgrad.widgets._base import FallbackWidget, Throttle, bundle_esm, load_css, on_cell_end, remove_cell_end, to_buffer
from nbgrad.widgets.downsample import MinMaxHistory

__all__ = ["TrainingMonitor", "PARAM_METRICS", "LAYER_METRICS"]

PARAM_METRICS = ("grad_norm", "weight_norm", "update_ratio")
LAYER_METRICS = ("mean", "std", "zeros", "dead")
# The flags' thresholds are grad_report's own defaults, so the monitor and the report always agree.
_DEFAULTS = {k: p.default for k, p in _inspect.signature(grad_report).parameters.items()}
# Flags that mean the numbers are broken (red) rather than suspicious (amber).
_SEVERE = ("nan", "inf", "exploding")


class _Records:
    """The one attribute of a :class:`~nbgrad.inspect.Capture` that ``grad_report`` reads: ``records``."""

    __slots__ = ("records",)

    def __init__(self, records: list):
        self.records = records


class TrainingMonitor(FallbackWidget):
    r"""Per-parameter gradient and weight norms, step sizes and per-layer activation statistics, over steps.

    Attaches forward hooks to every leaf module of ``model`` (and, with ``optimizer=``,
    wraps ``optimizer.step`` so that each step is recorded); :meth:`detach` removes
    them all. Statistics are taken every ``every`` steps (steps 1, 1 + every, ...):
    a measured step costs about one :func:`~nbgrad.inspect.grad_report`, the others
    nothing worth measuring.

    Args:
        model (Module): the model to watch.
        optimizer (Optimizer, optional): its ``step`` is wrapped to call :meth:`step` after
            each update. Without it, call :meth:`step` after ``optimizer.step()``, before
            ``zero_grad()`` (the gradients are read then).
        every (int): steps between two measurements. Default: 10.
        vanish (float): relative threshold of the ``vanishing`` flag (as ``grad_report``). Default: 1e-7.
        explode (float): relative threshold of the ``exploding`` flag (as ``grad_report``). Default: 100.
        dead (float): the ``dead units`` flag needs at least this fraction of a layer's units dead
            (``grad_report`` counts any; a few units idle for one batch are normal). Default: 0.5.
        log_scale (bool): logarithmic sparklines in the front end. Default: True.
        buckets (int): per-series memory bound (min/max buckets). Default: 128.
        interval (float): seconds between two sends to the front end. Default: 0.25.

    Attributes:
        report: the :class:`~nbgrad.inspect.GradReport` of the last measured step (a table in a notebook).
        flags: ``{parameter or layer: flags}`` at the last measured step (flagged ones only).
        alerts: every flag seen so far: ``{"name", "flag", "first", "last", "count"}`` (steps).

    Example::

        >>> import nbgrad as nb
        >>> model = nb.nn.Sequential(nb.nn.Linear(4, 8), nb.nn.ReLU(), nb.nn.Linear(8, 1))
        >>> opt = nb.optim.SGD(model.parameters(), lr=0.1)
        >>> monitor = TrainingMonitor(model, optimizer=opt, every=2)
        >>> for _ in range(5):
        ...     loss = model(nb.randn(16, 4)).pow(2).mean()
        ...     opt.zero_grad(); loss.backward(); opt.step()
        >>> monitor.steps, monitor.series("0.weight", "grad_norm").count
        (5, 3)
        >>> monitor.detach()
    """

    _esm = bundle_esm("monitor.js")
    _css = load_css("monitor.css")

    every = t.Int(10, min=1).tag(sync=True)
    log_scale = t.Bool(True).tag(sync=True)
    step_count = t.Int(0).tag(sync=True)
    title = t.Unicode("").tag(sync=True)
    _params = t.List(t.Dict()).tag(sync=True)
    _layers = t.List(t.Dict()).tag(sync=True)
    _alerts = t.List(t.Dict()).tag(sync=True)
    _index = t.List(t.List()).tag(sync=True)
    _series = t.Bytes(b"").tag(sync=True)

    def __init__(
        self,
        model,
        optimizer=None,
        *,
        every: int = 10,
        vanish: float = _DEFAULTS["vanish"],
        explode: float = _DEFAULTS["explode"],
        dead: float = 0.5,
        log_scale: bool = True,
        buckets: int = 128,
        interval: float = 0.25,
    ):
        super().__init__(every=every, log_scale=log_scale, title=f"{type(model).__name__}")
        self.model = model
        self.optimizer = optimizer
        self.vanish, self.explode, self.dead = vanish, explode, dead
        self.report: GradReport | None = None
        self.flags: dict = {}
        self.alerts: list = []
        self._buckets = buckets
        self._throttle = Throttle(interval)
        self._count = 0
        self._names = [name for name, _ in model.named_parameters()]
        self._shapes = {name: list(p.shape) for name, p in model.named_parameters()}
        self._layer_paths: list = []
        self._layer_types: dict = {}
        self._histories: dict = {}  # (name, metric) -> MinMaxHistory
        self._pending: dict = {}  # (name, metric) -> [(step, value)], folded in at the next send
        self._last: dict = {}  # name -> {metric: last value}
        self._alert_map: dict = {}  # (name, flag) -> alert dict
        self._acts: dict = {}  # layer path -> CallRecord of the measured forward pass
        self._before = None  # {name: (param, copy)} taken before a measured step
        self._recording = False
        self._handles: list = []
        self._opt_wrapper = None
        self._attach()
        self._cell_hook = on_cell_end(self._cell_ended)
        self._push()

    # ------------------------------------------------------------------ attaching
    def _attach(self) -> None:
        for path, module in self.model.named_modules():
            if next(iter(module.children()), None) is not None or not path:
                continue  # containers repeat their children's outputs; the model itself is its last layer's
            self._layer_paths.append(path)
            self._layer_types[path] = type(module).__name__
            self._handles.append(module.register_forward_hook(self._hook(path)))
        if not self._layer_paths:  # a model of one layer (nn.Linear): its output, under the path ""
            self._layer_paths.append("")
            self._layer_types[""] = type(self.model).__name__
            self._handles.append(self.model.register_forward_hook(self._hook("")))
        if self.optimizer is not None:
            self._wrap_optimizer(self.optimizer)
        self._prepare()

    def _hook(self, path: str):
        def record(module, args, output):
            # Only the training forward pass of a measured step; evaluation under no_grad is not a step.
            if self._recording and is_grad_enabled():
                value = _first_tensor(output)
                if value is not None:
                    self._acts[path] = CallRecord(path, type(module).__name__, 0, value.detach())

        return record

    def _wrap_optimizer(self, optimizer) -> None:
        original = optimizer.step
        monitor = self

        @functools.wraps(original)
        def step(*args, **kwargs):
            result = original(*args, **kwargs)
            if monitor._opt_wrapper is step:
                monitor.step()
            return result

        self._opt_wrapper = step
        self._opt_had_attr = "step" in optimizer.__dict__
        self._opt_original = original
        optimizer.step = step

    @property
    def attached(self) -> bool:
        """Whether the hooks are in place (False after :meth:`detach`)."""
        return bool(self._handles)

    def detach(self) -> None:
        """Remove every hook (forward hooks, the optimizer wrapper) and send the final statistics.

        The widget stays, showing what was recorded; a detached monitor records nothing more.
        """
        for handle in self._handles:
            handle.remove()
        self._handles = []
        wrapper, self._opt_wrapper = self._opt_wrapper, None  # a wrapper left in place now only passes through
        if wrapper is not None and self.optimizer.__dict__.get("step") is wrapper:
            if self._opt_had_attr:
                self.optimizer.step = self._opt_original
            else:
                del self.optimizer.step
        self._recording, self._before, self._acts = False, None, {}
        remove_cell_end(self._cell_hook)
        self._cell_hook = None
        self.finish()

    def __enter__(self) -> TrainingMonitor:
        return self

    def __exit__(self, *exc) -> bool:
        self.detach()
        return False

    def close(self) -> None:
        """Detach, then close the widget; the output keeps the static table."""
        if self.attached or self._cell_hook is not None:
            self.detach()
        super().close()
        self.refresh_fallback()

    # ------------------------------------------------------------------ the hot path
    @property
    def steps(self) -> int:
        """Steps seen since the monitor was attached."""
        return self._count

    def step(self) -> None:
        """Record one optimizer step: call it after ``optimizer.step()`` (the optimizer wrapper does).

        Measured steps read the gradients, so call it before ``zero_grad()``.
        """
        if not self._handles:
            raise RuntimeError("TrainingMonitor.step: the monitor is detached; attach a new TrainingMonitor(model)")
        self._count += 1
        if (self._count - 1) % self.every == 0:
            self._measure()
        self._prepare()
        if self._throttle.clock() >= self._throttle.due:
            self._push()

    def on_step_end(self, run, logs) -> None:
        """:func:`nbgrad.fit` callback: :meth:`step` (unless the optimizer's ``step`` is wrapped already)."""
        if self._opt_wrapper is None and self._handles:
            self.step()

    def on_fit_end(self, run) -> None:
        """:func:`nbgrad.fit` callback: send everything and refresh the static table."""
        self.finish()

    def _prepare(self) -> None:
        """Before a measured step: copy the weights (to measure the update) and let the hooks record."""
        measured_next = self._count % self.every == 0
        self._recording = measured_next
        if measured_next:
            self._before = {name: (p, p._data.copy()) for name, p in self.model.named_parameters() if p.requires_grad}
        else:
            self._before = None

    # ------------------------------------------------------------------ measuring
    def _measure(self) -> None:
        step = self._count
        acts, self._acts = self._acts, {}
        records = list(acts.values())
        report = grad_report(
            self.model, capture=_Records(records), vanish=self.vanish, explode=self.explode, snapshot=False
        )
        if self._before is not None:
            GradReport(report.rows, report.dead_activations, self.vanish, self.explode, self._before).after_step()
        self.report = report
        flags = {}
        for row in report.rows:
            self._add(
                row.name, step, grad_norm=row.grad_norm, weight_norm=row.weight_norm, update_ratio=row.update_ratio
            )
            row_flags = tuple(f for f in row.flags if f != "dead units" or row.dead_units >= self.dead * row.units)
            if row_flags:
                flags[row.name] = row_flags
        dead = {d.path: d for d in report.dead_activations}
        for path, rec in acts.items():
            s = tensor_stats(rec.output)
            layer_flags = [f for f, n in (("nan", s.nan), ("inf", s.posinf + s.neginf)) if n]
            d = dead.get(path)
            dead_fraction = d.dead / d.total if d is not None and d.total else None
            if dead_fraction is not None and dead_fraction >= self.dead:
                layer_flags.append("dead units")
            self._add(
                path, step, mean=s.mean, std=s.std, zeros=s.zeros / s.numel if s.numel else None, dead=dead_fraction
            )
            if layer_flags:
                flags[path] = tuple(layer_flags)
        self.flags = flags
        for name, fl in flags.items():
            for flag in fl:
                alert = self._alert_map.get((name, flag))
                if alert is None:
                    alert = self._alert_map[(name, flag)] = {"name": name, "flag": flag, "first": step, "count": 0}
                    self.alerts.append(alert)
                alert["last"] = step
                alert["count"] += 1
        self._stale = True

    def _add(self, name: str, step: int, **values) -> None:
        last = self._last.setdefault(name, {})
        for metric, value in values.items():
            last[metric] = value
            if value is not None:
                self._pending.setdefault((name, metric), []).append((step, float(value)))

    # ------------------------------------------------------------------ sending
    def _fold(self) -> None:
        for key, points in self._pending.items():
            h = self._histories.get(key)
            if h is None:
                h = self._histories[key] = MinMaxHistory(self._buckets)
            xy = np.asarray(points, dtype=np.float64)
            h.extend(xy[:, 0], xy[:, 1])
        self._pending = {}

    def series(self, name: str, metric: str) -> MinMaxHistory:
        """The bounded history of one statistic: ``series("0.weight", "grad_norm")``, ``series("1", "dead")``.

        Metrics: ``grad_norm``, ``weight_norm``, ``update_ratio`` for parameters; ``mean``, ``std``,
        ``zeros``, ``dead`` for layers (by module path).
        """
        self._fold()
        if metric not in PARAM_METRICS + LAYER_METRICS:
            raise KeyError(f"TrainingMonitor.series: unknown metric {metric!r}; one of {PARAM_METRICS + LAYER_METRICS}")
        h = self._histories.get((name, metric))
        if h is None:
            known = self._names + self._layer_paths
            if name not in known:
                raise KeyError(f"TrainingMonitor.series: no parameter or layer {name!r}; known: {known}")
            h = MinMaxHistory(self._buckets)  # nothing recorded yet
        return h

    def _rows(self) -> tuple:
        params = [
            {"name": n, "shape": self._shapes[n], **self._last.get(n, {}), "flags": list(self.flags.get(n, ()))}
            for n in self._names
        ]
        layers = [
            {"name": p, "type": self._layer_types[p], **self._last.get(p, {}), "flags": list(self.flags.get(p, ()))}
            for p in self._layer_paths
        ]
        return params, layers

    def _push(self) -> None:
        """Send the statistics to the front end: the rows as JSON scalars, the series as one float64 buffer."""
        self._throttle.restart()
        self._fold()
        index, blocks, offset = [], [], 0
        for group, names, metrics in (
            ("param", self._names, PARAM_METRICS),
            ("layer", self._layer_paths, LAYER_METRICS),
        ):
            for row, name in enumerate(names):
                for metric in metrics:
                    h = self._histories.get((name, metric))
                    if h is None or not h.count:
                        continue
                    x, y = h.points()
                    index.append([group, row, metric, offset, int(x.size)])
                    blocks += [x, y]
                    offset += 2 * x.size
        params, layers = self._rows()
        with self.hold_sync():
            self.step_count = self._count
            self._params = params
            self._layers = layers
            self._alerts = [dict(a) for a in self.alerts]
            self._index = index
            self._series = to_buffer(np.concatenate(blocks)) if blocks else b""

    def flush(self) -> None:
        """Send what was recorded since the last send (``step`` does it at most every ``interval``)."""
        self._push()

    def finish(self) -> None:
        """Send everything and refresh the static table of the displayed output (done at the end of each cell)."""
        self._push()
        self.refresh_if_stale()

    def _cell_ended(self) -> None:
        if self._stale:
            self.finish()

    # ------------------------------------------------------------------ static fallback
    def _fallback_text(self) -> str:
        n_flags = sum(len(f) for f in self.flags.values())
        flagged = "; ".join(f"{name}: {', '.join(f)}" for name, f in self.flags.items())
        return (
            f"TrainingMonitor({self.title}: {len(self._names)} parameters, {len(self._layer_paths)} layers, "
            f"step {self._count}, every {self.every}" + (f"; {n_flags} flags: {flagged}" if n_flags else "") + ")"
        )

    def _fallback_html(self) -> str:
        self._fold()
        params, layers = self._rows()
        heads = {
            "grad_norm": "grad norm",
            "weight_norm": "weight norm",
            "update_ratio": "update / weight",
            "mean": "mean",
            "std": "std",
            "zeros": "zeros",
            "dead": "dead units",
        }
        parts = []
        for title, rows, metrics in (("parameter", params, PARAM_METRICS), ("layer", layers, LAYER_METRICS)):
            body = []
            for row in rows:
                detail = "×".join(map(str, row["shape"])) if "shape" in row else row["type"]
                cells = [tbl.Cell(html.escape(row["name"])), tbl.Cell(html.escape(detail), style=tbl.MUTED)]
                for metric in metrics:
                    cells.append(self._spark_cell(row["name"], metric, row.get(metric)))
                cells.append(tbl.Cell(_badges(row["flags"])))
                body.append(cells)
            header = [title, "shape" if title == "parameter" else "type", *(heads[m] for m in metrics), "flags"]
            parts.append(tbl.table(header, body))
        notes = [
            html.escape(f"{a['name']}: {a['flag']} at steps {a['first']}–{a['last']} ({a['count']}×)")
            for a in self.alerts
        ]
        measured = f"statistics every {self.every} step{'s' * (self.every != 1)}"
        title = f"TrainingMonitor of {html.escape(self.title)}: step {self._count}, {measured}"
        return f'<div class="nbgrad-monitor-static">{tbl.frame(title, "".join(parts), notes)}</div>'

    def _spark_cell(self, name: str, metric: str, last) -> tbl.Cell:
        h = self._histories.get((name, metric))
        if h is None or not h.count:
            return tbl.Cell("—", style=tbl.MUTED)
        _, y = h.points()
        log = metric in ("grad_norm", "weight_norm", "update_ratio") and self.log_scale
        spark = html.sparkline_svg(y, width=90, height=18, log=log)
        value = html.format_number(last) if metric not in ("zeros", "dead") or last is None else tbl.percent(last)
        return tbl.Cell(
            f'<span style="display:inline-flex;align-items:center;gap:4px">{spark}<span>{value}</span></span>',
            numeric=True,
        )


def _badges(flags) -> str:
    return "".join(html.badge(html.escape(f), "#f4a3a3" if f in _SEVERE else "#ffd58a") for f in flags)


def _first_tensor(output):
    """The output itself, or the first tensor of a tuple/list output (an LSTM's sequence output)."""
    if isinstance(output, Tensor):
        return output
    if isinstance(output, (tuple, list)):
        for item in output:
            found = _first_tensor(item)
            if found is not None:
                return found
    return None
