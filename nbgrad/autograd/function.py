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

# Tensor (and its fast constructor) are bound by nbgrad.tensor at import time (it imports this module),
# views.refresh by nbgrad.autograd.views (which imports this module too).
Tensor = None
_wrap = None
_refresh_view = None


class _Scope:
    """The module call whose ``forward`` is running (a :class:`ModuleCall`, set by ``nn.Module.__call__``).

    Each recorded node remembers it as ``node._module``: the graph view uses it
    to collapse thousands of nodes into one box per module call, and anomaly
    mode to name the module that produced a NaN.
    """

    __slots__ = ("module",)

    def __init__(self):
        self.module = None


class ModuleCall:
    """One call of a module: the module and the call it happened inside (``None`` at the top).

    One is made per module call (not per op), so that the calls of a module
    used several times, such as an RNN cell in a loop, stay apart.
    """

    __slots__ = ("module", "parent")

    def __init__(self, module, parent: "ModuleCall | None"):
        self.module = module
        self.parent = parent


SCOPE = _Scope()

# Built-in ops, whose forward returns an array, pass OUTPUT to
# save_for_backward to save the output Tensor that apply() is about to build.
OUTPUT = object()

FREED_MESSAGE = (
    "{name}: trying to backward through the graph a second time (or to read saved tensors after they "
    "were freed). Saved intermediate values are freed when you call .backward() or autograd.grad(). "
    "Specify retain_graph=True if you need to backward through the graph a second time."
)


# A saved entry is ``None``, ``(tensor, version)`` for an input, or
# ``(array, version_counter, version, output_nr)`` for an output of the node
# itself: saving the output Tensor would make a cycle node -> tensor -> grad_fn
# = node that only the garbage collector could free (torch avoids it the same
# way). Plain tuples: one is made per saved value of every recorded op.


def _saved_output(tensor, output_nr: int) -> tuple:
    return (tensor._data, tensor._version, tensor._version[0], output_nr)


class Function:
    """Base class of differentiable ops; subclass it and call ``apply``.

    Subclasses define ``forward(ctx, *args)`` and ``backward(ctx, *grad_outputs)``
    as static methods. ``backward`` returns one gradient per argument of
    ``forward`` (``None`` for arguments that are not Tensors or need no grad).

    Attributes:
        needs_input_grad: one bool per forward argument.
        next_functions: ``((grad_fn or leaf tensor, output_nr) | None, ...)``.
    """

    # What describes the graph lives in slots, apart from what backward needs (the instance
    # ``__dict__``: saved tensors and whatever an op keeps on ctx). Freeing a node after its
    # backward is then one dict clear, and a freed graph can still be drawn. The slots are
    # set when the node is recorded (``_stack`` only in anomaly mode).
    __slots__ = ("next_edges", "_module", "_out_shape", "_stack", "_freed", "__dict__", "__weakref__")

    # Subclasses inside nbgrad set this to True: their forward returns raw arrays
    # and their backward is named like torch's (``MulBackward0``).
    _builtin = False
    # How many outputs forward returns (1 unless forward returns a tuple).
    _n_outputs = 1

    # Per-node state starts as these class-level defaults: apply() makes nodes
    # without running __init__, which matters when every op makes one.
    _saved = ()
    _to_save = ()
    _has_hooks = False  # set by hooks_table(): lets the engine skip hook lookups
    # True for nodes the engine may run on its inlined fast path: built-in, one
    # output, no hooks. Set per class by __init_subclass__, cleared by hooks_table().
    _plain = False
    # Optional ``setup_context(ctx, inputs, output)``, as in torch 2: called only
    # when the op is recorded, so no-grad calls (inference, and the ops inside a
    # backward pass) skip saving altogether.
    setup_context = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls._plain = cls._builtin and cls._n_outputs == 1

    @property
    def needs_input_grad(self) -> tuple:
        """One bool per forward argument: does it need a gradient?"""
        return tuple([e is not None for e in self.next_edges])

    # --------------------------------------------------------------- ctx API
    def save_for_backward(self, *tensors) -> None:
        """Keep these Tensors (inputs or outputs) for backward, with their versions."""
        self._to_save = tensors

    @property
    def saved_tensors(self) -> tuple:
        """The Tensors given to ``save_for_backward``; checks none was modified in place."""
        return tuple(self._unpack_saved(as_arrays=False))

    @property
    def saved_arrays(self) -> list:
        """The saved values as raw arrays (version-checked): backward's fast path when no graph is made."""
        return self._unpack_saved(as_arrays=True)

    def _unpack_saved(self, as_arrays: bool) -> tuple:
        if self._freed:
            raise RuntimeError(FREED_MESSAGE.format(name=self.name()))
        out = []
        for entry in self._saved:
            if entry is None:
                out.append(None)
            elif len(entry) == 2:  # an input: (tensor, version)
                tensor, version = entry
                if tensor._version[0] != version:
                    self._check_version(tensor._version, version, tensor.shape)
                out.append(tensor._data if as_arrays else tensor)
            else:  # an output of this node: rebuilt around its array
                array, counter, version, output_nr = entry
                if counter[0] != version:
                    self._check_version(counter, version, array.shape)
                if as_arrays:
                    out.append(array)
                    continue
                t = Tensor._wrap(array)
                t.grad_fn = self
                t._output_nr = output_nr
                t.requires_grad = True
                t._version = counter
                out.append(t)
        return out

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

    def _repr_html_(self) -> str:
        """The graph below this node as inline SVG (``loss.grad_fn`` as a notebook cell's last line)."""
        from nbgrad.display import graph  # local: the renderer is only needed when a notebook shows a node

        return graph.render_html(graph.collapse(graph.extract(self)))

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        return {"text/plain": repr(self), "text/html": self._repr_html_()}

    def hooks_table(self, name: str, default):
        """The node's hook container ``name`` (created from ``default``); marks the node as hooked."""
        self._has_hooks = True
        self._plain = False
        return self.__dict__.setdefault(name, default)

    def register_hook(self, hook):
        """Run ``hook(grad_inputs, grad_outputs)`` after this node's backward."""
        hooks = self.hooks_table("_post_hooks", [])
        hooks.append(hook)
        return _RemovableHandle(hooks, hook)

    def _release(self) -> None:
        """Free what backward needed: saved tensors and anything else kept on ctx (not the slots)."""
        self.__dict__.clear()
        self._freed = True

    def _backward_arrays(self, grad):
        """``backward`` on raw arrays: how the engine runs a plain node when no graph is recorded.

        Gradients travel between nodes as arrays then (no Tensor per step).
        This default wraps and unwraps around ``backward``; ops whose backward
        is a formula over arrays (``nbgrad.ops.math_ns.Formula``) skip that.
        """
        out = type(self).backward(self, _wrap(grad))
        if type(out) is tuple:
            return tuple([None if g is None else g._data for g in out])
        return None if out is None else out._data

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
        ctx = object.__new__(cls)
        state = STATE
        if not state.enabled:  # no_grad, or a backward pass without create_graph
            if cls._plain:
                return _wrap(cls.forward(ctx, *args))
            ctx.next_edges = (None,) * len(args)  # so that forward can read ctx.needs_input_grad, as in torch
            return cls._wrap_outputs(cls.forward(ctx, *args), args)[0]

        # One edge per argument: (grad_fn, output_nr), (leaf, 0), or None (no grad needed).
        # Written out here rather than in a helper: this runs for every op.
        edges = []
        record = False
        for a in args:
            if isinstance(a, Tensor):
                view = a._view
                if view is not None and view[2] != a._version[0]:  # its base changed in place since
                    _refresh_view(a)
                if a.requires_grad:
                    fn = a.grad_fn
                    edges.append((fn, a._output_nr) if fn is not None else (a, 0))
                    record = True
                    continue
            edges.append(None)

        if cls._plain:
            # Fast path for nbgrad's own ops: forward works on arrays (it records
            # nothing, so grad mode needs no switching) and returns one array.
            result = _wrap(cls.forward(ctx, *args))
            if record:
                ctx.next_edges = tuple(edges)
                ctx._record_one(args, result)
            return result

        ctx.next_edges = tuple(edges)  # before forward, which may read ctx.needs_input_grad
        state.enabled = False
        try:
            out = cls.forward(ctx, *args)
        finally:
            state.enabled = True
        result, outs = cls._wrap_outputs(out, args)
        if record:
            ctx._connect(args, outs)
        return result

    def _record_one(self, args, result) -> None:
        """:meth:`_connect` for a built-in op with one output (the hot path, kept lean)."""
        self._out_shape = result._data.shape  # for the graph view; a tuple the array already has
        self._module = SCOPE.module
        self._freed = False
        result.grad_fn = self
        result.requires_grad = True
        setup = self.setup_context
        if setup is not None:
            setup(self, args, result)
        to_save = self._to_save  # from setup_context, or from forward
        if to_save:
            saved = []
            for t in to_save:
                if t is None:
                    saved.append(None)
                elif t is OUTPUT:
                    saved.append(_saved_output(result, 0))
                else:
                    saved.append((t, t._version[0]))
            self._saved = tuple(saved)
            # _to_save is left as is: a built-in op saves its output as the OUTPUT marker, never as
            # the Tensor, so it holds no cycle, and release() drops it with everything else.
        if anomaly.STATE.enabled:
            self._stack = traceback.extract_stack()[:-3]
            anomaly.check_forward(self, (result,), args)

    @classmethod
    def _wrap_outputs(cls, out, args):
        """(what apply returns, tuple of output Tensors) from what forward returned."""
        if not isinstance(out, tuple):
            outs = (cls._as_output_tensor(out, args),)
            return outs[0], outs
        outs = tuple(cls._as_output_tensor(o, args) for o in out)
        return outs, outs

    @staticmethod
    def _as_output_tensor(o, args):
        if o is None or not isinstance(o, Tensor):
            return o if o is None else Tensor._wrap(o)
        if any(o is a for a in args):  # forward returned an input: give it its own Tensor
            return Tensor._wrap(o._data)
        return o

    def _connect(self, args, outputs) -> None:
        """Wire this node into the graph (its edges are set already): grad_fn on outputs, saved tensors."""
        self._out_shape = outputs[0]._data.shape if outputs and outputs[0] is not None else None
        self._module = SCOPE.module
        self._freed = False
        non_diff = self.__dict__.get("_non_differentiable", ())
        for nr, o in enumerate(outputs):
            if o is not None and id(o) not in non_diff:
                o.grad_fn = self
                o._output_nr = nr
                o.requires_grad = True
        if len(outputs) > 1:
            self._n_outputs = len(outputs)
            self._output_meta = [None if o is None else (o.shape, o.dtype, o._data) for o in outputs]
        setup = type(self).setup_context
        if setup is not None:
            setup(self, args, outputs[0] if len(outputs) == 1 else outputs)
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
                        saved.append(_saved_output(t, nr))
                        break
                else:
                    saved.append((t, t._version[0]))
            self._saved = tuple(saved)
            self._to_save = ()
        if anomaly.STATE.enabled:
            self._stack = traceback.extract_stack()[:-3]
            anomaly.check_forward(self, outputs, args)


class _RemovableHandle:
    """Returned by ``register_hook``: ``handle.remove()`` unregisters the hook."""

    def __init__(self, hooks: list, hook):
        self._hooks = hooks
        self._hook = hook

    def remove(self) -> None:
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


RemovableHandle = _RemovableHandle
