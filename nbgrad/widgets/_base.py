"""What every nbgrad widget shares: its front end, its static fallback, binary buffers and throttling.

Front ends are plain ES modules in the top-level ``widgets/`` folder (shipped
inside the wheel as ``nbgrad/widgets/_frontend``). anywidget loads a widget's
``_esm`` from a string, where relative imports cannot resolve, so
:func:`bundle_esm` inlines the ``./lib/*.js`` helpers a module imports: each
becomes a closure that returns its exports. Node tests import the same files
natively.

Static fallback: :class:`FallbackWidget` puts ``text/html`` (inline SVG/PNG,
no JavaScript) and a deterministic ``text/plain`` next to the widget view in
one mimebundle. Live JupyterLab renders the view (the widget mimetype ranks
first); nbconvert without saved widget state, GitHub and kernels without a
widget front end show the HTML. The widget displays itself with a
``display_id``, so :meth:`FallbackWidget.refresh_fallback` can replace the
stored HTML in place (``update_display``) when a run ends: saved notebooks then
hold the final picture. ``clear_output`` is never used.
"""

from __future__ import annotations

import functools
import re
import time
from pathlib import Path

import anywidget
import numpy as np

from nbgrad import ipython

_HERE = Path(__file__).resolve().parent

# ----------------------------------------------------------------------------
# front-end files


def frontend_dir() -> Path:
    """The folder of the widgets' ES modules: inside the installed package, else ``widgets/`` of the checkout."""
    for candidate in (_HERE / "_frontend", _HERE.parent.parent / "widgets"):
        if (candidate / "lib").is_dir():
            return candidate
    places = f"{_HERE / '_frontend'} and {_HERE.parent.parent / 'widgets'}"
    raise FileNotFoundError(f"nbgrad's widget front ends are missing (looked in {places})")


_IMPORT = re.compile(r"""^import\s+(\{[^}]*\}|\*\s+as\s+[\w$]+)\s+from\s+["'](\.{1,2}/[^"']+)["'];?[ \t]*$""", re.M)
_EXPORT = re.compile(r"^export\s+(?:async\s+)?(?:function\*?|const|let|class)\s+([\w$]+)", re.M)
_OTHER_IMPORT = re.compile(r"^\s*(import\s|export\s*\{|export\s+\*)", re.M)


def _module_name(path: Path, root: Path) -> str:
    return "__nbgrad_" + re.sub(r"\W", "_", path.relative_to(root).with_suffix("").as_posix())


def _binding(clause: str, module: str) -> str:
    """``import {a, b as c}`` / ``import * as m`` as a ``const`` binding to an inlined module."""
    if clause.startswith("*"):
        return f"const {clause.split()[-1]} = {module};"
    names = [part.strip() for part in clause.strip("{} \n").split(",") if part.strip()]
    fields = [
        (f"{a}: {b}" if (a := n.split(" as ")[0].strip()) != (b := n.split(" as ")[-1].strip()) else a) for n in names
    ]
    return f"const {{ {', '.join(fields)} }} = {module};"


@functools.cache
def bundle_esm(name: str) -> str:
    """The ES module ``widgets/<name>`` with its relative imports inlined, as one string for anywidget.

    Supported in inlined modules: ``import {a, b as c} from "./x.js"``, ``import * as m from "./x.js"``,
    and ``export function|const|let|class NAME`` declarations; anything else raises ``ValueError``
    (it would not survive inlining).
    """
    root = frontend_dir()
    order: list[Path] = []
    seen: set[Path] = set()

    def visit(path: Path, stack: tuple) -> None:
        if path in stack:
            raise ValueError(f"import cycle through {path.name}")
        if path in seen:
            return
        for _, spec in _IMPORT.findall(path.read_text()):
            visit((path.parent / spec).resolve(), (*stack, path))
        seen.add(path)
        order.append(path)

    entry = (root / name).resolve()
    visit(entry, ())

    def rewrite(path: Path) -> str:
        source = path.read_text()
        return _IMPORT.sub(
            lambda m: _binding(m.group(1), _module_name((path.parent / m.group(2)).resolve(), root)), source
        )

    chunks = [f"// nbgrad widget front end: {name} (bundled from widgets/ by nbgrad.widgets._base.bundle_esm)"]
    for path in order[:-1]:
        source = rewrite(path)
        exports = _EXPORT.findall(source)
        body = _EXPORT.sub(lambda m: m.group(0).removeprefix("export").lstrip(), source)
        if _OTHER_IMPORT.search(body):
            raise ValueError(f"{path.name}: only named relative imports and exported declarations can be inlined")
        chunks.append(
            f"const {_module_name(path, root)} = (() => {{\n{body}\nreturn {{ {', '.join(exports)} }};\n}})();"
        )
    chunks.append(rewrite(entry))
    return "\n".join(chunks)


@functools.cache
def load_css(name: str) -> str:
    """The stylesheet ``widgets/<name>`` (empty when the widget has none)."""
    path = frontend_dir() / name
    return path.read_text() if path.is_file() else ""


# ----------------------------------------------------------------------------
# binary buffers


def to_buffer(array) -> bytes:
    """A float64 array as little-endian C-order bytes: what the front end reads as a ``Float64Array``."""
    return np.ascontiguousarray(array, dtype="<f8").tobytes()


def from_buffer(buffer, columns: int) -> np.ndarray:
    """The inverse of :func:`to_buffer`: a ``(rows, columns)`` float64 array (a copy)."""
    return np.frombuffer(bytes(buffer), dtype="<f8").reshape(-1, columns).copy()


# ----------------------------------------------------------------------------
# throttling


class Throttle:
    """Says yes at most once per ``interval`` seconds: a clock read, no thread, no timer.

    Args:
        interval (float): seconds between two yeses.
        clock: a function returning seconds (``time.monotonic``; tests pass a fake).

    The hot path reads :attr:`due` and calls :attr:`clock` itself (one comparison);
    :meth:`ready` is the convenient form.
    """

    def __init__(self, interval: float = 0.1, clock=time.monotonic):
        self.interval = interval
        self.clock = clock
        self.due = clock() + interval

    def ready(self) -> bool:
        """True (and the next ``interval`` starts) when ``interval`` has passed since the last yes."""
        now = self.clock()
        if now >= self.due:
            self.due = now + self.interval
            return True
        return False

    def restart(self) -> None:
        """Start a fresh interval now (after a flush that happened for another reason)."""
        self.due = self.clock() + self.interval


# ----------------------------------------------------------------------------
# the end of a cell


# IPython's post_run_cell hook, through the one module that talks to IPython.
on_cell_end = ipython.on_cell_end
remove_cell_end = ipython.remove_cell_end


# ----------------------------------------------------------------------------
# the widget base


class FallbackWidget(anywidget.AnyWidget):
    """An anywidget whose mimebundle also carries a static ``text/html`` fallback and a stable ``text/plain``.

    Subclasses implement :meth:`_fallback_html` (inline SVG/PNG, deterministic) and
    :meth:`_fallback_text`, and set ``_esm = bundle_esm("x.js")`` / ``_css = load_css("x.css")``.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._display_id: str | None = None
        self._stale = False  # the displayed fallback is older than the widget's data or options

    def _fallback_html(self) -> str:
        raise NotImplementedError

    def _fallback_text(self) -> str:
        return f"{type(self).__name__}()"

    def __repr__(self) -> str:
        # ipywidgets' repr carries the object's address: print() in a notebook must be deterministic.
        return self._fallback_text()

    def _static_bundle(self) -> dict:
        return {"text/plain": self._fallback_text(), "text/html": self._fallback_html()}

    def _repr_mimebundle_(self, **kwargs):
        bundle = super()._repr_mimebundle_(**kwargs)
        data, metadata = bundle if isinstance(bundle, tuple) else (bundle or {}, {})
        return {**data, **self._static_bundle()}, metadata

    def _ipython_display_(self) -> None:
        # A display_id is what lets refresh_fallback() replace the stored fallback later (the last
        # expression of a cell has none); after close() only the static part remains to show.
        if self.comm is None:
            ipython.display(self._static_bundle(), raw=True)
            return
        if self._display_id is None:
            self._display_id = f"nbgrad-{self.model_id}"
        data, metadata = self._repr_mimebundle_()
        ipython.display(data, metadata=metadata, raw=True, display_id=self._display_id)

    def refresh_if_stale(self) -> None:
        """:meth:`refresh_fallback`, when something changed since the last refresh."""
        if self._stale:
            self._stale = False
            self.refresh_fallback()

    def refresh_fallback(self) -> bool:
        """Replace the fallback stored in the displayed output(s) by the current picture; False if never shown.

        Front ends that render the widget re-create its view from the model's state (one
        re-render); the others, and the saved notebook, get the new HTML.
        """
        if self._display_id is None:
            return False
        if self.comm is not None:
            data, metadata = self._repr_mimebundle_()
        else:
            data, metadata = self._static_bundle(), {}
        ipython.update_display(data, metadata=metadata, raw=True, display_id=self._display_id)
        return True
