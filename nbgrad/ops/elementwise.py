"""Elementwise ops with broadcasting: arithmetic, math functions, clamp, where, lerp.

NumPy ufuncs are called directly: on a CuPy array they dispatch to CuPy through
``__array_ufunc__``, so each op is written once for both backends. Python
scalars stay weak (NEP 50): ``float32_tensor * 2.5`` stays float32. Integer
tensors in float-valued ops (``/``, ``exp``...) become float32, as in torch.
"""

from __future__ import annotations

import numpy as np

from nbgrad import backend
from nbgrad.autograd.function import OUTPUT, Function
from nbgrad.ops import math_ns
from nbgrad.ops._util import PYTHON_SCALARS, as_operand, check_same_device, data, default_float
from nbgrad.ops.broadcast import sum_to
from nbgrad.tensor import Tensor, register_method

# ---------------------------------------------------------------------------
# binary arithmetic


def _binary_inputs(a, b, op: str):
    """Arrays (or weak scalars) for a binary op, with devices and dtypes settled."""
    if isinstance(a, Tensor):
        ad = a._data
        if isinstance(b, Tensor):
            bd = b._data
            if type(ad) is not type(bd):
                check_same_device(op, a, b)
        else:
            bd = b
            if type(b) is float and ad.dtype.kind in "iub":
                ad = ad.astype(backend.get_default_dtype())
        return ad, bd
    bd = b._data
    if type(a) is float and bd.dtype.kind in "iub":
        bd = bd.astype(backend.get_default_dtype())
    return a, bd


def _broadcast_error(op: str, a, b):
    shapes = [tuple(v.shape) for v in (a, b) if isinstance(v, Tensor)]
    return RuntimeError(
        f"{op}: the shapes {' and '.join(map(str, shapes))} cannot be broadcast together "
        f"(sizes must match or be 1 in each trailing dimension)"
    )


def _compute(ufunc, a, b, op: str):
    """``ufunc(a, b)`` on the operands' arrays, with a clear error when shapes do not broadcast."""
    if type(a) is Tensor and type(b) is Tensor and type(a._data) is type(b._data):
        ad, bd = a._data, b._data  # two Tensors on one device: the common case needs no settling
    else:
        ad, bd = _binary_inputs(a, b, op)
    try:
        return ufunc(ad, bd)
    except ValueError:
        if isinstance(a, Tensor) and isinstance(b, Tensor):
            raise _broadcast_error(op, a, b) from None
        raise


def _setup_shapes(ctx, inputs, output) -> None:
    a, b = inputs
    ctx.shapes = (_shape(a), _shape(b))


def _setup_operands(ctx, inputs, output) -> None:
    a, b = inputs
    a_is_t, b_is_t = isinstance(a, Tensor), isinstance(b, Tensor)
    # _save_operands, inlined: this runs for every recorded product.
    ctx._to_save = (a if a_is_t else None, b if b_is_t else None)
    ctx.scalars = (None if a_is_t else a, None if b_is_t else b)
    ctx.shapes = (a._data.shape if a_is_t else None, b._data.shape if b_is_t else None)


def _shape(v):
    return v._data.shape if isinstance(v, Tensor) else None


def _save_operands(ctx, a, b, *extra) -> None:
    """Save a binary op's operands (Tensors saved, Python scalars kept), plus ``extra``."""
    a_is_t, b_is_t = isinstance(a, Tensor), isinstance(b, Tensor)
    ctx.save_for_backward(a if a_is_t else None, b if b_is_t else None, *extra)
    ctx.scalars = (None if a_is_t else a, None if b_is_t else b)


def _operands(ctx, a, b) -> tuple:
    """The saved operands of a binary op, with the Python numbers put back where no Tensor was saved."""
    sa, sb = ctx.scalars
    return (sa if a is None else a), (sb if b is None else b)


def _saved_operands(ctx) -> tuple:
    """``(a, b, *extra)`` as given to :func:`_save_operands`."""
    a, b, *extra = ctx.saved_tensors
    return (*_operands(ctx, a, b), *extra)


class Add(math_ns.Formula):
    _ufunc = staticmethod(np.add)
    _op = "add"
    setup_context = staticmethod(_setup_shapes)

    @staticmethod
    def forward(ctx, a, b):
        return _compute(ctx._ufunc, a, b, ctx._op)

    @staticmethod
    def derivative(ctx, g, m):
        (sa, sb), (edge_a, edge_b) = ctx.shapes, ctx.next_edges
        return (
            m.sum_to(g, sa) if edge_a is not None else None,
            m.sum_to(-g if type(ctx) is Sub else g, sb) if edge_b is not None else None,
        )


class Sub(Add):
    _ufunc = staticmethod(np.subtract)
    _op = "sub"


class Mul(math_ns.Formula):
    setup_context = staticmethod(_setup_operands)

    @staticmethod
    def forward(ctx, a, b):
        return _compute(np.multiply, a, b, "mul")

    @staticmethod
    def derivative(ctx, g, a, b, m):
        (sa, sb), (edge_a, edge_b) = ctx.shapes, ctx.next_edges
        a, b = _operands(ctx, a, b)
        return (
            m.sum_to(g * b, sa) if edge_a is not None else None,
            m.sum_to(g * a, sb) if edge_b is not None else None,
        )


class Div(math_ns.Formula):
    @staticmethod
    def forward(ctx, a, b):
        ad, bd = _binary_inputs(a, b, "div")
        # True division of integers gives the default float dtype, as in torch.
        ad = default_float(ad) if isinstance(a, Tensor) else ad
        bd = default_float(bd) if isinstance(b, Tensor) else bd
        _save_operands(ctx, None, b, OUTPUT)
        ctx.shapes = (_shape(a), _shape(b))
        try:
            return np.true_divide(ad, bd)
        except ValueError:
            raise _broadcast_error("div", a, b) from None

    @staticmethod
    def derivative(ctx, g, _, b, y, m):
        (sa, sb), (edge_a, edge_b) = ctx.shapes, ctx.next_edges
        _, b = _operands(ctx, None, b)
        return (
            m.sum_to(g / b, sa) if edge_a is not None else None,
            m.sum_to(-g * y / b, sb) if edge_b is not None else None,
        )


class Pow(Function):
    _builtin = True

    @staticmethod
    def forward(ctx, a, b):
        ad, bd = _binary_inputs(a, b, "pow")
        if isinstance(a, Tensor) and type(bd) is int and bd < 0 and ad.dtype.kind in "iu":
            raise RuntimeError(f"pow: integers to negative integer powers are not allowed (base dtype {ad.dtype})")
        _save_operands(ctx, a, b, OUTPUT)
        try:
            return np.power(ad, bd)
        except ValueError:
            raise _broadcast_error("pow", a, b) from None

    @staticmethod
    def backward(ctx, grad):
        a, b, out = _saved_operands(ctx)
        need_a, need_b = ctx.needs_input_grad
        ga = gb = None
        if need_a:
            if isinstance(b, Tensor):
                ga = grad * b * a ** (b - 1)
            elif b == 0:
                ga = grad * 0
            else:
                ga = grad * (b * a ** (b - 1) if b != 2 else 2 * a)
            ga = sum_to(ga, a._data.shape)
        if need_b:
            # d(a**b)/db = a**b * log(a); where a == 0 and b >= 0 torch defines it as 0.
            with np.errstate(divide="ignore", invalid="ignore"):  # log(0) is masked just below
                log_a = log(a) if isinstance(a, Tensor) else float(np.log(a))
                gb = grad * out * log_a
            if isinstance(a, Tensor):
                gb = where((a == 0) & (b >= 0), 0.0, gb)
            gb = sum_to(gb, b._data.shape)
        return ga, gb


class Maximum(Function):
    _builtin = True
    _pick = staticmethod(np.maximum)

    @staticmethod
    def forward(ctx, a, b):
        check_same_device("maximum", a, b)
        ctx.save_for_backward(a, b)
        try:
            return type(ctx)._pick(a._data, b._data)
        except ValueError:
            raise _broadcast_error(type(ctx).__name__.lower(), a, b) from None

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        # Where both are equal the gradient is split evenly, as in torch.
        a_wins = (a._data > b._data) if type(ctx) is Maximum else (a._data < b._data)
        tie = a._data == b._data
        weight_a = Tensor._wrap(np.where(tie, 0.5, a_wins.astype(grad.dtype)).astype(grad.dtype))
        need_a, need_b = ctx.needs_input_grad
        ga = sum_to(grad * weight_a, a._data.shape) if need_a else None
        gb = sum_to(grad * (1 - weight_a), b._data.shape) if need_b else None
        return ga, gb


class Minimum(Maximum):
    _pick = staticmethod(np.minimum)


class Remainder(Function):
    """Python-style modulo (sign of the divisor), as ``torch.remainder``."""

    _builtin = True

    @staticmethod
    def forward(ctx, a, b):
        _save_operands(ctx, a, b)
        return _compute(np.mod, a, b, "remainder")

    @staticmethod
    def backward(ctx, grad):
        a, b = _saved_operands(ctx)
        need_a, need_b = ctx.needs_input_grad
        ga = sum_to(grad, a._data.shape) if need_a else None
        gb = sum_to(-grad * floor_divide(a, b), b._data.shape) if need_b else None
        return ga, gb


def _binary(cls, a, b, op: str) -> Tensor:
    # Tensors and Python numbers go straight through: this is every op's hot path.
    if type(a) is not Tensor and type(a) not in PYTHON_SCALARS:
        a = as_operand(a, op)
    if type(b) is not Tensor and type(b) not in PYTHON_SCALARS:
        b = as_operand(b, op)
    return cls.apply(a, b)


@register_method("add")
def add(input, other, *, alpha=1) -> Tensor:
    """``input + alpha * other`` with broadcasting."""
    return _binary(Add, input, other if alpha == 1 else other * alpha, "add")


@register_method("sub", "subtract")
def sub(input, other, *, alpha=1) -> Tensor:
    """``input - alpha * other`` with broadcasting."""
    return _binary(Sub, input, other if alpha == 1 else other * alpha, "sub")


@register_method("mul", "multiply")
def mul(input, other) -> Tensor:
    """Elementwise product with broadcasting."""
    return _binary(Mul, input, other, "mul")


@register_method("div", "divide", "true_divide")
def div(input, other, *, rounding_mode=None) -> Tensor:
    """Elementwise division; ``rounding_mode`` ``"floor"`` or ``"trunc"`` rounds the quotient."""
    if rounding_mode is None:
        return _binary(Div, input, other, "div")
    if rounding_mode == "floor":
        return floor_divide(input, other)
    if rounding_mode == "trunc":
        return trunc(_binary(Div, input, other, "div")).to(_result_dtype(input, other))
    raise ValueError(f"div: rounding_mode must be None, 'floor' or 'trunc', got {rounding_mode!r}")


def _result_dtype(a, b):
    return np.result_type(data(a), data(b))


@register_method("pow")
def pow(input, exponent) -> Tensor:
    """``input ** exponent`` elementwise; either may be a Python number."""
    return _binary(Pow, input, exponent, "pow")


@register_method("remainder", "fmod_like")
def remainder(input, other) -> Tensor:
    """Python-style ``input % other`` (the result has the divisor's sign)."""
    return _binary(Remainder, input, other, "remainder")


@register_method("floor_divide")
def floor_divide(input, other) -> Tensor:
    """``input // other`` rounded towards negative infinity (not differentiable)."""
    a, b = as_operand(input, "floor_divide"), as_operand(other, "floor_divide")
    return Tensor._wrap(_compute(np.floor_divide, a, b, "floor_divide"))


@register_method("maximum")
def maximum(input: Tensor, other) -> Tensor:
    """Elementwise maximum (ties share the gradient); ``other`` may be a Python number."""
    return Maximum.apply(*_as_tensor_pair(input, other, "maximum"))


@register_method("minimum")
def minimum(input: Tensor, other) -> Tensor:
    """Elementwise minimum (ties share the gradient); ``other`` may be a Python number."""
    return Minimum.apply(*_as_tensor_pair(input, other, "minimum"))


def _weak_scalar_arrays(a, b, op: str, xp):
    """Arrays for ops that need both operands as arrays, keeping Python numbers weak (NEP 50).

    ``int_tensor`` with ``2.5`` gives float32 arrays; ``float16_tensor`` with ``2.5`` stays float16;
    two Python numbers give the default dtypes (float32 / int64).
    """
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        from nbgrad.creation import _scalar_dtype

        dtype = np.result_type(_scalar_dtype(a), _scalar_dtype(b))
        return xp.asarray(a, dtype=dtype), xp.asarray(b, dtype=dtype)
    ad, bd = _binary_inputs(a, b, op)
    array = ad if isinstance(a, Tensor) else bd
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        return ad, bd
    dtype = np.result_type(array.dtype, bd if array is ad else ad)
    if array.dtype != dtype:
        array = array.astype(dtype)
    scalar = xp.asarray(bd if isinstance(a, Tensor) else ad, dtype=dtype)
    return (array, scalar) if isinstance(a, Tensor) else (scalar, array)


def _as_tensor_pair(a, b, op: str):
    """Both operands as Tensors of the weak-scalar result dtype (casts stay differentiable)."""
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        return a, b
    tensor = a if isinstance(a, Tensor) else b
    xp = backend.array_module(tensor._data)
    ad, bd = _weak_scalar_arrays(as_operand(a, op), as_operand(b, op), op, xp)
    cast = tensor.to(ad.dtype if tensor is a else bd.dtype)
    return (cast, Tensor._wrap(bd)) if tensor is a else (Tensor._wrap(ad), cast)


def _reflect(fn):
    return lambda self, other: fn(other, self)


def _operator(cls, op: str, reflected: bool = False):
    """``tensor <op> other`` straight to ``cls.apply``: the operators are the hottest path of all."""
    scalars = PYTHON_SCALARS

    if reflected:

        def method(self, other):
            if type(other) not in scalars:
                other = as_operand(other, op)
            return cls.apply(other, self)

    else:

        def method(self, other):
            if type(other) is not Tensor and type(other) not in scalars:
                other = as_operand(other, op)
            return cls.apply(self, other)

    method.__name__ = f"__{'r' if reflected else ''}{op}__"
    return method


Tensor.__add__ = _operator(Add, "add")
Tensor.__radd__ = _operator(Add, "add", reflected=True)
Tensor.__sub__ = _operator(Sub, "sub")
Tensor.__rsub__ = _operator(Sub, "sub", reflected=True)
Tensor.__mul__ = _operator(Mul, "mul")
Tensor.__rmul__ = _operator(Mul, "mul", reflected=True)
Tensor.__truediv__ = _operator(Div, "truediv")
Tensor.__rtruediv__ = _operator(Div, "truediv", reflected=True)
Tensor.__floordiv__ = floor_divide
Tensor.__rfloordiv__ = _reflect(floor_divide)
Tensor.__mod__ = remainder
Tensor.__rmod__ = _reflect(remainder)
Tensor.__pow__ = pow
Tensor.__rpow__ = _reflect(pow)


# ---------------------------------------------------------------------------
# unary math: one table row per op; each op gets its own node class.


def _unary_op(name: str, compute, derivative=None, saves: str = "x", floats: bool = True):
    """Build a Function class for a unary op.

    Args:
        name: the class name (the node is shown as ``<name>Backward0``).
        compute: array -> array.
        derivative: ``(ctx, grad, x, y, m) -> grad_input`` written with operators and
            the functions of the math namespace ``m`` (see :class:`math_ns.Formula`), so
            that it runs on arrays or on Tensors; ``None`` for a zero gradient (floor, sign...).
        saves: which of input ``x`` and output ``y`` backward needs.
        floats: integer inputs are converted to the default float first.
    """

    def forward(ctx, x):
        a = x._data
        if floats and a.dtype.kind in "iub":
            a = default_float(a)
        return compute(a)

    save_x, save_y = "x" in saves, "y" in saves

    def setup_context(ctx, inputs, output):
        # ctx.save_for_backward, inlined: this runs for every recorded op.
        ctx._to_save = (inputs[0] if save_x else None, OUTPUT if save_y else None)

    return type(
        name,
        (math_ns.Formula,),
        {
            "forward": staticmethod(forward),
            "setup_context": staticmethod(setup_context),
            "derivative": staticmethod(derivative or _zero_derivative),
            "__doc__": f"Elementwise ``{name.lower()}`` (a graph node).",
            "__module__": __name__,
        },
    )


def _zero_derivative(ctx, g, x, y, m):
    return g * 0


def _sigmoid(a):
    # exp of a negative number only: no overflow warnings for large |a|.
    xp = backend.array_module(a)
    e = np.exp(-np.abs(a))
    return xp.where(a >= 0, 1 / (1 + e), e / (1 + e)).astype(a.dtype, copy=False)


_LN2 = float(np.log(2.0))
_LN10 = float(np.log(10.0))

Neg = _unary_op("Neg", np.negative, lambda ctx, g, x, y, m: -g, saves="", floats=False)
Abs = _unary_op("Abs", np.abs, lambda ctx, g, x, y, m: g * m.sign(x), floats=False)
Exp = _unary_op("Exp", np.exp, lambda ctx, g, x, y, m: g * y, saves="y")
Exp2 = _unary_op("Exp2", np.exp2, lambda ctx, g, x, y, m: g * y * _LN2, saves="y")
Expm1 = _unary_op("Expm1", np.expm1, lambda ctx, g, x, y, m: g * (y + 1), saves="y")
Log = _unary_op("Log", np.log, lambda ctx, g, x, y, m: g / x)
Log2 = _unary_op("Log2", np.log2, lambda ctx, g, x, y, m: g / (x * _LN2))
Log10 = _unary_op("Log10", np.log10, lambda ctx, g, x, y, m: g / (x * _LN10))
Log1p = _unary_op("Log1p", np.log1p, lambda ctx, g, x, y, m: g / (x + 1))
Sqrt = _unary_op("Sqrt", np.sqrt, lambda ctx, g, x, y, m: g / (2 * y), saves="y")
Rsqrt = _unary_op("Rsqrt", lambda a: 1 / np.sqrt(a), lambda ctx, g, x, y, m: g * -0.5 * y / x, saves="xy")
Sin = _unary_op("Sin", np.sin, lambda ctx, g, x, y, m: g * m.cos(x))
Cos = _unary_op("Cos", np.cos, lambda ctx, g, x, y, m: -g * m.sin(x))
Tan = _unary_op("Tan", np.tan, lambda ctx, g, x, y, m: g * (1 + y * y), saves="y")
Asin = _unary_op("Asin", np.arcsin, lambda ctx, g, x, y, m: g * m.rsqrt(1 - x * x))
Acos = _unary_op("Acos", np.arccos, lambda ctx, g, x, y, m: -g * m.rsqrt(1 - x * x))
Atan = _unary_op("Atan", np.arctan, lambda ctx, g, x, y, m: g / (1 + x * x))
Sinh = _unary_op("Sinh", np.sinh, lambda ctx, g, x, y, m: g * m.cosh(x))
Cosh = _unary_op("Cosh", np.cosh, lambda ctx, g, x, y, m: g * m.sinh(x))
# Written with array-array products only: a Python scalar costs NumPy twice as much.
Tanh = _unary_op("Tanh", np.tanh, lambda ctx, g, x, y, m: g - g * y * y, saves="y")
Sigmoid = _unary_op("Sigmoid", _sigmoid, lambda ctx, g, x, y, m: (g - g * y) * y, saves="y")
Relu = _unary_op("Relu", lambda a: np.maximum(a, 0), lambda ctx, g, x, y, m: g * (y > 0), saves="y", floats=False)
Reciprocal = _unary_op("Reciprocal", np.reciprocal, lambda ctx, g, x, y, m: -g * y * y, saves="y")
Square = _unary_op("Square", np.square, lambda ctx, g, x, y, m: g * 2 * x, floats=False)
Sign = _unary_op("Sign", np.sign, saves="", floats=False)
Floor = _unary_op("Floor", np.floor, saves="", floats=False)
Ceil = _unary_op("Ceil", np.ceil, saves="", floats=False)
Trunc = _unary_op("Trunc", np.trunc, saves="", floats=False)
Round = _unary_op("Round", np.round, saves="", floats=False)


def _export(cls, name: str, doc: str, aliases=()):
    def op(input: Tensor) -> Tensor:
        return cls.apply(input)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc
    return register_method(name, *aliases)(op)


neg = _export(Neg, "neg", "``-input``.", ("negative", "__neg__"))
abs = _export(Abs, "abs", "``|input|``; the gradient at 0 is 0.", ("absolute", "__abs__"))
exp = _export(Exp, "exp", "``e ** input``.")
exp2 = _export(Exp2, "exp2", "``2 ** input``.")
expm1 = _export(Expm1, "expm1", "``exp(input) - 1``, accurate near 0.")
log = _export(Log, "log", "Natural logarithm.")
log2 = _export(Log2, "log2", "Base-2 logarithm.")
log10 = _export(Log10, "log10", "Base-10 logarithm.")
log1p = _export(Log1p, "log1p", "``log(1 + input)``, accurate near 0.")
sqrt = _export(Sqrt, "sqrt", "Square root.")
rsqrt = _export(Rsqrt, "rsqrt", "``1 / sqrt(input)``.")
sin = _export(Sin, "sin", "Sine.")
cos = _export(Cos, "cos", "Cosine.")
tan = _export(Tan, "tan", "Tangent.")
asin = _export(Asin, "asin", "Arcsine.", ("arcsin",))
acos = _export(Acos, "acos", "Arccosine.", ("arccos",))
atan = _export(Atan, "atan", "Arctangent.", ("arctan",))
sinh = _export(Sinh, "sinh", "Hyperbolic sine.")
cosh = _export(Cosh, "cosh", "Hyperbolic cosine.")
tanh = _export(Tanh, "tanh", "Hyperbolic tangent.")
sigmoid = _export(Sigmoid, "sigmoid", "``1 / (1 + exp(-input))``, computed without overflow.")
relu = _export(Relu, "relu", "``max(input, 0)``; the gradient at 0 is 0.")
reciprocal = _export(Reciprocal, "reciprocal", "``1 / input``.")
square = _export(Square, "square", "``input * input``.")
sign = _export(Sign, "sign", "-1, 0 or 1 by the sign of each element (zero gradient).")
floor = _export(Floor, "floor", "Round down (zero gradient).")
ceil = _export(Ceil, "ceil", "Round up (zero gradient).")
trunc = _export(Trunc, "trunc", "Round towards zero (zero gradient).", ("fix",))
Tensor.__pos__ = lambda self: self
math_ns.TENSORS.__dict__.update(cos=cos, sin=sin, cosh=cosh, sinh=sinh, sign=sign, log=log, rsqrt=rsqrt)


@register_method("round")
def round(input: Tensor, *, decimals: int = 0) -> Tensor:
    """Round half to even, like torch (zero gradient)."""
    if decimals == 0:
        return Round.apply(input)
    scale = 10.0**decimals
    return Round.apply(input * scale) / scale


# ---------------------------------------------------------------------------
# clamp, where, lerp


class Clamp(Function):
    _builtin = True

    @staticmethod
    def forward(ctx, x, lo, hi):
        ctx.save_for_backward(x)
        ctx.bounds = (lo, hi)
        out = x
        if lo is not None:
            out = Tensor._wrap(np.maximum(*_binary_inputs(out, lo, "clamp")))
        if hi is not None:
            out = Tensor._wrap(np.minimum(*_binary_inputs(out, hi, "clamp")))
        return out._data

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        lo, hi = ctx.bounds
        # The gradient passes where lo <= x <= hi (bounds included, as in torch).
        mask = None
        if lo is not None:
            mask = x >= lo
        if hi is not None:
            upper = x <= hi
            mask = upper if mask is None else mask & upper
        g = grad * mask
        need_x, need_lo, need_hi = ctx.needs_input_grad
        glo = sum_to(grad * (x < lo), lo._data.shape) if need_lo else None
        ghi = sum_to(grad * (x > hi), hi._data.shape) if need_hi else None
        return (sum_to(g, x._data.shape) if need_x else None), glo, ghi


@register_method("clamp", "clip")
def clamp(input: Tensor, min=None, max=None) -> Tensor:
    """Limit values to ``[min, max]``; either bound may be ``None``, a number or a Tensor.

    Example::

        >>> import nbgrad as nb
        >>> nb.tensor([-2.0, 0.5, 3.0]).clamp(-1, 1)
        tensor([-1.0000,  0.5000,  1.0000])
    """
    if min is None and max is None:
        raise RuntimeError("clamp: at least one of 'min' or 'max' must not be None")
    check_same_device("clamp", input, min, max)
    return Clamp.apply(input, min, max)


clip = clamp


class Where(Function):
    _builtin = True

    @staticmethod
    def forward(ctx, condition, a, b):
        ctx.mask = condition
        ctx.shapes = (_shape(a), _shape(b))
        xp = backend.array_module(condition._data)
        ad, bd = _weak_scalar_arrays(a, b, "where", xp)
        try:
            return xp.where(condition._data, ad, bd)
        except ValueError:
            shapes = [tuple(v.shape) for v in (condition, a, b) if isinstance(v, Tensor)]
            raise RuntimeError(f"where: shapes {shapes} cannot be broadcast together") from None

    @staticmethod
    def backward(ctx, grad):
        mask = ctx.mask
        sa, sb = ctx.shapes
        _, need_a, need_b = ctx.needs_input_grad
        ga = sum_to(where(mask, grad, 0.0), sa) if need_a else None
        gb = sum_to(where(mask, 0.0, grad), sb) if need_b else None
        return None, ga, gb


def where(condition: Tensor, input, other) -> Tensor:
    """``input`` where ``condition`` is True, else ``other`` (broadcast together).

    Example::

        >>> import nbgrad as nb
        >>> x = nb.tensor([-1.0, 2.0])
        >>> nb.where(x > 0, x, 0.0)
        tensor([0., 2.])
    """
    if not isinstance(condition, Tensor):
        raise TypeError(f"where: condition must be a bool Tensor, got {type(condition).__name__}")
    if condition.dtype != backend.bool_:
        condition = condition != 0
    check_same_device("where", condition, input, other)
    return Where.apply(condition, as_operand(input, "where"), as_operand(other, "where"))


Tensor.where = lambda self, condition, other: where(condition, self, other)


@register_method("lerp")
def lerp(input: Tensor, end: Tensor, weight) -> Tensor:
    """``input + weight * (end - input)``."""
    return input + weight * (end - input)
