"""HTML tables, number formats and the inline CSS shared by the tabular views.

The module tree, optimizer and data views, the capture table and the
reports are all small tables: they share one look (a compact monospace
table that reads in light and dark notebook themes: colours are either
inherited or translucent) and one way of writing numbers.
"""

from __future__ import annotations

import math

from nbgrad.display import html

FONT = f"{html.FONT}; font-size: 12px; line-height: 1.35;"
TABLE = "border-collapse: collapse; margin: 2px 0; color: inherit;" + FONT
# Cell styles are repeated in every cell (notebook front ends style td/th themselves, so only inline
# styles win): kept short, without spaces, as a model's tree holds a thousand cells.
TD = "padding:1px 8px;white-space:nowrap;border:none;text-align:left;"
NUM = "text-align:right;"
TH = "padding:1px 8px;white-space:nowrap;border:none;text-align:left;font-weight:600"
THEAD = f"border-bottom: {html.BORDER}"
MUTED = html.MUTED + ";"
BAD = "color: #d62728; font-weight: 600;"
BAD_BG = "background: rgba(214, 39, 40, 0.13);"
CODE = "margin: 2px 0; padding: 3px 6px; background: rgba(127, 127, 127, 0.12); white-space: pre-wrap;" + FONT


class Cell:
    """One table cell: HTML content (already escaped), numeric alignment, extra CSS, hover title."""

    __slots__ = ("html", "numeric", "style", "title")

    def __init__(self, html: str, numeric: bool = False, style: str = "", title: str = ""):
        self.html = html
        self.numeric = numeric
        self.style = style
        self.title = title

    def render(self) -> str:
        style = TD + (NUM if self.numeric else "") + self.style
        title = f' title="{self.title}"' if self.title else ""
        return f'<td style="{style}"{title}>{self.html}</td>'


def table(header, rows: list) -> str:
    """A ``<table>``: ``header`` is a list of column names (or None: no header row), each row a
    list of :class:`Cell` or a ``(cells, row_style)`` pair."""
    head = ""
    if header is not None:
        cells = "".join(f'<th style="{TH}">{name}</th>' for name in header)
        head = f'<thead style="{THEAD}"><tr>{cells}</tr></thead>'
    body = []
    for row in rows:
        cells, style = row if isinstance(row, tuple) else (row, "")
        attr = f' style="{style}"' if style else ""
        body.append(f"<tr{attr}>" + "".join(c.render() for c in cells) + "</tr>")
    return f'<table style="{TABLE}">{head}<tbody>{"".join(body)}</tbody></table>'


def frame(title: str, content: str, notes=(), border: str = "rgba(127, 127, 127, 0.45)") -> str:
    """A titled box around ``content`` (HTML), with optional small notes below."""
    foot = "".join(f'<div style="{MUTED} font-size: 11px">{n}</div>' for n in notes)
    return (
        f'<div style="{FONT} color: inherit; border-left: 3px solid {border}; padding: 2px 0 2px 8px; margin: 2px 0">'
        f'<div style="margin-bottom: 2px">{title}</div>{content}{foot}</div>'
    )


fmt = html.format_number


def percent(fraction: float) -> str:
    return f"{100 * fraction:.1f}%"


def grouped(n: int) -> str:
    """``12,345``."""
    return f"{n:,}"


def nbytes(n: int) -> str:
    """Bytes in binary units: ``512 B``, ``4.0 KiB``, ``1.21 MiB``."""
    if n < 1024:
        return f"{n} B"
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        n /= 1024
        if n < 1024 or unit == "TiB":
            return f"{n:.3g} {unit}" if n < 100 else f"{n:.0f} {unit}"
    raise AssertionError("unreachable")


def num(x) -> Cell:
    """A right-aligned number cell (``—`` muted for None, red for NaN/Inf)."""
    if x is None:
        return Cell("—", numeric=True, style=MUTED)
    bad = isinstance(x, float) and not math.isfinite(x)
    return Cell(fmt(x), numeric=True, style=BAD if bad else "")


def count(n: int) -> Cell:
    """A count that must be zero to be healthy: muted 0, or red."""
    return Cell(str(n), numeric=True, style=BAD if n else MUTED)


def bundle(text: str, render) -> dict:
    """A mimebundle: ``text/plain``, and ``text/html`` from ``render()`` unless the rich views are off.

    ``nb.display.options.enabled = False`` leaves the text only (and skips the rendering).
    """
    from nbgrad.display.options import options

    out = {"text/plain": text}
    if options.enabled:
        out["text/html"] = render()
    return out


class ReportRepr:
    """Mixin for report objects: ``repr``, ``_repr_html_`` and the mimebundle from two renderers.

    Subclasses name their renderers, functions of :mod:`nbgrad.display.report`
    (imported on first display, so that making a report stays cheap).
    """

    _text_renderer = ""
    _html_renderer = ""

    def __repr__(self) -> str:
        from nbgrad.display import report

        return getattr(report, self._text_renderer)(self)

    def _repr_html_(self) -> str:
        from nbgrad.display import report

        return getattr(report, self._html_renderer)(self)

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        return bundle(repr(self), self._repr_html_)
