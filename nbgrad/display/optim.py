"""The HTML view of an optimizer: its parameter groups and hyper-parameters, state size and step count."""

from __future__ import annotations

from nbgrad.display import html
from nbgrad.display import table as tb

# Parameter names listed per group before "…".
MAX_NAMES = 3


def _state_summary(optimizer):
    """``{state key: (tensor count, bytes)}`` over every parameter's state, and the largest ``step``."""
    per_key: dict = {}
    step = None
    for state in optimizer.state.values():
        if not isinstance(state, dict):
            continue
        for key, value in state.items():
            data = getattr(value, "_data", value)
            count, nbytes = per_key.get(key, (0, 0))
            per_key[key] = (count + 1, nbytes + int(getattr(data, "nbytes", 0)))
            if key == "step":
                try:
                    step = max(step or 0, int(float(data)))
                except (TypeError, ValueError):
                    pass
    return dict(sorted(per_key.items())), step


def _value(v) -> str:
    if isinstance(v, (tuple, list)):
        return "(" + ", ".join(_value(x) for x in v) + ")"
    if isinstance(v, float) or isinstance(v, int):
        return tb.fmt(v)
    return html.escape(repr(v))


def optimizer_html(optimizer) -> str:
    """A header line, one row per parameter group, and the state held per parameter."""
    groups = optimizer.param_groups
    options = []
    for g in groups:
        for key in g:
            if key not in ("params", "param_names") and key not in options:
                options.append(key)
    # lr first: the option people look for; then the optimizer's own order.
    options.sort(key=lambda k: (k != "lr",))
    named = any("param_names" in g for g in groups)
    header = ["group", "params", "elements", *[html.escape(k) for k in options]]
    if named:
        header.append("names")
    body = []
    n_params = n_elements = 0
    for i, g in enumerate(groups):
        params = g["params"]
        elements = sum(int(p._data.size) for p in params)
        n_params += len(params)
        n_elements += elements
        cells = [
            tb.Cell(str(i), numeric=True),
            tb.Cell(str(len(params)), numeric=True),
            tb.Cell(tb.grouped(elements), numeric=True),
            *[tb.Cell(_value(g[k]) if k in g else "", numeric=isinstance(g.get(k), (int, float))) for k in options],
        ]
        if named:
            names = g.get("param_names", [])
            shown = ", ".join(names[:MAX_NAMES]) + (f", … ({len(names)})" if len(names) > MAX_NAMES else "")
            cells.append(tb.Cell(html.escape(shown), title=html.escape(", ".join(names))))
        body.append(cells)
    per_key, step = _state_summary(optimizer)
    state_bytes = sum(b for _, b in per_key.values())
    title = " · ".join(
        [
            f"<b>{html.escape(type(optimizer).__name__)}</b>",
            f"{len(groups)} group{'s' if len(groups) != 1 else ''}",
            f"{n_params} params ({tb.grouped(n_elements)} elements)",
            f"state {tb.nbytes(state_bytes)}",
            _steps(optimizer, step),
        ]
    )
    parts = [tb.table(header, body)]
    if per_key:
        rows = [
            [tb.Cell(html.escape(k)), tb.Cell(str(n), numeric=True), tb.Cell(tb.nbytes(b), numeric=True)]
            for k, (n, b) in per_key.items()
        ]
        parts.append(
            f'<details style="margin-top: 2px"><summary style="cursor: pointer; {tb.MUTED}">state per key</summary>'
            + tb.table(["state", "tensors", "bytes"], rows)
            + "</details>"
        )
    return tb.frame(title, "".join(parts))


def _steps(optimizer, step) -> str:
    if step is not None:
        return f"step {step}"
    if not getattr(optimizer, "_opt_called", False):
        return "not stepped yet"
    return "no step count in its state"


def optimizer_mimebundle(optimizer) -> dict:
    """``text/plain`` (torch's repr) and, unless the rich views are off, ``text/html``."""
    return tb.bundle(repr(optimizer), lambda: optimizer_html(optimizer))
