"""Comparisons and logical ops: they return bool tensors and carry no gradient."""

from __future__ import annotations

import numpy as np

from nbgrad.ops._util import as_operand, check_same_device, data
from nbgrad.ops.elementwise import _binary_inputs, _broadcast_error
from nbgrad.tensor import Tensor, register_method


def _compare(ufunc, op: str):
    def compare(input, other) -> Tensor:
        a, b = as_operand(input, op), as_operand(other, op)
        ad, bd = _binary_inputs(a, b, op)
        try:
            return Tensor._wrap(ufunc(ad, bd))
        except ValueError:
            raise _broadcast_error(op, a, b) from None

    compare.__name__ = compare.__qualname__ = op
    compare.__doc__ = f"Elementwise ``{op}`` with broadcasting; returns a bool tensor (no gradient)."
    return compare


eq = _compare(np.equal, "eq")
ne = _compare(np.not_equal, "ne")
lt = _compare(np.less, "lt")
le = _compare(np.less_equal, "le")
gt = _compare(np.greater, "gt")
ge = _compare(np.greater_equal, "ge")
logical_and = _compare(np.logical_and, "logical_and")
logical_or = _compare(np.logical_or, "logical_or")
logical_xor = _compare(np.logical_xor, "logical_xor")
greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne

for _name, _fn in (
    ("eq", eq),
    ("ne", ne),
    ("lt", lt),
    ("le", le),
    ("gt", gt),
    ("ge", ge),
    ("logical_and", logical_and),
    ("logical_or", logical_or),
    ("logical_xor", logical_xor),
):
    register_method(_name)(_fn)

Tensor.__eq__ = eq
Tensor.__ne__ = ne
Tensor.__lt__ = lt
Tensor.__le__ = le
Tensor.__gt__ = gt
Tensor.__ge__ = ge
Tensor.__hash__ = object.__hash__  # defining __eq__ would otherwise drop hashing


def _bitwise(ufunc, op: str, reflected: bool = False):
    def fn(self, other):
        a, b = as_operand(self, op), as_operand(other, op)
        if reflected:
            a, b = b, a
        for v in (a, b):
            if isinstance(v, Tensor) and v.dtype.kind not in "iub":
                raise TypeError(f"{op}: only integer and bool tensors are supported, got {v.dtype}")
        check_same_device(op, a, b)
        return Tensor._wrap(ufunc(data(a), data(b)))

    return fn


Tensor.__and__ = _bitwise(np.bitwise_and, "and")
Tensor.__or__ = _bitwise(np.bitwise_or, "or")
Tensor.__xor__ = _bitwise(np.bitwise_xor, "xor")
Tensor.__rand__ = _bitwise(np.bitwise_and, "and", reflected=True)
Tensor.__ror__ = _bitwise(np.bitwise_or, "or", reflected=True)
Tensor.__rxor__ = _bitwise(np.bitwise_xor, "xor", reflected=True)


def _invert(self) -> Tensor:
    if self.dtype.kind not in "iub":
        raise TypeError(f"bitwise_not: only integer and bool tensors are supported, got {self.dtype}")
    return Tensor._wrap(np.invert(self._data))


Tensor.__invert__ = _invert


def _predicate(ufunc, name: str, doc: str):
    """A no-grad elementwise test that returns a bool tensor."""

    def predicate(input: Tensor) -> Tensor:
        return Tensor._wrap(ufunc(input._data))

    predicate.__name__ = predicate.__qualname__ = name
    predicate.__doc__ = doc
    return register_method(name)(predicate)


logical_not = _predicate(np.logical_not, "logical_not", "Elementwise NOT; returns a bool tensor.")
isnan = _predicate(np.isnan, "isnan", "True where the value is NaN.")
isinf = _predicate(np.isinf, "isinf", "True where the value is +Inf or -Inf.")
isfinite = _predicate(np.isfinite, "isfinite", "True where the value is neither NaN nor Inf.")


def equal(input: Tensor, other: Tensor) -> bool:
    """True when both tensors have the same shape and values."""
    check_same_device("equal", input, other)
    return input.shape == other.shape and bool((input._data == other._data).all())


def allclose(input: Tensor, other: Tensor, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False) -> bool:
    """True when ``|input - other| <= atol + rtol * |other|`` everywhere."""
    check_same_device("allclose", input, other)
    return bool(np.allclose(input._data, other._data, rtol=rtol, atol=atol, equal_nan=equal_nan))


register_method("equal")(equal)
register_method("allclose")(allclose)
