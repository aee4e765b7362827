"""Property tests: gradients through broadcasting, and NEP 50 dtype promotion.

For random broadcast-compatible shapes (0-d and size-1 dimensions included),
the gradient of ``sum(g * (a op b))`` w.r.t. ``a`` must be the elementwise
derivative times ``g``, summed over the axes that broadcasting added, and it
must have exactly ``a``'s shape.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes

import nbgrad as nb


def sum_to_shape(array, shape):
    """NumPy reference of the adjoint of broadcasting: sum ``array`` down to ``shape``."""
    lead = array.ndim - len(shape)
    array = array.sum(axis=tuple(range(lead))) if lead else array
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and array.shape[i] != 1)
    return array.sum(axis=axes, keepdims=True) if axes else array


# op -> (nbgrad op, NumPy forward, NumPy partial derivatives (d/da, d/db) at broadcast values)
OPS = {
    "add": (lambda a, b: a + b, np.add, lambda a, b: (np.ones_like(a * b), np.ones_like(a * b))),
    "sub": (lambda a, b: a - b, np.subtract, lambda a, b: (np.ones_like(a * b), -np.ones_like(a * b))),
    "mul": (lambda a, b: a * b, np.multiply, lambda a, b: (b + 0 * a, a + 0 * b)),
    "div": (lambda a, b: a / b, np.divide, lambda a, b: (1 / b + 0 * a, -a / b**2)),
    "maximum": (nb.maximum, np.maximum, lambda a, b: ((a > b) + 0.0 * b, (b > a) + 0.0 * a)),
    "minimum": (nb.minimum, np.minimum, lambda a, b: ((a < b) + 0.0 * b, (b < a) + 0.0 * a)),
}

# ``device`` is a constant string per test, so sharing it across examples is safe.
device_ok = settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

shapes_2 = mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, min_side=1, max_side=3)
shapes_3 = mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=3, min_side=1, max_side=3)


def _values(rng, shape, away_from_zero=False):
    v = rng.uniform(-2.0, 2.0, size=shape)
    if away_from_zero:
        v = np.where(v >= 0, v + 0.5, v - 0.5)
    return np.asarray(v)


def _grads(device, fn, arrays, upstream):
    tensors = [nb.tensor(a, device=device, requires_grad=True) for a in arrays]
    out = fn(*tensors)
    out.backward(nb.tensor(upstream, device=device))
    return out, [nb.backend.to_numpy(t.grad._data) for t in tensors]


@pytest.mark.parametrize("name", sorted(OPS))
@device_ok
@given(shapes=shapes_2, seed=st.integers(0, 2**32 - 1))
def test_binary_gradients_sum_over_broadcast_axes(device, name, shapes, seed):
    op, forward, derivative = OPS[name]
    (sa, sb), out_shape = shapes.input_shapes, shapes.result_shape
    rng = np.random.default_rng(seed)
    a, b = _values(rng, sa), _values(rng, sb, away_from_zero=(name == "div"))
    g = _values(rng, out_shape)
    out, (ga, gb) = _grads(device, op, [a, b], g)
    np.testing.assert_allclose(nb.backend.to_numpy(out._data), forward(a, b), rtol=1e-12)
    da, db = derivative(a, b)
    assert ga.shape == sa and gb.shape == sb
    np.testing.assert_allclose(ga, sum_to_shape(g * da, sa), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(gb, sum_to_shape(g * db, sb), rtol=1e-10, atol=1e-12)


@device_ok
@given(shapes=shapes_3, seed=st.integers(0, 2**32 - 1))
def test_where_gradients_sum_over_broadcast_axes(device, shapes, seed):
    (sc, sa, sb), out_shape = shapes.input_shapes, shapes.result_shape
    rng = np.random.default_rng(seed)
    cond, a, b, g = rng.random(sc) > 0.5, _values(rng, sa), _values(rng, sb), _values(rng, out_shape)
    c = nb.tensor(np.asarray(cond), device=device)
    out, (ga, gb) = _grads(device, lambda x, y: nb.where(c, x, y), [a, b], g)
    np.testing.assert_allclose(nb.backend.to_numpy(out._data), np.where(cond, a, b))
    assert ga.shape == sa and gb.shape == sb
    np.testing.assert_allclose(ga, sum_to_shape(np.where(cond, g, 0.0), sa), rtol=1e-12)
    np.testing.assert_allclose(gb, sum_to_shape(np.where(cond, 0.0, g), sb), rtol=1e-12)


@pytest.mark.parametrize("name", sorted(OPS))
@device_ok
@given(shapes=shapes_2)
def test_gradient_shapes_equal_input_shapes(device, name, shapes):
    # Also when only one side requires grad, and in float32.
    op = OPS[name][0]
    sa, sb = shapes.input_shapes
    a = nb.ones(sa, device=device, requires_grad=True)
    b = nb.full(sb, 2.0, device=device)
    out = op(a, b)
    out.backward(nb.ones(tuple(out.shape), device=device))
    assert tuple(a.grad.shape) == sa and a.grad.dtype == nb.float32
    assert b.grad is None


# ---------------------------------------------------------------------------
# NEP 50 promotion: Python scalars are weak, tensors of different dtypes promote as NumPy does.

INT_DTYPES = ["int8", "int16", "int32", "int64", "uint8"]
FLOAT_DTYPES = ["float16", "float32", "float64"]
ARITH = {"add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b}
finite_floats = st.floats(-100, 100, allow_nan=False, allow_infinity=False)


def _tensor(dtype, device, values=(1, 2, 3)):
    return nb.tensor(np.array(values, dtype=dtype), device=device)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # x / 0.0, 0 ** -2.5: the values do not matter here
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "pow"])
@device_ok
@given(scalar=finite_floats)
def test_python_float_keeps_float_tensor_dtype(device, dtype, op, scalar):
    fn = {**ARITH, "div": lambda a, b: a / b, "pow": lambda a, b: a**b}[op]
    t = _tensor(dtype, device)
    assert fn(t, scalar).dtype == np.dtype(dtype)
    assert fn(scalar, t).dtype == np.dtype(dtype)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@device_ok
@given(scalar=st.integers(-100, 100))
def test_python_int_keeps_float_tensor_dtype(device, dtype, scalar):
    t = _tensor(dtype, device)
    assert (t * scalar).dtype == np.dtype(dtype) and (scalar - t).dtype == np.dtype(dtype)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # x / 0.0, 0 ** -2.5: the values do not matter here
@pytest.mark.parametrize("dtype", INT_DTYPES + ["bool"])
@pytest.mark.parametrize("op", ["add", "sub", "mul", "div"])
@device_ok
@given(scalar=finite_floats)
def test_int_tensor_and_python_float_give_default_float(device, dtype, op, scalar):
    fn = {**ARITH, "div": lambda a, b: a / b}[op]
    t = _tensor(dtype, device, values=(1, 0, 1))
    if dtype == "bool" and op == "sub":
        return  # bool subtraction is an error in NumPy and torch alike
    assert fn(t, scalar).dtype == nb.float32
    assert fn(scalar, t).dtype == nb.float32


@pytest.mark.parametrize("dtype", INT_DTYPES)
@device_ok
@given(scalar=st.integers(0, 100))
def test_int_tensor_and_python_int_keep_dtype(device, dtype, scalar):
    t = _tensor(dtype, device)
    assert (t + scalar).dtype == np.dtype(dtype) and (scalar * t).dtype == np.dtype(dtype)


@device_ok
@given(
    a=st.sampled_from(INT_DTYPES + FLOAT_DTYPES),
    b=st.sampled_from(INT_DTYPES + FLOAT_DTYPES),
    op=st.sampled_from(sorted(ARITH)),
)
def test_tensor_tensor_promotion_matches_numpy(device, a, b, op):
    # e.g. float32 + float64 -> float64, int64 + float32 -> float64 (NumPy's result_type)
    out = ARITH[op](_tensor(a, device), _tensor(b, device))
    assert out.dtype == np.result_type(np.dtype(a), np.dtype(b))


def test_promotion_examples(device):
    f32, f64, i64 = _tensor("float32", device), _tensor("float64", device), _tensor("int64", device)
    assert (f32 * 2.5).dtype == nb.float32
    assert (i64 * 2.5).dtype == nb.float32
    assert (f32 + f64).dtype == nb.float64
    assert (i64 + f32).dtype == np.result_type(np.int64, np.float32)


@pytest.mark.parametrize("dtype", INT_DTYPES)
def test_python_float_operand_of_maximum_is_not_truncated(device, dtype):
    # A weak Python float meeting an integer tensor gives a float result (NEP 50, torch: float32).
    t = _tensor(dtype, device)
    assert nb.maximum(t, 2.5).tolist() == [2.5, 2.5, 3.0]
    assert nb.minimum(t, 1.5).tolist() == [1.0, 1.5, 1.5]


@pytest.mark.parametrize("dtype", INT_DTYPES)
def test_python_float_operand_of_where_is_not_truncated(device, dtype):
    t = _tensor(dtype, device)
    assert nb.where(t > 1, t, 2.5).tolist() == [2.5, 2.0, 3.0]
    assert nb.where(t > 1, 0.5, t).tolist() == [1.0, 0.5, 0.5]


def test_where_of_two_python_floats_gives_default_dtype(device):
    cond = nb.tensor([True, False], device=device)
    assert nb.where(cond, 2.5, 1.5).dtype == nb.get_default_dtype()
