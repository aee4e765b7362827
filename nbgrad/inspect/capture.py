"""``capture``: record what every submodule of a model returns (and takes, and gets as gradient).

Forward hooks on every submodule record detached outputs as the model runs;
the result is an ordered mapping from module path to output, which also
renders as a table of per-layer statistics in a notebook.
"""

from __future__ import annotations

from collections.abc import Mapping

from nbgrad.display.table import ReportRepr
from nbgrad.tensor import Tensor


class CallRecord:
    """One call of one submodule, as recorded by :func:`capture`.

    Attributes:
        path: the module's dotted path in the model (``""`` for the model itself).
        module_type: the module's class name (``"ReLU"``).
        call: the index of this call among the calls of the same module (0, 1, ...).
        output: what ``forward`` returned, tensors detached (tuples and lists keep their structure).
        input: the positional arguments, detached (``None`` unless ``inputs=True``).
        grad: the gradient of the loss w.r.t. ``output``, with the same structure, once
            ``backward()`` has run (``None`` unless ``grads=True``; ``None`` in place of outputs
            that got no gradient).
    """

    __slots__ = ("path", "module_type", "call", "output", "input", "grad")

    def __init__(self, path: str, module_type: str, call: int, output, input=None):
        self.path = path
        self.module_type = module_type
        self.call = call
        self.output = output
        self.input = input
        self.grad = None

    def __repr__(self) -> str:
        return f"CallRecord(path={self.path!r}, module_type={self.module_type!r}, call={self.call})"


class Capture(ReportRepr, Mapping):
    """The values recorded by :func:`capture`: an ordered mapping ``module path -> output``.

    Keys are the dotted paths of ``model.named_modules()`` (the model itself is
    ``""``), in the order in which the modules were FIRST called. A module
    called several times (a cell in an RNN loop, a block applied twice) has
    one key; ``acts[path]`` is its LAST output and ``acts.calls(path)`` the
    outputs of all its calls, in order. Modules that did not run have no key;
    a module registered under several names is recorded under its first one.

    Tensors are detached and share memory with the model's values (nothing is
    copied, and no graph is kept alive): an in-place op run later on the same
    tensor (``ReLU(inplace=True)``) changes what was captured.

    Attributes:
        records: every call, in call order (:class:`CallRecord`).
    """

    _text_renderer, _html_renderer = "capture_text", "capture_html"

    def __init__(self, model, inputs: bool = False, grads: bool = False):
        self.model = model
        self.keep_inputs = bool(inputs)
        self.keep_grads = bool(grads)
        self.records: list = []
        self._by_path: dict = {}
        self._handles: list = []

    # ------------------------------------------------------------- recording
    def __enter__(self) -> "Capture":
        if self._handles:
            raise RuntimeError("capture: this Capture is already recording; use a new nb.capture(model)")
        try:
            for path, module in self.model.named_modules():
                self._handles.append(module.register_forward_hook(self._hook(path)))
        except BaseException:
            self._remove_hooks()
            raise
        return self

    def __exit__(self, *exc) -> bool:
        self._remove_hooks()
        return False

    def _remove_hooks(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def _hook(self, path: str):
        def record(module, args, output):
            calls = self._by_path.setdefault(path, [])
            rec = CallRecord(path, type(module).__name__, len(calls), _detached(output))
            if self.keep_inputs:
                rec.input = _detached(args)
            if self.keep_grads:
                _watch_grads(rec, output)
            calls.append(rec)
            self.records.append(rec)

        return record

    # ------------------------------------------------------------- mapping
    def __getitem__(self, path: str):
        calls = self._by_path.get(path)
        if not calls:
            raise KeyError(f"capture: no module at path {path!r} ran; recorded paths: {list(self._by_path)}")
        return calls[-1].output

    def __iter__(self):
        return iter(self._by_path)

    def __len__(self) -> int:
        return len(self._by_path)

    def calls(self, path: str) -> list:
        """The outputs of every call of the module at ``path``, in call order."""
        return [rec.output for rec in self._records_of(path)]

    def input(self, path: str, call: int = -1):
        """The positional arguments of one call (the last by default); needs ``inputs=True``."""
        if not self.keep_inputs:
            raise RuntimeError("capture: inputs were not recorded; use nb.capture(model, inputs=True)")
        return self._records_of(path)[call].input

    def grad(self, path: str, call: int = -1):
        """The gradient w.r.t. the output of one call (the last by default), after ``backward()``.

        Needs ``grads=True``; ``None`` before backward (or for outputs that took no part in it).
        """
        if not self.keep_grads:
            raise RuntimeError("capture: gradients were not recorded; use nb.capture(model, grads=True)")
        return self._records_of(path)[call].grad

    def _records_of(self, path: str) -> list:
        calls = self._by_path.get(path)
        if not calls:
            raise KeyError(f"capture: no module at path {path!r} ran; recorded paths: {list(self._by_path)}")
        return calls

    def n_calls(self, path: str) -> int:
        """How many times the module at ``path`` ran (0 if never)."""
        return len(self._by_path.get(path, ()))


def capture(model, inputs: bool = False, grads: bool = False) -> Capture:
    """Record the output of every submodule of ``model`` while a block runs.

    Use it as a context manager; forward hooks are put on every submodule on
    entry and removed on exit (also when the block raises)::

        with nb.capture(model) as acts:
            loss = loss_fn(model(x), y)
        acts["encoder.0"]          # the output of model.encoder[0]
        acts.calls("cell")         # every output of a module called in a loop
        acts                       # in a notebook: a table of per-layer statistics

    Args:
        model: a :class:`nbgrad.nn.Module`.
        inputs: also record each call's positional arguments (``acts.input(path)``).
        grads: also record the gradient w.r.t. each output once ``backward()`` runs
            (``acts.grad(path)``); backward may run inside or after the block, as long
            as the outputs were made inside it.

    Returns:
        a :class:`Capture`: an ordered mapping from module path (``""`` for ``model``
        itself) to the output of its last call.

    Example::

        >>> import nbgrad as nb
        >>> model = nb.nn.Sequential(nb.nn.Linear(3, 4), nb.nn.ReLU())
        >>> with nb.inspect.capture(model) as acts:
        ...     y = model(nb.ones(2, 3))
        >>> list(acts), acts["1"].shape
        (['0', '1', ''], nbgrad.Size([2, 4]))
    """
    return Capture(model, inputs=inputs, grads=grads)


def _detached(value):
    """``value`` with every Tensor detached (tuples, lists and dicts keep their structure)."""
    if isinstance(value, Tensor):
        return value.detach()
    if isinstance(value, tuple):
        items = [_detached(v) for v in value]
        return type(value)(*items) if hasattr(value, "_fields") else tuple(items)
    if isinstance(value, list):
        return [_detached(v) for v in value]
    if isinstance(value, dict):
        return {k: _detached(v) for k, v in value.items()}
    return value


def _leaf_positions(value, prefix=()):
    """``(index path, tensor)`` for every Tensor inside ``value`` (tuples, lists, dicts), in order."""
    if isinstance(value, Tensor):
        yield prefix, value
    elif isinstance(value, (tuple, list)):
        for i, v in enumerate(value):
            yield from _leaf_positions(v, (*prefix, i))
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _leaf_positions(v, (*prefix, k))


def _watch_grads(rec: CallRecord, output) -> None:
    """Hook every output tensor that needs a gradient; ``rec.grad`` mirrors the output's structure."""
    leaves = list(_leaf_positions(output))
    if not leaves:
        return
    slots = {index: None for index, _ in leaves}

    def rebuild():
        if leaves[0][0] == ():  # a single tensor
            return slots[()]
        return _fill(rec.output, slots, ())

    for index, tensor in leaves:
        if not tensor.requires_grad:
            continue

        def keep(grad, index=index):
            slots[index] = grad.detach()
            rec.grad = rebuild()

        tensor.register_hook(keep)


def _fill(template, slots: dict, prefix: tuple):
    """``template``'s structure with each tensor replaced by ``slots[its index path]``."""
    if isinstance(template, Tensor):
        return slots.get(prefix)
    if isinstance(template, tuple):
        items = [_fill(v, slots, (*prefix, i)) for i, v in enumerate(template)]
        return type(template)(*items) if hasattr(template, "_fields") else tuple(items)
    if isinstance(template, list):
        return [_fill(v, slots, (*prefix, i)) for i, v in enumerate(template)]
    if isinstance(template, dict):
        return {k: _fill(v, slots, (*prefix, k)) for k, v in template.items()}
    return None
