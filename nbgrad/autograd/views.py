"""Views and in-place ops: how a view's history follows its base, as in torch.

A view (``y[1:]``, ``y.T``, ``y.view(6)``...) shares its base's memory and
version counter, and remembers how it was made: the base (the tensor at the
root of a chain of views) and the view ops that lead from it, as
``view._view = (base, steps, version)``.

- An in-place op on a view changes the base too, so the base's history is
  rewritten: its new ``grad_fn`` is a :class:`CopySlices` node, whose backward
  sends the gradient of the written region to the new values and the rest to
  the base's old history. The view is then re-made from the new base.
- An in-place op on the base (or on another view of it) bumps the shared
  version counter; a view whose recorded version is behind is re-made from the
  base (:func:`refresh`) the next time it is used in a recorded op, or as a
  root of ``backward``, so its gradient reaches the base's current history.

Without this, ``v = y[1:]; v.mul_(3); y.sum().backward()`` would silently
ignore the multiplication.
"""

from __future__ import annotations

from nbgrad import backend
from nbgrad.autograd import function
from nbgrad.autograd.function import Function
from nbgrad.autograd.grad_mode import enable_grad, no_grad

Tensor = None  # bound by nbgrad.tensor


def mark_view(out, input, op, *args):
    """Record that ``out = op.apply(input, *args)`` is a view of ``input``; returns ``out``.

    ``out`` shares ``input``'s version counter, and remembers the root base
    and the chain of view ops from it, so that it can be re-made from the base.
    """
    out._version = input._version
    parent = input._view
    if parent is None:
        out._view = (input, ((op, args),), input._version[0])
    else:
        base, steps, _ = parent
        out._view = (base, steps + ((op, args),), input._version[0])
    return out


def apply_view(op, input, *args):
    """``op.apply(input, *args)`` for a view op, with the result marked as a view of ``input``."""
    return mark_view(op.apply(input, *args), input, op, *args)


def is_stale(t) -> bool:
    """True when ``t`` is a view whose base changed in place since its history was last derived."""
    view = t._view
    return view is not None and view[2] != t._version[0]


def _replay(base, steps):
    """The view ops of ``steps`` applied to ``base`` (recorded when grad mode is on)."""
    t = base
    for op, args in steps:
        t = op.apply(t, *args)
    return t


def refresh(view) -> None:
    """Re-derive a view's history from its base (after an in-place change of the base or a sibling view)."""
    base, steps, _ = view._view
    if base.requires_grad:
        with enable_grad():  # also when backward (no recording) or no_grad asks for it
            fresh = _replay(base, steps)
        view.grad_fn, view._output_nr, view.requires_grad = fresh.grad_fn, fresh._output_nr, fresh.requires_grad
    view._view = (base, steps, view._version[0])


def rewrite_base(view, values) -> None:
    """After ``values`` were written into ``view`` in place, make the base's history say so.

    Args:
        view: the view that was written (its memory, so the base's, already holds ``values``).
        values: the Tensor that was written, with the history of the new values.
    """
    base, steps, _ = view._view
    # Which elements of the base the view covers: the same view ops on the base's flat positions.
    positions = backend.array_module(base._data).arange(base._data.size).reshape(base._data.shape)
    with no_grad():
        covered = _replay(Tensor._wrap(positions), steps)._data
    old = Tensor._wrap(base._data)  # the base's old history (its memory is already the new value)
    old.grad_fn, old._output_nr, old.requires_grad = base.grad_fn, base._output_nr, base.requires_grad
    new = CopySlices.apply(old, values, covered)
    base.grad_fn, base._output_nr, base.requires_grad = new.grad_fn, 0, True
    refresh(view)


function._refresh_view = refresh


class CopySlices(Function):
    """The base after an in-place write into one of its views: old base outside the view, new values inside.

    ``forward`` returns the base's memory as it is (already written); backward
    splits the gradient between the old history (outside the view) and the
    written values (inside, gathered to the view's shape).
    """

    _builtin = True

    def name(self) -> str:
        return "CopySlices"  # torch's name for this node

    @staticmethod
    def forward(ctx, base, values, covered):
        ctx.covered = covered
        return base._data

    @staticmethod
    def backward(ctx, grad):
        covered = ctx.covered
        edge_base, edge_values = ctx.next_edges[:2]
        g_base = g_values = None
        if edge_base is not None:
            xp = backend.array_module(grad._data)
            outside = xp.ones(grad._data.size, dtype=grad._data.dtype)
            outside[covered.ravel()] = 0
            g_base = grad * Tensor._wrap(outside.reshape(grad._data.shape))
        if edge_values is not None:
            g_values = grad.reshape(-1)[Tensor._wrap(covered)]
        return g_base, g_values, None
