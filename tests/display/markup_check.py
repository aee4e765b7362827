"""Checks shared by the display tests: well-formed HTML, well-formed SVG, nothing volatile.

Usage::

    check_markup(html_text)        # balanced tags, every <svg> parses as XML, no ids/scripts/addresses
    svgs(html_text)                # the <svg>...</svg> elements, parsed
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

# Elements that never take a closing tag in HTML.
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
SVG_NS = "{http://www.w3.org/2000/svg}"


class _Balance(HTMLParser):
    """Raises on a closing tag that does not match the innermost open one."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack = []

    def handle_starttag(self, tag, attrs):
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        pass  # <img .../>, <circle .../>: opened and closed at once

    def handle_endtag(self, tag):
        assert self.stack, f"</{tag}> closes nothing"
        top = self.stack.pop()
        assert top == tag, f"</{tag}> closes <{top}>"


def svgs(text: str) -> list:
    """Every ``<svg>...</svg>`` in ``text``, parsed by ``xml.etree`` (so each must be well-formed XML)."""
    return [ET.fromstring(m) for m in re.findall(r"<svg\b.*?</svg>", text, flags=re.S)]


def check_markup(text: str) -> None:
    """Assert ``text`` is balanced HTML, its SVGs parse as XML, and it holds nothing volatile."""
    parser = _Balance()
    parser.feed(text)
    parser.close()
    assert parser.stack == [], f"unclosed tags: {parser.stack}"
    svgs(text)
    assert "<script" not in text and "javascript:" not in text
    assert not re.search(r"\bid=", text), "ids make output differ between runs or clash between outputs"
    readable = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", text)
    assert not re.search(r"0x[0-9a-fA-F]{6,}", readable), "looks like a memory address"
