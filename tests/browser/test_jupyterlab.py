"""The display tour in a real JupyterLab, driven by headless Chromium: every view renders.

Starts ``jupyter lab`` on 127.0.0.1 (a token, throwaway settings, workspace,
runtime and IPython dirs), opens ``display_tour.ipynb`` (committed without
outputs), waits until its kernel is connected and idle (running all cells any
earlier can run only the first one), runs all cells, checks each output in the
DOM, and saves screenshots under ``$TMPDIR/nbgrad-browser`` (or
``$NBGRAD_SCREENSHOTS``; the README's come from ``NBGRAD_SCREENSHOTS=docs/images``).
The lab server and its kernel are shut down whatever happens.

Needs Chromium (``apt-get install chromium``; ``$NBGRAD_CHROMIUM`` names another
binary), the ``playwright`` Python package (never ``playwright install``: it
drives the system Chromium), ``jupyterlab`` and ``ipykernel``; skipped cleanly
without them, unless ``$NBGRAD_REQUIRE_BROWSER`` is set (CI), which makes that a failure.
The harness (server, browser, skips) is in ``_lab.py``, shared with ``test_widgets.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ._lab import JS_ALL_RAN, open_notebook, require, screenshot_folder

require()

pytestmark = pytest.mark.browser

NOTEBOOK = "display_tour.ipynb"

# Per code cell: the rendered output HTML, the mime types and output types of its outputs, and whether
# every <img> in its outputs decoded (a broken PNG data URI has naturalWidth 0).
JS_OUTPUTS = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  return panel.content.widgets.filter(c => c.model.type === 'code').map(c => {
    const outs = Array.from(c.node.querySelectorAll('.jp-OutputArea-output'));  // not the prompts' icons
    const imgs = outs.flatMap(o => Array.from(o.querySelectorAll('img')));
    return {
      source: c.model.sharedModel.getSource(),
      html: outs.map(o => o.innerHTML).join('\\n'),
      text: outs.map(o => o.innerText).join('\\n'),
      svgs: outs.reduce((n, o) => n + o.querySelectorAll('svg').length, 0),
      imgs: imgs.length,
      imgs_decoded: imgs.every(i => i.complete && i.naturalWidth > 0),
      outputs: c.model.outputs.toJSON().map(o => o.output_type),
    };
  });
}"""


# Height of all cells, from the first one's top to the last one's bottom (the notebook scrolls inside the page).
JS_NOTEBOOK_HEIGHT = """() => {
  const cells = window.jupyterapp.shell.currentWidget.content.node.querySelectorAll('.jp-Cell');
  return cells[cells.length - 1].getBoundingClientRect().bottom - cells[0].getBoundingClientRect().top;
}"""


@pytest.fixture(scope="module")
def screenshot_dir() -> Path:
    return screenshot_folder()


@pytest.fixture(scope="module")
def cells(tmp_path_factory, screenshot_dir):
    """Run the tour in JupyterLab; return each code cell's rendered output (and leave screenshots)."""
    with open_notebook(tmp_path_factory.mktemp("lab"), NOTEBOOK) as page:
        page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
        page.wait_for_function(JS_ALL_RAN, timeout=120_000, polling=200)
        page.wait_for_timeout(500)  # let the last outputs lay out before the pictures
        result = page.evaluate(JS_OUTPUTS)
        _screenshots(page, screenshot_dir)
    return result


def _screenshots(page, directory: Path) -> None:
    """The whole notebook (the viewport grown to fit it: the lab page itself does not scroll), and each view."""
    # No active-cell bar or cell toolbar in the pictures.
    page.add_style_tag(content=".jp-Collapser, .jp-cell-toolbar { visibility: hidden !important; }")
    height = page.evaluate(JS_NOTEBOOK_HEIGHT)
    page.set_viewport_size({"width": 1280, "height": min(int(height) + 200, 12_000)})
    page.wait_for_timeout(300)
    page.screenshot(path=str(directory / "display_tour.png"), full_page=True)
    for name, index in VIEWS.items():
        cell = page.locator(".jp-Notebook .jp-CodeCell").nth(index)
        cell.screenshot(path=str(directory / f"display_{name}.png"))


# Code cells of the tour, by what they show (index among code cells).
VIEWS = {"tensor": 1, "grad": 2, "nonleaf": 3, "module": 4, "graph": 5, "capture": 6, "figure": 7, "anomaly": 8}


def view(cells, name: str) -> dict:
    cell = cells[VIEWS[name]]
    assert cell["imgs_decoded"], f"{name}: an <img> in the output did not decode"
    return cell


def test_the_tour_ran_to_the_expected_end(cells):
    assert len(cells) == len(VIEWS) + 1
    for cell in cells[:-1]:
        assert "error" not in cell["outputs"], f"cell failed:\n{cell['source']}\n{cell['text'][-2000:]}"


def test_tensor_view(cells):
    cell = view(cells, "tensor")
    assert "nbgrad-tensor" in cell["html"] and "Tensor[16, 24]" in cell["text"]
    assert cell["svgs"] >= 1 and cell["imgs"] >= 1  # histogram (SVG) and heatmap (PNG)
    assert "NaN" in cell["text"] and "std" in cell["text"]


def test_tensor_with_gradient_shows_both(cells):
    cell = view(cells, "grad")
    assert "requires_grad=True" in cell["text"] and "grad" in cell["text"]
    plain = view(cells, "tensor")
    assert cell["svgs"] > plain["svgs"]  # the gradient's pictures next to the values'


def test_non_leaf_tensor_says_the_history_is_detached(cells):
    cell = view(cells, "nonleaf")
    assert "grad_fn" in cell["text"]
    assert "nbgrad-history-note" in cell["html"] and "detached copy" in cell["text"]


def test_module_view(cells):
    cell = view(cells, "module")
    for word in ("Sequential", "Linear", "ReLU", "params"):
        assert word in cell["text"]
    assert "<details" in cell["html"] or "<table" in cell["html"]


def test_graph_view(cells):
    cell = view(cells, "graph")
    assert cell["svgs"] >= 1
    assert "LinearBackward0" in cell["html"] and "0.weight" in cell["html"]


def test_capture_table(cells):
    cell = view(cells, "capture")
    assert cell["html"].count("<tr") >= 4  # a header and one row per layer call
    for word in ("Linear", "ReLU"):
        assert word in cell["text"]
    assert cell["svgs"] >= 3  # a mini histogram per row


def test_figure_shows_once_as_png(cells):
    cell = view(cells, "figure")
    assert cell["outputs"] == ["execute_result"]  # not also drawn by pyplot's inline backend
    assert cell["imgs"] == 1 and 'src="data:image/png' in cell["html"]


def test_anomaly_report_then_traceback(cells):
    cell = view(cells, "anomaly")
    assert cell["outputs"][-1] == "error"
    assert "display_data" in cell["outputs"]  # the HTML report, shown before the traceback
    assert "Log" in cell["text"] and "AnomalyError" in cell["text"]
