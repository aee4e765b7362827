"""The rich (HTML) view of a Tensor: summary line, histogram and a picture by rank.

``Tensor._repr_mimebundle_`` calls :func:`tensor_mimebundle`. The view is
built from :func:`~nbgrad.display.stats.tensor_stats` (reductions on the
tensor's device, scalars to the host) plus a bounded sample for the histogram
and a downsampled view for the picture, so a GPU tensor never crosses to the
host whole and a 10^7-element tensor renders in tens of milliseconds.

Pictures by rank: 0-d the value; 1-D a line (min-max buckets when long);
2-D a heatmap on a diverging map centred on zero; ``(C, H, W)`` with C in
{1, 3} an image, ``(N, C, H, W)`` with C in {1, 3} a row of images; other
ranks the first 2-D slices, each labelled with its index. NaN, +Inf and
-Inf have their own colours everywhere. When ``t.grad`` is set it is shown
beside ``t`` with the same layout.
"""

from __future__ import annotations

import numpy as np

from nbgrad import backend
from nbgrad.display import html as H
from nbgrad.display.options import options
from nbgrad.display.stats import TensorStats, block_reduce, histogram, sample, tensor_stats

_LINE_WIDTH = 300
_LINE_BUCKETS = 254  # one bucket per pixel of the plot area of line_svg


def tensor_mimebundle(t, include=None, exclude=None) -> dict:
    """``{"text/plain": repr(t), "text/html": ...}``, the HTML only while ``nb.display.options.enabled``."""
    text = repr(t)
    bundle = {"text/plain": text}
    if options.enabled:
        bundle["text/html"] = tensor_html(t, text)
    if include is not None:
        bundle = {k: v for k, v in bundle.items() if k in include}
    if exclude is not None:
        bundle = {k: v for k, v in bundle.items() if k not in exclude}
    return bundle


def tensor_html(t, text: "str | None" = None) -> str:
    """The HTML view of a Tensor (see the module docstring); ``text`` is its repr, if already made."""
    text = repr(t) if text is None else text
    a = t._data
    if a.size > options.max_elements:
        note = (
            f'{_title(a)} &nbsp;<span style="{H.MUTED}">rich view skipped: {a.size} elements &gt; '
            f"nb.display.options.max_elements ({options.max_elements})</span>"
        )
        return f'<div style="{H.ROOT_STYLE}">{note}{H.pre(text)}</div>'
    stats = tensor_stats(a)
    grad = t.grad
    grad_stats = None if grad is None else tensor_stats(grad._data)
    summary = _summary(stats) + _autograd_summary(t, grad_stats)
    if grad is None:
        body = _panel(a, stats, summary)
    else:
        cell = "flex: 1 1 0; min-width: 320px"
        body = (
            f'<div style="display: flex; flex-wrap: wrap; gap: 12px 28px">'
            f'<div style="{cell}">{_heading("tensor")}{_panel(a, stats, summary)}</div>'
            f'<div style="{cell}">{_heading(".grad")}{_panel(grad._data, grad_stats, _summary(grad_stats))}</div>'
            "</div>"
        )
    lines = text.count("\n") + 1
    values = H.details("values", H.pre(text), open=lines <= 8)
    return f'<div class="nbgrad-tensor" style="{H.ROOT_STYLE}">{body}{values}</div>'


# ----------------------------------------------------------------------------
# summary line


def _title(a) -> str:
    shape = ", ".join(str(n) for n in a.shape)
    return f"<b>Tensor[{shape}]</b> {H.escape(a.dtype.name)} {H.escape(backend.device_of(a))}"


def _heading(label: str) -> str:
    return f'<div style="font-weight: bold; border-bottom: {H.BORDER}; margin-bottom: 3px">{H.escape(label)}</div>'


def _kv(key: str, value) -> str:
    text = H.escape(H.format_number(value))
    return f'<span style="white-space: nowrap"><span style="{H.MUTED}">{key}</span> {text}</span>'


def _summary(s: TensorStats) -> str:
    """``Tensor[3, 4] float32 cpu n=12 min .. max .. mean .. std .. zeros .. NaN .. +Inf .. -Inf ..``."""
    shape = ", ".join(str(n) for n in s.shape)
    parts = [f"<b>Tensor[{shape}]</b>", H.escape(s.dtype.name), H.escape(s.device), _kv("n", s.numel)]
    if s.numel > 1:  # a single value is shown as itself
        parts += [_kv("min", s.min), _kv("max", s.max), _kv("mean", s.mean), _kv("std", s.std)]
        share = H.format_number(100 * s.zeros / s.numel)
        parts.append(
            f'<span style="white-space: nowrap"><span style="{H.MUTED}">zeros</span> {s.zeros} '
            f'<span style="{H.MUTED}">({share}%)</span></span>'
        )
    for label, count, color in (
        ("NaN", s.nan, H.NAN_COLOR),
        ("+Inf", s.posinf, H.POSINF_COLOR),
        ("-Inf", s.neginf, H.NEGINF_COLOR),
    ):
        if count:
            parts.append(H.badge(f"<b>{label} {count}</b>", color))
        elif s.dtype.kind == "f":
            parts.append(f'<span style="{H.MUTED}; white-space: nowrap">{label} 0</span>')
    return " ".join(parts)


def _autograd_summary(t, grad_stats: "TensorStats | None") -> str:
    """leaf / non-leaf, grad_fn, requires_grad and whether ``.grad`` is set (with its norm)."""
    parts = [H.badge("leaf" if t.grad_fn is None else "non-leaf")]
    if t.grad_fn is not None:
        parts.append(H.badge(f"grad_fn={H.escape(t.grad_fn.name())}"))
    parts.append(H.badge(f"requires_grad={t.requires_grad}"))
    if grad_stats is not None:
        parts.append(H.badge(f"grad ‖·‖₂={H.escape(H.format_number(_norm(grad_stats)))}"))
    elif t.requires_grad:
        parts.append(H.badge("grad=None"))
    return " &nbsp;" + "".join(parts)


def _norm(s: TensorStats) -> float:
    """The L2 norm as torch reports it: NaN if any NaN, inf if any Inf."""
    if s.nan:
        return float("nan")
    if s.posinf or s.neginf:
        return float("inf")
    return 0.0 if s.norm is None else s.norm


# ----------------------------------------------------------------------------
# one panel: summary, histogram, picture


def _panel(a, s: TensorStats, summary: str) -> str:
    if a.dtype == np.float16 and backend.array_module(a) is np:
        a = a.astype(np.float32)  # NumPy emulates float16 arithmetic: ~10x slower reductions
    pieces = []
    if options.show_histogram and s.numel > 1:
        pieces.append(_histogram(a, s))
    pieces.append(_picture(a, s))
    row = "".join(f"<div>{p}</div>" for p in pieces if p)
    return f'<div>{summary}</div><div style="{H.ROW_STYLE}">{row}</div>'


def _histogram(a, s: TensorStats) -> str:
    values = sample(a, options.sample_size)
    if s.finite:
        # Fewer bins for few values, so that bars stay readable.
        bins = min(options.histogram_bins, max(10, int(2 * s.numel**0.5)))
        counts, edges = histogram(values, bins, (s.min, s.max))
    else:
        counts, edges = np.zeros(1), np.array([0.0, 1.0])
    in_sample = counts.sum()
    # Bars are shares of all elements: the sample gives the finite bins' shape,
    # the exact counts give the finite share and the NaN/Inf bars.
    fractions = counts * (s.finite / s.numel / in_sample) if in_sample else counts * 0.0
    exact = values.size == s.numel
    note = "" if exact else f"bars from a strided sample of {values.size} of {s.numel} elements"
    svg = H.histogram_svg(
        fractions,
        edges,
        nan=s.nan / s.numel,
        posinf=s.posinf / s.numel,
        neginf=s.neginf / s.numel,
        labels=(H.format_number(s.min), H.format_number(s.max)),
        note=note,
    )
    caption = "histogram" + ("" if exact else f" (sample of {values.size})")
    return svg + f'<div style="{H.CAPTION_STYLE}">{caption}</div>'


def _picture(a, s: TensorStats) -> str:
    if s.numel == 0:
        return f'<span style="{H.MUTED}">(empty)</span>'
    if a.ndim == 0:
        return f'<span style="font-size: 15px">{H.escape(H.format_number(backend.to_numpy(a).item()))}</span>'
    if a.ndim == 1:
        return _line(a)
    if a.ndim == 2:
        return _heatmap(a)
    if a.ndim == 3 and a.shape[0] in (1, 3):
        return _images(a[None], "image (C, H, W)")
    if a.ndim == 4 and a.shape[1] in (1, 3):
        return _images(a, "images (N, C, H, W)")
    return _facets(a)


def _reduction(a) -> str:
    """How a downsampled view summarises a block: means for floats, the first entry otherwise."""
    return "mean" if a.dtype.kind == "f" else "nearest"


def _shrink(a, size: int):
    """``a`` downsampled on its device to at most ``size`` along each of its last two axes."""
    how = _reduction(a)
    for axis in (a.ndim - 2, a.ndim - 1):
        a = block_reduce(a, axis, size, how)
    return a


def _finite_range(values: np.ndarray) -> tuple:
    finite = values[np.isfinite(values)]
    return (float(finite.min()), float(finite.max())) if finite.size else (None, None)


def _specials(values: np.ndarray) -> tuple:
    return int(np.isnan(values).sum()), int((values == np.inf).sum()), int((values == -np.inf).sum())


def _caption(text: str) -> str:
    return f'<div style="{H.CAPTION_STYLE}">{H.escape(text)}</div>'


def _line(a) -> str:
    n = a.shape[0]
    if a.dtype.kind == "b":
        a = a.astype(np.uint8)
    xp = backend.array_module(a)
    if n > _LINE_BUCKETS:
        lo, hi = block_reduce(a, 0, _LINE_BUCKETS, "min"), block_reduce(a, 0, _LINE_BUCKETS, "max")
        both = backend.to_numpy(xp.stack([lo.astype(xp.float64), hi.astype(xp.float64)]))
        low, high = both[0], both[1]
        factor = -(-n // _LINE_BUCKETS)
        caption = f"{n} values; min-max of {factor} per bucket"
    else:
        low = high = backend.to_numpy(a).astype(np.float64)
        caption = f"{n} values"
    return H.line_svg(low, high, n, width=_LINE_WIDTH) + _caption(caption)


def _heatmap(a) -> str:
    view = backend.to_numpy(_shrink(a, options.heatmap_size)).astype(np.float64)
    h, w = view.shape
    lo, hi = H.value_range(*_finite_range(view), options.cmap)
    width, height = H.display_size(h, w)
    title = f"heatmap {a.shape[0]}×{a.shape[1]}"
    picture = H.img(H.png(H.color_indices(view, lo, hi), H.palette(options.cmap)), width, height, title)
    caption = f"{a.shape[0]}×{a.shape[1]}"
    if (h, w) != tuple(a.shape):
        caption += f" shown as {h}×{w} ({'block means' if _reduction(a) == 'mean' else 'every k-th'})"
    return (
        picture
        + H.colorbar(options.cmap, lo, hi, width=min(max(width, 120), 256))
        + H.special_legend(*_specials(view))
        + _caption(caption)
    )


def _images(batch, label: str) -> str:
    """Images from ``(N, C, H, W)`` with C in {1, 3}: the first ``max_facets``, on one shared scale."""
    n = min(batch.shape[0], options.max_facets)
    single = batch.shape[0] == 1
    size = options.heatmap_size if single else max(16, options.heatmap_size // 4)
    view = backend.to_numpy(_shrink(batch[:n], size)).astype(np.float64)
    h, w = view.shape[-2:]
    lo, hi = _finite_range(view)
    note = ""
    if batch.dtype == np.uint8:
        lo, hi = 0.0, 255.0
    elif lo is None or (lo >= 0.0 and hi <= 1.0):
        lo, hi = 0.0, 1.0
    else:
        note = f"; scaled from [{H.format_number(lo)}, {H.format_number(hi)}] to [0, 1]"
    scaled = (view - lo) / (hi - lo) if hi > lo else np.zeros_like(view)
    width, height = H.display_size(h, w, longest=256 if single else 96, cell=16 if single else 8)
    tiles = []
    for i in range(n):
        index = "" if single else f"[{i}]"
        if view.shape[1] == 1:
            pixels, pal = H.color_indices(scaled[i, 0], 0.0, 1.0), H.palette(options.image_cmap)
        else:
            pixels, pal = _rgb_pixels(scaled[i]), None
        tile = H.img(H.png(pixels, pal), width, height, f"{label} {index}".strip())
        tiles.append(tile if single else f"<div>{_tile_label(index)}{tile}</div>")
    shape = "×".join(str(k) for k in batch.shape[-3:])
    caption = f"{'' if single else f'{n} of {batch.shape[0]} images, '}C×H×W {shape}"
    if (h, w) != tuple(batch.shape[-2:]):
        caption += f" shown as {h}×{w}"
    gallery = tiles[0] if single else f'<div style="display: flex; flex-wrap: wrap; gap: 6px">{"".join(tiles)}</div>'
    return gallery + H.special_legend(*_specials(view)) + _caption(caption + note)


def _rgb_pixels(chw: np.ndarray) -> np.ndarray:
    """``(H, W, 3)`` uint8 from ``(3, H, W)`` values in [0, 1]; a pixel with any NaN/Inf channel takes its colour."""
    hwc = np.moveaxis(chw, 0, -1)
    with np.errstate(invalid="ignore"):
        pixels = np.rint(np.clip(np.nan_to_num(hwc, nan=0.0, posinf=1.0, neginf=0.0), 0.0, 1.0) * 255).astype(np.uint8)
    for mask, color in (
        ((hwc == -np.inf).any(axis=-1), H.NEGINF_COLOR),
        ((hwc == np.inf).any(axis=-1), H.POSINF_COLOR),
        (np.isnan(hwc).any(axis=-1), H.NAN_COLOR),
    ):
        pixels[mask] = [int(color[k : k + 2], 16) for k in (1, 3, 5)]
    return pixels


def _tile_label(text: str) -> str:
    return f'<div style="font-size: 10px; {H.MUTED}">{H.escape(text)}</div>'


def _facets(a) -> str:
    """The first ``max_facets`` 2-D slices over the leading axes, on one shared diverging scale."""
    lead = a.shape[:-2]
    total = int(np.prod(lead))
    n = min(total, options.max_facets)
    xp = backend.array_module(a)
    size = max(16, options.heatmap_size // 4)
    indices = [tuple(int(i) for i in idx) for idx in zip(*np.unravel_index(np.arange(n), lead))]
    view = backend.to_numpy(xp.stack([_shrink(a[idx], size) for idx in indices])).astype(np.float64)
    h, w = view.shape[-2:]
    lo, hi = H.value_range(*_finite_range(view), options.cmap)
    pal = H.palette(options.cmap)
    width, height = H.display_size(h, w, longest=96, cell=12)
    tiles = []
    for k, idx in enumerate(indices):
        label = "[" + ", ".join(str(i) for i in idx) + "]"
        tile = H.img(H.png(H.color_indices(view[k], lo, hi), pal), width, height, f"slice {label}")
        tiles.append(f"<div>{_tile_label(label)}{tile}</div>")
    caption = f"{n} of {total} slices over the last two axes ({a.shape[-2]}×{a.shape[-1]}"
    caption += f", shown as {h}×{w})" if (h, w) != tuple(a.shape[-2:]) else ")"
    gallery = f'<div style="display: flex; flex-wrap: wrap; gap: 6px">{"".join(tiles)}</div>'
    return gallery + H.colorbar(options.cmap, lo, hi) + H.special_legend(*_specials(view)) + _caption(caption)
