"""The widgets in a real JupyterLab, driven by headless Chromium: they render, sync both ways, and update live.

One lab server for the whole module: :func:`tour` opens ``widgets_tour.ipynb``
(committed without outputs), runs its cells one by one (the training-loop cell
without waiting for it, sampling the LossPlot above it while it runs), and hands
the page to the tests. Each test then acts in the browser (clicks, slider keys,
wheel) or in the kernel (:meth:`Tour.probe` runs code in the notebook's last cell
and returns what it printed) and checks the other side. Every error-level console
message and uncaught page error fails the tests (:data:`BENIGN` lists the known
harmless ones). Screenshots ``widget_*.png`` go to ``$TMPDIR/nbgrad-browser`` (or
``$NBGRAD_SCREENSHOTS``; the README's come from ``NBGRAD_SCREENSHOTS=docs/images``).

Skipped cleanly without Chromium, playwright, jupyterlab, ipykernel or anywidget;
a failure instead when ``$NBGRAD_REQUIRE_BROWSER`` is set (CI). See ``_lab.py``.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from ._lab import open_notebook, require, screenshot_folder

require("anywidget", "ipywidgets")

pytestmark = pytest.mark.browser

NOTEBOOK = "widgets_tour.ipynb"
# Code cells of the tour, by what they do (index among code cells).
CELLS = {"setup": 0, "loss_plot": 1, "training": 2, "tensor_view": 3, "monitor": 4, "graph_view": 5, "probe": 6}

# Console errors that are Jupyter's, not the widgets', as regular expressions, each with why it is harmless.
# None so far: JupyterLab 4 over this harness's throwaway server logs no error-level message of its own.
BENIGN: list[re.Pattern] = []

# Run one code cell; with ``wait``, resolve when it has run (notebook:run-cell's promise settles after the
# execution). Without, return at once: page.evaluate awaits a returned promise, which would block until the
# cell ends and leave nothing to watch while it runs.
JS_RUN_CELL = """async ([index, source, wait]) => {
  const panel = window.jupyterapp.shell.currentWidget;
  const cells = panel.content.widgets.filter(c => c.model.type === 'code');
  const cell = cells[index];
  if (source !== null) cell.model.sharedModel.setSource(source);
  panel.content.activeCellIndex = panel.content.widgets.indexOf(cell);
  const done = window.jupyterapp.commands.execute('notebook:run-cell');
  if (wait) await done;
  return true;
}"""

# A cell's printed text (streams and results) and whether it raised.
JS_CELL_TEXT = """(index) => {
  const panel = window.jupyterapp.shell.currentWidget;
  const cell = panel.content.widgets.filter(c => c.model.type === 'code')[index];
  return cell.model.outputs.toJSON().map(o => o.output_type === 'stream' ? o.text
    : o.output_type === 'error' ? `${o.ename}: ${o.evalue}` : (o.data && o.data['text/plain']) || '').join('');
}"""

JS_KERNEL_IDLE = "() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status === 'idle'"


class Tour:
    """The open page, the console errors seen so far, and what was measured while the training cell ran."""

    def __init__(self, page, errors: list, screenshots: Path):
        self.page = page
        self.errors = errors
        self.screenshots = screenshots
        self.live: list = []  # rows of JS_WATCH_LOSS_PLOT while the training cell ran

    def run(self, name: str, wait: bool = True) -> None:
        self.page.evaluate(JS_RUN_CELL, [CELLS[name], None, wait])
        if wait:
            self.page.wait_for_function(JS_KERNEL_IDLE, timeout=60_000, polling=100)
            text = self.page.evaluate(JS_CELL_TEXT, CELLS[name])
            assert "Error" not in text, f"cell {name} failed: {text[-2000:]}"

    def probe(self, code: str) -> str:
        """Run ``code`` in the notebook's last cell (as a user would) and return what it printed."""
        self.page.evaluate(JS_RUN_CELL, [CELLS["probe"], code, True])
        self.page.wait_for_function(JS_KERNEL_IDLE, timeout=60_000, polling=100)
        return self.page.evaluate(JS_CELL_TEXT, CELLS["probe"]).strip()

    def probe_until(self, code: str, expected: str, timeout: float = 5.0) -> str:
        """:meth:`probe` until it prints ``expected`` (a change made in the browser reaches the kernel
        as a comm message; it is normally there by the first probe)."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.probe(code)
            if text == expected or time.monotonic() > deadline:
                return text
            self.page.wait_for_timeout(200)

    def output(self, name: str):
        """The output area of a code cell."""
        return self.page.locator(".jp-Notebook .jp-CodeCell").nth(CELLS[name]).locator(".jp-OutputArea")

    def shot(self, name: str, picture: str) -> None:
        """Screenshot one cell, the viewport grown to hold it whole (the lab page itself does not scroll)."""
        cell = self.page.locator(".jp-Notebook .jp-CodeCell").nth(CELLS[name])
        size = self.page.viewport_size
        height = cell.evaluate("c => c.getBoundingClientRect().height")
        if height + 200 > size["height"]:
            self.page.set_viewport_size({"width": size["width"], "height": int(height) + 300})
            self.page.wait_for_timeout(300)
        cell.scroll_into_view_if_needed()
        cell.screenshot(path=str(self.screenshots / f"widget_{picture}.png"))
        self.page.set_viewport_size(size)

    def new_errors(self) -> list:
        return [e for e in self.errors if not any(p.search(e) for p in BENIGN)]


# Watch the LossPlot on every animation frame: [ms since start, points it holds (its data-points attribute),
# total length of its curves' paths, kernel status], one row per change.
JS_WATCH_LOSS_PLOT = """() => {
  const rows = window.nbgradFrames = [];
  const t0 = performance.now();
  let last = '';
  const frame = () => {
    const el = document.querySelector('.nbgrad-loss-plot');
    const paths = el ? Array.from(el.querySelectorAll('path.line')) : [];
    const row = [Number((el && el.dataset.points) || 0), paths.reduce((n, p) => n + p.getAttribute('d').length, 0),
                 window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status];
    if (row.join() !== last) rows.push([performance.now() - t0, ...row]);
    last = row.join();
    if (!window.nbgradStopWatching) requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
}"""


@pytest.fixture(scope="module")
def tour(tmp_path_factory):
    errors: list = []

    def listen(page):
        page.on("console", lambda m: errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))

    started = time.monotonic()
    with open_notebook(tmp_path_factory.mktemp("lab"), NOTEBOOK, viewport=(1280, 1000), on_page=listen) as page:
        tour = Tour(page, errors, screenshot_folder())
        page.add_style_tag(content=".jp-Collapser, .jp-cell-toolbar { visibility: hidden !important; }")
        tour.run("setup")
        tour.run("loss_plot")
        page.wait_for_selector(".nbgrad-loss-plot .nbgrad-lp-controls", timeout=30_000)
        # The training cell logs for about 3 s: watch the plot meanwhile, and a little after.
        page.evaluate(JS_WATCH_LOSS_PLOT)
        tour.run("training", wait=False)
        page.wait_for_function(
            "() => window.nbgradFrames.some(r => r[3] === 'busy') && window.nbgradFrames.at(-1)[3] === 'idle'",
            timeout=60_000,
            polling=100,
        )
        page.wait_for_timeout(600)
        tour.live = page.evaluate("() => { window.nbgradStopWatching = true; return window.nbgradFrames; }")
        tour.shot("loss_plot", "loss_plot")
        for name, selector in (
            ("tensor_view", ".nbgrad-tv canvas.nbgrad-tv-canvas"),
            ("monitor", ".nbgrad-monitor .nbm-spark"),
            ("graph_view", ".nbgrad-gv svg"),
        ):
            tour.run(name)
            page.wait_for_selector(selector, timeout=30_000)
        page.wait_for_timeout(500)  # throttled redraws and layout before the pictures
        tour.shot("tensor_view", "tensor_view")
        tour.shot("monitor", "monitor")
        print(f"widget tour set up in {time.monotonic() - started:.1f} s")
        yield tour


# ----------------------------------------------------------------------------- LossPlot


def test_loss_plot_renders(tour):
    out = tour.output("loss_plot")
    assert out.locator(".nbgrad-lp-panel svg path.line").count() >= 4  # loss, val_loss, acc, val_acc
    assert out.locator(".nbgrad-lp-panel").count() == 2  # loss with val_loss; acc with val_acc
    assert out.locator("input[type=checkbox]").count() == 1 and out.locator("input[type=range]").count() == 1
    assert out.locator("circle.best").count() >= 2  # best-value markers
    assert "a training run" in out.inner_text()
    assert tour.new_errors() == []


def test_loss_plot_updates_while_training_runs(tour):
    live = tour.live
    table = "\n".join(f"{t:7.0f} ms {n:4d} points {chars:5d} path chars {state}" for t, n, chars, state in live)
    busy = [(t, points, length) for t, points, length, status in live if status == "busy" and points > 0]
    # Redrawn over and over while the cell ran (it logs for ~3 s), each time with more points and longer paths.
    assert len(busy) >= 10 and busy[-1][0] - busy[0][0] > 2000, table
    assert [p for _, p, _ in busy] == sorted(p for _, p, _ in busy), table
    assert [n for _, _, n in busy] == sorted(n for _, _, n in busy), table
    # Throttled: at most about 10 redraws per second (each redraw is one row here).
    assert len(busy) / ((busy[-1][0] - busy[0][0]) / 1000) <= 12, table
    # Every point logged arrives: 60 x (loss, acc) + 6 x (epoch, val_loss, val_acc).
    assert live[-1][1] == 60 * 2 + 6 * 3, table
    # Never blank for long: the output refreshed when the cell ends (its static fallback) renders a new view.
    blank_since, longest, seen = None, 0.0, False
    for t, points, _, _ in live:
        if points and blank_since is not None:
            longest = max(longest, t - blank_since)
        if points:
            seen, blank_since = True, None
        elif seen and blank_since is None:
            blank_since = t
    print(f"longest blank after the first curve: {longest:.0f} ms")
    # One or two frames (~20 ms measured); about 100 ms before the first draw was made immediate.
    assert longest < 150, table


def test_loss_plot_python_to_js(tour):
    out = tour.output("loss_plot")
    ticks = out.locator(".nbgrad-lp-panel svg").first.inner_html()
    tour.probe("plot.log_scale = True\nplot.smoothing = 0.8")
    tour.page.wait_for_function(
        "() => document.querySelector('.nbgrad-loss-plot input[type=checkbox]').checked"
        " && document.querySelector('.nbgrad-loss-plot input[type=range]').value === '0.8'",
        timeout=10_000,
    )
    tour.page.wait_for_timeout(300)  # the throttled redraw
    assert out.locator(".nbgrad-lp-panel svg").first.inner_html() != ticks  # redrawn on a log axis
    assert out.locator("path.line.faint").count() >= 4  # raw curves faint behind the smoothed ones
    tour.probe("plot.log_scale = False\nplot.smoothing = 0.0")
    tour.page.wait_for_function(
        "() => !document.querySelector('.nbgrad-loss-plot input[type=checkbox]').checked", timeout=10_000
    )


def test_loss_plot_js_to_python(tour):
    out = tour.output("loss_plot")
    assert tour.probe("print(plot.log_scale, plot.x_axis)") == "False step"
    out.locator("input[type=checkbox]").check()
    out.locator("select").select_option("epoch")
    assert tour.probe_until("print(plot.log_scale, plot.x_axis)", "True epoch") == "True epoch"
    # Hover read-out: the value under the pointer.
    svg = out.locator(".nbgrad-lp-panel svg").first
    box = svg.bounding_box()
    svg.hover(position={"x": box["width"] * 0.6, "y": box["height"] * 0.5})  # scrolled into view first
    tip = out.locator(".nbgrad-lp-tip").first
    tip.wait_for(state="visible", timeout=5_000)
    assert "epoch" in tip.inner_text() and "loss" in tip.inner_text()
    tour.page.mouse.move(0, 0)
    out.locator("input[type=checkbox]").uncheck()
    out.locator("select").select_option("step")
    assert tour.probe_until("print(plot.log_scale, plot.x_axis)", "False step") == "False step"
    assert tour.new_errors() == []


# ----------------------------------------------------------------------------- TensorView

JS_TV_PIXELS = "() => document.querySelector('.nbgrad-tv-canvas').toDataURL()"


def test_tensor_view_renders(tour):
    out = tour.output("tensor_view")
    size = out.locator("canvas.nbgrad-tv-canvas").evaluate("c => [c.width, c.height, c.clientWidth]")
    assert size[:2] == [48, 32] and size[2] > 48  # the (32, 48) slice, drawn scaled up
    assert out.locator(".nbgrad-tv-sliders input[type=range]").count() == 2  # axes 0 and 1 of (4, 6, 32, 48)
    assert out.locator(".nbgrad-tv-hist svg rect").count() > 5
    assert "Tensor[4, 6, 32, 48]" in out.locator(".nbgrad-tv-head").inner_text()
    assert "slice 32×48" in out.locator(".nbgrad-tv-stats").inner_text()
    assert tour.new_errors() == []


def test_tensor_view_python_to_js(tour):
    out = tour.output("tensor_view")
    pixels, stats = tour.page.evaluate(JS_TV_PIXELS), out.locator(".nbgrad-tv-stats").inner_text()
    tour.probe("tv.index = [2, 3, 0, 0]")
    sliders = out.locator(".nbgrad-tv-sliders input[type=range]")
    tour.page.wait_for_function(
        "() => Array.from(document.querySelectorAll('.nbgrad-tv-sliders input')).map(i => i.value).join() === '2,3'",
        timeout=10_000,
    )
    tour.page.wait_for_function(f"() => document.querySelector('.nbgrad-tv-canvas').toDataURL() !== {pixels!r}")
    assert out.locator(".nbgrad-tv-stats").inner_text() != stats  # another slice, other statistics
    assert sliders.nth(0).input_value() == "2"


def test_tensor_view_js_to_python(tour):
    out = tour.output("tensor_view")
    tour.probe("tv.index = [0, 0, 0, 0]\ntv.show_grad = False")
    tour.page.wait_for_timeout(300)
    pixels = tour.page.evaluate(JS_TV_PIXELS)
    slider = out.locator(".nbgrad-tv-sliders input[type=range]").nth(1)
    slider.scroll_into_view_if_needed()
    box = slider.bounding_box()
    # Drag the thumb from the left end to 60% of the track (the keyboard has its own test below).
    tour.page.mouse.move(box["x"] + 4, box["y"] + box["height"] / 2)
    tour.page.mouse.down()
    tour.page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] / 2, steps=5)
    tour.page.mouse.up()
    moved = slider.input_value()
    assert moved in ("2", "3", "4"), moved  # axis 1 has 6 positions
    expected = f"[0, {moved}, 0, 0]"
    assert tour.probe_until("print(tv.index)", expected) == expected
    tour.page.wait_for_function(f"() => document.querySelector('.nbgrad-tv-canvas').toDataURL() !== {pixels!r}")
    out.locator("input[aria-label='.grad']").check()
    assert tour.probe_until("print(tv.show_grad)", "True") == "True"
    tour.page.wait_for_function("() => document.querySelector('.nbgrad-tv-head').innerText.includes('.grad')")
    out.locator("canvas.nbgrad-tv-canvas").hover(position={"x": 5, "y": 5})
    hover = out.locator(".nbgrad-tv-hover").inner_text()
    assert hover.startswith(f".grad[0, {moved}, 0, 0]") and "=" in hover, hover
    tour.page.mouse.move(0, 0)
    assert tour.new_errors() == []


def test_tensor_view_slider_takes_arrow_keys_from_the_lab(tour):
    out = tour.output("tensor_view")
    tour.probe("tv.index = [0, 0, 0, 0]")
    tour.page.wait_for_function(
        "() => Array.from(document.querySelectorAll('.nbgrad-tv-sliders input')).map(i => i.value).join() === '0,0'",
        timeout=10_000,
    )
    cells = tour.page.locator(".jp-Notebook .jp-Cell").count()
    slider = out.locator(".nbgrad-tv-sliders input[type=range]").nth(0)
    slider.focus()
    for key in ("ArrowRight", "ArrowRight", "ArrowUp", "ArrowLeft", "d", "d"):  # "d d" would delete the cell
        tour.page.keyboard.press(key)
    assert slider.input_value() == "2"
    assert tour.probe_until("print(tv.index)", "[2, 0, 0, 0]") == "[2, 0, 0, 0]"
    assert tour.page.locator(".jp-Notebook .jp-Cell").count() == cells
    assert tour.new_errors() == []


# ----------------------------------------------------------------------------- TrainingMonitor


def test_monitor_renders(tour):
    out = tour.output("monitor")
    assert out.locator("table.nbm-params tbody tr").count() == 4  # two Linear layers' weight and bias
    assert out.locator("table.nbm-layers tbody tr").count() == 3  # Linear, ReLU, Linear
    assert out.locator("svg.nbm-spark path").count() >= 8
    assert "step 40" in out.locator(".nbm-title").inner_text()
    assert tour.new_errors() == []


def test_monitor_syncs_both_ways(tour):
    out = tour.output("monitor")
    box = out.locator("input.nbm-log")
    assert box.is_checked()
    tour.probe("monitor.log_scale = False")
    tour.page.wait_for_function("() => !document.querySelector('.nbgrad-monitor input.nbm-log').checked")
    box.check()
    assert tour.probe_until("print(monitor.log_scale)", "True") == "True"


# ----------------------------------------------------------------------------- GraphView

JS_GV_VIEWBOX = "() => document.querySelector('.nbgrad-gv-stage svg').getAttribute('viewBox')"


def test_graph_view_renders(tour):
    out = tour.output("graph_view")
    assert out.locator(".nbgrad-gv-node").count() >= 5
    assert out.locator(".nbgrad-gv-bar button").count() == 5  # zoom in/out, fit, close all, open all
    assert "click a box" in out.locator(".nbgrad-gv-detail").inner_text()
    assert tour.new_errors() == []


def test_graph_view_pan_and_zoom(tour):
    out = tour.output("graph_view")
    out.locator(".nbgrad-gv-stage").scroll_into_view_if_needed()
    stage = out.locator(".nbgrad-gv-stage").bounding_box()
    before = tour.page.evaluate(JS_GV_VIEWBOX)
    tour.page.mouse.move(stage["x"] + stage["width"] / 2, stage["y"] + stage["height"] / 2)
    tour.page.mouse.wheel(0, -300)
    tour.page.wait_for_function(f"() => ({JS_GV_VIEWBOX})() !== {before!r}")
    zoomed = [float(v) for v in tour.page.evaluate(JS_GV_VIEWBOX).split()]
    assert zoomed[2] < float(before.split()[2])  # zoomed in: a narrower part of the drawing
    x, y = stage["x"] + 10, stage["y"] + stage["height"] - 10  # a corner: no box under the press
    tour.page.mouse.move(x, y)
    tour.page.mouse.down()
    tour.page.mouse.move(x + 60, y - 30, steps=5)
    tour.page.mouse.up()
    panned = [float(v) for v in tour.page.evaluate(JS_GV_VIEWBOX).split()]
    assert panned[0] < zoomed[0] and panned[2:] == zoomed[2:]  # dragged right: the view moved left
    out.get_by_role("button", name="fit the graph").click()


def test_graph_view_click_shows_detail_and_syncs(tour):
    out = tour.output("graph_view")
    nodes = out.locator(".nbgrad-gv-node")
    count = nodes.count()
    # A leaf (a parameter): its panel shows the values and the gradient side by side.
    target = out.locator(".nbgrad-gv-node", has=tour.page.locator("title", has_text="leaf 3.weight"))
    index = int(target.get_attribute("data-index"))
    target.click()
    detail = out.locator(".nbgrad-gv-detail")
    detail.locator("img").first.wait_for(timeout=10_000)  # a value heatmap
    assert "3.weight" in detail.inner_text() and ".grad" in detail.inner_text()
    assert "nbgrad-gv-selected" in target.get_attribute("class")
    assert tour.probe_until("print(gv.selected)", str(index)) == str(index)
    tour.page.wait_for_timeout(300)
    tour.shot("graph_view", "graph_view")
    # Python -> JS: close every module call; the front end redraws with fewer boxes.
    tour.probe("gv.expanded = []")
    tour.page.wait_for_function(f"() => document.querySelectorAll('.nbgrad-gv-node').length < {count}")
    tour.probe("gv.expanded = list(range(len(gv.groups)))")
    tour.page.wait_for_function(f"() => document.querySelectorAll('.nbgrad-gv-node').length === {count}")
    assert tour.new_errors() == []


def test_no_console_errors_at_all(tour):
    assert tour.new_errors() == [], "\n".join(tour.errors)
