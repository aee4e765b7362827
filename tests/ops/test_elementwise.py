"""Elementwise ops: forward vs NumPy, backward by gradcheck (float64), dtypes, broadcasting, errors."""

from __future__ import annotations

import numpy as np
import pytest
from op_check import assert_close, check_op, random_inputs

import nbgrad as nb

# (nbgrad op, NumPy reference, input range): ranges keep inputs in the op's domain
# and away from kinks (abs at 0, floor at integers) where finite differences lie.
UNARY = [
    (nb.neg, np.negative, (-2, 2)),
    (nb.abs, np.abs, (0.1, 2)),
    (nb.exp, np.exp, (-2, 2)),
    (nb.exp2, np.exp2, (-2, 2)),
    (nb.expm1, np.expm1, (-2, 2)),
    (nb.log, np.log, (0.1, 3)),
    (nb.log2, np.log2, (0.1, 3)),
    (nb.log10, np.log10, (0.1, 3)),
    (nb.log1p, np.log1p, (-0.5, 3)),
    (nb.sqrt, np.sqrt, (0.1, 3)),
    (nb.rsqrt, lambda a: 1 / np.sqrt(a), (0.1, 3)),
    (nb.sin, np.sin, (-3, 3)),
    (nb.cos, np.cos, (-3, 3)),
    (nb.tan, np.tan, (-1.2, 1.2)),
    (nb.asin, np.arcsin, (-0.9, 0.9)),
    (nb.acos, np.arccos, (-0.9, 0.9)),
    (nb.atan, np.arctan, (-3, 3)),
    (nb.sinh, np.sinh, (-2, 2)),
    (nb.cosh, np.cosh, (-2, 2)),
    (nb.tanh, np.tanh, (-3, 3)),
    (nb.sigmoid, lambda a: 1 / (1 + np.exp(-a)), (-5, 5)),
    (nb.relu, lambda a: np.maximum(a, 0), (-2, 2)),
    (nb.reciprocal, np.reciprocal, (0.2, 3)),
    (nb.square, np.square, (-2, 2)),
]
ZERO_GRAD = [
    (nb.sign, np.sign),
    (nb.floor, np.floor),
    (nb.ceil, np.ceil),
    (nb.trunc, np.trunc),
    (nb.round, np.round),
]
SHAPES = [(), (5,), (3, 4), (2, 3, 4)]


@pytest.mark.parametrize("op,ref,domain", UNARY, ids=[u[0].__name__ for u in UNARY])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_unary_forward_and_gradcheck(op, ref, domain, shape, device):
    if op is nb.relu:  # keep inputs away from the kink at 0
        x = random_inputs([shape], low=0.1, high=2)[0] * np.where(random_inputs([shape], seed=1)[0] > 0, 1, -1)
        t = nb.tensor(x, device=device, requires_grad=True)
        assert_close(nb.relu(t), ref(x))
        assert nb.autograd.gradcheck(nb.relu, (t,))
        return
    check_op(op, ref, [shape], device, low=domain[0], high=domain[1])


@pytest.mark.parametrize("op,ref,domain", UNARY, ids=[u[0].__name__ for u in UNARY])
def test_unary_noncontiguous_and_method_form(op, ref, domain, device):
    check_op(
        op,
        ref,
        [(4, 3)],
        device,
        low=max(domain[0], 0.1) if op is nb.relu else domain[0],
        high=domain[1],
        noncontiguous=True,
    )
    x = nb.tensor(random_inputs([(3,)], low=domain[0], high=domain[1])[0], device=device)
    assert_close(getattr(x, op.__name__)(), op(x).numpy(force=True))


@pytest.mark.parametrize("op,ref", ZERO_GRAD, ids=[z[0].__name__ for z in ZERO_GRAD])
def test_piecewise_constant_ops_have_zero_gradient(op, ref, device):
    x = np.array([-1.7, -0.5, 0.25, 0.5, 2.5, 3.2])
    t = nb.tensor(x, device=device, requires_grad=True)
    out = op(t)
    assert_close(out, ref(x))
    out.sum().backward()
    assert_close(t.grad, np.zeros_like(x))


@pytest.mark.parametrize("op,ref", [(nb.exp, np.exp), (nb.sin, np.sin)])
def test_unary_on_empty(op, ref, device):
    x = nb.zeros(0, 3, device=device)
    assert op(x).shape == (0, 3)


def test_float_ops_promote_integers_to_default_float(device):
    x = nb.tensor([1, 4, 9], device=device)
    assert x.dtype == nb.int64
    assert x.sqrt().dtype == nb.float32
    assert x.exp().dtype == nb.float32
    assert (x / 2).dtype == nb.float32
    assert (x / x).dtype == nb.float32
    assert x.abs().dtype == nb.int64  # integer-valued ops keep the dtype
    assert (-x).dtype == nb.int64


BINARY = [
    (nb.add, np.add, (-2, 2)),
    (nb.sub, np.subtract, (-2, 2)),
    (nb.mul, np.multiply, (-2, 2)),
    (nb.div, np.divide, (0.5, 2)),
    (nb.pow, np.power, (0.5, 2)),
    (nb.maximum, np.maximum, (-2, 2)),
    (nb.minimum, np.minimum, (-2, 2)),
    (nb.remainder, np.mod, (0.3, 2)),
]
BROADCAST_SHAPES = [((3, 4), (3, 4)), ((3, 4), (4,)), ((3, 1), (1, 4)), ((2, 3, 4), (3, 1)), ((), (3,)), ((5,), ())]


@pytest.mark.parametrize("op,ref,domain", BINARY, ids=[b[0].__name__ for b in BINARY])
@pytest.mark.parametrize("shapes", BROADCAST_SHAPES, ids=str)
def test_binary_broadcasting_forward_and_gradcheck(op, ref, domain, shapes, device):
    if op is nb.remainder:  # d/db of a % b jumps where a/b is an integer: check forward only there
        check_op(op, ref, list(shapes), device, low=domain[0], high=domain[1], grad=False)
        a, b = (nb.tensor(v, device=device, requires_grad=True) for v in random_inputs(shapes, low=0.3, high=2))
        op(a, b).sum().backward()
        assert a.grad.shape == a.shape and b.grad.shape == b.shape
        return
    check_op(op, ref, list(shapes), device, low=domain[0], high=domain[1])


@pytest.mark.parametrize("op,ref,domain", BINARY[:5], ids=[b[0].__name__ for b in BINARY[:5]])
def test_binary_noncontiguous(op, ref, domain, device):
    check_op(op, ref, [(4, 3), (4, 3)], device, low=domain[0], high=domain[1], noncontiguous=True)


@pytest.mark.parametrize(
    "expr",
    [
        "x + 2",
        "2 + x",
        "x - 2",
        "2 - x",
        "x * 3",
        "3 * x",
        "x / 4",
        "4 / x",
        "x ** 2",
        "2 ** x",
        "x ** 0.5",
        "x // 0.7",
        "3 // x",
        "x % 0.7",
        "3 % x",
        "-x",
        "+x",
        "abs(x)",
    ],
)
def test_python_operators_with_scalars_on_either_side(expr, device):
    data = np.array([0.5, 1.5, 2.5])
    x = nb.tensor(data, dtype=nb.float64, device=device)
    expected = eval(expr, {"x": data})
    assert_close(eval(expr, {"x": x}), expected)


def test_scalar_gradients(device):
    # Values where 3 % x is smooth (3 / x is not an integer).
    x = nb.tensor([0.7, 1.3, 2.2], dtype=nb.float64, device=device, requires_grad=True)
    for fn in (
        lambda t: 2 - t,
        lambda t: 4 / t,
        lambda t: 2**t,
        lambda t: t**3,
        lambda t: t**-1.5,
        lambda t: 3 % t,
        lambda t: t * 2.5 + 1,
    ):
        assert nb.autograd.gradcheck(fn, (x,))


def test_pow_gradient_with_zero_base(device):
    x = nb.tensor([0.0, 2.0], dtype=nb.float64, device=device, requires_grad=True)
    e = nb.tensor([2.0, 3.0], dtype=nb.float64, device=device, requires_grad=True)
    (x**e).sum().backward()
    assert_close(x.grad, [0.0, 12.0])
    assert_close(e.grad, [0.0, 8.0 * np.log(2.0)])  # torch defines d/de at base 0 as 0


def test_ndarray_operand_and_reflected_ops(device):
    if device != "cpu":
        pytest.skip("NumPy arrays only combine with CPU tensors")
    x = nb.tensor([1.0, 2.0])
    assert isinstance(np.array([1.0, 1.0], dtype=np.float32) + x, nb.Tensor)
    assert_close(x * np.float32(3), [3.0, 6.0])


def test_maximum_ties_split_gradient(device):
    a = nb.tensor([1.0, 2.0, 3.0], dtype=nb.float64, device=device, requires_grad=True)
    b = nb.tensor([1.0, 5.0, 0.0], dtype=nb.float64, device=device, requires_grad=True)
    nb.maximum(a, b).sum().backward()
    assert_close(a.grad, [0.5, 0.0, 1.0])
    assert_close(b.grad, [0.5, 1.0, 0.0])


@pytest.mark.parametrize("lo,hi", [(-0.5, 0.5), (None, 0.3), (-0.3, None)])
def test_clamp_scalar_bounds(lo, hi, device):
    check_op(lambda t: t.clamp(lo, hi), lambda a: np.clip(a, lo, hi), [(4, 5)], device, low=-1, high=1)
    assert_close(
        nb.clip(nb.tensor([-2.0, 2.0], device=device), lo, hi), np.clip(np.array([-2.0, 2.0]), lo, hi), rtol=1e-6
    )


def test_clamp_tensor_bounds_and_boundary_gradient(device):
    check_op(
        lambda t, lo, hi: nb.clamp(t, lo, hi - 0.5 + 2),
        lambda a, lo, hi: np.clip(a, lo, hi - 0.5 + 2),
        [(3, 4), (4,), (3, 1)],
        device,
        low=-1,
        high=1,
    )
    x = nb.tensor([-1.0, 0.0, 1.0, 2.0], device=device, requires_grad=True)
    x.clamp(0.0, 1.0).sum().backward()
    assert_close(x.grad, [0.0, 1.0, 1.0, 0.0])  # the bounds themselves pass the gradient, as in torch


def test_clamp_requires_a_bound(device):
    with pytest.raises(RuntimeError, match="clamp: at least one of 'min' or 'max'"):
        nb.tensor([1.0], device=device).clamp()


def test_where_forward_backward_and_scalars(device):
    cond_np = np.array([[True, False, True], [False, True, False]])
    check_op(
        lambda a, b: nb.where(nb.tensor(cond_np, device=device), a, b),
        lambda a, b: np.where(cond_np, a, b),
        [(2, 3), (3,)],
        device,
    )
    x = nb.tensor([-1.0, 2.0, -3.0], device=device)
    assert_close(nb.where(x > 0, x, 0.0), [0.0, 2.0, 0.0])
    assert_close(x.where(x < 0, 1.0), [-1.0, 1.0, -3.0])
    assert nb.where(x > 0, x, 0.0).dtype == nb.float32


def test_lerp(device):
    check_op(lambda a, b: nb.lerp(a, b, 0.3), lambda a, b: a + 0.3 * (b - a), [(3, 4), (4,)], device)
    check_op(lambda a, b, w: a.lerp(b, w), lambda a, b, w: a + w * (b - a), [(3, 4), (3, 4), (3, 4)], device)


def test_inputs_that_do_not_require_grad_get_none(device):
    a = nb.tensor([1.0, 2.0], device=device, requires_grad=True)
    b = nb.tensor([3.0, 4.0], device=device)
    (a * b).sum().backward()
    assert b.grad is None
    assert_close(a.grad, [3.0, 4.0])


# ------------------------------------------------------------------ dtypes (NEP 50)


@pytest.mark.parametrize(
    "dtype,scalar,expected",
    [
        ("float32", 2.5, "float32"),
        ("float32", 2, "float32"),
        ("float64", 2.5, "float64"),
        ("float16", 2.5, "float16"),
        ("int64", 2, "int64"),
        ("int32", 2, "int32"),
        ("int32", 2.5, "float32"),  # torch: an integer tensor with a Python float gives the default float
        ("uint8", 2, "uint8"),
        ("bool", 2, "int64"),
    ],
)
def test_python_scalars_are_weak(dtype, scalar, expected, device):
    x = nb.ones(3, dtype=dtype, device=device)
    assert (x * scalar).dtype == nb.backend.to_dtype(expected)
    assert (scalar + x).dtype == nb.backend.to_dtype(expected)


@pytest.mark.parametrize(
    "a,b", [("float32", "float64"), ("int32", "int64"), ("int64", "float32"), ("uint8", "int8"), ("float16", "float32")]
)
def test_tensor_tensor_promotion_follows_numpy(a, b, device):
    x, y = nb.ones(2, dtype=a, device=device), nb.ones(2, dtype=b, device=device)
    assert (x + y).dtype == np.result_type(np.dtype(a), np.dtype(b))


# ------------------------------------------------------------------ comparisons / logical


@pytest.mark.parametrize(
    "op,ref",
    [
        (nb.eq, np.equal),
        (nb.ne, np.not_equal),
        (nb.lt, np.less),
        (nb.le, np.less_equal),
        (nb.gt, np.greater),
        (nb.ge, np.greater_equal),
    ],
)
def test_comparisons(op, ref, device):
    a, b = random_inputs([(3, 4), (4,)])
    b[0] = a[0, 0]
    out = op(nb.tensor(a, device=device), nb.tensor(b, device=device))
    assert out.dtype == nb.bool_
    assert_close(out, ref(a, b))
    assert_close(op(nb.tensor(a, device=device), 0.0), ref(a, 0.0))


def test_comparison_operators_and_logical_ops(device):
    x = nb.tensor([1.0, 2.0, 3.0], device=device)
    assert (x == 2).tolist() == [False, True, False]
    assert (x != 2).tolist() == [True, False, True]
    assert (x < 2).tolist() == [True, False, False]
    assert (2 < x).tolist() == [False, False, True]
    assert ((x > 1) & (x < 3)).tolist() == [False, True, False]
    assert ((x < 2) | (x > 2)).tolist() == [True, False, True]
    assert (~(x > 1)).tolist() == [True, False, False]
    assert nb.logical_and(x > 1, x < 3).tolist() == [False, True, False]
    assert nb.logical_or(x > 2, x < 2).tolist() == [True, False, True]
    assert nb.logical_not(x > 1).tolist() == [True, False, False]
    assert nb.logical_xor(x > 1, x > 2).tolist() == [False, True, False]
    assert not (x > 1).requires_grad


def test_isnan_isinf_isfinite(device):
    x = nb.tensor([1.0, float("nan"), float("inf"), -float("inf")], device=device)
    assert x.isnan().tolist() == [False, True, False, False]
    assert nb.isinf(x).tolist() == [False, False, True, True]
    assert nb.isfinite(x).tolist() == [True, False, False, False]


def test_bitwise_ops_reject_floats(device):
    with pytest.raises(TypeError, match="and: only integer and bool tensors"):
        nb.tensor([1.0], device=device) & nb.tensor([1.0], device=device)


def test_equal_and_allclose(device):
    a = nb.tensor([1.0, 2.0], device=device)
    assert nb.equal(a, a.clone())
    assert not nb.equal(a, nb.tensor([1.0, 2.5], device=device))
    assert nb.allclose(a, a + 1e-9)


# ------------------------------------------------------------------ errors


def test_broadcast_error_names_op_and_shapes(device):
    a, b = nb.ones(3, 4, device=device), nb.ones(5, device=device)
    with pytest.raises(RuntimeError, match=r"mul: the shapes \(3, 4\) and \(5,\) cannot be broadcast"):
        a * b
    with pytest.raises(RuntimeError, match=r"add: the shapes \(3, 4\) and \(5,\)"):
        a + b
    with pytest.raises(RuntimeError, match=r"div: the shapes"):
        a / b
    with pytest.raises(RuntimeError, match=r"gt: the shapes"):
        a > b


def test_unsupported_operand_type():
    with pytest.raises(TypeError, match="add: unsupported operand type str"):
        nb.ones(2) + "a"


def test_integer_to_negative_power_raises():
    with pytest.raises(RuntimeError, match="pow: integers to negative integer powers"):
        nb.tensor([2, 3]) ** -1


def test_div_rounding_modes():
    a, b = nb.tensor([7.0, -7.0]), nb.tensor([2.0, 2.0])
    assert nb.div(a, b, rounding_mode="floor").tolist() == [3.0, -4.0]
    assert nb.div(a, b, rounding_mode="trunc").tolist() == [3.0, -3.0]
    with pytest.raises(ValueError, match="div: rounding_mode must be"):
        nb.div(a, b, rounding_mode="up")
