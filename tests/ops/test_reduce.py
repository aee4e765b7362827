"""Reductions: forward vs NumPy, backward by gradcheck (float64), ties, zeros, empty tensors, dtypes, errors."""

from __future__ import annotations

import numpy as np
import pytest
from op_check import assert_close, check_op, random_inputs

import nbgrad as nb

# (shape, dim): 0-d, 1-d, 2-d, 3-d, negative dims, tuples, None (all).
CASES = [
    ((), None),
    ((), 0),
    ((), -1),
    ((5,), None),
    ((5,), 0),
    ((5,), -1),
    ((3, 4), None),
    ((3, 4), 1),
    ((3, 4), -2),
    ((3, 4), (0, 1)),
    ((2, 3, 4), None),
    ((2, 3, 4), 1),
    ((2, 3, 4), (0, -1)),
    ((2, 3, 4), (2, 0)),
]
INT_CASES = [c for c in CASES if not isinstance(c[1], tuple)]
INT_DIMS = (None, 0, 1, -1, -2)


def np_axis(dim, ndim):
    """The NumPy axis for a torch dim: 0-d tensors reduce over nothing, () means all."""
    if ndim == 0 or dim == ():
        return None
    return dim


def t(array, device, requires_grad=False):
    return nb.tensor(np.asarray(array, dtype=np.float64), device=device, requires_grad=requires_grad)


def grad_of(fn, array, device, create_graph=False):
    """d sum(fn(x)) / dx; with ``create_graph`` through the differentiable backward formulas."""
    x = t(array, device, requires_grad=True)
    out = fn(x)
    (g,) = nb.autograd.grad(out, x, nb.ones_like(out), create_graph=create_graph)
    return g.detach().numpy()


def _logsumexp(a, axis=None, keepdims=False):
    return np.log(np.sum(np.exp(a), axis=axis, keepdims=keepdims))


# (nbgrad function of (x, dim, keepdim), NumPy reference of (a, axis, keepdims), low, high, tuple dims allowed)
REDUCTIONS = {
    "sum": (lambda x, d, k: nb.sum(x, d, k), np.sum, -2, 2, True),
    "mean": (lambda x, d, k: x.mean(d, keepdim=k), np.mean, -2, 2, True),
    "prod": (lambda x, d, k: nb.prod(x, d, k), np.prod, 0.5, 1.5, False),
    "amax": (lambda x, d, k: nb.amax(x, () if d is None else d, k), np.amax, -2, 2, True),
    "amin": (lambda x, d, k: x.amin(() if d is None else d, keepdim=k), np.amin, -2, 2, True),
    "logsumexp": (lambda x, d, k: nb.logsumexp(x, d, k), _logsumexp, -2, 2, True),
    "norm": (
        lambda x, d, k: x.norm(dim=d, keepdim=k),
        lambda a, axis, keepdims=False: np.sqrt(np.sum(a * a, axis=axis, keepdims=keepdims)),
        -2,
        2,
        True,
    ),
}


@pytest.mark.parametrize(
    "name,shape,dim",
    [
        (name, shape, dim)
        for name in sorted(REDUCTIONS)
        for shape, dim in CASES
        if REDUCTIONS[name][4] or dim in INT_DIMS
    ],
)
@pytest.mark.parametrize("keepdim", [False, True])
def test_reduction_forward_and_grad(name, shape, dim, keepdim, device):
    fn, ref, low, high, _ = REDUCTIONS[name]
    check_op(
        lambda x: fn(x, dim, keepdim),
        lambda a: np.asarray(ref(a, axis=np_axis(dim, a.ndim), keepdims=keepdim)),
        [shape],
        device,
        low=low,
        high=high,
    )


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
@pytest.mark.parametrize("dim", [None, 0, -1])
def test_reduction_noncontiguous(name, dim, device):
    fn, ref, low, high, _ = REDUCTIONS[name]
    check_op(
        lambda x: fn(x, dim, False),
        lambda a: np.asarray(ref(a, axis=dim)),
        [(3, 4)],
        device,
        low=low,
        high=high,
        noncontiguous=True,
    )


@pytest.mark.parametrize("name", ["sum", "mean", "prod", "logsumexp", "norm", "amax"])
def test_reduction_second_derivative(name, device):
    fn, _, low, high, _ = REDUCTIONS[name]
    (a,) = random_inputs([(3, 4)], low=low, high=high)
    x = t(a, device, requires_grad=True)
    assert nb.autograd.gradgradcheck(lambda v: fn(v, 1, False), (x,))


def test_reduction_method_and_function_agree(device):
    x = t(random_inputs([(2, 3, 4)])[0], device)
    for name in ("sum", "mean", "amax", "amin", "logsumexp", "norm", "var", "std"):
        method = getattr(x, name)(1)
        assert_close(method, getattr(nb, name)(x, 1).numpy(), msg=name)


# ---------------------------------------------------------------------------- sum / mean / prod


@pytest.mark.parametrize(
    "dtype,expected",
    [(nb.int32, nb.int64), (nb.uint8, nb.int64), (nb.bool, nb.int64), (nb.int64, nb.int64), (nb.float32, nb.float32)],
)
def test_sum_dtype_like_torch(dtype, expected, device):
    x = nb.tensor([[1, 0, 1], [1, 1, 0]], dtype=dtype, device=device)
    assert x.sum().dtype == expected
    assert x.sum(0).dtype == expected
    assert x.sum(1).tolist() == [2, 2]


def test_sum_dtype_argument_casts_and_grad_keeps_input_dtype(device):
    x = nb.tensor([1.5, 2.25], dtype=nb.float32, device=device, requires_grad=True)
    y = x.sum(dtype=nb.float64)
    assert y.dtype == nb.float64 and y.item() == 3.75
    y.backward()
    assert x.grad.dtype == nb.float32
    assert x.grad.tolist() == [1.0, 1.0]


def test_sum_all_with_empty_tuple(device):
    x = t(np.arange(6.0).reshape(2, 3), device)
    assert x.sum(()).item() == 15.0
    assert x.sum([]).shape == ()


def test_empty_reductions(device):
    x = nb.zeros(0, 3, device=device, dtype=nb.float64)
    assert x.sum().item() == 0.0
    assert_close(x.sum(0), np.zeros(3))
    assert x.sum(1).shape == (0,)
    assert np.isnan(x.mean().item())
    assert_close(x.mean(1), np.zeros(0))
    assert x.prod().item() == 1.0
    assert_close(x.prod(0), np.ones(3))
    assert x.logsumexp(0).tolist() == [-np.inf] * 3
    assert x.norm().item() == 0.0
    assert x.amax(1).shape == (0,)
    assert x.max(1).values.shape == (0,) and x.max(1).indices.shape == (0,)
    assert x.argmax(1).shape == (0,)
    assert np.isnan(x.var().item())
    assert x.cumsum(0).shape == (0, 3) and x.cumprod(1).shape == (0, 3)
    assert x.all().item() is True and x.any().item() is False


def test_mean_rejects_integers_naming_the_dtype(device):
    x = nb.tensor([1, 2, 3], device=device)
    with pytest.raises(RuntimeError, match=r"mean: input dtype must be floating point, got nbgrad.int64"):
        x.mean()
    assert x.mean(dtype=nb.float64).item() == 2.0


def test_mean_backward(device):
    g = grad_of(lambda x: x.mean(1), np.ones((2, 4)), device)
    assert_close(g, np.full((2, 4), 0.25))


@pytest.mark.parametrize(
    "values,expected",
    [
        ([2.0, 3.0, 4.0], [12.0, 8.0, 6.0]),
        ([2.0, 0.0, 4.0], [0.0, 8.0, 0.0]),  # one zero: only it gets the product of the others
        ([0.0, 3.0, 0.0], [0.0, 0.0, 0.0]),  # two zeros: every derivative has a zero factor
        ([0.0], [1.0]),
    ],
)
def test_prod_gradient_with_zeros(values, expected, device):
    for create_graph in (False, True):
        assert_close(grad_of(lambda x: x.prod(), values, device, create_graph), expected)
        assert_close(grad_of(lambda x: x.prod(0), values, device, create_graph), expected)


@pytest.mark.parametrize("dim", [None, 0, 1])
def test_prod_gradcheck_with_zeros(dim, device):
    a = np.array([[0.0, 2.0, 3.0], [1.5, 0.0, 0.0], [0.5, 1.2, -2.0]])
    x = t(a, device, requires_grad=True)
    assert nb.autograd.gradcheck(lambda v: v.prod(dim), (x,))
    assert nb.autograd.gradgradcheck(lambda v: v.prod(dim), (x,))


def test_prod_integer_and_errors(device):
    x = nb.tensor([[1, 2], [3, 4]], dtype=nb.uint8, device=device)
    assert x.prod().dtype == nb.int64 and x.prod().item() == 24
    with pytest.raises(TypeError, match=r"prod: dim must be an int or None.*\(0, 1\)"):
        x.prod((0, 1))


# ---------------------------------------------------------------------------- max / min / amax / argmax


@pytest.mark.parametrize("op,ref", [("max", np.max), ("min", np.min)])
def test_full_max_min_is_0d_and_ties_share_gradient(op, ref, device):
    a = np.array([[1.0, 3.0, 3.0], [3.0, 2.0, 1.0]]) * (1 if op == "max" else -1)
    x = t(a, device)
    out = getattr(x, op)()
    assert out.shape == () and out.item() == ref(a)
    g = grad_of(lambda v: getattr(nb, op)(v), a, device)
    assert_close(g, [[0, 1 / 3, 1 / 3], [1 / 3, 0, 0]])


@pytest.mark.parametrize("op", ["amax", "amin"])
def test_amax_amin_ties_share_gradient_per_slice(op, device):
    a = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]]) * (1 if op == "amax" else -1)
    assert_close(grad_of(lambda v: getattr(v, op)(1), a, device), [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]])
    assert_close(grad_of(lambda v: getattr(v, op)((0, 1)), a, device), [[0, 0.5, 0.5], [0, 0, 0]])


@pytest.mark.parametrize("op,np_op,np_arg", [("max", np.max, np.argmax), ("min", np.min, np.argmin)])
@pytest.mark.parametrize("shape,dim", [c for c in INT_CASES if c[1] is not None])
@pytest.mark.parametrize("keepdim", [False, True])
def test_max_min_with_dim_returns_values_and_indices(op, np_op, np_arg, shape, dim, keepdim, device):
    (a,) = random_inputs([shape])
    x = t(a, device)
    result = getattr(nb, op)(x, dim, keepdim)
    assert isinstance(result, nb.ValuesIndices) and isinstance(result, tuple)
    values, indices = result
    axis = np_axis(dim, a.ndim)
    keep = keepdim and a.ndim > 0
    assert_close(values, np_op(a, axis=axis, keepdims=keep))
    assert indices.dtype == nb.int64
    assert_close(indices, np.asarray(np_arg(a, axis=axis, keepdims=keep)))
    assert result.values is values and result.indices is indices
    check_op(
        lambda v: getattr(v, op)(dim, keepdim=keepdim).values,
        lambda arr: np_op(arr, axis=axis, keepdims=keep),
        [shape],
        device,
    )


def test_max_with_dim_sends_tied_gradient_to_the_returned_index(device):
    a = np.array([[3.0, 1.0, 3.0], [0.0, 5.0, 5.0]])
    values, indices = t(a, device).max(1)
    assert indices.tolist() == [0, 1]
    assert_close(grad_of(lambda v: v.max(dim=1).values, a, device), [[1, 0, 0], [0, 1, 0]])
    assert_close(grad_of(lambda v: v.min(0, keepdim=True)[0], a, device), [[0, 1, 1], [1, 0, 0]])


def test_max_noncontiguous_with_dim(device):
    check_op(lambda v: v.max(0).values, lambda a: a.max(0), [(3, 4)], device, noncontiguous=True)
    check_op(lambda v: v.min(-1).values, lambda a: a.min(-1), [(2, 3, 4)], device, noncontiguous=True)


def test_max_of_two_tensors_is_elementwise_maximum(device):
    a, b = random_inputs([(3, 4), (4,)])
    x, y = t(a, device), t(b, device)
    assert_close(nb.max(x, y), np.maximum(a, b))
    assert_close(x.min(y), np.minimum(a, b))
    assert_close(nb.max(x, other=y), np.maximum(a, b))
    check_op(lambda u, v: nb.max(u, v), np.maximum, [(3, 4), (4,)], device)


def test_max_nan_propagates(device):
    x = t([1.0, np.nan, 3.0], device)
    assert np.isnan(x.max().item()) and np.isnan(x.amax(0).item())


@pytest.mark.parametrize("op", ["argmax", "argmin"])
@pytest.mark.parametrize("shape,dim", INT_CASES)
@pytest.mark.parametrize("keepdim", [False, True])
def test_argmax_argmin(op, shape, dim, keepdim, device):
    (a,) = random_inputs([shape])
    out = getattr(nb, op)(t(a, device), dim, keepdim)
    ref = getattr(np, op)(a, axis=np_axis(dim, a.ndim), keepdims=keepdim)
    if dim is None and keepdim:
        ref = np.reshape(getattr(np, op)(a), (1,) * a.ndim)
    assert out.dtype == nb.int64 and not out.requires_grad
    assert_close(out, np.asarray(ref))


def test_argmax_first_of_ties_and_flat_index(device):
    x = t([[1.0, 4.0], [4.0, 0.0]], device)
    assert x.argmax().item() == 1
    assert x.argmin().item() == 3
    assert x.argmax(0).tolist() == [1, 0]
    assert x.argmax(keepdim=True).shape == (1, 1)


def test_max_min_errors(device):
    empty = nb.zeros(0, 3, device=device)
    with pytest.raises(RuntimeError, match=r"max: cannot reduce the whole tensor of an empty tensor of shape \(0, 3\)"):
        empty.max()
    with pytest.raises(RuntimeError, match=r"min: cannot reduce dims \(0,\) of an empty tensor of shape \(0, 3\)"):
        empty.min(0)
    with pytest.raises(RuntimeError, match=r"amax: cannot reduce .* shape \(0, 3\)"):
        empty.amax()
    with pytest.raises(RuntimeError, match=r"argmax: cannot reduce .* shape \(0, 3\)"):
        empty.argmax()
    with pytest.raises(RuntimeError, match=r"argmin: cannot reduce dims \(0,\)"):
        empty.argmin(0)
    x = nb.zeros(2, 3, device=device)
    with pytest.raises(IndexError, match=r"max: dimension out of range .*got 2.*shape \(2, 3\)"):
        x.max(2)
    with pytest.raises(IndexError, match=r"argmin: dimension out of range .*got -3.*shape \(2, 3\)"):
        x.argmin(-3)
    with pytest.raises(TypeError, match=r"max: keepdim=True needs a dim"):
        x.max(keepdim=True)
    with pytest.raises(TypeError, match=r"min: keepdim has no meaning"):
        nb.min(x, x, keepdim=True)


def test_max_min_on_0d_with_dim(device):
    x = t(2.5, device, requires_grad=True)
    values, indices = x.max(0)
    assert values.item() == 2.5 and values.shape == () and indices.item() == 0
    values.backward()
    assert x.grad.item() == 1.0
    assert nb.argmax(x, 0).item() == 0


# ---------------------------------------------------------------------------- var / std


@pytest.mark.parametrize("op", ["var", "std"])
@pytest.mark.parametrize("shape,dim", [c for c in CASES if c[0] != ()])
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("correction", [0, 1])
def test_var_std(op, shape, dim, keepdim, correction, device):
    ref = getattr(np, op)
    check_op(
        lambda v: getattr(nb, op)(v, dim, keepdim=keepdim, correction=correction),
        lambda a: np.asarray(ref(a, axis=dim, ddof=correction, keepdims=keepdim)),
        [shape],
        device,
    )


@pytest.mark.parametrize("op", ["var", "std"])
def test_var_std_noncontiguous_and_second_derivative(op, device):
    check_op(
        lambda v: getattr(v, op)(0), lambda a: getattr(np, op)(a, axis=0, ddof=1), [(3, 4)], device, noncontiguous=True
    )
    x = t(random_inputs([(3, 4)])[0], device, requires_grad=True)
    assert nb.autograd.gradgradcheck(lambda v: getattr(v, op)(1), (x,))


def test_var_unbiased_spellings(device):
    a = random_inputs([(3, 4)])[0]
    x = t(a, device)
    assert_close(x.var(1, False), np.var(a, axis=1))
    assert_close(x.var(1, True, True), np.var(a, axis=1, ddof=1, keepdims=True))
    assert_close(x.var(False), np.var(a))
    assert_close(x.std(unbiased=False), np.std(a))
    assert_close(nb.var(x, 0, correction=2), np.var(a, axis=0, ddof=2))
    assert_close(x.var(), np.var(a, ddof=1))


def test_var_std_edge_cases(device):
    one = t([3.0], device)
    assert np.isnan(one.var().item())  # 0 / 0 with Bessel's correction, as in torch
    assert one.var(correction=0).item() == 0.0
    assert np.isnan(t(3.0, device).var().item())
    x = t([2.0, 2.0, 2.0], device, requires_grad=True)
    x.std().backward()
    assert np.isnan(x.grad.numpy()).all()  # torch: the gradient of std at a constant is NaN


def test_var_std_errors(device):
    with pytest.raises(RuntimeError, match=r"var: input dtype must be floating point, got nbgrad.int64"):
        nb.tensor([1, 2], device=device).var()
    with pytest.raises(TypeError, match=r"std: pass either unbiased or correction"):
        nb.zeros(3, device=device).std(unbiased=True, correction=0)
    with pytest.raises(IndexError, match=r"var: dimension out of range.*shape \(3,\)"):
        nb.zeros(3, device=device).var(1)


# ---------------------------------------------------------------------------- logsumexp / norm


def test_logsumexp_is_stable(device):
    x = t([[1000.0, 1000.0], [-1000.0, -1000.0]], device)
    assert_close(x.logsumexp(1), [1000 + np.log(2), -1000 + np.log(2)])
    assert x.logsumexp(1).dtype == nb.float64
    assert nb.tensor([-np.inf, -np.inf], device=device).logsumexp(0).item() == -np.inf
    assert nb.tensor([np.inf, 1.0], device=device).logsumexp(0).item() == np.inf
    ints = nb.tensor([[0, 0]], device=device).logsumexp(1)
    assert ints.dtype == nb.float32 and np.isclose(ints.item(), np.log(2))


def test_logsumexp_gradient_is_softmax(device):
    a = np.array([[1.0, 2.0, 3.0], [500.0, 500.0, 0.0]])
    e = np.exp(a - a.max(1, keepdims=True))
    assert_close(grad_of(lambda v: v.logsumexp(-1), a, device), e / e.sum(1, keepdims=True))


def test_logsumexp_errors(device):
    with pytest.raises(IndexError, match=r"logsumexp: dimension out of range.*shape \(2, 2\)"):
        nb.zeros(2, 2, device=device).logsumexp(3)
    with pytest.raises(TypeError):
        nb.zeros(2, device=device).logsumexp()


NORMS = [
    (2, lambda a, axis, kd: np.sqrt(np.sum(a * a, axis=axis, keepdims=kd))),
    ("fro", lambda a, axis, kd: np.sqrt(np.sum(a * a, axis=axis, keepdims=kd))),
    (1, lambda a, axis, kd: np.sum(np.abs(a), axis=axis, keepdims=kd)),
    (3, lambda a, axis, kd: np.sum(np.abs(a) ** 3, axis=axis, keepdims=kd) ** (1 / 3)),
    (0.5, lambda a, axis, kd: np.sum(np.abs(a) ** 0.5, axis=axis, keepdims=kd) ** 2),
    (np.inf, lambda a, axis, kd: np.max(np.abs(a), axis=axis, keepdims=kd)),
    (-np.inf, lambda a, axis, kd: np.min(np.abs(a), axis=axis, keepdims=kd)),
]


@pytest.mark.parametrize("p,ref", NORMS, ids=[str(p) for p, _ in NORMS])
@pytest.mark.parametrize("shape,dim", [((), None), ((5,), None), ((3, 4), 1), ((2, 3, 4), (0, 2))])
@pytest.mark.parametrize("keepdim", [False, True])
def test_norm_orders(p, ref, shape, dim, keepdim, device):
    check_op(
        lambda v: nb.norm(v, p, dim, keepdim),
        lambda a: np.asarray(ref(a, np_axis(dim, a.ndim), keepdim)),
        [shape],
        device,
        low=0.2,
        high=2.0,
    )
    check_op(
        lambda v: v.norm(p, dim, keepdim),
        lambda a: np.asarray(ref(a, np_axis(dim, a.ndim), keepdim)),
        [shape],
        device,
        seed=3,
        low=-2.0,
        high=-0.2,
    )


@pytest.mark.parametrize("p", [2, "fro", 1, 3, 0.5, np.inf])
def test_norm_gradient_at_zero_vector_is_zero(p, device):
    g = grad_of(lambda v: v.norm(p), np.zeros(4), device)
    assert not np.isnan(g).any()
    assert_close(g, np.zeros(4))
    g = grad_of(lambda v: v.norm(p, dim=1), np.array([[0.0, 0.0], [3.0, 4.0]]), device)
    assert_close(g[0], [0.0, 0.0])


def test_norm_zero_order_and_ties(device):
    x = t([0.0, 2.0, -3.0, 0.0], device)
    assert x.norm(0).item() == 2.0
    assert_close(grad_of(lambda v: v.norm(0), [0.0, 2.0, -3.0], device), np.zeros(3))
    assert_close(grad_of(lambda v: v.norm(np.inf), [3.0, -3.0, 1.0], device), [0.5, -0.5, 0.0])


def test_norm_dtype_and_errors(device):
    assert nb.tensor([3.0, 4.0], device=device).norm(dtype=nb.float64).dtype == nb.float64
    with pytest.raises(RuntimeError, match=r"norm: input dtype must be floating point, got nbgrad.int64"):
        nb.tensor([3, 4], device=device).norm()
    with pytest.raises(ValueError, match=r"norm: p='nuc' is not supported"):
        nb.zeros(2, 2, device=device).norm("nuc")
    with pytest.raises(ValueError, match=r"norm: p must be non-negative, inf or -inf, got -2.0"):
        nb.zeros(2, device=device).norm(-2)
    with pytest.raises(RuntimeError, match=r"norm: cannot reduce .* shape \(0,\)"):
        nb.zeros(0, device=device).norm(np.inf)


# ---------------------------------------------------------------------------- cumsum / cumprod


SCAN_CASES = [((), 0), ((), -1), ((5,), 0), ((3, 4), 1), ((3, 4), -2), ((2, 3, 4), 1), ((2, 3, 4), -1)]


@pytest.mark.parametrize("op", ["cumsum", "cumprod"])
@pytest.mark.parametrize("shape,dim", SCAN_CASES)
def test_cumsum_cumprod(op, shape, dim, device):
    ref = getattr(np, op)

    def reference(a):
        return ref(a.reshape(1), 0).reshape(()) if a.ndim == 0 else ref(a, dim)

    check_op(lambda v: getattr(nb, op)(v, dim), reference, [shape], device, low=0.5, high=1.5)
    check_op(lambda v: getattr(v, op)(dim=dim), reference, [shape], device, noncontiguous=True)


@pytest.mark.parametrize("op", ["cumsum", "cumprod"])
def test_cumsum_cumprod_second_derivative(op, device):
    x = t(random_inputs([(3, 4)], low=0.5, high=1.5)[0], device, requires_grad=True)
    assert nb.autograd.gradgradcheck(lambda v: getattr(v, op)(1), (x,))


@pytest.mark.parametrize(
    "values",
    [
        [2.0, 0.0, 3.0, 4.0],
        [0.0, 2.0, 3.0],
        [2.0, 3.0, 0.0],
        [0.0, 2.0, 0.0, 3.0],
        [0.0, 0.0],
    ],
)
def test_cumprod_gradient_with_zeros(values, device):
    a = np.array(values)
    x = t(a, device, requires_grad=True)
    assert nb.autograd.gradcheck(lambda v: v.cumprod(0), (x,))
    assert nb.autograd.gradgradcheck(lambda v: v.cumprod(0), (x,))
    # The exact Jacobian: d out_i / d x_j = prod_{k <= i, k != j} x_k for j <= i.
    n = len(a)
    expected = [sum(np.prod([a[k] for k in range(i + 1) if k != j]) for i in range(j, n)) for j in range(n)]
    assert_close(grad_of(lambda v: v.cumprod(0), a, device), expected)
    assert_close(grad_of(lambda v: v.cumprod(0), a, device, create_graph=True), expected)


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cumprod_zeros_in_2d(dim, device):
    a = np.array([[1.0, 0.0, 2.0], [0.0, 3.0, 0.0], [1.5, -1.0, 2.0]])
    x = t(a, device, requires_grad=True)
    assert nb.autograd.gradcheck(lambda v: v.cumprod(dim), (x,))
    assert nb.autograd.gradgradcheck(lambda v: v.cumprod(dim), (x,))
    assert_close(
        grad_of(lambda v: v.cumprod(dim), a, device, create_graph=True), grad_of(lambda v: v.cumprod(dim), a, device)
    )


def test_cumsum_dtypes(device):
    assert nb.tensor([1, 2], dtype=nb.int32, device=device).cumsum(0).dtype == nb.int64
    assert nb.tensor([True, True], device=device).cumsum(0).tolist() == [1, 2]
    assert nb.tensor([1, 2], dtype=nb.uint8, device=device).cumprod(0).dtype == nb.int64
    x = nb.tensor([1.0, 2.0], device=device, requires_grad=True)
    y = x.cumsum(0, dtype=nb.float64)
    assert y.dtype == nb.float64
    y.sum().backward()
    assert x.grad.dtype == nb.float32 and x.grad.tolist() == [2.0, 1.0]


def test_cumsum_errors(device):
    with pytest.raises(IndexError, match=r"cumsum: dimension out of range.*got 2.*shape \(2, 2\)"):
        nb.zeros(2, 2, device=device).cumsum(2)
    with pytest.raises(IndexError, match=r"cumprod: dimension out of range.*shape \(\)"):
        nb.zeros((), device=device).cumprod(1)
    with pytest.raises(TypeError, match=r"cumsum: dim must be an int"):
        nb.zeros(2, device=device).cumsum((0,))


# ---------------------------------------------------------------------------- all / any


@pytest.mark.parametrize("op", ["all", "any"])
@pytest.mark.parametrize("shape,dim", CASES)
@pytest.mark.parametrize("keepdim", [False, True])
def test_all_any(op, shape, dim, keepdim, device):
    rng = np.random.default_rng(1)
    a = rng.integers(0, 2, size=shape).astype(np.float64) * rng.uniform(0.5, 2, size=shape)
    x = t(a, device, requires_grad=True)
    out = getattr(nb, op)(x, dim, keepdim)
    assert out.dtype == nb.bool and not out.requires_grad
    assert_close(out, np.asarray(getattr(np, op)(a, axis=np_axis(dim, a.ndim), keepdims=keepdim)))


def test_all_any_values(device):
    x = nb.tensor([[True, False], [True, True]], device=device)
    assert x.all(1).tolist() == [False, True]
    assert x.any(0).tolist() == [True, True]
    assert nb.tensor([0, 0, 3], device=device).any().item() is True
    assert nb.tensor([0.0, 1.0], device=device).all().item() is False
    with pytest.raises(IndexError, match=r"all: dimension out of range.*shape \(2, 2\)"):
        x.all(2)


# ---------------------------------------------------------------------------- dims


def test_dim_errors_name_op_dim_and_shape(device):
    x = nb.zeros(3, 4, device=device)
    with pytest.raises(
        IndexError,
        match=r"sum: dimension out of range \(expected to be in range of \[-2, 1\], "
        r"but got 2\) for a tensor of shape \(3, 4\)",
    ):
        x.sum(2)
    with pytest.raises(RuntimeError, match=r"mean: dim \(1, -1\) appears multiple times"):
        x.mean((1, -1))
    with pytest.raises(IndexError, match=r"amax: dimension out of range.*got -3"):
        x.amax((0, -3))


def test_reductions_do_not_share_the_version_counter(device):
    x = nb.zeros(3, 4, device=device)
    assert x.sum(0)._version is not x._version
    assert x.amax(0)._version is not x._version


# ---------------------------------------------------------------------------- torch parity


def test_gradients_match_torch_on_ties_and_zeros():
    torch = pytest.importorskip("torch")
    a = np.array([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, 0.0, 0.0], [0.5, -1.0, 4.0, 4.0]])
    cases = [
        lambda m, x: x.max(),
        lambda m, x: x.min(),
        lambda m, x: x.amax(1),
        lambda m, x: m.amin(x, (0, 1)),
        lambda m, x: x.max(1).values,
        lambda m, x: x.min(0, keepdim=True).values,
        lambda m, x: x.prod(1),
        lambda m, x: x.prod(),
        lambda m, x: x.cumprod(1),
        lambda m, x: x.cumprod(0),
        lambda m, x: x.norm(dim=1),
        lambda m, x: x.norm(float("inf"), dim=1),
        lambda m, x: x.norm(3),
        lambda m, x: x.var(1),
        lambda m, x: x.std(0, correction=0),
        lambda m, x: m.logsumexp(x, 1),
        lambda m, x: x.cumsum(-1),
        lambda m, x: x.mean((0, 1)),
    ]
    w = np.random.default_rng(0).standard_normal((4,))
    for i, fn in enumerate(cases):
        xn = nb.tensor(a, requires_grad=True)
        xt = torch.tensor(a, requires_grad=True)
        on, ot = fn(nb, xn), fn(torch, xt)
        np.testing.assert_allclose(on.detach().numpy(), ot.detach().numpy(), rtol=1e-12, atol=1e-12, err_msg=str(i))
        weights = w[: ot.numel()].reshape(ot.shape) if ot.numel() <= 4 else np.ones(ot.shape)
        (on * nb.tensor(weights)).sum().backward()
        (ot * torch.tensor(weights)).sum().backward()
        np.testing.assert_allclose(xn.grad.numpy(), xt.grad.numpy(), rtol=1e-12, atol=1e-12, err_msg=str(i))
    for dim in (0, 1):
        assert nb.tensor(a).argmax(dim).tolist() == torch.tensor(a).argmax(dim).tolist()
        assert nb.tensor(a).max(dim).indices.tolist() == torch.tensor(a).max(dim).indices.tolist()
