"""``repr(tensor)`` in torch's style: values, then dtype/device/grad information.

Large tensors are summarised with ``...`` (only the edge items cross from
the GPU to the host). Output holds no addresses, so notebooks stay stable.
"""

from __future__ import annotations

import math

import numpy as np

from nbgrad import backend


class PrintOptions:
    """The settings :func:`set_printoptions` changes (a plain class: dataclasses would slow ``import nbgrad``)."""

    def __init__(self):
        self.precision = 4
        self.threshold = 1000
        self.edgeitems = 3
        self.linewidth = 80
        self.sci_mode = None


OPTIONS = PrintOptions()


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None, profile=None, sci_mode=None):
    """Set how tensors print, like ``torch.set_printoptions``.

    Args:
        precision: digits after the decimal point (default 4).
        threshold: element count above which the repr is summarised (default 1000).
        edgeitems: items kept at each end of a summarised dimension (default 3).
        linewidth: characters per line before wrapping (default 80).
        profile: ``"default"``, ``"short"`` or ``"full"``.
        sci_mode: force (``True``) or forbid (``False``) scientific notation; ``None`` decides.
    """
    if profile is not None:
        presets = {"default": (4, 1000, 3, 80), "short": (2, 1000, 2, 80), "full": (4, math.inf, 3, 80)}
        if profile not in presets:
            raise ValueError(f"set_printoptions: unknown profile {profile!r}; use one of {sorted(presets)}")
        OPTIONS.precision, OPTIONS.threshold, OPTIONS.edgeitems, OPTIONS.linewidth = presets[profile]
    for name, value in (
        ("precision", precision),
        ("threshold", threshold),
        ("edgeitems", edgeitems),
        ("linewidth", linewidth),
    ):
        if value is not None:
            setattr(OPTIONS, name, value)
    OPTIONS.sci_mode = sci_mode


def get_printoptions() -> dict:
    return dict(OPTIONS.__dict__)


def _summary_view(array, edge: int):
    """The parts of ``array`` a summarised repr shows, gathered on the host."""
    index = []
    for n in array.shape:
        index.append(slice(None) if n <= 2 * edge else np.r_[0:edge, n - edge : n])
    view = array
    for axis, idx in enumerate(index):
        if not isinstance(idx, slice):
            view = view.take(backend.array_module(view).asarray(idx), axis=axis)
    return backend.to_numpy(view)


class _Formatter:
    """Chooses fixed, integer-valued or scientific notation from the values shown."""

    def __init__(self, values: np.ndarray, precision: int, sci_mode):
        self.kind = values.dtype.kind
        self.precision = precision
        self.mode = "plain"
        if self.kind == "f" and values.size:
            finite = values[np.isfinite(values)].astype(np.float64)
            nonzero = np.abs(finite[finite != 0])
            # torch's rules: integer-valued floats print as "1."; a spread of more than
            # 1000x, or values above 1e8 (or below 1e-4 when not integers), use "1.0000e+00".
            spread = nonzero.size and (nonzero.max() / nonzero.min() > 1000.0 or nonzero.max() > 1e8)
            if finite.size and np.all(finite == np.round(finite)):
                self.mode = "sci" if spread else "int"
            else:
                small = nonzero.size and nonzero.min() < 1e-4
                self.mode = "sci" if spread or small else "fixed"
            if sci_mode is not None and self.mode != "int":
                self.mode = "sci" if sci_mode else "fixed"
        flat = values.ravel()
        self.width = max((len(self._fmt(v)) for v in flat), default=1)

    def _fmt(self, v) -> str:
        if self.kind == "b":
            return "True" if v else "False"
        if self.kind != "f":
            return str(v)
        if not math.isfinite(v):
            return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
        if self.mode == "int":
            return f"{v:.0f}."
        if self.mode == "sci":
            return f"{v:.{self.precision}e}"
        return f"{v:.{self.precision}f}"

    def __call__(self, v) -> str:
        return self._fmt(v).rjust(self.width)


def _format_rows(values: np.ndarray, shape, fmt: _Formatter, indent: int, summarise: bool, edge: int) -> str:
    """Nested-bracket text of ``values``; ``shape`` is the full (unsummarised) shape."""
    if values.ndim == 0:
        return fmt(values.item())
    n = shape[0]
    cut = summarise and n > 2 * edge
    if values.ndim == 1:
        items = [fmt(v) for v in values.tolist()]
        if cut:
            items = items[:edge] + [" ..."] + items[edge:]
        per_line = max(1, (OPTIONS.linewidth - indent) // (fmt.width + 2))
        lines = [", ".join(items[i : i + per_line]) for i in range(0, len(items), per_line)]
        return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"
    rows = [_format_rows(values[i], shape[1:], fmt, indent + 1, summarise, edge) for i in range(values.shape[0])]
    if cut:
        rows = rows[:edge] + ["..."] + rows[edge:]
    sep = "," + "\n" * (values.ndim - 1) + " " * (indent + 1)
    return "[" + sep.join(rows) + "]"


def format_values(array, indent: int) -> str:
    """The bracketed values part of a tensor repr."""
    summarise = array.size > OPTIONS.threshold
    edge = OPTIONS.edgeitems
    values = _summary_view(array, edge) if summarise else backend.to_numpy(array)
    fmt = _Formatter(values, OPTIONS.precision, OPTIONS.sci_mode)
    return _format_rows(values, array.shape, fmt, indent, summarise, edge)


def tensor_repr(t) -> str:
    """``tensor([...], dtype=..., device=..., grad_fn=<...>)`` like torch."""
    prefix = "tensor("
    array = t._data
    suffix = []
    if array.size == 0:
        body = "[]"
        if array.shape != (0,):
            suffix.append(f"size={tuple(array.shape)}")
    else:
        body = format_values(array, len(prefix))
    dev = t.device
    if dev.type != "cpu":
        suffix.append(f"device='{dev}'")
    if array.dtype not in (backend.get_default_dtype(), backend.int64, backend.bool_):
        suffix.append(f"dtype={backend.dtype_name(array.dtype)}")
    if t.grad_fn is not None:
        suffix.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t.requires_grad:
        suffix.append("requires_grad=True")
    return prefix + body + "".join(", " + s for s in suffix) + ")"
