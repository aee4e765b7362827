"""The HTML view of an ``nn.Module``: a collapsible tree of submodules with their parameters.

Per module: its type and ``extra_repr``, the shapes of its own parameters
and buffers (known without running the model), parameter counts (trainable
and frozen) and memory of its whole subtree, device and dtype. Once a
backward pass has run, each parameter's gradient norm and the flags of
:func:`nbgrad.inspect.grad_report` (no grad, zero, NaN, vanishing...).
Pure: module -> str, deterministic, no JavaScript (``<details>`` folds).
"""

from __future__ import annotations

from nbgrad.display import html
from nbgrad.display import table as tb

# Submodules drawn before the rest is summarised in one line (a 1000-layer model stays a page).
MAX_NODES = 400
# Characters of extra_repr shown in a summary line (the whole text is in the tooltip).
MAX_EXTRA = 90
_INDENT = "margin-left: 16px;"
# A leaf line is indented by the width of the disclosure triangle, so that names line up.
_LEAF = "margin-left: 16px; padding-left: 1.1em;"


class _Subtree:
    """Counts of a module's subtree: unique parameters and buffers, bytes, devices, parameter dtypes."""

    __slots__ = ("trainable", "frozen", "nbytes", "devices", "dtypes")

    def __init__(self, module):
        seen = set()
        self.trainable = self.frozen = self.nbytes = 0
        devices, dtypes = set(), set()
        for sub in module.modules():
            for store in (sub._parameters, sub._buffers):
                for t in store.values():
                    if t is None or id(t) in seen:
                        continue
                    seen.add(id(t))
                    n = int(t._data.size)
                    self.nbytes += int(t._data.nbytes)
                    devices.add(str(t.device))
                    if store is sub._parameters:
                        # Parameter dtypes only: integer buffers (batch counters) would make every model "mixed".
                        dtypes.add(str(t.dtype))
                        if t.requires_grad:
                            self.trainable += n
                        else:
                            self.frozen += n
        self.devices = sorted(devices)
        self.dtypes = sorted(dtypes)

    def counts(self) -> str:
        total = self.trainable + self.frozen
        text = f"{tb.grouped(total)} params"
        if self.frozen:
            text += f" ({tb.grouped(self.trainable)} trainable, {tb.grouped(self.frozen)} frozen)"
        return text


def module_html(module) -> str:
    """The collapsible HTML tree of ``module`` (see the module docstring)."""
    rows = None
    if any(p.grad is not None for p in module.parameters()):
        from nbgrad.inspect.grad_report import grad_report

        rows = {r.name: r for r in grad_report(module, snapshot=False).rows}
    names = {id(p): n for n, p in module.named_parameters()}
    root = _Subtree(module)
    state = {"left": MAX_NODES, "seen": {}}
    header = _header(module, root, rows)
    body = _body(module, "", 0, root, rows, names, state)
    return f'<div style="{tb.FONT} color: inherit">{_details(header, body, True)}</div>'


def _header(module, sub: _Subtree, rows) -> str:
    parts = [f"<b>{html.escape(module._get_name())}</b>", sub.counts(), tb.nbytes(sub.nbytes)]
    if sub.devices:
        parts.append(", ".join(sub.devices))
    if sub.dtypes:
        parts.append(", ".join(sub.dtypes))
    if rows is not None:
        with_grad = [r for r in rows.values() if r.grad_norm is not None]
        flagged = sum(1 for r in rows.values() if r.flags)
        text = f"grads: {len(with_grad)}/{len(rows)} params"
        if flagged:
            text += f', <span style="{tb.BAD}">{flagged} flagged</span>'
        parts.append(text)
    return " · ".join(parts)


def _details(summary: str, body: str, open_: bool) -> str:
    flag = ' open=""' if open_ else ""  # an attribute with a value: the fragment stays well-formed XML
    return f'<details{flag}><summary style="cursor: pointer">{summary}</summary>{body}</details>'


def _body(module, path: str, depth: int, root: _Subtree, rows, names, state) -> str:
    """The own-parameter table of ``module``, then one line or fold per child."""
    parts = []
    own = _own_table(module, path, root, rows, names)
    if own:
        parts.append(f'<div style="{_INDENT}">{own}</div>')
    children = list(module._modules.items())
    for i, (name, child) in enumerate(children):
        if state["left"] <= 0:
            parts.append(f'<div style="{_LEAF}{tb.MUTED}">… {len(children) - i} more submodules not shown</div>')
            break
        child_path = f"{path}.{name}" if path else name
        parts.append(_child(name, child, child_path, depth + 1, root, rows, names, state))
    return "".join(parts)


def _child(name, child, path, depth, root, rows, names, state) -> str:
    label = f"<b>{html.escape(name)}</b>: "
    if child is None:
        return f'<div style="{_LEAF}">{label}<span style="{tb.MUTED}">None</span></div>'
    state["left"] -= 1
    seen = state["seen"]
    if id(child) in seen:
        note = f'<span style="{tb.MUTED}">(shared: the module at {html.escape(seen[id(child)] or "model")})</span>'
        return f'<div style="{_LEAF}">{label}{html.escape(child._get_name())} {note}</div>'
    seen[id(child)] = path
    sub = _Subtree(child)
    summary = label + _type_and_extra(child) + _stats_note(child, sub, root, rows, path)
    if not child._modules and not child._parameters and not child._buffers:
        return f'<div style="{_LEAF}">{summary}</div>'
    body = _body(child, path, depth, root, rows, names, state)
    # Open the top levels: the model and its containers; leaves show their shapes in the summary line.
    open_ = depth == 1 and bool(child._modules)
    return f'<div style="{_INDENT}">{_details(summary, body, open_)}</div>'


def _type_and_extra(module) -> str:
    name = html.escape(module._get_name())
    extra = module.extra_repr().replace("\n", ", ")
    if not extra:
        return name if module._modules else name + "()"
    if len(extra) > MAX_EXTRA:
        shown = html.escape(extra[: MAX_EXTRA - 1]) + "…"
        return f'{name}(<span title="{html.escape(extra)}">{shown}</span>)'
    return f"{name}({html.escape(extra)})"


def _stats_note(module, sub: _Subtree, root: _Subtree, rows, path: str) -> str:
    """The muted part of a summary line: own shapes (leaves), counts, bytes, device/dtype if unusual."""
    parts = []
    if not module._modules:
        shapes = [f"{html.escape(n)} {tuple(t.shape)}" for n, t in module._parameters.items() if t is not None]
        if shapes:
            parts.append(", ".join(shapes))
    if sub.trainable or sub.frozen:
        parts.append(sub.counts())
    if sub.nbytes:
        parts.append(tb.nbytes(sub.nbytes))
    if sub.devices and sub.devices != root.devices:
        parts.append(", ".join(sub.devices))
    if sub.dtypes and sub.dtypes != root.dtypes:
        parts.append(", ".join(sub.dtypes))
    note = f' <span style="{tb.MUTED}">· ' + " · ".join(parts) + "</span>" if parts else ""
    if rows is not None:
        flags = sorted({f for n, r in rows.items() if _under(n, path) for f in r.flags})
        if flags:
            note += f' <span style="{tb.BAD}">{html.escape(", ".join(flags))}</span>'
    return note


def _under(name: str, path: str) -> bool:
    return name.startswith(path + ".")


def _own_table(module, path: str, root: _Subtree, rows, names) -> str:
    entries = [(n, t, True) for n, t in module._parameters.items() if t is not None]
    entries += [(n, t, False) for n, t in module._buffers.items() if t is not None]
    if not entries:
        return ""
    header = ["name", "shape", "dtype", "elements", "kind", "bytes"]
    mixed_devices = len(root.devices) > 1
    if mixed_devices:
        header.append("device")
    if rows is not None:
        header += ["grad norm", "grad/weight", "flags"]
    body = []
    for name, t, is_param in entries:
        if is_param:
            kind = "trainable" if t.requires_grad else "frozen"
        else:
            kind = "buffer" if name not in module._non_persistent_buffers else "buffer (not saved)"
        cells = [
            tb.Cell(html.escape(name)),
            tb.Cell(html.escape(str(tuple(t.shape)))),
            tb.Cell(html.escape(str(t.dtype))),
            tb.Cell(tb.grouped(int(t._data.size)), numeric=True),
            tb.Cell(kind, style="" if kind == "trainable" else tb.MUTED),
            tb.Cell(tb.nbytes(int(t._data.nbytes)), numeric=True),
        ]
        if mixed_devices:
            cells.append(tb.Cell(html.escape(str(t.device))))
        if rows is not None:
            row = rows.get(names.get(id(t))) if is_param else None
            if row is None:
                cells += [tb.Cell(""), tb.Cell(""), tb.Cell("")]
            else:
                cells += [
                    tb.num(row.grad_norm),
                    tb.num(row.ratio),
                    tb.Cell(html.escape(", ".join(row.flags)), style=tb.BAD if row.flags else ""),
                ]
        body.append(cells)
    return tb.table(header, body)


def module_mimebundle(module) -> dict:
    """``text/plain`` (torch's repr) and, unless the rich views are off, ``text/html``."""
    return tb.bundle(repr(module), lambda: module_html(module))
