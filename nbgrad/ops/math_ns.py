"""Two namespaces with the same names, so a derivative is written once for arrays and Tensors.

A backward formula such as ``lambda ctx, g, x, y, m: g * m.cos(x)`` runs

- on raw arrays with :data:`ARRAYS` during an ordinary backward (no graph is
  recorded, so no Tensor or node is made per step, and gradients travel
  between nodes as arrays: this is most of the speed of the backward pass), and
- on Tensors with :data:`TENSORS` when ``create_graph=True``, so the
  backward is itself recorded and higher-order gradients are exact.

Operators (``+ - * / **``, comparisons) work on both without a namespace.
Ops whose whole backward is such a formula subclass :class:`Formula`; others
call :func:`run` from their ``backward``.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from nbgrad.autograd.function import Function
from nbgrad.autograd.grad_mode import STATE
from nbgrad.ops.broadcast import sum_to, sum_to_array
from nbgrad.tensor import Tensor

ARRAYS = SimpleNamespace(
    sum_to=sum_to_array,
    cos=np.cos,
    sin=np.sin,
    cosh=np.cosh,
    sinh=np.sinh,
    sign=np.sign,
    log=np.log,
    rsqrt=lambda a: 1 / np.sqrt(a),
)

_wrap = Tensor._wrap  # bound once: run on every node of every backward

# Filled in by nbgrad.ops.elementwise once the Tensor versions exist.
TENSORS = SimpleNamespace(sum_to=sum_to)


class Formula(Function):
    """A built-in op whose backward is one formula, written once for arrays and Tensors.

    Subclasses define ``derivative(ctx, grad, *saved, m)`` as a static method:
    the input gradient(s) from the output's gradient and the values saved for
    backward (in the order saved), written with operators and the functions of
    the namespace ``m``. It returns one gradient, or a tuple with one per
    forward argument (trailing ``None`` may be left out). In an ordinary
    backward the engine calls it on arrays with :data:`ARRAYS`, so no Tensor
    or node is made per step; with ``create_graph=True`` (or hooks, anomaly
    mode) ``backward`` calls it on Tensors with :data:`TENSORS`, so the
    backward is itself recorded.

    Example::

        class Sin(Formula):
            @staticmethod
            def forward(ctx, x):
                return np.sin(x._data)

            @staticmethod
            def setup_context(ctx, inputs, output):
                ctx.save_for_backward(inputs[0])

            @staticmethod
            def derivative(ctx, g, x, m):
                return g * m.cos(x)
    """

    _builtin = True

    @staticmethod
    def derivative(ctx, grad, *saved_and_m):
        raise NotImplementedError(f"{type(ctx).__name__} must define derivative(ctx, grad, *saved, m)")

    @staticmethod
    def backward(ctx, grad: Tensor):
        if STATE.enabled:  # create_graph=True: record the backward itself
            return ctx.derivative(ctx, grad, *ctx.saved_tensors, TENSORS)
        g = grad._data
        return _as_tensors(ctx._backward_arrays(g), g, grad)

    def _backward_arrays(self, grad):
        return self.derivative(self, grad, *self._unpack_saved(True), ARRAYS)


def run(formula, grad: Tensor, *operands):
    """Evaluate ``formula(grad, *operands, m)`` in the cheapest namespace that is still exact.

    Operands are Tensors, Python scalars or ``None``; the result is a Tensor
    (or ``None``, or a tuple of those).
    """
    if STATE.enabled:  # create_graph=True: record the backward itself
        return formula(grad, *operands, TENSORS)
    g = grad._data
    if operands:
        out = formula(g, *[o._data if isinstance(o, Tensor) else o for o in operands], ARRAYS)
    else:
        out = formula(g, ARRAYS)
    return _as_tensors(out, g, grad)


def _as_tensors(out, grad_array, grad: Tensor):
    """A formula's array result(s) as Tensors."""
    if type(out) is tuple:  # inlined _as_tensor: binary ops return a pair on every backward step
        return tuple([None if o is None else grad if o is grad_array else _wrap(o) for o in out])
    return _as_tensor(out, grad_array, grad)


def _as_tensor(array, grad_array, grad: Tensor):
    """Wrap a formula's result; a gradient passed through unchanged keeps its Tensor."""
    if array is None:
        return None
    if array is grad_array:
        return grad
    return _wrap(array)
