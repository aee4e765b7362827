"""``LossPlot``: live training curves that cost microseconds per logged value.

``plot.log(loss=...)`` appends to a Python list and reads a clock; at most every
``interval`` (100 ms) a flush folds the new points into a bounded
:class:`~nbgrad.widgets.downsample.MinMaxHistory` per series and sends them to
the front end as one float64 buffer. No thread and no timer: a flush happens
inside ``log()`` once the interval has passed, at the end of every cell that
logged (IPython's ``post_run_cell``), and on :meth:`LossPlot.finish` /
:meth:`LossPlot.close`. A thread would have to take locks against the
training loop and would send while the kernel is busy anyway.

Wire format (all little-endian float64, row-major):

- ``_snapshot``: rows ``[series, count, x_min, y_min, x_max, y_max, sum_x, sum_y]``,
  the downsampled history of every series at the last snapshot;
- ``_tail``: rows ``[series, x, y]``, every point logged since that snapshot.
  Past ``TAIL_LIMIT`` rows the tail rolls into a new snapshot, so both stay bounded
  and a view created at any time (another cell, a reload) draws everything from
  the model's state alone.

The static fallback (``text/html``) is an SVG of the same curves, drawn in
Python and refreshed in the displayed output when a cell that logged ends.
"""

from __future__ import annotations

import math
import re

import numpy as np
import traitlets as t

from nbgrad.display import html
from nbgrad.widgets._base import FallbackWidget, Throttle, bundle_esm, load_css, on_cell_end, remove_cell_end, to_buffer
from nbgrad.widgets.downsample import MinMaxHistory

# Series colours by role (train, validation, test, other...); widgets/lib/colormap.js CATEGORICAL has the same.
SERIES_COLORS = ("#3b7dd8", "#e8710a", "#1e9e63", "#c2185b", "#7e57c2", "#8d6e63", "#00838f", "#9e9d24")
_ROLES = {"": 0, "train_": 0, "val_": 1, "valid_": 1, "validation_": 1, "test_": 2}
_PREFIX = re.compile(r"^(train_|validation_|valid_|val_|test_)")
# Panels whose best value is the largest; any other metric is loss-like (smaller is better).
_HIGHER_IS_BETTER = re.compile(r"acc|f1|auc|precision|recall|iou|dice|score|r2|bleu|map|reward|psnr|ssim", re.I)
EPOCH = "epoch"  # the hidden series that maps steps to epochs
TAIL_LIMIT = 2048


def panel_of(name: str) -> tuple[str, int]:
    """The panel a metric is drawn in and its colour index: ``val_loss`` -> ``("loss", 1)``."""
    m = _PREFIX.match(name)
    prefix = m.group(1) if m and len(name) > m.end() else ""
    return name[len(prefix) :], _ROLES[prefix]


def goal_of(panel: str) -> str:
    """``"max"`` for accuracy-like panels, ``"min"`` for the rest."""
    return "max" if _HIGHER_IS_BETTER.search(panel) else "min"


# ----------------------------------------------------------------------------
# ticks (the same rules as widgets/lib/scales.js)


def _tick_step(lo: float, hi: float, count: int = 5) -> float:
    raw = abs(hi - lo) / max(1, count)
    if not (raw > 0 and math.isfinite(raw)):
        return 0.0
    power = 10.0 ** math.floor(math.log10(raw))
    error = raw / power
    factor = 10 if error >= 7.5 else 5 if error >= 3.5 else 2 if error >= 1.5 else 1
    return factor * power


def nice_domain(lo: float, hi: float, count: int = 5) -> tuple[float, float]:
    """``[lo, hi]`` widened to whole tick steps (a flat series gets a margin)."""
    if not hi > lo:
        pad = 1.0 if lo == 0 or not math.isfinite(lo) else abs(lo) * 0.1
        return lo - pad, hi + pad
    step = _tick_step(lo, hi, count)
    return math.floor(lo / step) * step, math.ceil(hi / step) * step


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Ticks at multiples of 1, 2 or 5 times a power of ten inside ``[lo, hi]``.

    Example::

        >>> nice_ticks(0, 1)
        [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    """
    lo, hi = min(lo, hi), max(lo, hi)
    step = _tick_step(lo, hi, count)
    if step == 0:
        return [lo] if math.isfinite(lo) else []
    digits = max(0, -math.floor(math.log10(step)) + 1)
    k = math.ceil(lo / step - 1e-9)
    ticks = []
    while k * step <= hi + step * 1e-9:
        ticks.append(round(k * step, min(20, digits)))
        k += 1
    return ticks


def log_domain(lo: float, hi: float) -> tuple[float, float]:
    """Whole decades around the positive values ``[lo, hi]``."""
    if not hi > 0:
        return 0.1, 1.0
    low = lo if lo > 0 else hi / 10
    return 10.0 ** math.floor(math.log10(low)), 10.0 ** math.ceil(math.log10(hi) + 1e-12)


def log_ticks(lo: float, hi: float) -> list[float]:
    """Powers of ten in ``[lo, hi]`` (with 2 and 5 between them when at most two decades show)."""
    if not (lo > 0 and hi >= lo):
        return []
    e0, e1 = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    mantissas = (1, 2, 5) if e1 - e0 <= 2 else (1,)
    stride = max(1, math.ceil((e1 - e0) / 8))
    ticks = []
    for e in range(e0, e1 + 1, stride):
        for m in mantissas:
            v = float(f"{m * 10.0**e:.12g}")
            if lo * (1 - 1e-12) <= v <= hi * (1 + 1e-12):
                ticks.append(v)
    return ticks


def ema(values: np.ndarray, weights: np.ndarray, smoothing: float) -> np.ndarray:
    """Debiased EMA of values standing for ``weights`` points each (as ``ema`` in widgets/lib/downsample.js)."""
    values = np.asarray(values, dtype=np.float64)
    if smoothing <= 0:
        return values.copy()
    out = np.empty_like(values)
    state = norm = 0.0
    for i, (v, w) in enumerate(zip(values.tolist(), np.asarray(weights, dtype=np.float64).tolist())):
        decay = smoothing**w
        state = state * decay + (1 - decay) * v
        norm = norm * decay + (1 - decay)
        out[i] = state / norm
    return out


# ----------------------------------------------------------------------------
# the static picture


def curves_svg(
    panels: list[dict],
    series: dict[str, MinMaxHistory],
    log_scale: bool = False,
    smoothing: float = 0.0,
    x_axis: str = "step",
    panel_width: int = 330,
    height: int = 200,
) -> str:
    """Inline SVG of the curves (one panel per metric group, side by side); deterministic.

    Args:
        panels: ``[{"title", "goal", "series": [{"name", "color"}]}]`` as in ``LossPlot._panels``.
        series: the histories by name; ``"epoch"`` (if present) maps steps to epochs.
    """
    epoch = series.get(EPOCH) if x_axis == EPOCH else None
    ex, ey = epoch.points() if epoch is not None and epoch.count else (None, None)

    def to_x(x):
        return x if ex is None else np.interp(x, ex, ey)

    legend_h = 14 * max([len(p["series"]) for p in panels] + [1])
    total_h = height + legend_h + 4
    if not panels:
        body = html._text(8, 20, "nothing logged yet")
        return html.svg(panel_width, 32, body, "loss plot: nothing logged yet")
    parts = []
    left, right, top, bottom = 50, 10, 16, height - 26
    plot_w = panel_width - left - right
    for k, panel in enumerate(panels):
        ox = k * panel_width
        drawn = []
        for s in panel["series"]:
            h = series[s["name"]]
            x, y = h.points()
            mx, my, mw = h.means()
            if log_scale:
                pos = y > 0
                x, y = x[pos], y[pos]
            drawn.append((s, h, to_x(x), y, to_x(mx), ema(my, mw, smoothing) if smoothing > 0 else None))
        xs = np.concatenate([d[2] for d in drawn]) if drawn else np.zeros(0)
        ys = np.concatenate([d[3] for d in drawn]) if drawn else np.zeros(0)
        if xs.size:
            x0, x1 = float(xs.min()), float(xs.max())
            if x0 == x1:
                x0, x1 = x0 - 1, x1 + 1
            ylo, yhi = float(ys.min()), float(ys.max())
        else:
            x0, x1, ylo, yhi = 0.0, 1.0, (1.0 if log_scale else 0.0), (10.0 if log_scale else 1.0)
        if log_scale:
            y0, y1 = log_domain(ylo, yhi)
            yticks = log_ticks(y0, y1)
            l0, l1 = math.log10(y0), math.log10(y1)

            def sy(v, l0=l0, l1=l1):
                return bottom - (bottom - top) * (np.log10(v) - l0) / (l1 - l0)
        else:
            y0, y1 = nice_domain(ylo, yhi)
            yticks = nice_ticks(y0, y1)

            def sy(v, y0=y0, y1=y1):
                return bottom - (bottom - top) * (np.asarray(v, dtype=np.float64) - y0) / (y1 - y0)

        def sx(v, x0=x0, x1=x1, ox=ox):
            return ox + left + plot_w * (np.asarray(v, dtype=np.float64) - x0) / (x1 - x0)

        grid = []
        for v in yticks:
            py = float(sy(v))
            grid.append(f"M{html._f(ox + left)} {html._f(py)}h{plot_w}")
            parts.append(html._text(ox + left - 4, py + 3, html.format_number(v), anchor="end"))
        for v in nice_ticks(x0, x1, 4):
            px = float(sx(v))
            grid.append(f"M{html._f(px)} {top}V{bottom}")
            parts.append(html._text(px, bottom + 12, html.format_number(v), anchor="middle"))
        parts.append(f'<path d="{"".join(grid)}" stroke="currentColor" stroke-opacity="0.12" fill="none"/>')
        parts.append(
            f'<rect x="{ox + left}" y="{top}" width="{plot_w}" height="{bottom - top}" fill="none" '
            f'stroke="currentColor" stroke-opacity="0.35"/>'
        )
        parts.append(html._text(ox + left, top - 5, panel["title"]))
        parts.append(html._text(ox + left + plot_w, bottom + 24, "epoch" if ex is not None else "step", anchor="end"))
        for j, (s, h, x, y, mx, smooth) in enumerate(drawn):
            color = s["color"]
            opacity = "0.3" if smooth is not None else "0.95"
            parts.append(_polyline(sx(x), sy(y), color, opacity, "1.2"))
            if smooth is not None:
                keep = smooth > 0 if log_scale else np.isfinite(smooth)
                parts.append(_polyline(sx(mx[keep]), sy(smooth[keep]), color, "1", "1.6"))
            best = h.max() if panel["goal"] == "max" else h.min()
            text = f"{s['name']}"
            if h.last is not None:
                text += f"  last {html.format_number(h.last[1])}"
            if best is not None and (not log_scale or best[1] > 0):
                bx, by = float(sx(to_x(best[0]))), float(sy(best[1]))
                parts.append(
                    f'<circle cx="{html._f(bx)}" cy="{html._f(by)}" r="3.2" fill="none" stroke="{color}" '
                    f'stroke-width="1.5"><title>best {html.format_number(best[1])} at step '
                    f"{html.format_number(best[0])}</title></circle>"
                )
                text += f"  {panel['goal']} {html.format_number(best[1])} @ {html.format_number(best[0])}"
            if h.nonfinite:
                text += f"  ({h.nonfinite} non-finite from step {html.format_number(h.first_nonfinite_x)})"
            ly = height + 10 + 14 * j
            parts.append(f'<rect x="{ox + left}" y="{ly - 7}" width="10" height="3" fill="{color}"/>')
            parts.append(html._text(ox + left + 14, ly, text))
    names = ", ".join(s["name"] for p in panels for s in p["series"])
    return html.svg(panel_width * len(panels), total_h, "".join(parts), f"training curves: {names}")


def _polyline(px: np.ndarray, py: np.ndarray, color: str, opacity: str, width: str) -> str:
    segs, pen = [], False
    for a, b in zip(np.asarray(px).tolist(), np.asarray(py).tolist()):
        if not (math.isfinite(a) and math.isfinite(b)):
            pen = False
            continue
        segs.append(f"{'L' if pen else 'M'}{html._f(a)} {html._f(b)}")
        pen = True
    if not segs:
        return ""
    return (
        f'<path d="{"".join(segs)}" stroke="{color}" stroke-opacity="{opacity}" stroke-width="{width}" '
        f'fill="none" stroke-linejoin="round"/>'
    )


# ----------------------------------------------------------------------------
# the widget


class LossPlot(FallbackWidget):
    r"""Live training curves: ``plot.log(loss=...)`` from any loop, drawn as the loop runs.

    Metrics are grouped into panels by name with a ``train_``/``val_``/``test_`` prefix
    stripped (``loss`` and ``val_loss`` share axes); each panel marks its best value
    (the minimum, or the maximum for accuracy-like names). The front end has a log-scale
    toggle, an EMA smoothing slider, a hover read-out and a step/epoch x axis.

    Args:
        x_axis (str): ``"step"`` or ``"epoch"`` (needs ``log(epoch=...)``). Default: ``"step"``.
        log_scale (bool): logarithmic y axes. Default: False.
        smoothing (float): EMA weight in ``[0, 0.999]`` (0: raw curves). Default: 0.
        height (int): pixel height of each panel. Default: 200.
        title (str): a caption above the panels.
        goals (dict, optional): ``{metric or panel: "min" | "max"}`` to override which value is best.
        buckets (int): per-series memory bound (the history keeps at most ``buckets`` min/max buckets). Default: 1024.
        interval (float): seconds between two sends to the front end. Default: 0.1.

    Example::

        >>> plot = LossPlot()
        >>> for step in range(100):
        ...     plot.log(loss=1 / (step + 1))
        >>> plot.log(epoch=1, val_loss=0.02)    # joins step 99: a metric new at this step
        >>> plot.finish()
        >>> plot.series("loss").count, plot.best("loss")
        (100, (99.0, 0.01))
    """

    _esm = bundle_esm("loss_plot.js")
    _css = load_css("loss_plot.css")

    log_scale = t.Bool(False).tag(sync=True)
    smoothing = t.Float(0.0, min=0.0, max=0.999).tag(sync=True)
    x_axis = t.Enum(("step", EPOCH), default_value="step").tag(sync=True)
    height = t.Int(200, min=80).tag(sync=True)
    title = t.Unicode("").tag(sync=True)
    _series = t.List(t.Unicode()).tag(sync=True)
    _panels = t.List(t.Dict()).tag(sync=True)
    _snapshot = t.Bytes(b"").tag(sync=True)
    _tail = t.Bytes(b"").tag(sync=True)

    def __init__(
        self,
        *,
        x_axis: str = "step",
        log_scale: bool = False,
        smoothing: float = 0.0,
        height: int = 200,
        title: str = "",
        goals: dict | None = None,
        buckets: int = 1024,
        interval: float = 0.1,
    ):
        super().__init__(x_axis=x_axis, log_scale=log_scale, smoothing=smoothing, height=height, title=title)
        self._goals = dict(goals or {})
        self._buckets = buckets
        self._ids: dict[str, int] = {}
        self._histories: list[MinMaxHistory] = []
        self._last_step: dict[str, float] = {}
        self._step = 0
        self._pending: list[tuple] = []
        self._tail_rows: list[np.ndarray] = []
        self._tail_len = 0
        # Rows sent but not yet folded into the bounded histories: folding is the costly part of a
        # flush, and only the snapshot, the static picture and the read-back methods need it.
        self._unmerged: list[np.ndarray] = []
        self._throttle = Throttle(interval)
        self._hook = on_cell_end(self._cell_ended)
        self.observe(self._options_changed, names=["log_scale", "smoothing", "x_axis", "height", "title"])

    # -- logging (the hot path) -------------------------------------------------

    def log(self, step=None, epoch=None, **metrics) -> None:
        """Record metric values at a step; cheap enough for every iteration of a training loop.

        Args:
            step (int, optional): the x position. Default: the current step, or the next one
                when one of these metrics already has a value at the current step (so a
                ``val_loss`` logged after an epoch's last ``loss`` lines up with it).
            epoch (float, optional): the epoch at this step (enables the epoch x axis).
            **metrics: name=value; values are converted with ``float()`` at once (a tensor is
                not kept, nor its graph).
        """
        last = self._last_step
        if step is None:
            step = self._step
            for name in metrics:
                if last.get(name) == step:
                    step += 1
                    break
        self._step = step
        pending = self._pending
        ids = self._ids
        for name, value in metrics.items():
            sid = ids.get(name)
            if sid is None:
                sid = self._add_series(name)
            pending.append((sid, step, float(value)))
            last[name] = step
        if epoch is not None:
            sid = ids.get(EPOCH)
            if sid is None:
                sid = self._add_series(EPOCH)
            pending.append((sid, step, float(epoch)))
        throttle = self._throttle
        if throttle.clock() >= throttle.due:
            self.flush()

    def _add_series(self, name: str) -> int:
        sid = len(self._histories)
        self._ids[name] = sid
        self._histories.append(MinMaxHistory(self._buckets))
        self._series = [*self._series, name]
        if name != EPOCH:
            self._panels = self._layout()
        return sid

    def _layout(self) -> list[dict]:
        panels: dict[str, dict] = {}
        used: dict[str, set] = {}
        for name in self._series:
            if name == EPOCH:
                continue
            title, role = panel_of(name)
            goal = self._goal(name)
            panel = panels.setdefault(title, {"title": title, "goal": goal, "series": []})
            taken = used.setdefault(title, set())
            color = role
            while color in taken:  # two series of one role in a panel still get distinct colours
                color = max(taken | {2}) + 1
            taken.add(color)
            panel["series"].append({"name": name, "color": SERIES_COLORS[color % len(SERIES_COLORS)]})
        return list(panels.values())

    # -- sending ---------------------------------------------------------------

    def flush(self) -> None:
        """Send the points logged since the last flush (``log`` calls this at most every ``interval``)."""
        self._throttle.restart()
        if not self._pending:
            return
        rows = np.array(self._pending, dtype=np.float64)
        self._pending = []
        self._unmerged.append(rows)
        self._tail_rows.append(rows)
        self._tail_len += len(rows)
        self._stale = True
        with self.hold_sync():
            if self._tail_len > TAIL_LIMIT:
                self._snapshot = self._encode_snapshot()
                self._tail_rows, self._tail_len = [], 0
                self._tail = b""
            else:
                self._tail = to_buffer(np.concatenate(self._tail_rows))

    def _merge(self) -> None:
        """Fold the rows sent since the last merge into the bounded per-metric histories."""
        if not self._unmerged:
            return
        rows = np.concatenate(self._unmerged)
        self._unmerged = []
        sids = rows[:, 0].astype(np.int64)
        for sid in np.unique(sids).tolist():
            mine = rows[sids == sid]
            self._histories[sid].extend(mine[:, 1], mine[:, 2])

    def _encode_snapshot(self) -> bytes:
        self._merge()
        blocks = []
        for sid, h in enumerate(self._histories):
            r = h.rows()
            blocks.append(np.column_stack([np.full(len(r), float(sid)), r]))
        return to_buffer(np.concatenate(blocks)) if blocks else b""

    def finish(self) -> None:
        """Send everything and refresh the static picture (a cell that logged does this when it ends)."""
        self.flush()
        self.refresh_if_stale()

    def close(self) -> None:
        """Finish, then close the widget; the output keeps the static picture of the final curves."""
        self.flush()
        remove_cell_end(self._hook)
        self._hook = None
        super().close()
        self._stale = False
        self.refresh_fallback()

    def __del__(self):
        # Garbage collection (possibly at interpreter shutdown) is no time to flush or draw: just close the comm.
        remove_cell_end(getattr(self, "_hook", None))
        FallbackWidget.close(self)

    def _cell_ended(self) -> None:
        if self._pending or self._stale:
            self.finish()

    def _options_changed(self, change) -> None:
        self._stale = True

    # -- reading back ----------------------------------------------------------

    def series(self, name: str) -> MinMaxHistory:
        """The bounded history of a metric (flushed points only; call :meth:`flush` first)."""
        self._merge()
        return self._histories[self._ids[name]]

    def best(self, name: str) -> tuple[float, float] | None:
        """``(step, value)`` of the best value of a metric: its minimum, or maximum for accuracy-like metrics."""
        self.flush()
        return self._best(name)

    def _goal(self, name: str) -> str:
        title, _ = panel_of(name)
        return self._goals.get(name) or self._goals.get(title) or goal_of(title)

    def _best(self, name: str) -> tuple[float, float] | None:
        h = self.series(name)
        return h.max() if self._goal(name) == "max" else h.min()

    # -- static fallback -------------------------------------------------------

    def _named_histories(self) -> dict[str, MinMaxHistory]:
        self._merge()
        return {name: self._histories[i] for name, i in self._ids.items()}

    def _static_bundle(self) -> dict:
        self.flush()  # the picture shows every point logged so far
        return super()._static_bundle()

    def _fallback_html(self) -> str:
        picture = curves_svg(
            self._panels,
            self._named_histories(),
            log_scale=self.log_scale,
            smoothing=self.smoothing,
            x_axis=self.x_axis,
            height=self.height,
        )
        caption = f'<div style="font-weight: 600">{html.escape(self.title)}</div>' if self.title else ""
        return f'<div class="nbgrad-loss-plot-static" style="{html.ROOT_STYLE}">{caption}{picture}</div>'

    def _fallback_text(self) -> str:
        parts = []
        for name in self._series:
            if name == EPOCH:
                continue
            h = self.series(name)
            text = f"{name}: {h.count} points"
            if h.last is not None:
                text += f", last {html.format_number(h.last[1])}"
            best = self._best(name)
            if best is not None:
                text += f", best {html.format_number(best[1])} at step {html.format_number(best[0])}"
            parts.append(text)
        return "LossPlot(" + ("; ".join(parts) if parts else "nothing logged yet") + ")"


__all__ = ["LossPlot", "curves_svg", "panel_of", "goal_of", "nice_ticks", "log_ticks"]
