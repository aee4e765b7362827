"""Building blocks of the HTML views: escaping, inline styles, colour maps, PNG and SVG.

Everything here is a pure function of its arguments and returns ``str`` (or
``bytes`` for PNG), byte for byte the same for the same input: no ids, no
clocks, no addresses. Styles are inline and pictures are inline SVG or PNG
data URIs, so the views need no JavaScript and survive nbconvert, GitHub and
untrusted notebooks. Text and strokes use ``currentColor`` so that light and
dark themes both read well.
"""

from __future__ import annotations

import base64
import html
import math
import struct
import zlib

import numpy as np

# ----------------------------------------------------------------------------
# text and inline styles

FONT = "font-family: var(--jp-code-font-family, ui-monospace, SFMono-Regular, Menlo, Consolas, monospace)"
ROOT_STYLE = f"{FONT}; font-size: 12px; line-height: 1.45; color: inherit; margin: 2px 0"
MUTED = "opacity: 0.62"
BORDER = "1px solid rgba(127, 127, 127, 0.4)"
BADGE_STYLE = f"display: inline-block; padding: 0 5px; margin: 0 2px; border-radius: 3px; border: {BORDER}"
ROW_STYLE = "display: flex; flex-wrap: wrap; gap: 10px 16px; align-items: flex-start; margin-top: 4px"
CAPTION_STYLE = f"font-size: 10.5px; {MUTED}; margin-top: 1px"


def escape(text) -> str:
    """``str(text)`` with ``& < > " '`` escaped for HTML text and attribute values."""
    return html.escape(str(text), quote=True)


def format_number(x, digits: int = 4) -> str:
    """A short, stable rendering of a number: 4 significant digits, no trailing zeros.

    Example::

        >>> [format_number(v) for v in (0.5, 1234.567, 123456.7, 1e-7, -3, None, float("nan"))]
        ['0.5', '1235', '123457', '1e-07', '-3', '–', 'nan']
    """
    if x is None:
        return "–"
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(x)))
    if -3 <= magnitude < 6:
        text = f"{x:.{max(0, digits - 1 - magnitude)}f}"
        return text.rstrip("0").rstrip(".") if "." in text else text
    mantissa, exponent = f"{x:.{digits - 1}e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{exponent}"


def badge(text: str, background: "str | None" = None) -> str:
    """An inline pill; ``background`` (a CSS colour) marks it, with dark text for contrast."""
    style = BADGE_STYLE
    if background is not None:
        style += f"; background: {background}; color: #111; border-color: {background}"
    return f'<span style="{style}">{text}</span>'


def details(summary: str, body: str, open: bool = False) -> str:
    """A collapsible ``<details>`` block (works without JavaScript)."""
    flag = " open" if open else ""
    return f'<details{flag}><summary style="cursor: pointer; {MUTED}">{summary}</summary>{body}</details>'


def pre(text: str) -> str:
    """Preformatted, escaped text (for reprs)."""
    return (
        f'<pre style="{FONT}; font-size: 12px; margin: 4px 0; white-space: pre; overflow-x: auto">{escape(text)}</pre>'
    )


# ----------------------------------------------------------------------------
# colour maps

# Anchor colours, interpolated linearly into 256-entry tables. The diverging
# maps run from negative (blue) through a light neutral at zero to positive (red).
_ANCHORS = {
    "RdBu": [
        "#053061",
        "#2166ac",
        "#4393c3",
        "#92c5de",
        "#d1e5f0",
        "#f7f7f7",
        "#fddbc7",
        "#f4a582",
        "#d6604d",
        "#b2182b",
        "#67001f",
    ],
    "coolwarm": ["#3b4cc0", "#6788ee", "#9abbff", "#c9d7f0", "#dddddd", "#f2cbb7", "#f7a889", "#e26952", "#b40426"],
    "viridis": ["#440154", "#472c7a", "#3b518b", "#2c718e", "#21908d", "#27ad81", "#5cc863", "#aadc32", "#fde725"],
    "gray": ["#000000", "#ffffff"],
}
DIVERGING = frozenset({"RdBu", "coolwarm"})
COLORMAPS = frozenset(_ANCHORS)

# Colours of values that have no place on a map; the legend and the histogram use the same ones.
NAN_COLOR = "#e600e6"
POSINF_COLOR = "#ffc400"
NEGINF_COLOR = "#00b050"

# Palette layout of heatmap PNGs: LEVELS map entries, then NaN, +Inf, -Inf.
LEVELS = 252
NAN_INDEX, POSINF_INDEX, NEGINF_INDEX = LEVELS, LEVELS + 1, LEVELS + 2


def _rgb(hex_color: str) -> tuple:
    return tuple(int(hex_color[i : i + 2], 16) for i in (1, 3, 5))


def colormap(name: str, n: int = 256) -> np.ndarray:
    """An ``(n, 3)`` uint8 table of colour map ``name`` (``"RdBu"``, ``"coolwarm"``, ``"viridis"``, ``"gray"``)."""
    if name not in _ANCHORS:
        raise ValueError(f"unknown colour map {name!r}; use one of {sorted(COLORMAPS)}")
    anchors = np.array([_rgb(c) for c in _ANCHORS[name]], dtype=np.float64)
    where = np.linspace(0.0, 1.0, len(anchors))
    x = np.linspace(0.0, 1.0, n)
    table = np.stack([np.interp(x, where, anchors[:, k]) for k in range(3)], axis=1)
    return np.rint(table).astype(np.uint8)


def palette(name: str) -> np.ndarray:
    """The 256-entry PNG palette of a heatmap: the map, then the NaN, +Inf and -Inf colours."""
    table = np.zeros((256, 3), dtype=np.uint8)
    table[:LEVELS] = colormap(name, LEVELS)
    table[NAN_INDEX] = _rgb(NAN_COLOR)
    table[POSINF_INDEX] = _rgb(POSINF_COLOR)
    table[NEGINF_INDEX] = _rgb(NEGINF_COLOR)
    return table


def color_indices(values: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Palette indices (uint8) of host ``values`` on the range ``[lo, hi]``; NaN/Inf get their own."""
    v = np.asarray(values, dtype=np.float64)
    span = hi - lo
    with np.errstate(invalid="ignore"):
        t = np.full(v.shape, 0.5) if span <= 0 else (v - lo) / span
        idx = np.rint(np.clip(np.nan_to_num(t, nan=0.0), 0.0, 1.0) * (LEVELS - 1)).astype(np.uint8)
    idx[np.isnan(v)] = NAN_INDEX
    idx[v == np.inf] = POSINF_INDEX
    idx[v == -np.inf] = NEGINF_INDEX
    return idx


def value_range(lo, hi, cmap: str) -> tuple:
    """The range a map spans: symmetric about zero for diverging maps, else ``[lo, hi]``."""
    if lo is None or hi is None:
        return 0.0, 1.0
    lo, hi = float(lo), float(hi)
    if cmap in DIVERGING:
        m = max(abs(lo), abs(hi))
        return -m, m
    return lo, hi


# ----------------------------------------------------------------------------
# PNG


def _chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)


def png(pixels: np.ndarray, palette: "np.ndarray | None" = None) -> bytes:
    """Encode uint8 pixels as PNG: ``(H, W)`` gray or palette indices, ``(H, W, 3)`` RGB, ``(H, W, 4)`` RGBA.

    Deterministic (fixed zlib level, no timestamps or text chunks). With
    ``palette`` (``(K, 3)`` uint8, K <= 256) ``pixels`` are indices into it.
    """
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    h, w, c = pixels.shape
    if palette is not None:
        if c != 1:
            raise ValueError("png: palette images take (H, W) indices")
        color_type = 3
    else:
        color_type = {1: 0, 3: 2, 4: 6}.get(c)
        if color_type is None:
            raise ValueError(f"png: expected 1, 3 or 4 channels, got {c}")
    rows = pixels.reshape(h, w * c)
    if color_type == 3:
        filtered, method = rows, 0  # palette data compresses best unfiltered
    else:
        # "Up" filter: each row minus the one above (mod 256), good for smooth pictures.
        filtered = rows.copy()
        filtered[1:] -= rows[:-1]
        method = 2
    raw = np.empty((h, w * c + 1), dtype=np.uint8)
    raw[:, 0] = method
    raw[:, 1:] = filtered
    out = [b"\x89PNG\r\n\x1a\n", _chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, color_type, 0, 0, 0))]
    if palette is not None:
        out.append(_chunk(b"PLTE", np.ascontiguousarray(palette, dtype=np.uint8).tobytes()))
    out.append(_chunk(b"IDAT", zlib.compress(raw.tobytes(), 6)))
    out.append(_chunk(b"IEND", b""))
    return b"".join(out)


def data_uri(png_bytes: bytes) -> str:
    """``data:image/png;base64,...`` for an ``<img src>``."""
    return "data:image/png;base64," + base64.b64encode(png_bytes).decode("ascii")


def img(png_bytes: bytes, width: int, height: int, title: str = "") -> str:
    """An ``<img>`` of a PNG shown at ``width`` x ``height`` CSS pixels, cells kept sharp."""
    style = f"width: {width}px; height: {height}px; image-rendering: pixelated; border: {BORDER}; display: block"
    title = escape(title)
    size = f'width="{width}" height="{height}"'
    return f'<img src="{data_uri(png_bytes)}" {size} alt="{title}" title="{title}" style="{style}"/>'


def display_size(h: int, w: int, longest: int = 256, cell: int = 24, shortest: int = 10) -> tuple:
    """CSS pixel size of an ``h`` x ``w`` picture: whole-number cells, long side near ``longest``."""
    scale = max(1, min(cell, longest // max(h, w)))
    return max(shortest, w * scale), max(shortest, h * scale)


def colorbar(cmap: str, lo: float, hi: float, width: int = 160) -> str:
    """A horizontal colour bar with its end labels (and 0 for a diverging map)."""
    strip = np.arange(LEVELS, dtype=np.uint8)[None, :]
    bar = png(strip, palette(cmap))
    style = f"width: {width}px; height: 8px; border: {BORDER}; display: block"
    labels = [format_number(lo), format_number(hi)]
    middle = "0" if cmap in DIVERGING and lo < 0 < hi else ""
    scale = (
        f'<div style="display: flex; justify-content: space-between; width: {width + 2}px; font-size: 10px; {MUTED}">'
        f"<span>{escape(labels[0])}</span><span>{middle}</span><span>{escape(labels[1])}</span></div>"
    )
    return f'<div style="margin-top: 3px"><img src="{data_uri(bar)}" alt="colour bar" style="{style}"/>{scale}</div>'


def special_legend(nan: int, posinf: int, neginf: int) -> str:
    """Swatches naming the colours of NaN/+Inf/-Inf, for those present."""
    items = [(NAN_COLOR, "NaN", nan), (POSINF_COLOR, "+Inf", posinf), (NEGINF_COLOR, "-Inf", neginf)]
    parts = [
        f'<span style="white-space: nowrap"><span style="display: inline-block; width: 9px; height: 9px; '
        f'background: {color}; vertical-align: middle"></span> {label}</span>'
        for color, label, count in items
        if count
    ]
    return f'<div style="font-size: 10px; display: flex; gap: 8px">{"".join(parts)}</div>' if parts else ""


# ----------------------------------------------------------------------------
# SVG


def _f(x: float) -> str:
    """A coordinate with at most one decimal (short, stable SVG text)."""
    text = f"{x:.1f}"
    return text[:-2] if text.endswith(".0") else text


def svg(width: int, height: int, body: str, label: str) -> str:
    """A standalone inline ``<svg>`` (well-formed XML) that inherits the text colour."""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{escape(label)}" style="display: block; color: inherit; overflow: visible" '
        f'font-family="ui-monospace, Menlo, Consolas, monospace" font-size="10">'
        f"<title>{escape(label)}</title>{body}</svg>"
    )


def _text(x: float, y: float, text: str, anchor: str = "start", fill: str = "currentColor") -> str:
    return (
        f'<text x="{_f(x)}" y="{_f(y)}" text-anchor="{anchor}" fill="{fill}" fill-opacity="0.75">{escape(text)}</text>'
    )


def histogram_svg(
    fractions: np.ndarray,
    edges: np.ndarray,
    nan: float = 0.0,
    posinf: float = 0.0,
    neginf: float = 0.0,
    width: int = 220,
    height: int = 64,
    labels: "tuple | None" = None,
    note: str = "",
) -> str:
    """Bars of a histogram, with NaN/+Inf/-Inf bars in their own colours beside it.

    Args:
        fractions: share of all elements in each finite bin.
        edges: bin edges (``len(fractions) + 1``).
        nan, posinf, neginf: share of all elements that are NaN, +Inf, -Inf.
        labels: texts under the two ends of the axis (default: the outer edges).
        note: extra text for the tooltip (e.g. that the bars come from a sample).
    """
    fractions = np.asarray(fractions, dtype=np.float64)
    specials = [(neginf, "-Inf", NEGINF_COLOR), (posinf, "+Inf", POSINF_COLOR), (nan, "NaN", NAN_COLOR)]
    special_w = 10
    left = special_w + 4 if neginf else 0
    right = sum(special_w + 4 for share, _, _ in specials[1:] if share)
    plot_w = width - left - right
    top, bottom = 2, height - 13
    peak = max(float(fractions.max(initial=0.0)), nan, posinf, neginf) or 1.0
    bar_w = plot_w / max(1, len(fractions))

    def bar_height(share: float) -> float:
        # Any non-empty bin stays visible: a single outlier is often the point.
        return 0.0 if share <= 0 else max(1.0, (bottom - top) * share / peak)

    parts = [f'<line x1="0" y1="{bottom}" x2="{width}" y2="{bottom}" stroke="currentColor" stroke-opacity="0.3"/>']
    path = []
    drawn_w = bar_w - 1 if bar_w >= 3 else 0.7 * bar_w  # a gap between bars
    for i, share in enumerate(fractions.tolist()):
        h = bar_height(share)
        if h:
            x = left + i * bar_w + (bar_w - drawn_w) / 2
            path.append(f"M{_f(x)} {bottom}h{_f(drawn_w)}v-{_f(h)}h-{_f(drawn_w)}z")
    if path:
        parts.append(f'<path d="{"".join(path)}" fill="#5b8ff9" fill-opacity="0.85"/>')
    lo, hi = float(edges[0]), float(edges[-1])
    if lo < 0 < hi:
        zx = left + plot_w * (0 - lo) / (hi - lo)
        parts.append(
            f'<line x1="{_f(zx)}" y1="{top}" x2="{_f(zx)}" y2="{bottom}" stroke="currentColor" '
            f'stroke-opacity="0.45" stroke-dasharray="2 2"/>'
        )
    x_special = {"-Inf": 0.0}
    cursor = left + plot_w + 4
    for share, label, _ in specials[1:]:
        if share:
            x_special[label] = cursor
            cursor += special_w + 4
    for share, label, color in specials:
        if share:
            # Taller than a plain bin's minimum: a single NaN must catch the eye.
            x, h = x_special[label], max(6.0, bar_height(share))
            parts.append(
                f'<rect x="{_f(x)}" y="{_f(bottom - h)}" width="{special_w}" height="{_f(h)}" fill="{color}">'
                f"<title>{label}: {escape(format_number(100 * share))}%</title></rect>"
            )
    lo_text, hi_text = labels if labels is not None else (format_number(lo), format_number(hi))
    parts.append(_text(left, height - 2, lo_text))
    parts.append(_text(left + plot_w, height - 2, hi_text, anchor="end"))
    label = f"histogram of values from {format_number(lo)} to {format_number(hi)}" + (f" ({note})" if note else "")
    return svg(width, height, "".join(parts), label)


def line_svg(
    low: np.ndarray,
    high: np.ndarray,
    length: int,
    width: int = 300,
    height: int = 72,
) -> str:
    """A 1-D signal: a line through the points, or per-bucket min-max bars when downsampled.

    Args:
        low, high: per-point (or per-bucket) minimum and maximum (equal arrays
            when each point is one element); NaN/Inf entries become markers.
        length: elements of the full signal (the x axis runs 0..length-1).
    """
    low = np.asarray(low, dtype=np.float64)
    high = np.asarray(high, dtype=np.float64)
    n = low.size
    pad_left, pad_bottom, top = 44, 13, 3
    plot_w, bottom = width - pad_left - 2, height - pad_bottom
    finite = np.concatenate([low[np.isfinite(low)], high[np.isfinite(high)]])
    vmin, vmax = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    if vmin == vmax:
        vmin, vmax = vmin - 0.5, vmax + 0.5

    def y(v):  # works on arrays: one vectorised call per series, not one per point
        return bottom - (bottom - top) * (np.clip(v, vmin, vmax) - vmin) / (vmax - vmin)

    xs = pad_left + (np.arange(n) + 0.5) * plot_w / n if n > 1 else np.array([pad_left + plot_w / 2])
    parts = []
    if vmin < 0 < vmax:
        parts.append(
            f'<line x1="{pad_left}" y1="{_f(y(0.0))}" x2="{pad_left + plot_w}" y2="{_f(y(0.0))}" '
            f'stroke="currentColor" stroke-opacity="0.35" stroke-dasharray="2 2"/>'
        )
    parts.append(
        f'<rect x="{pad_left}" y="{top}" width="{plot_w}" height="{bottom - top}" fill="none" '
        f'stroke="currentColor" stroke-opacity="0.25"/>'
    )
    bucketed = not np.array_equal(low, high, equal_nan=True)
    # Infinite ends are drawn to the plot's edge, then marked.
    lo_draw = np.where(low == -np.inf, vmin, low)
    hi_draw = np.where(high == np.inf, vmax, high)
    with np.errstate(invalid="ignore"):
        y_lo, y_hi = y(lo_draw), y(hi_draw)
    if bucketed:
        segs = [
            f"M{_f(x)} {_f(a)}V{_f(min(b, a - 1))}"
            for x, a, b in zip(xs.tolist(), y_lo.tolist(), y_hi.tolist())
            if not (math.isnan(a) or math.isnan(b))
        ]
        parts.append(
            f'<path d="{"".join(segs)}" stroke="#5b8ff9" stroke-width="{_f(max(1.0, plot_w / n))}" fill="none"/>'
        )
    else:
        segs, pen_down = [], False
        for x, v in zip(xs.tolist(), y_lo.tolist()):
            if math.isnan(v):
                pen_down = False
                continue
            segs.append(f"{'L' if pen_down else 'M'}{_f(x)} {_f(v)}")
            pen_down = True
        parts.append(f'<path d="{"".join(segs)}" stroke="#5b8ff9" stroke-width="1.3" fill="none"/>')
        if n <= 48:
            dots = "".join(
                f'<circle cx="{_f(x)}" cy="{_f(v)}" r="1.8"/>'
                for x, v in zip(xs.tolist(), y_lo.tolist())
                if not math.isnan(v)
            )
            parts.append(f'<g fill="#5b8ff9">{dots}</g>')
    for mask, color, y0 in (
        (np.isnan(low) | np.isnan(high), NAN_COLOR, bottom - 5),
        (high == np.inf, POSINF_COLOR, top),
        (low == -np.inf, NEGINF_COLOR, bottom - 5),
    ):
        if mask.any():
            ticks = "".join(f"M{_f(x - 1.5)} {_f(y0)}h3v5h-3z" for x in xs[mask].tolist())
            parts.append(f'<path d="{ticks}" fill="{color}"/>')
    parts.append(_text(pad_left - 4, top + 8, format_number(vmax), anchor="end"))
    parts.append(_text(pad_left - 4, bottom, format_number(vmin), anchor="end"))
    parts.append(_text(pad_left, height - 2, "0"))
    parts.append(_text(pad_left + plot_w, height - 2, str(length - 1), anchor="end"))
    label = f"line plot of {length} values" + (f" ({n} min-max buckets)" if bucketed else "")
    return svg(width, height, "".join(parts), label)


def sparkline_svg(values, width: int = 120, height: int = 22, color: str = "#5b8ff9", log: bool = False) -> str:
    """A sparkline: one line through ``values`` (NaN/Inf break it), no axes; the last value is dotted.

    Args:
        values: a 1-D sequence of numbers.
        log: plot ``log10`` of the values (non-positive values break the line).
    """
    y = np.asarray(values, dtype=np.float64)
    if log:
        with np.errstate(divide="ignore", invalid="ignore"):
            y = np.where(y > 0, np.log10(y), np.nan)
    finite = y[np.isfinite(y)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    if hi == lo:
        lo, hi = lo - 0.5, hi + 0.5
    n = y.size
    xs = 1 + np.arange(n) * (width - 4) / max(n - 1, 1)
    ys = 2 + (hi - y) / (hi - lo) * (height - 4)
    body = f'<path d="{path_data(xs, ys)}" stroke="{color}" stroke-width="1.2" fill="none"/>'
    if n and math.isfinite(ys[-1]):
        body += f'<circle cx="{_f(xs[-1])}" cy="{_f(ys[-1])}" r="1.6" fill="{color}"/>'
    label = f"{n} values" + (f" from {format_number(lo)} to {format_number(hi)}" if finite.size else "")
    return svg(width, height, body, label)


def path_data(xs: np.ndarray, ys: np.ndarray) -> str:
    """SVG path data through the points; a non-finite point lifts the pen."""
    segs, pen_down = [], False
    for a, b in zip(xs.tolist(), ys.tolist()):
        if not (math.isfinite(a) and math.isfinite(b)):
            pen_down = False
            continue
        segs.append(f"{'L' if pen_down else 'M'}{_f(a)} {_f(b)}")
        pen_down = True
    return "".join(segs)
