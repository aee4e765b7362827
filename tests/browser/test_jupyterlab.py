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
"""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
NOTEBOOK = "display_tour.ipynb"
CHROMIUM = os.environ.get("NBGRAD_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Lab settings for a clean, complete page: every cell in the DOM (no windowing), no news or update pop-ups.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false", "checkForUpdates": False},
}

_missing = [
    name
    for name, ok in (
        ("chromium", CHROMIUM is not None and os.access(CHROMIUM, os.X_OK)),
        ("playwright", importlib.util.find_spec("playwright") is not None),
        ("jupyterlab", importlib.util.find_spec("jupyterlab") is not None),
        ("ipykernel", importlib.util.find_spec("ipykernel") is not None),
    )
    if not ok
]
if _missing:
    reason = f"browser test needs {', '.join(_missing)}"
    if os.environ.get("NBGRAD_REQUIRE_BROWSER"):  # set by CI (.ci/run): a skip there would hide a broken set-up
        pytest.fail(f"{reason} (NBGRAD_REQUIRE_BROWSER is set)", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, timeout: float = 5.0):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.status, response.read()


class Lab:
    """A ``jupyter lab`` server in its own process group, over throwaway directories."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.token = secrets.token_hex(16)
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.root = workdir / "root"
        self.root.mkdir()
        shutil.copy(HERE / NOTEBOOK, self.root / NOTEBOOK)
        settings = workdir / "settings"
        for name, values in LAB_SETTINGS.items():
            path = settings / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))
        self.runtime = workdir / "runtime"
        env = dict(os.environ)
        env.update(
            JUPYTER_CONFIG_DIR=str(workdir / "config"),
            JUPYTER_DATA_DIR=str(workdir / "data"),
            JUPYTER_RUNTIME_DIR=str(self.runtime),
            JUPYTER_PLATFORM_DIRS="1",
            IPYTHONDIR=str(workdir / "ipython"),
            # The kernel imports nbgrad from this checkout, installed or not.
            PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p),
            PATH=os.pathsep.join((str(Path(sys.executable).parent), env.get("PATH", ""))),
        )
        command = [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--allow-root",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--ServerApp.root_dir={self.root}",
            f"--IdentityProvider.token={self.token}",
            f"--LabApp.user_settings_dir={settings}",
            f"--LabApp.workspaces_dir={workdir / 'workspaces'}",
            "--LabApp.extension_manager=readonly",
            "--LabApp.expose_app_in_browser=True",
        ]
        self.log = open(workdir / "lab.log", "wb")  # noqa: SIM115 - closed in stop()
        # A session of its own: the whole group can be signalled if the server does not stop.
        self.proc = subprocess.Popen(
            command, env=env, cwd=self.root, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def wait_ready(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyter lab exited with {self.proc.returncode}:\n{self.log_text()}")
            try:
                if _get(f"{self.url}/api/status?token={self.token}")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.25)
        raise TimeoutError(f"jupyter lab did not answer within {timeout:.0f} s:\n{self.log_text()}")

    def log_text(self) -> str:
        self.log.flush()
        return (self.workdir / "lab.log").read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        """Shut the server down (it stops its kernels), then make sure nothing of it is left running."""
        try:
            request = urllib.request.Request(f"{self.url}/api/shutdown?token={self.token}", method="POST")
            urllib.request.urlopen(request, timeout=5).close()
            self.proc.wait(timeout=20)
        except (OSError, subprocess.TimeoutExpired):
            pass
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        for pid in self.leftovers():  # kernels run in sessions of their own
            os.kill(pid, signal.SIGKILL)
        self.log.close()

    def leftovers(self) -> list[int]:
        """Processes (kernels) whose command line names this server's runtime dir."""
        pids = []
        for entry in Path("/proc").glob("[0-9]*"):
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if str(self.runtime).encode() in cmdline and int(entry.name) != os.getpid():
                pids.append(int(entry.name))
        return pids


# Ready to run: the notebook panel, its session and a kernel that is connected and idle.
JS_KERNEL_READY = """() => {
  const app = window.jupyterapp;
  const panel = app && app.shell.currentWidget;
  if (!panel || !panel.sessionContext || !panel.content || !panel.context.isReady) return false;
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  return panel.sessionContext.isReady && !!kernel
    && kernel.connectionStatus === 'connected' && kernel.status === 'idle';
}"""

# Done: every code cell has an execution count and the kernel is idle again.
JS_ALL_RAN = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const kernel = panel.sessionContext.session.kernel;
  const cells = panel.content.widgets.filter(c => c.model.type === 'code');
  return kernel.status === 'idle' && cells.every(c => c.model.executionCount !== null);
}"""

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
    path = Path(os.environ.get("NBGRAD_SCREENSHOTS") or Path(tempfile.gettempdir()) / "nbgrad-browser")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def cells(tmp_path_factory, screenshot_dir):
    """Run the tour in JupyterLab; return each code cell's rendered output (and leave screenshots)."""
    from playwright.sync_api import sync_playwright

    workdir = tmp_path_factory.mktemp("lab")
    lab = Lab(workdir)
    try:
        lab.wait_ready()
        with sync_playwright() as pw:
            context = pw.chromium.launch_persistent_context(
                str(workdir / "profile"),
                executable_path=CHROMIUM,
                headless=True,
                args=CHROMIUM_FLAGS,
                viewport={"width": 1280, "height": 900},
            )
            try:
                page = context.pages[0] if context.pages else context.new_page()
                page.goto(f"{lab.url}/lab/tree/{NOTEBOOK}?token={lab.token}")
                page.wait_for_function(JS_KERNEL_READY, timeout=90_000, polling=200)
                page.evaluate(
                    "() => { window.jupyterapp.shell.collapseLeft(); window.jupyterapp.shell.collapseRight(); }"
                )
                page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
                page.wait_for_function(JS_ALL_RAN, timeout=120_000, polling=200)
                page.wait_for_timeout(500)  # let the last outputs lay out before the pictures
                result = page.evaluate(JS_OUTPUTS)
                _screenshots(page, screenshot_dir)
            finally:
                context.close()
    except BaseException:
        print(lab.log_text(), file=sys.stderr)
        raise
    finally:
        lab.stop()
    assert lab.leftovers() == [], "processes of the lab server are still running"
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
