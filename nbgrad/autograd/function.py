"""``Function``: a differentiable op, with forward and backward side by side.

An instance of a Function subclass is both the ``ctx`` handed to ``forward``
and ``backward`` and the graph node that ``Tensor.grad_fn`` points to. Every
op in ``nbgrad.ops`` is a Function; users extend nbgrad the same way::

    class Cube(nb.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return 3 * x ** 2 * grad

    y = Cube.apply(x)

``forward`` runs with grad recording off and may return Tensors or raw arrays
(nbgrad's own ops return arrays: one Tensor is then built, with its grad_fn
set, instead of two). ``backward`` receives and returns Tensors and is written
with Tensor ops, so that ``create_graph=True`` differentiates it again.
"""

from __future__ import annotations

import traceback

from nbgrad.autograd import anomaly
from nbgrad.autograd.grad_mode import STATE

# Tensor is bound by nbgrad.tensor at import time (it imports this module).
Tensor = None

# Built-in ops, whose forward returns an array, pass OUTPUT to
# save_for_backward to save the output Tensor that apply() is about to build.
OUTPUT = object()

_FREED_MESSAGE = (
    "{name}: trying to backward through the graph a second time (or to read saved tensors after they "
    "were freed). Saved intermediate values are freed when you call .backward() or autograd.grad(). "
    "Specify retain_graph=True if you need to backward through the graph a second time."
)


class _SavedOutput:
    """A saved output of the node itself, kept as its array (not its Tensor).

    Saving the output Tensor would make a cycle node -> tensor -> grad_fn=node
    that only the garbage collector could free; torch avoids it the same way.
    """

    __slots__ = ("data", "output_nr", "version_counter", "version")

    def __init__(self, tensor, output_nr):
        self.data = tensor._data
        self.output_nr = output_nr
        self.version_counter = tensor._version
        self.version = tensor._version[0]


class Function:
    """Base class of differentiable ops; subclass it and call ``apply``.

    Subclasses define ``forward(ctx, *args)`` and ``backward(ctx, *grad_outputs)``
    as static methods. ``backward`` returns one gradient per argument of
    ``forward`` (``None`` for arguments that are not Tensors or need no grad).

    Attributes:
        needs_input_grad: one bool per forward argument.
        next_functions: ``((grad_fn or leaf tensor, output_nr) | None, ...)``.
    """

    # Subclasses inside nbgrad set this to True: their forward returns raw arrays
    # and their backward is named like torch's (``MulBackward0``).
    _builtin = False
    # How many outputs forward returns (1 unless forward returns a tuple).
    _n_outputs = 1

    def __init__(self):
        self.next_edges = ()
        self.needs_input_grad = ()
        self._saved = ()
        self._to_save = ()
        self._freed = False

    # --------------------------------------------------------------- ctx API
    def save_for_backward(self, *tensors) -> None:
        """Keep these Tensors (inputs or outputs) for backward, with their versions."""
        self._to_save = tensors

    @property
    def saved_tensors(self) -> tuple:
        """The Tensors given to ``save_for_backward``; checks none was modified in place."""
        if self._freed:
            raise RuntimeError(_FREED_MESSAGE.format(name=self.name()))
        out = []
        for entry in self._saved:
            if entry is None:
                out.append(None)
                continue
            if type(entry) is _SavedOutput:
                self._check_version(entry.version_counter, entry.version, entry.data.shape)
                t = Tensor._wrap(entry.data)
                t.grad_fn = self
                t._output_nr = entry.output_nr
                t.requires_grad = True
                t._version = entry.version_counter
                out.append(t)
                continue
            tensor, version = entry
            self._check_version(tensor._version, version, tensor.shape)
            out.append(tensor)
        return tuple(out)

    def _check_version(self, counter, expected, shape):
        if counter[0] != expected:
            raise RuntimeError(
                f"{self.name()}: one of the variables needed for gradient computation has been modified by an "
                f"inplace operation: a tensor of shape {tuple(shape)} is at version {counter[0]}; expected version "
                f"{expected} instead. Use .clone() before the in-place op, or do the op out of place."
            )

    def mark_non_differentiable(self, *tensors) -> None:
        """Outputs listed here get ``requires_grad=False`` (e.g. argmax indices)."""
        self._non_differentiable = {id(t) for t in tensors}

    # ----------------------------------------------------------- graph API
    @property
    def next_functions(self) -> tuple:
        return self.next_edges

    def name(self) -> str:
        cls = type(self)
        return cls.__name__ + ("Backward0" if cls._builtin else "Backward")

    def __repr__(self) -> str:
        return f"<{self.name()}>"

    def register_hook(self, hook):
        """Run ``hook(grad_inputs, grad_outputs)`` after this node's backward."""
        hooks = self.__dict__.setdefault("_post_hooks", [])
        hooks.append(hook)
        return _RemovableHandle(hooks, hook)

    def _release(self) -> None:
        """Free what backward needed: saved tensors and any array kept on ctx."""
        keep = {"next_edges", "needs_input_grad", "_freed", "_stack"}
        for key in [k for k in self.__dict__ if k not in keep]:
            del self.__dict__[key]
        self._saved = ()
        self._freed = True

    # ------------------------------------------------------------- forward
    @staticmethod
    def forward(ctx, *args):
        raise NotImplementedError("Function subclasses must implement forward(ctx, *args)")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("Function subclasses must implement backward(ctx, *grad_outputs)")

    @classmethod
    def apply(cls, *args):
        """Run ``forward`` and, when grad is enabled, record this node in the graph."""
        ctx = cls()
        state = STATE
        record = False
        if state.enabled:
            for a in args:
                if isinstance(a, Tensor) and a.requires_grad:
                    record = True
                    break
        prev = state.enabled
        state.enabled = False
        try:
            out = cls.forward(ctx, *args)
        finally:
            state.enabled = prev

        if cls._builtin and cls._n_outputs == 1:
            # Fast path for nbgrad's own single-output ops: out is an array.
            result = Tensor._wrap(out)
            if record:
                ctx._connect(args, (result,))
            return result

        single = not isinstance(out, tuple)
        outs = (out,) if single else out
        outs = tuple(cls._as_output_tensor(o, args) for o in outs)
        if record:
            ctx._connect(args, outs)
        return outs[0] if single else outs

    @staticmethod
    def _as_output_tensor(o, args):
        if o is None or not isinstance(o, Tensor):
            return o if o is None else Tensor._wrap(o)
        if any(o is a for a in args):  # forward returned an input: give it its own Tensor
            return Tensor._wrap(o._data)
        return o

    def _connect(self, args, outputs) -> None:
        """Wire this node into the graph: edges to inputs, grad_fn on outputs, saved tensors."""
        edges = []
        needs = []
        for a in args:
            if isinstance(a, Tensor) and a.requires_grad:
                fn = a.grad_fn
                edges.append((fn, a._output_nr) if fn is not None else (a, 0))
                needs.append(True)
            else:
                edges.append(None)
                needs.append(False)
        self.next_edges = tuple(edges)
        self.needs_input_grad = tuple(needs)
        non_diff = self.__dict__.get("_non_differentiable", ())
        for nr, o in enumerate(outputs):
            if o is not None and id(o) not in non_diff:
                o.grad_fn = self
                o._output_nr = nr
                o.requires_grad = True
        if len(outputs) > 1:
            self._output_meta = [None if o is None else (o.shape, o.dtype, o._data) for o in outputs]
        if self._to_save:
            saved = []
            for t in self._to_save:
                if t is OUTPUT:
                    t = outputs[0]
                if t is None:
                    saved.append(None)
                    continue
                for nr, o in enumerate(outputs):
                    if t is o:
                        saved.append(_SavedOutput(t, nr))
                        break
                else:
                    saved.append((t, t._version[0]))
            self._saved = tuple(saved)
            self._to_save = ()
        if anomaly.STATE.enabled:
            self._stack = traceback.extract_stack()[:-3]
            anomaly.check_forward(self, outputs)


class _RemovableHandle:
    """Returned by ``register_hook``: ``handle.remove()`` unregisters the hook."""

    def __init__(self, hooks: list, hook):
        self._hooks = hooks
        self._hook = hook

    def remove(self) -> None:
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


RemovableHandle = _RemovableHandle
