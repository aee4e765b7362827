"""``History``: what :func:`nbgrad.fit` returns: one record per epoch, the loss of every step, and a rich view.

The view (a table of the epochs with the best values marked, and small curves
as inline SVG) is deterministic HTML without JavaScript, like every nbgrad view.
"""

from __future__ import annotations

import math
from array import array

import numpy as np

from nbgrad.display import html
from nbgrad.display import table as tbl

# Keys whose smaller values are better (the best epoch is marked with the minimum).
_LOWER_IS_BETTER = ("loss", "error", "err", "mse", "mae", "perplexity")
_MAX_ROWS = 20  # epochs shown in full; longer runs show the first and last ones
_COLORS = ("#1f77b4", "#ff7f0e")  # training, validation


class History:
    """The record of a :func:`~nbgrad.fit` run: per-epoch metrics and the loss of every training step.

    ``history["val_loss"]`` is the list of one metric over the epochs (``None``
    where an epoch lacks it), as in Keras. In a notebook a history shows a
    table of its epochs (best values in bold) and its curves; ``.plot()`` draws
    them with matplotlib.

    Attributes:
        epochs: one dict per completed epoch: ``epoch`` (1-based), ``loss`` and each training
            metric (sample means over the epoch), ``val_loss`` and ``val_<metric>`` with a
            validation loader, and ``lr`` (the first group's learning rate during the epoch).
        steps: ``{"step": ..., "epoch": ..., "loss": ...}``: one entry per optimizer step
            (``array.array`` columns; ``step`` counts from 1 over the whole history).
        interrupted: ``(epoch, step)`` where the last run was interrupted, else ``None``.
    """

    def __init__(self):
        self.epochs: list[dict] = []
        self.steps = {"step": array("q"), "epoch": array("q"), "loss": array("d")}
        self.interrupted: "tuple | None" = None

    # ------------------------------------------------------------------ recording (called by fit)
    def add_step(self, epoch: int, loss: float) -> int:
        """Append one step's loss; returns the step's global number (1-based)."""
        steps = self.steps
        n = len(steps["step"]) + 1
        steps["step"].append(n)
        steps["epoch"].append(epoch)
        steps["loss"].append(loss)
        return n

    # ------------------------------------------------------------------ reading
    def __len__(self) -> int:
        return len(self.epochs)

    def keys(self) -> list:
        """The metric names of the epoch records (``epoch`` first), in order of appearance."""
        seen: dict = {}
        for record in self.epochs:
            seen.update(dict.fromkeys(record))
        return list(seen)

    def __getitem__(self, key: str) -> list:
        if key not in self.keys():
            raise KeyError(f"History: no metric {key!r}; the epochs record {self.keys()}")
        return [record.get(key) for record in self.epochs]

    def __contains__(self, key) -> bool:
        return key in self.keys()

    def best(self, key: str) -> dict:
        """The epoch record with the best ``key`` (the smallest for losses and errors, else the largest)."""
        values = [(v, i) for i, v in enumerate(self[key]) if _finite(v)]
        if not values:
            raise ValueError(f"History.best: no epoch has a finite {key!r}")
        pick = min if _lower_is_better(key) else max
        return self.epochs[pick(values)[1]]

    def plot(self, by: str = "epoch"):
        """The curves as a matplotlib figure (:func:`nbgrad.viz.plot_history`), one panel per metric.

        Args:
            by: ``"epoch"``: the epoch records (``loss`` and ``val_loss`` share a panel);
                ``"step"``: the loss of every step.

        Returns:
            a :class:`matplotlib.figure.Figure`.
        """
        from nbgrad.viz.plots import plot_history

        if by == "step":
            return plot_history({"step": self.steps["step"].tolist(), "loss": self.steps["loss"].tolist()})
        if by != "epoch":
            raise ValueError(f"History.plot: by must be 'epoch' or 'step', got {by!r}")
        if not self.epochs:
            raise ValueError("History.plot: no complete epoch yet; History.plot(by='step') draws the step losses")
        return plot_history([{k: v for k, v in r.items() if k != "lr"} for r in self.epochs])

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict:
        """A dict that :func:`nbgrad.save` can store (the step columns as NumPy arrays)."""
        return {
            "epochs": [dict(r) for r in self.epochs],
            "steps": {k: np.asarray(v) for k, v in self.steps.items()},
            "interrupted": list(self.interrupted) if self.interrupted else None,
        }

    def load_state_dict(self, state: dict) -> None:
        """Restore from :meth:`state_dict` (as returned, or as :func:`nbgrad.load` gives it back)."""
        self.epochs = [dict(r) for r in state["epochs"]]
        for key, typecode in (("step", "q"), ("epoch", "q"), ("loss", "d")):
            column = state["steps"][key]
            values = column.numpy() if hasattr(column, "numpy") else np.asarray(column)
            self.steps[key] = array(typecode, values.astype("int64" if typecode == "q" else "float64").tobytes())
        interrupted = state.get("interrupted")
        self.interrupted = tuple(interrupted) if interrupted else None

    # ------------------------------------------------------------------ display
    def _title(self) -> str:
        n, k = len(self.epochs), len(self.steps["step"])
        return f"History: {n} epoch{'s' * (n != 1)}, {k} step{'s' * (k != 1)}"

    def _note(self) -> str:
        if self.interrupted is None:
            return ""
        epoch, step = self.interrupted
        return f"interrupted at epoch {epoch}, step {step}"

    def __repr__(self) -> str:
        lines = [self._title() + (f" ({self._note()})" if self.interrupted else "")]
        keys = self.keys()
        if keys:
            rows = [[html.format_number(r.get(k)) for k in keys] for r in _shown(self.epochs)]
            widths = [max(len(k), *(len(row[i]) for row in rows)) for i, k in enumerate(keys)]
            lines.append("  ".join(k.rjust(w) for k, w in zip(keys, widths)))
            lines += ["  ".join(c.rjust(w) for c, w in zip(row, widths)) for row in rows]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        keys = self.keys()
        best = {k: _best_index(self.epochs, k) for k in keys if k not in ("epoch", "lr")}
        rows = []
        for i, record in _numbered(self.epochs):
            if record is None:
                rows.append([tbl.Cell("…", style=tbl.MUTED)] + [tbl.Cell("")] * (len(keys) - 1))
                continue
            cells = []
            for k in keys:
                cell = tbl.num(record.get(k))
                if best.get(k) == i:
                    cell.style += "font-weight:700;"
                    cell.title = f"best {k}"
                cells.append(cell)
            rows.append(cells)
        body = _charts(self) + (tbl.table(keys, rows) if keys else "")
        notes = [html.escape(self._note())] if self.interrupted else []
        return tbl.frame(html.escape(self._title()), body, notes)

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        return tbl.bundle(repr(self), self._repr_html_)


# ---------------------------------------------------------------------- helpers
def _finite(v) -> bool:
    return isinstance(v, (int, float)) and math.isfinite(v)


def _lower_is_better(key: str) -> bool:
    return any(word in key.lower() for word in _LOWER_IS_BETTER)


def _best_index(records: list, key: str) -> "int | None":
    values = [(r.get(key), i) for i, r in enumerate(records) if _finite(r.get(key))]
    if not values:
        return None
    return (min if _lower_is_better(key) else max)(values)[1]


def _numbered(records: list) -> list:
    """``(index, record)`` pairs shown in the table; ``(None, None)`` marks the elided middle of a long run."""
    if len(records) <= _MAX_ROWS:
        return list(enumerate(records))
    half = _MAX_ROWS // 2
    n = len(records)
    return [*((i, records[i]) for i in range(half)), (None, None), *((i, records[i]) for i in range(n - half, n))]


def _shown(records: list) -> list:
    return [r for _, r in _numbered(records) if r is not None]


def _charts(history: History) -> str:
    """One small chart per metric (``loss`` with ``val_loss``...): inline SVG, side by side."""
    groups: dict[str, list] = {}
    steps = history.steps
    if len(steps["loss"]) > 1:
        x = np.frombuffer(steps["step"], dtype=np.int64).astype(np.float64)
        y = np.frombuffer(steps["loss"], dtype=np.float64)
        groups["loss"] = [("loss (steps)", *_downsample(x, y), 0.35, _COLORS[0])]
    if history.epochs:
        # An epoch's point sits at its last step, so the epoch curves meet the step curve.
        ends = _epoch_ends(history)
        for key in history.keys():
            if key in ("epoch", "lr"):
                continue
            y = np.array([_float(r.get(key)) for r in history.epochs])
            # One colour per split in every chart: training blue, validation orange.
            color = _COLORS[1] if key.startswith("val_") else _COLORS[0]
            groups.setdefault(_metric(key), []).append((key, ends, y, 1.0, color))
    panels = [chart_svg(name, series) for name, series in groups.items()]
    if not panels:
        return ""
    return f'<div style="{html.ROW_STYLE}; margin-bottom: 4px">{"".join(panels)}</div>'


def _epoch_ends(history: History) -> np.ndarray:
    """The global step at which each recorded epoch ended (its index + 1 without step records)."""
    steps, epochs = history.steps, history.epochs
    if not len(steps["step"]):
        return np.arange(1, len(epochs) + 1, dtype=np.float64)
    step = np.frombuffer(steps["step"], dtype=np.int64)
    epoch = np.frombuffer(steps["epoch"], dtype=np.int64)
    out = []
    for record in epochs:
        mask = epoch == record["epoch"]
        out.append(float(step[mask].max()) if mask.any() else math.nan)
    return np.array(out)


def _float(v) -> float:
    return float(v) if isinstance(v, (int, float)) else math.nan


def _metric(key: str) -> str:
    for prefix in ("val_", "train_"):
        if key.startswith(prefix):
            return key[len(prefix) :]
    return key


def _downsample(x: np.ndarray, y: np.ndarray, buckets: int = 256) -> tuple:
    """A long curve in bounded size: each bucket's minimum and maximum (the live LossPlot's downsampling)."""
    from nbgrad.widgets.downsample import MinMaxHistory  # NumPy only: no widget library is imported

    if x.size <= 2 * buckets:
        return x, y
    h = MinMaxHistory(buckets)
    h.extend(x, y)
    return h.points()


def chart_svg(title: str, series: list, width: int = 240, height: int = 110) -> str:
    """A small line chart: ``series`` is a list of ``(label, x, y, opacity, colour)``; y NaNs break the line.

    The x range spans all series; the y range their finite values. Deterministic SVG text.
    """
    pad_l, pad_r, pad_t, pad_b = 40, 6, 16, 14
    xs = np.concatenate([np.asarray(s[1], dtype=np.float64) for s in series])
    ys = np.concatenate([np.asarray(s[2], dtype=np.float64) for s in series])
    xs, ys = xs[np.isfinite(xs)], ys[np.isfinite(ys)]
    x0, x1 = (float(xs.min()), float(xs.max())) if xs.size else (0.0, 1.0)
    y0, y1 = (float(ys.min()), float(ys.max())) if ys.size else (0.0, 1.0)
    if x1 == x0:
        x0, x1 = x0 - 1, x1 + 1
    if y1 == y0:
        y0, y1 = y0 - 0.5, y1 + 0.5
    plot_w, plot_h = width - pad_l - pad_r, height - pad_t - pad_b

    def sx(v):
        return pad_l + (v - x0) / (x1 - x0) * plot_w

    def sy(v):
        return pad_t + (y1 - v) / (y1 - y0) * plot_h

    parts = [
        f'<rect x="{pad_l}" y="{pad_t}" width="{plot_w}" height="{plot_h}" fill="none" '
        'stroke="currentColor" stroke-opacity="0.25"/>',
        html._text(2, pad_t + 8, html.format_number(y1)),
        html._text(2, pad_t + plot_h, html.format_number(y0)),
        html._text(pad_l, height - 2, html.format_number(x0)),
        html._text(pad_l + plot_w, height - 2, html.format_number(x1), anchor="end"),
    ]
    legend_x = pad_l
    for label, x, y, opacity, color in series:
        path = html.path_data(sx(np.asarray(x, dtype=np.float64)), sy(np.asarray(y, dtype=np.float64)))
        parts.append(f'<path d="{path}" stroke="{color}" stroke-opacity="{opacity}" stroke-width="1.4" fill="none"/>')
        if opacity == 1.0 and len(x) <= 40:
            dots = "".join(
                f'<circle cx="{html._f(a)}" cy="{html._f(b)}" r="1.8"/>'
                for a, b in zip(sx(np.asarray(x, dtype=np.float64)), sy(np.asarray(y, dtype=np.float64)))
                if math.isfinite(a) and math.isfinite(b)
            )
            parts.append(f'<g fill="{color}">{dots}</g>')
        parts.append(html._text(legend_x, 11, label, fill=color))
        legend_x += 7 * len(label) + 10
    return html.svg(width, height, "".join(parts), f"{title} over training steps")
