"""The harness of the browser tests: a throwaway ``jupyter lab`` server and headless Chromium driving it.

:func:`require` skips the calling test module cleanly when a piece is missing
(Chromium, playwright, jupyterlab, ipykernel, plus whatever the module names), or
fails it when ``$NBGRAD_REQUIRE_BROWSER`` is set (CI). :func:`open_notebook` starts
a :class:`Lab` on 127.0.0.1 (a token, throwaway settings, workspace, runtime and
IPython dirs), opens one of this folder's notebooks (committed without outputs) in
Chromium, waits until its kernel is connected and idle (running cells any earlier
runs only the first one), and shuts the server and its kernel down whatever happens.

Chromium is the system one (``apt-get install chromium``; ``$NBGRAD_CHROMIUM`` names
another binary): playwright only drives it, so never run ``playwright install``.
"""

from __future__ import annotations

import contextlib
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

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
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


def require(*modules: str) -> None:
    """Skip the calling test module unless Chromium and the Python ``modules`` (beyond the lab's) are there.

    With ``$NBGRAD_REQUIRE_BROWSER`` set (CI), a missing piece fails the module instead: a skip there would
    hide a broken set-up. Call it at module level, before anything imports those modules.
    """
    needed = ("playwright", "jupyterlab", "ipykernel", *modules)
    missing = [] if CHROMIUM is not None and os.access(CHROMIUM, os.X_OK) else ["chromium"]
    missing += [name for name in needed if importlib.util.find_spec(name) is None]
    if missing:
        reason = f"browser test needs {', '.join(missing)}"
        if os.environ.get("NBGRAD_REQUIRE_BROWSER"):
            pytest.fail(f"{reason} (NBGRAD_REQUIRE_BROWSER is set)", pytrace=False)
        pytest.skip(reason, allow_module_level=True)


def screenshot_folder() -> Path:
    """``$NBGRAD_SCREENSHOTS``, else ``$TMPDIR/nbgrad-browser`` (created)."""
    path = Path(os.environ.get("NBGRAD_SCREENSHOTS") or Path(tempfile.gettempdir()) / "nbgrad-browser")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, timeout: float = 5.0):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.status, response.read()


class Lab:
    """A ``jupyter lab`` server in its own process group, over throwaway directories, serving ``notebook``."""

    def __init__(self, workdir: Path, notebook: str):
        self.workdir = workdir
        self.token = secrets.token_hex(16)
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.root = workdir / "root"
        self.root.mkdir()
        shutil.copy(HERE / notebook, self.root / notebook)
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


@contextlib.contextmanager
def open_notebook(workdir: Path, notebook: str, viewport: tuple[int, int] = (1280, 900), on_page=None):
    """Serve ``notebook`` from a fresh :class:`Lab` and yield a Chromium page showing it, its kernel ready.

    ``on_page(page)`` is called before the notebook is loaded (to listen to the console from the start).
    On the way out the browser and the server close, and no process of the server may be left running.
    """
    from playwright.sync_api import sync_playwright

    lab = Lab(workdir, notebook)
    try:
        lab.wait_ready()
        with sync_playwright() as pw:
            context = pw.chromium.launch_persistent_context(
                str(workdir / "profile"),
                executable_path=CHROMIUM,
                headless=True,
                args=CHROMIUM_FLAGS,
                viewport={"width": viewport[0], "height": viewport[1]},
            )
            try:
                page = context.pages[0] if context.pages else context.new_page()
                if on_page is not None:
                    on_page(page)
                page.goto(f"{lab.url}/lab/tree/{notebook}?token={lab.token}")
                page.wait_for_function(JS_KERNEL_READY, timeout=90_000, polling=200)
                page.evaluate(
                    "() => { window.jupyterapp.shell.collapseLeft(); window.jupyterapp.shell.collapseRight(); }"
                )
                yield page
            finally:
                context.close()
    except BaseException:
        print(lab.log_text(), file=sys.stderr)
        raise
    finally:
        lab.stop()
    assert lab.leftovers() == [], "processes of the lab server are still running"
