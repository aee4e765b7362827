"""Tables of the debugging tools: the capture table, the gradient report and the anomaly report.

Pure renderers (object -> str). They read the objects of
:mod:`nbgrad.inspect` and :class:`nbgrad.autograd.AnomalyError` and return
deterministic text or HTML (inline CSS, inline SVG, no JavaScript).
"""

from __future__ import annotations

import math

from nbgrad.display import html
from nbgrad.display import table as tb
from nbgrad.display.stats import histogram, sample, tensor_stats

# Rows of the capture table beyond this are summarised in one line (``acts.records`` has them all).
MAX_CAPTURE_ROWS = 300
# Elements sampled for a row's mini histogram: enough for 24 bins.
_HIST_SAMPLE = 20_000
_HIST_BINS = 24
# Activations whose outputs are exactly zero for inactive units: their zero fraction is highlighted.
RELU_LIKE = ("ReLU", "ReLU6", "Threshold", "Hardtanh")


# ----------------------------------------------------------------- capture table
def _capture_rows(acts):
    """``(label, record, index path, tensor)`` per tensor of every call, in call order."""
    from nbgrad.inspect.capture import _leaf_positions

    for rec in acts.records:
        label = rec.path or "(model)"
        if acts.n_calls(rec.path) > 1:
            label += f"#{rec.call}"
        for index, tensor in _leaf_positions(rec.output):
            yield label + "".join(f"[{i!r}]" if isinstance(i, str) else f"[{i}]" for i in index), rec, index, tensor


def _grad_at(grad, index):
    for i in index:
        if grad is None:
            return None
        grad = grad[i]
    return grad


def capture_text(acts) -> str:
    """A plain-text table of a :class:`~nbgrad.inspect.Capture`: one line per captured tensor."""
    rows = list(_capture_rows(acts))
    head = f"Capture of {type(acts.model).__name__}: {len(acts)} modules, {len(acts.records)} calls"
    lines = [head]
    for label, rec, _, t in rows[:MAX_CAPTURE_ROWS]:
        s = tensor_stats(t)
        parts = [label, rec.module_type, str(s.shape), str(s.dtype)]
        if s.mean is not None:
            parts.append(f"mean={tb.fmt(s.mean)}")
        if s.std is not None:
            parts.append(f"std={tb.fmt(s.std)}")
        if s.numel:
            parts.append(f"zeros={tb.percent(s.zeros / s.numel)}")
        if s.nan:
            parts.append(f"nan={s.nan}")
        if s.posinf + s.neginf:
            parts.append(f"inf={s.posinf + s.neginf}")
        lines.append("  " + " ".join(parts))
    if len(rows) > MAX_CAPTURE_ROWS:
        lines.append(f"  ... {len(rows) - MAX_CAPTURE_ROWS} more rows")
    return "\n".join(lines)


def capture_html(acts) -> str:
    """The capture table: per captured tensor, stats, zero fraction, NaN/Inf counts and a mini histogram."""
    rows = list(_capture_rows(acts))
    with_grads = acts.keep_grads and any(rec.grad is not None for rec in acts.records)
    # No min/max columns: the histogram's axis labels show them.
    header = ["module", "type", "shape", "dtype", "mean", "std", "zeros", "NaN", "Inf", "histogram"]
    if with_grads:
        header.insert(-1, "grad norm")
    body = []
    for label, rec, index, t in rows[:MAX_CAPTURE_ROWS]:
        s = tensor_stats(t)
        zeros = s.zeros / s.numel if s.numel else 0.0
        relu = rec.module_type in RELU_LIKE
        zero_style = ("font-weight:600;" if relu else "") + (tb.BAD_BG if relu and zeros >= 0.9 else "")
        cells = [
            tb.Cell(html.escape(label), title=html.escape(f"{rec.path or '(model)'} call {rec.call}")),
            tb.Cell(html.escape(rec.module_type)),
            tb.Cell(html.escape(str(s.shape))),
            tb.Cell(html.escape(str(s.dtype))),
            tb.num(s.mean),
            tb.num(s.std),
            tb.Cell(tb.percent(zeros), numeric=True, style=zero_style),
            tb.count(s.nan),
            tb.count(s.posinf + s.neginf),
        ]
        if with_grads:
            g = _grad_at(rec.grad, index)
            cells.append(tb.num(None if g is None else tensor_stats(g).norm))
        cells.append(tb.Cell(_mini_histogram(t, s)))
        body.append(cells)
    note = ""
    if len(rows) > MAX_CAPTURE_ROWS:
        note = f"{len(rows) - MAX_CAPTURE_ROWS} more rows not shown (acts.records has every call)"
    title = (
        f"<b>capture</b> of {html.escape(type(acts.model).__name__)}: {len(acts)} modules, "
        f"{len(acts.records)} calls" + (", gradients after backward" if with_grads else "")
    )
    legend = "zeros in bold: ReLU-like layers (shaded when at least 90% are zero)"
    return tb.frame(title, tb.table(header, body), notes=[n for n in (note, legend) if n])


def _mini_histogram(t, s) -> str:
    """A small histogram of a strided sample, with the NaN/Inf shares of the whole tensor beside it."""
    if s.numel == 0 or s.dtype.kind == "b":
        return ""
    n = s.numel
    if s.min is None:  # nothing finite: only the NaN/Inf bars
        counts, edges = [0], [0.0, 1.0]
    else:
        counts, edges = histogram(sample(t, _HIST_SAMPLE), bins=_HIST_BINS, range=(s.min, s.max))
    total = max(1, sum(int(c) for c in counts))
    finite_share = s.finite / n
    fractions = [finite_share * int(c) / total for c in counts]
    return html.histogram_svg(
        fractions, edges, nan=s.nan / n, posinf=s.posinf / n, neginf=s.neginf / n, width=96, height=30
    )


# ----------------------------------------------------------------- gradient report
def grad_report_text(report) -> str:
    """A plain-text table of a :class:`~nbgrad.inspect.GradReport`."""
    lines = [f"grad report: {len(report.rows)} parameters, {len(report.flagged)} flagged"]
    for r in report.rows:
        parts = [r.name, str(r.shape), f"grad={tb.fmt(r.grad_norm)}", f"weight={tb.fmt(r.weight_norm)}"]
        parts.append(f"ratio={tb.fmt(r.ratio)}")
        if r.update_ratio is not None:
            parts.append(f"update/weight={tb.fmt(r.update_ratio)}")
        if r.dead_units:
            parts.append(f"dead={r.dead_units}/{r.units}")
        if r.flags:
            parts.append("[" + ", ".join(r.flags) + "]")
        lines.append("  " + " ".join(parts))
    for d in report.dead_activations:
        lines.append(f"  {d.path} ({d.module_type}): {d.dead}/{d.total} activations zero for every sample")
    return "\n".join(lines)


def grad_report_html(report) -> str:
    """The gradient report: norms, ratios (with a log-scale bar), update sizes, flags."""
    with_update = any(r.update_norm is not None for r in report.rows)
    header = ["parameter", "shape", "grad norm", "weight norm", "grad/weight", ""]
    if with_update:
        header += ["update/weight"]
    header += ["NaN", "Inf", "dead units", "flags"]
    body = []
    for r in report.rows:
        row_style = tb.BAD_BG if any(f in r.flags for f in ("nan", "inf", "exploding")) else ""
        cells = [
            tb.Cell(html.escape(r.name), style="" if r.requires_grad else tb.MUTED),
            tb.Cell(html.escape(str(r.shape))),
            tb.num(r.grad_norm),
            tb.num(r.weight_norm),
            tb.num(r.ratio),
            tb.Cell(_log_bar(r.ratio)),
        ]
        if with_update:
            cells.append(tb.num(r.update_ratio))
        cells += [
            tb.count(r.nan),
            tb.count(r.inf),
            tb.Cell("" if r.units is None else f"{r.dead_units}/{r.units}", numeric=True, style=_bad_if(r.dead_units)),
            tb.Cell(html.escape(", ".join(r.flags)), style=tb.BAD if r.flags else ""),
        ]
        body.append((cells, row_style))
    flagged = len(report.flagged)
    title = f"<b>grad report</b>: {len(report.rows)} parameters, " + (
        f'<span style="{tb.BAD}">{flagged} flagged</span>' if flagged else "none flagged"
    )
    notes = [
        f"vanishing: grad norm &lt; {report.vanish:g}·max(weight norm, 1); "
        f"exploding: grad norm &gt; {report.explode:g}·max(weight norm, 1); "
        "dead units: Linear/Conv output rows whose gradient is all zero; bar: log10(grad/weight) from -8 to 2"
    ]
    if not with_update:
        notes.append("update/weight: call report.after_step() after optimizer.step()")
    parts = [tb.table(header, body)]
    if report.dead_activations:
        dead_rows = [
            [
                tb.Cell(html.escape(d.path)),
                tb.Cell(html.escape(d.module_type)),
                tb.Cell(f"{d.dead}/{d.total}", numeric=True, style=_bad_if(d.dead)),
                tb.Cell(tb.percent(d.dead / d.total if d.total else 0.0), numeric=True),
            ]
            for d in report.dead_activations
        ]
        parts.append(
            '<div style="margin-top:6px">activations zero for every sample of the captured batch:</div>'
            + tb.table(["module", "type", "dead", "fraction"], dead_rows)
        )
    return tb.frame(title, "".join(parts), notes=notes)


def _bad_if(n) -> str:
    return tb.BAD if n else ""


def _log_bar(ratio, lo: float = -8.0, hi: float = 2.0, width: int = 60) -> str:
    """A bar whose length is log10(ratio) on [lo, hi]: orders of magnitude at a glance."""
    if ratio is None or not math.isfinite(ratio) or ratio <= 0:
        return ""
    x = min(max((math.log10(ratio) - lo) / (hi - lo), 0.0), 1.0)
    colour = "#2ca02c" if -5 <= math.log10(ratio) <= 0 else "#d62728"
    return (
        f'<span style="display:inline-block;width:{width}px;height:8px;background:rgba(128,128,128,.15)">'
        f'<span style="display:block;width:{round(x * width)}px;height:8px;background:{colour}"></span></span>'
    )


# ----------------------------------------------------------------- anomaly report
# What usually makes each op return NaN/Inf: one line the report shows as a hint.
_HINTS = {
    "Log": "log(x) is -inf at x = 0 and NaN for x < 0: clamp the input (x.clamp(min=1e-12)) or use log1p/log_softmax",
    "Sqrt": "sqrt(x) is NaN for x < 0 and its gradient is inf at x = 0: add a small epsilon",
    "Div": "division by zero (or 0/0): check the denominator",
    "Pow": "x ** p with negative x and fractional p is NaN; large p overflows",
    "Exp": "exp overflows above about 88 in float32: subtract the max first (or use logsumexp/softmax)",
    "Rsqrt": "rsqrt(0) is inf: add an epsilon (as normalisation layers do)",
    "Reciprocal": "1/x is inf at x = 0",
    "Acos": "acos/asin are NaN outside [-1, 1] and their gradient is inf at +/-1",
    "Asin": "acos/asin are NaN outside [-1, 1] and their gradient is inf at +/-1",
}


def anomaly_html(err) -> str:
    """The report of an :class:`~nbgrad.autograd.AnomalyError`: op, module, user's line, tensor stats."""
    op = err.op or "?"
    base = op.replace("Backward0", "").replace("Backward", "")
    what = f"forward of <b>{html.escape(base)}</b>"
    if err.phase != "forward":
        what = f"backward of <b>{html.escape(op)}</b>"
    title = f'<span style="{tb.BAD}">NaN/Inf detected</span> in the {what}'
    facts = []
    if err.module_path:
        facts.append(("module", f"<code>{html.escape(err.module_path)}</code>"))
    frame = err.user_frame
    if frame is not None:
        where = f"{html.escape(frame.filename)}, line {frame.lineno}, in {html.escape(frame.name)}"
        code = f'<pre style="{tb.CODE}">{html.escape(frame.line or "")}</pre>' if frame.line else ""
        facts.append(("created at", where + code))
    hint = _HINTS.get(base)
    if hint:
        facts.append(("hint", html.escape(hint)))
    key_style, value_style = f"{tb.TD}{tb.MUTED} vertical-align: top;", f"{tb.TD} white-space: normal;"
    facts_html = "".join(
        f'<tr><td style="{key_style}">{k}</td><td style="{value_style}">{v}</td></tr>' for k, v in facts
    )
    header = ["tensor", "shape", "dtype", "device", "min", "max", "mean", "std", "zeros", "NaN", "+Inf", "-Inf"]
    body = []
    for role, index, s in err.tensors:
        bad = s.nan + s.posinf + s.neginf
        cells = [
            tb.Cell(html.escape(f"{role} {index}")),
            tb.Cell(html.escape(str(s.shape))),
            tb.Cell(html.escape(str(s.dtype))),
            tb.Cell(html.escape(str(s.device))),
            tb.num(s.min),
            tb.num(s.max),
            tb.num(s.mean),
            tb.num(s.std),
            tb.Cell(str(s.zeros), numeric=True),
            tb.count(s.nan),
            tb.count(s.posinf),
            tb.count(s.neginf),
        ]
        body.append((cells, tb.BAD_BG if bad else ""))
    parts = [f'<table style="{tb.TABLE}">{facts_html}</table>']
    if body:
        parts.append(tb.table(header, body))
    parts.append(
        f'<details><summary style="{tb.MUTED}cursor:pointer">message and stack</summary>'
        f'<pre style="{tb.CODE}">{html.escape(str(err))}</pre></details>'
    )
    return tb.frame(title, "".join(parts), border="#d62728")
