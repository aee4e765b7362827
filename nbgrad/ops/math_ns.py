"""Two namespaces with the same names, so a derivative is written once for arrays and Tensors.

A backward formula such as ``lambda g, x, y, m: g * m.cos(x)`` runs

- on raw arrays with :data:`ARRAYS` during an ordinary backward (no graph is
  recorded, so no Tensor or node is made per step: this is most of the speed
  of the backward pass), and
- on Tensors with :data:`TENSORS` when ``create_graph=True``, so the
  backward is itself recorded and higher-order gradients are exact.

Operators (``+ - * / **``, comparisons) work on both without a namespace.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

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


def run_saved(formula, ctx, grad: Tensor):
    """:func:`run` with the operands that ``ctx`` saved for backward, in the order saved."""
    if STATE.enabled:
        return formula(grad, *ctx.saved_tensors, TENSORS)
    g = grad._data
    out = formula(g, *ctx._unpack_saved(True), ARRAYS)
    if type(out) is not tuple and out is not g and out is not None:  # one new array: the common case
        return _wrap(out)
    return _as_tensors(out, g, grad)


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
