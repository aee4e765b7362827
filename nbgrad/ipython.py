"""The one module that talks to IPython: ``%load_ext nbgrad`` and the Out-history policy.

Rich display itself needs no registration: tensors, modules, graphs and
capture tables carry ``_repr_mimebundle_`` (pure renderers in
:mod:`nbgrad.display`), which every Jupyter front end understands. What this
adapter adds to a running IPython shell:

* **Anomaly reports.** An :class:`~nbgrad.autograd.AnomalyError` that reaches
  the top of a cell shows its HTML report (the op, the module path, the
  tensors' statistics, the user's line of code), then the usual traceback,
  which stops at the user's last line (the frames of nbgrad's check follow
  it; ``err.__traceback__`` keeps them all).
* **The Out-history policy.** IPython keeps every cell's result in ``Out[n]``,
  ``_n`` and ``_``: a tensor with a ``grad_fn`` left there would keep its whole
  computation graph (and the activations it saved) alive for the rest of the
  session, unseen. With the policy on (the default), the history holds
  ``t.detach()`` instead (same data, no graph; the user's own variable is
  untouched) and the output says so in one line. Tuples and lists of such
  tensors are stored with each tensor detached. Switch it off with
  ``nb.display.options.detach_history = False``.
* **Figures.** The figures of :mod:`nbgrad.viz.plots` are made without pyplot
  (nothing piles up in its global list); a PNG formatter for matplotlib
  figures, registered when the shell has none, shows a figure left as a cell's
  result, once.

Loading: ``%load_ext nbgrad`` (or ``%load_ext nbgrad.ipython``); importing
nbgrad inside IPython registers it too (:func:`_auto_register`). IPython is
imported lazily, inside the functions, so that importing this module is free.
"""

from __future__ import annotations

import sys
import weakref

# The line the output of a history-detached result ends with.
NOTE_TEXT = "(Out keeps a detached copy: the history does not keep the autograd graph alive)"
NOTE_HTML = (
    '<div class="nbgrad-history-note" style="font:11px/1.4 monospace;color:#777;margin-top:2px" '
    'title="nb.display.options.detach_history = False keeps the graph in Out">'
    "Out keeps a detached copy: the history does not keep the autograd graph alive</div>"
)

# The displayhook methods wrapped by the policy (instance attributes, removed again on unload).
_HOOKED = ("compute_format_data", "update_user_ns", "fill_exec_result")
_MARK = "_nbgrad_history_policy"


def load_ipython_extension(ip) -> None:
    """Register nbgrad with an IPython shell (idempotent): ``%load_ext nbgrad``.

    Args:
        ip: the running ``InteractiveShell``.
    """
    _register_anomaly_handler(ip)
    _install_history_policy(ip)
    _register_figure_formatter(ip)


def unload_ipython_extension(ip) -> None:
    """Undo :func:`load_ipython_extension`: ``%unload_ext nbgrad``."""
    if getattr(ip.CustomTB, "_nbgrad", False):
        ip.set_custom_exc((), None)  # IPython's initial state
    hook = ip.displayhook
    if getattr(hook, _MARK, False):
        for name in _HOOKED:
            hook.__dict__.pop(name, None)
        delattr(hook, _MARK)
    png = ip.display_formatter.formatters["image/png"]
    if _figure_printer(png) is _figure_png:
        png.pop(_FIGURE)


def _auto_register() -> None:
    """Register with the running IPython shell, if there is one; called by ``import nbgrad`` under IPython.

    Cheap and safe: nothing happens outside a shell (``get_ipython()`` is None,
    e.g. a script that merely imported IPython), and a failure never breaks
    ``import nbgrad``.
    """
    try:
        from IPython import get_ipython

        ip = get_ipython()
        if ip is not None:
            load_ipython_extension(ip)
    except Exception:  # noqa: BLE001 - display niceties must never make the import fail
        pass


def detach_history_enabled() -> bool:
    """Whether the Out-history policy is on (``nb.display.options.detach_history``)."""
    from nbgrad.display.options import options

    return options.detach_history


# ------------------------------------------------------------------ anomaly reports
def _register_anomaly_handler(ip) -> None:
    from nbgrad.autograd.anomaly import AnomalyError

    if getattr(ip.CustomTB, "_nbgrad", False):
        return
    if ip.custom_exceptions:
        # IPython has a single custom-exception slot: another extension holds it, keep theirs.
        return
    ip.set_custom_exc((AnomalyError,), _show_anomaly)
    ip.CustomTB.__func__._nbgrad = True


def _show_anomaly(shell, etype, value, tb, tb_offset=None):
    """IPython's custom exception handler: the HTML report, then the normal traceback."""
    # A terminal shows text only, where the report would repeat the traceback's message.
    if "text/html" in shell.display_formatter.active_types and hasattr(value, "_repr_mimebundle_"):
        try:
            from IPython.display import display

            display(value)
        except Exception:  # noqa: BLE001 - the traceback below must show whatever the report did
            pass
    # IPython's run_code ignores what this returns: the traceback is shown here, the usual way.
    shell.showtraceback((etype, value, _user_traceback(tb)), tb_offset=tb_offset)


def _resolved(filename: str) -> str:
    from pathlib import Path

    return str(Path(filename).resolve())


def _user_traceback(tb):
    """``tb`` cut after its last frame outside nbgrad: the frames of the check that raised are noise.

    A copy: the exception's own ``__traceback__`` keeps every frame.
    """
    import os
    import types

    package = _resolved(os.path.dirname(__file__)) + os.sep
    entries = []
    while tb is not None:
        entries.append(tb)
        tb = tb.tb_next
    user = [i for i, e in enumerate(entries) if not _resolved(e.tb_frame.f_code.co_filename).startswith(package)]
    if not user or user[-1] == len(entries) - 1:
        return entries[0] if entries else None
    head = None
    for e in reversed(entries[: user[-1] + 1]):
        head = types.TracebackType(head, e.tb_frame, e.tb_lasti, e.tb_lineno)
    return head


# ------------------------------------------------------------------ Out-history policy
def _keeps_graph(value) -> bool:
    from nbgrad.tensor import Tensor

    if isinstance(value, Tensor):
        return value.grad_fn is not None
    if type(value) in (tuple, list):
        return any(isinstance(v, Tensor) and v.grad_fn is not None for v in value)
    return False


def _history_copy(value):
    """What the history stores for a result that keeps a graph: detached tensors, same container."""
    from nbgrad.tensor import Tensor

    if isinstance(value, Tensor):
        return value.detach()
    return type(value)(v.detach() if isinstance(v, Tensor) and v.grad_fn is not None else v for v in value)


def _install_history_policy(ip) -> None:
    hook = ip.displayhook
    if getattr(hook, _MARK, False):
        return
    compute_format_data, update_user_ns, fill_exec_result = (getattr(hook, name) for name in _HOOKED)
    # The displayhook formats the result, then stores it (update_user_ns: Out[n], _n, _, __, ___;
    # fill_exec_result: the cell's ExecutionResult). Only what is stored changes, never what is shown.
    state = {"stored": None}  # the result being stored -> its history copy, within one displayhook call

    def stored(result):
        if state["stored"] is None or state["stored"][0] is not result:
            try:
                copy = _history_copy(result) if detach_history_enabled() and _keeps_graph(result) else result
            except Exception:  # noqa: BLE001 - a failing policy must not lose the user's output
                copy = result
            state["stored"] = (result, copy)
        return state["stored"][1]

    def compute_format_data_with_note(result):
        format_dict, md_dict = compute_format_data(result)
        state["stored"] = None
        if format_dict and stored(result) is not result:
            format_dict = _with_note(format_dict)
        return format_dict, md_dict

    def update_user_ns_detached(result):
        update_user_ns(stored(result))

    def fill_exec_result_detached(result):
        fill_exec_result(stored(result))
        state["stored"] = None  # the last of the three: drop the reference to the result

    hook.compute_format_data = compute_format_data_with_note
    hook.update_user_ns = update_user_ns_detached
    hook.fill_exec_result = fill_exec_result_detached
    setattr(hook, _MARK, True)


def _with_note(format_dict: dict) -> dict:
    format_dict = dict(format_dict)
    if "text/plain" in format_dict:
        format_dict["text/plain"] = f"{format_dict['text/plain']}\n{NOTE_TEXT}"
    if "text/html" in format_dict:
        format_dict["text/html"] = f"{format_dict['text/html']}{NOTE_HTML}"
    return format_dict


# ------------------------------------------------------------------ matplotlib figures
_FIGURE = "matplotlib.figure.Figure"


def _figure_printer(png):
    try:
        return png.lookup_by_type(_FIGURE)
    except KeyError:
        return None


def _register_figure_formatter(ip) -> None:
    # By name: matplotlib is not imported until a figure is displayed. The inline backend
    # (once pyplot is imported) registers its own printer, which then takes over.
    png = ip.display_formatter.formatters["image/png"]
    if _figure_printer(png) is None:
        png.for_type_by_name("matplotlib.figure", "Figure", _figure_png)


def _figure_png(fig) -> bytes:
    from IPython.core.pylabtools import print_figure

    return print_figure(fig, "png", bbox_inches="tight")


# ------------------------------------------------------------------ helpers for the widgets and nb.fit
# They live here so that this stays the one module that imports IPython.


def in_kernel() -> bool:
    """Whether this runs in a Jupyter kernel (whose front end can show widgets); never imports IPython."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return shell is not None and getattr(shell, "kernel", None) is not None


def display(obj, **kwargs) -> None:
    """``IPython.display.display``."""
    from IPython.display import display as ipython_display

    ipython_display(obj, **kwargs)


def update_display(obj, **kwargs) -> None:
    """``IPython.display.update_display``."""
    from IPython.display import update_display as ipython_update_display

    ipython_update_display(obj, **kwargs)


def on_cell_end(callback) -> "object | None":
    """Call ``callback()`` after every cell that runs from now on (IPython's ``post_run_cell``).

    Only a weak reference to a bound method's object is kept: a forgotten widget is not kept
    alive by the hook. Returns a handle for :func:`remove_cell_end`, or None outside IPython.
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    shell = get_ipython()
    if shell is None:
        return None
    method = weakref.WeakMethod(callback) if hasattr(callback, "__self__") else (lambda: callback)

    def hook(*_):
        target = method()
        if target is None:
            remove_cell_end((shell, hook))
        else:
            target()

    shell.events.register("post_run_cell", hook)
    return shell, hook


def remove_cell_end(handle) -> None:
    """Undo :func:`on_cell_end` (a None handle is fine)."""
    if handle is None:
        return
    shell, hook = handle
    try:
        shell.events.unregister("post_run_cell", hook)
    except ValueError:  # already gone
        pass
