"""nbgrad.ipython in a real IPython shell: loading, the Out-history policy, anomaly reports."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("IPython")

import nbgrad  # noqa: E402
from nbgrad import ipython as nbipython  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def _shell(tmp_path_factory):
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    saved = os.environ.get("IPYTHONDIR")
    os.environ["IPYTHONDIR"] = str(tmp_path_factory.mktemp("ipython"))  # no profile written to $HOME
    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    ip = InteractiveShell.instance(config=config)
    yield ip
    InteractiveShell.clear_instance()
    if saved is None:
        os.environ.pop("IPYTHONDIR", None)
    else:
        os.environ["IPYTHONDIR"] = saved


@pytest.fixture
def shell(_shell, monkeypatch):
    """The shell with nbgrad loaded, a fresh namespace and history, and the policy at its default."""
    _shell.reset(new_session=False)
    nbipython.load_ipython_extension(_shell)
    run(_shell, "import gc, weakref\nimport nbgrad as nb\nx = nb.ones(3, requires_grad=True)")
    yield _shell
    nbipython.unload_ipython_extension(_shell)
    _shell.reset(new_session=False)


def run(ip, cell: str):
    """Run a cell as a front end does (counted, stored in the history); fail on an unexpected error."""
    result = ip.run_cell(cell, store_history=True)
    if result.error_in_exec is not None and "raises" not in cell:
        raise result.error_in_exec
    return result


def graph_alive(ip, cell: str) -> bool:
    """Show a non-leaf tensor as a cell's result, drop the user's name for it: is its graph node still alive?"""
    run(ip, "y = x * 2\nnode = weakref.ref(y.grad_fn)")
    run(ip, cell)
    run(ip, "del y")
    gc.collect()
    return ip.user_ns["node"]() is not None


def test_out_history_holds_a_detached_copy(shell):
    result = run(shell, "y = x * 2\ny")
    n = result.execution_count
    stored = shell.user_ns["Out"][n]
    assert stored.grad_fn is None and not stored.requires_grad
    assert stored.tolist() == [2.0, 2.0, 2.0]
    for name in ("_", f"_{n}"):
        assert shell.user_ns[name] is stored
    assert result.result is stored and shell.last_execution_result.result is stored
    # The user's own variable keeps its graph: only the history is detached.
    assert shell.user_ns["y"].grad_fn is not None


def test_the_history_does_not_keep_the_graph_alive(shell):
    assert not graph_alive(shell, "y")
    assert not graph_alive(shell, "y + 1")  # a temporary: the history was its only owner


def test_switched_off_the_history_keeps_the_graph(shell):
    # The control for the test above: without the policy, IPython's cache is what keeps the node.
    from nbgrad.display.options import options

    with options.context(detach_history=False):
        assert graph_alive(shell, "y")


def test_the_output_says_what_the_history_keeps(shell):
    from IPython.utils.capture import capture_output

    with capture_output() as cap:
        run(shell, "x * 2")
    assert "grad_fn=<MulBackward0>" in cap.stdout  # what is shown is the real result
    assert nbipython.NOTE_TEXT in cap.stdout
    with capture_output() as cap:
        run(shell, "x")  # a leaf holds no graph: stored as is, no note
    assert nbipython.NOTE_TEXT not in cap.stdout
    assert shell.user_ns["_"] is shell.user_ns["x"]


def test_the_note_goes_into_every_text_format():
    bundle = nbipython._with_note({"text/plain": "tensor(1.)", "text/html": "<div>t</div>", "image/png": b"x"})
    assert bundle["text/plain"].endswith("\n" + nbipython.NOTE_TEXT)
    assert bundle["text/html"] == "<div>t</div>" + nbipython.NOTE_HTML
    assert bundle["image/png"] == b"x"


def test_tuples_and_lists_of_tensors_are_stored_detached(shell):
    n = run(shell, "y = x * 2\n(y, x, 3)").execution_count
    stored = shell.user_ns["Out"][n]
    assert type(stored) is tuple and stored[0].grad_fn is None
    assert stored[1] is shell.user_ns["x"] and stored[2] == 3
    n = run(shell, "[x * 2]").execution_count
    assert type(shell.user_ns["Out"][n]) is list and shell.user_ns["Out"][n][0].grad_fn is None


def test_other_results_are_stored_untouched(shell):
    n = run(shell, "d = {'y': x * 2}\nd").execution_count
    assert shell.user_ns["Out"][n] is shell.user_ns["d"]  # only tensors and flat tuples/lists are rewritten


def test_a_quiet_cell_stores_nothing(shell):
    n = run(shell, "x * 2;").execution_count
    assert n not in shell.user_ns["Out"]


def test_anomaly_error_shows_the_report_then_the_traceback(shell):
    from IPython.utils.capture import capture_output

    with capture_output() as cap:
        result = run(shell, "# raises\nwith nb.autograd.detect_anomaly():\n    z = nb.log(-x)")
    assert isinstance(result.error_in_exec, nbgrad.autograd.AnomalyError)
    htmls = [o.data["text/html"] for o in cap.outputs if "text/html" in o.data]
    assert len(htmls) == 1 and "Log" in htmls[0]
    assert "AnomalyError" in cap.stdout and "Traceback" in cap.stdout
    # The traceback stops at the user's line; the exception itself keeps every frame.
    assert "z = nb.log(-x)" in cap.stdout and "check_forward" not in cap.stdout
    frames = []
    tb = result.error_in_exec.__traceback__
    while tb is not None:
        frames.append(tb.tb_frame.f_code.co_name)
        tb = tb.tb_next
    assert frames[-1] == "check_forward"


def test_other_errors_keep_the_usual_traceback(shell):
    from IPython.utils.capture import capture_output

    with capture_output() as cap:
        result = run(shell, "# raises\n1 / 0")
    assert isinstance(result.error_in_exec, ZeroDivisionError)
    assert cap.outputs == [] and "ZeroDivisionError" in cap.stdout


def test_load_is_idempotent_and_unload_restores_ipython(_shell):
    hook = _shell.displayhook
    nbipython.load_ipython_extension(_shell)
    wrapped = hook.update_user_ns
    nbipython.load_ipython_extension(_shell)
    assert hook.update_user_ns is wrapped
    assert _shell.custom_exceptions == (nbgrad.autograd.AnomalyError,)
    nbipython.unload_ipython_extension(_shell)
    assert _shell.custom_exceptions == ()
    assert not any(name in vars(hook) for name in nbipython._HOOKED)
    assert nbipython._figure_printer(_shell.display_formatter.formatters["image/png"]) is None


def test_another_extensions_exception_handler_is_kept(_shell):
    def theirs(shell, etype, value, tb, tb_offset=None):
        return None

    _shell.set_custom_exc((KeyError,), theirs)
    try:
        nbipython.load_ipython_extension(_shell)
        assert _shell.custom_exceptions == (KeyError,)
    finally:
        nbipython.unload_ipython_extension(_shell)
        _shell.set_custom_exc((), None)


def test_load_ext_magic(_shell):
    try:
        _shell.run_line_magic("load_ext", "nbgrad.ipython")
        assert _shell.custom_exceptions == (nbgrad.autograd.AnomalyError,)
    finally:
        _shell.run_line_magic("unload_ext", "nbgrad.ipython")
    assert _shell.custom_exceptions == ()


def test_load_ext_nbgrad(_shell):
    try:
        _shell.run_line_magic("load_ext", "nbgrad")
        assert _shell.custom_exceptions == (nbgrad.autograd.AnomalyError,)
    finally:
        _shell.extension_manager.loaded.discard("nbgrad")
        nbipython.unload_ipython_extension(_shell)


def test_auto_register_uses_the_running_shell(_shell):
    try:
        nbipython._auto_register()
        assert getattr(_shell.displayhook, nbipython._MARK, False)
    finally:
        nbipython.unload_ipython_extension(_shell)


def test_auto_register_without_a_shell_does_nothing():
    # A script that imported IPython but runs no shell: get_ipython() is None.
    code = "import IPython, nbgrad.ipython as m; m._auto_register(); print(IPython.get_ipython())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "None"


def test_importing_the_adapter_does_not_import_ipython():
    code = "import sys, nbgrad.ipython; print('IPython' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "False"


def test_only_the_adapter_imports_ipython():
    offenders = []
    for path in sorted((ROOT / "nbgrad").rglob("*.py")):
        text = path.read_text()
        if ("import IPython" in text or "from IPython" in text) and path.name != "ipython.py":
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_figures_show_as_png_once_loaded(shell):
    pytest.importorskip("matplotlib")
    run(shell, "from nbgrad.viz.plots import hist\nfig = hist(nb.randn(100))")
    data, _ = shell.display_formatter.format(shell.user_ns["fig"])
    assert data["image/png"][:8] == b"\x89PNG\r\n\x1a\n"


def test_an_existing_figure_formatter_is_kept(_shell):
    png = _shell.display_formatter.formatters["image/png"]

    def theirs(fig):
        return b""

    png.for_type_by_name("matplotlib.figure", "Figure", theirs)
    try:
        nbipython.load_ipython_extension(_shell)
        assert png.lookup_by_type(nbipython._FIGURE) is theirs
        nbipython.unload_ipython_extension(_shell)
        assert png.lookup_by_type(nbipython._FIGURE) is theirs
    finally:
        png.pop(nbipython._FIGURE)
