"""Parity with PyTorch: the same call on the same float64 data gives the same values and gradients.

Each case is a function ``fn(m, *tensors)`` written once against a module
``m`` that is either ``nbgrad`` or ``torch`` (their APIs match, which is the
point), so both libraries run the very same expression. Families that are
still being written are skipped while the op is missing, never failed.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import nbgrad as nb
import nbgrad.nn.functional  # noqa: F401 - makes nb.nn.functional reachable as on torch

torch = pytest.importorskip("torch")


class Const:
    """An argument that becomes a tensor without ``requires_grad`` (indices, class weights)."""

    def __init__(self, array):
        self.array = np.asarray(array)


def _has(name: str) -> bool:
    return hasattr(nb, name) or hasattr(nb.Tensor, name)


def needs(*names):
    missing = [n for n in names if not _has(n)]
    return pytest.mark.skipif(bool(missing), reason=f"nbgrad does not have {', '.join(missing)} yet")


def _tensors(m, args, device):
    out = []
    for a in args:
        const = isinstance(a, Const)
        array = a.array if const else np.asarray(a)
        t = nb.tensor(array, device=device) if m is nb else torch.tensor(array)
        if not const and array.dtype.kind == "f":
            t.requires_grad_(True)
        out.append(t)
    return out


def _as_tuple(out):
    return tuple(out) if isinstance(out, (tuple, list)) else (out,)


def _numpy(t):
    return nb.backend.to_numpy(t._data) if isinstance(t, nb.Tensor) else t.detach().numpy()


def _dtype_name(t) -> str:
    return np.dtype(t.dtype).name if isinstance(t, nb.Tensor) else str(t.dtype).removeprefix("torch.")


def check_parity(fn, args, device, *, grad=True, rtol=1e-9, atol=1e-12, seed=0):
    """Run ``fn`` on nbgrad and torch; compare outputs (values, shapes, dtypes) and input gradients."""
    nb_in, t_in = _tensors(nb, args, device), _tensors(torch, args, device)
    nb_out, t_out = _as_tuple(fn(nb, *nb_in)), _as_tuple(fn(torch, *t_in))
    assert len(nb_out) == len(t_out)
    for i, (a, b) in enumerate(zip(nb_out, t_out)):
        assert _dtype_name(a) == _dtype_name(b), f"output {i}: dtype {a.dtype} != torch {b.dtype}"
        assert tuple(a.shape) == tuple(b.shape), f"output {i}: shape {tuple(a.shape)} != torch {tuple(b.shape)}"
        np.testing.assert_allclose(_numpy(a), _numpy(b), rtol=rtol, atol=atol, err_msg=f"output {i}")
    if not grad:
        return
    rng = np.random.default_rng(seed)
    pairs = [(a, b) for a, b in zip(nb_out, t_out) if b.requires_grad]
    wanted = [i for i, t in enumerate(t_in) if t.requires_grad]
    if not pairs or not wanted:
        return
    weights = [rng.standard_normal(tuple(b.shape)) for _, b in pairs]
    nb_grads = nb.autograd.grad(
        [a for a, _ in pairs],
        [nb_in[i] for i in wanted],
        [nb.tensor(w, device=device) for w in weights],
        allow_unused=True,
    )
    t_grads = torch.autograd.grad(
        [b for _, b in pairs], [t_in[i] for i in wanted], [torch.tensor(w) for w in weights], allow_unused=True
    )
    for i, g_nb, g_t in zip(wanted, nb_grads, t_grads):
        if g_t is None:
            assert g_nb is None or not _numpy(g_nb).any(), f"input {i}: torch has no gradient, nbgrad has one"
            continue
        assert g_nb is not None, f"input {i}: nbgrad has no gradient, torch does"
        assert tuple(g_nb.shape) == tuple(g_t.shape), f"input {i}: grad shape {tuple(g_nb.shape)} != {g_t.shape}"
        np.testing.assert_allclose(_numpy(g_nb), _numpy(g_t), rtol=rtol, atol=atol, err_msg=f"grad of input {i}")


def rand(*shape, low=-2.0, high=2.0, seed=0):
    return np.random.default_rng(seed).uniform(low, high, size=shape)


# ---------------------------------------------------------------------------
# unary elementwise: every op of nbgrad.ops.elementwise, with its domain

UNARY = {
    "neg": (-2, 2),
    "abs": (-2, 2),
    "exp": (-2, 2),
    "exp2": (-2, 2),
    "expm1": (-2, 2),
    "log": (0.1, 3),
    "log2": (0.1, 3),
    "log10": (0.1, 3),
    "log1p": (-0.9, 3),
    "sqrt": (0.1, 3),
    "rsqrt": (0.1, 3),
    "sin": (-3, 3),
    "cos": (-3, 3),
    "tan": (-1.2, 1.2),
    "asin": (-0.9, 0.9),
    "acos": (-0.9, 0.9),
    "atan": (-3, 3),
    "sinh": (-2, 2),
    "cosh": (-2, 2),
    "tanh": (-3, 3),
    "sigmoid": (-6, 6),
    "relu": (-2, 2),
    "reciprocal": (0.2, 3),
    "square": (-2, 2),
    "sign": (-2, 2),
    "floor": (-3, 3),
    "ceil": (-3, 3),
    "trunc": (-3, 3),
    "round": (-3, 3),
}


def test_unary_table_covers_elementwise_module():
    from nbgrad.ops import elementwise

    unary_classes = {
        name
        for name, obj in vars(elementwise).items()
        if isinstance(obj, type) and issubclass(obj, nb.autograd.Function) and obj.forward.__code__.co_argcount == 2
    }
    assert {c.lower() for c in unary_classes} <= set(UNARY), "a unary op of elementwise.py has no parity case"


@pytest.mark.parametrize("name", sorted(UNARY))
@pytest.mark.parametrize("shape", [(3, 4), (), (5,)])
def test_unary(device, name, shape):
    low, high = UNARY[name]
    check_parity(lambda m, x: getattr(m, name)(x), [rand(*shape, low=low, high=high)], device)
    check_parity(lambda m, x: getattr(x, name)(), [rand(*shape, low=low, high=high, seed=1)], device)


@pytest.mark.parametrize("name", ["abs", "relu", "sign", "neg", "square"])
def test_unary_at_zero(device, name):
    # the subgradient chosen at 0 (abs, relu: 0) is torch's
    check_parity(lambda m, x: getattr(m, name)(x), [np.array([-1.5, 0.0, 0.0, 2.0])], device)


@pytest.mark.parametrize(
    "name",
    ["exp", "sqrt", "sigmoid", "reciprocal", "abs", "neg", "relu", "square", "sign", "floor", "round", "tanh", "log1p"],
)
@pytest.mark.parametrize("dtype", ["int64", "int32"])
def test_unary_integer_inputs_dtype(device, name, dtype):
    check_parity(
        lambda m, x: getattr(m, name)(x), [Const(np.array([1, 2, 3], dtype=dtype))], device, grad=False, rtol=1e-6
    )


# ---------------------------------------------------------------------------
# binary elementwise with broadcasting

SHAPE_PAIRS = [((3, 4), (3, 4)), ((3, 1), (1, 4)), ((2, 3, 4), (4,)), ((), (3,)), ((3, 4), ()), ((2, 1, 3), (4, 1))]
BINARY = {
    "add": lambda m, a, b: m.add(a, b),
    "sub": lambda m, a, b: m.sub(a, b),
    "mul": lambda m, a, b: a * b,
    "div": lambda m, a, b: a / b,
    "pow": lambda m, a, b: m.pow(a, b),
    "maximum": lambda m, a, b: m.maximum(a, b),
    "minimum": lambda m, a, b: m.minimum(a, b),
    "remainder": lambda m, a, b: m.remainder(a, b),
    "add_alpha": lambda m, a, b: m.add(a, b, alpha=2.5),
    "rsub": lambda m, a, b: 1.5 - a + b,
}


def _operands(name, sa, sb):
    a, b = rand(*sa, seed=1), rand(*sb, seed=2)
    if name in ("div", "remainder"):
        b = np.where(b >= 0, b + 0.5, b - 0.5)  # away from 0
    if name == "pow":
        a = np.abs(a) + 0.5  # a positive base: a**b and its log are defined
    return a, b


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("sa, sb", SHAPE_PAIRS)
def test_binary(device, name, sa, sb):
    check_parity(BINARY[name], list(_operands(name, sa, sb)), device)


@pytest.mark.parametrize("name", ["add", "sub", "mul", "div", "pow", "remainder"])
@pytest.mark.parametrize("scalar", [2.5, -3, 0.5])
def test_binary_with_python_scalar(device, name, scalar):
    fn = BINARY[name]
    (a,) = _operands(name, (3, 4), ())[:1]
    check_parity(lambda m, x: fn(m, x, scalar), [a], device)
    if name != "remainder":
        base = abs(scalar) if name == "pow" else scalar  # a negative base to a real power is nan
        check_parity(lambda m, x: fn(m, base, x), [np.abs(a) + 0.5 if name == "div" else a], device)


def test_where(device):
    a, b = rand(3, 4, seed=1), rand(4, seed=2)
    check_parity(lambda m, x, y: m.where(x > 0, x, y), [a, b], device)
    check_parity(lambda m, x: m.where(x > 0, x, 0.0), [a], device)
    check_parity(lambda m, y: m.where(m.tensor([True, False, True, False]), 1.5, y), [rand(3, 4)], device)
    check_parity(lambda m, x, y: x.where(y > 0, y), [a, b], device)


@pytest.mark.parametrize("bounds", ["tensors", "scalars", "min_only", "max_only", "tensor_min"])
def test_clamp(device, bounds):
    x = rand(3, 4, seed=3)
    if bounds == "tensors":
        check_parity(
            lambda m, v, lo, hi: m.clamp(v, lo, hi), [x, rand(4, low=-1, high=0), rand(3, 1, low=0, high=1)], device
        )
    elif bounds == "scalars":
        check_parity(lambda m, v: m.clamp(v, -0.5, 0.7), [x], device)
        check_parity(lambda m, v: v.clip(-1, 1), [x], device)
    elif bounds == "min_only":
        check_parity(lambda m, v: m.clamp(v, min=0.1), [x], device)
    elif bounds == "max_only":
        check_parity(lambda m, v: v.clamp(max=-0.2), [x], device)
    else:
        check_parity(lambda m, v, lo: m.clamp(v, min=lo), [x, rand(3, 4, seed=9)], device)


def test_lerp(device):
    a, b = rand(3, 4, seed=1), rand(4, seed=2)
    check_parity(lambda m, x, y: m.lerp(x, y, 0.3), [a, b], device)
    check_parity(lambda m, x, y, w: m.lerp(x, y, w), [a, b, rand(3, 1, low=0, high=1)], device)


# ---------------------------------------------------------------------------
# softmax and the losses


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("shape, dim", [((4, 5), 1), ((4, 5), 0), ((2, 3, 4), -1), ((6,), 0)])
def test_softmax(device, name, shape, dim):
    check_parity(lambda m, x: getattr(m, name)(x, dim), [rand(*shape, low=-5, high=5)], device)
    check_parity(lambda m, x: getattr(m.nn.functional, name)(x, dim=dim), [rand(*shape, seed=1)], device)
    check_parity(lambda m, x: getattr(x, name)(dim), [rand(*shape, seed=2)], device)


def _class_target(input_shape, seed, ignore=None):
    index_shape = input_shape[:1] + input_shape[2:] if len(input_shape) > 1 else ()
    n_classes = input_shape[0 if len(input_shape) == 1 else 1]
    t = np.random.default_rng(seed).integers(0, n_classes, size=index_shape)
    if ignore is not None and t.size > 1:
        t.reshape(-1)[::3] = ignore
    return t


CE_OPTIONS = list(itertools.product([None, "w"], [-100, 1], ["mean", "sum", "none"], [0.0, 0.25]))


@pytest.mark.parametrize("shape", [(5,), (4, 5), (3, 5, 2, 2)])
@pytest.mark.parametrize("weight, ignore_index, reduction, label_smoothing", CE_OPTIONS)
def test_cross_entropy_class_indices(device, shape, weight, ignore_index, reduction, label_smoothing):
    n_classes = shape[0 if len(shape) == 1 else 1]
    target = Const(_class_target(shape, 1, ignore_index if ignore_index != -100 else None))
    w = Const(np.linspace(0.5, 2.0, n_classes))
    kw = dict(ignore_index=ignore_index, reduction=reduction, label_smoothing=label_smoothing)

    def fn(m, x, t, w):
        return m.nn.functional.cross_entropy(x, t, w if weight else None, **kw)

    check_parity(fn, [rand(*shape, low=-3, high=3), target, w], device)


@pytest.mark.parametrize("shape", [(5,), (4, 5), (3, 5, 2)])
@pytest.mark.parametrize(
    "weight, reduction, label_smoothing", list(itertools.product([None, "w"], ["mean", "sum", "none"], [0.0, 0.3]))
)
def test_cross_entropy_probabilities(device, shape, weight, reduction, label_smoothing):
    n_classes = shape[0 if len(shape) == 1 else 1]
    probs = rand(*shape, low=0, high=1, seed=4)
    w = Const(np.linspace(2.0, 0.5, n_classes))
    kw = dict(reduction=reduction, label_smoothing=label_smoothing)

    def fn(m, x, p, w):
        return m.nn.functional.cross_entropy(x, p, w if weight else None, **kw)

    # The probabilities are differentiated too.
    check_parity(fn, [rand(*shape), probs, w], device)


@pytest.mark.parametrize("shape", [(5,), (4, 5), (3, 5, 2)])
@pytest.mark.parametrize(
    "weight, ignore_index, reduction", list(itertools.product([None, "w"], [-100, 0], ["mean", "sum", "none"]))
)
def test_nll_loss(device, shape, weight, ignore_index, reduction):
    n_classes = shape[0 if len(shape) == 1 else 1]
    target = Const(_class_target(shape, 2, ignore_index if ignore_index != -100 else None))

    def fn(m, x, t, w):
        return m.nn.functional.nll_loss(x, t, w if weight else None, ignore_index=ignore_index, reduction=reduction)

    check_parity(fn, [rand(*shape, low=-4, high=0), target, Const(np.linspace(0.5, 2.0, n_classes))], device)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("shape", [(), (4,), (3, 4)])
def test_mse_loss(device, reduction, shape):
    check_parity(
        lambda m, x, y: m.nn.functional.mse_loss(x, y, reduction=reduction),
        [rand(*shape, seed=1), rand(*shape, seed=2)],
        device,
    )


@pytest.mark.parametrize("name", ["relu", "sigmoid", "tanh"])
def test_activations_from_functional(device, name):
    check_parity(lambda m, x: getattr(m.nn.functional, name)(x), [rand(3, 4)], device)


# ---------------------------------------------------------------------------
# reductions (written in parallel: skipped while missing)

REDUCTIONS = {
    "sum": [lambda m, x: m.sum(x), lambda m, x: x.sum(1), lambda m, x: m.sum(x, (0, 2), keepdim=True)],
    "mean": [lambda m, x: m.mean(x), lambda m, x: x.mean(-1, keepdim=True), lambda m, x: m.mean(x, (0, 1))],
    "prod": [lambda m, x: m.prod(x), lambda m, x: x.prod(1), lambda m, x: m.prod(x, 2, keepdim=True)],
    "max": [lambda m, x: m.max(x), lambda m, x: x.max(1), lambda m, x: m.max(x, 2, keepdim=True)],
    "min": [lambda m, x: m.min(x), lambda m, x: x.min(0), lambda m, x: m.min(x, -1, keepdim=True)],
    "amax": [lambda m, x: m.amax(x, 1), lambda m, x: x.amax((0, 2))],
    "amin": [lambda m, x: m.amin(x, 1), lambda m, x: x.amin((0, 2), keepdim=True)],
    "var": [lambda m, x: m.var(x), lambda m, x: x.var(1), lambda m, x: m.var(x, 2, correction=0, keepdim=True)],
    "std": [lambda m, x: m.std(x), lambda m, x: x.std(0), lambda m, x: m.std(x, (0, 2), correction=0)],
    "logsumexp": [lambda m, x: m.logsumexp(x, 1), lambda m, x: x.logsumexp((0, 2), keepdim=True)],
    "norm": [lambda m, x: m.norm(x), lambda m, x: x.norm(dim=1), lambda m, x: x.norm(p=1, dim=-1)],
    "cumsum": [lambda m, x: m.cumsum(x, 1), lambda m, x: x.cumsum(-1)],
    "cumprod": [lambda m, x: m.cumprod(x, 1), lambda m, x: x.cumprod(0)],
}


@pytest.mark.parametrize("name, case", [(n, i) for n, cases in REDUCTIONS.items() for i in range(len(cases))])
def test_reduction(device, name, case):
    if not _has(name):
        pytest.skip(f"nbgrad does not have {name} yet")
    check_parity(REDUCTIONS[name][case], [rand(2, 3, 4, low=0.5, high=1.5) * np.sign(rand(2, 3, 4, seed=5))], device)


@needs("prod", "cumprod")
def test_prod_and_cumprod_with_zeros(device):
    x = rand(3, 4, seed=2)
    x[1, 2] = 0.0
    x[2, 0] = x[2, 3] = 0.0
    check_parity(lambda m, v: v.prod(1), [x], device)
    check_parity(lambda m, v: m.prod(v), [x], device)
    check_parity(lambda m, v: m.cumprod(v, 1), [x], device)


@needs("max", "amax")
def test_max_ties_share_gradient_like_torch(device):
    x = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])
    check_parity(lambda m, v: m.amax(v, 1), [x], device)
    check_parity(lambda m, v: m.max(v), [x], device)


# ---------------------------------------------------------------------------
# shape ops


SHAPE_OPS = {
    "reshape": lambda m, x: x.reshape(4, -1),
    "permute": lambda m, x: m.permute(x, (2, 0, 1)),
    "cat": lambda m, x: m.cat([x, x * 2], 1),
    "stack": lambda m, x: m.stack([x, x + 1], 0),
    "split": lambda m, x: m.split(x, 2, dim=2),
    "flip": lambda m, x: m.flip(x, [0, 2]),
    "roll": lambda m, x: m.roll(x, 1, 2),
}


@pytest.mark.parametrize("name", sorted(SHAPE_OPS))
def test_shape_op(device, name):
    if not _has(name):
        pytest.skip(f"nbgrad does not have {name} yet")
    check_parity(SHAPE_OPS[name], [rand(2, 3, 4)], device)


@needs("cat", "split", "roll")
def test_shape_ops_more(device):
    check_parity(lambda m, a, b: m.cat([a, b], 0), [rand(2, 3), rand(1, 3)], device)
    check_parity(lambda m, x: m.split(x, [1, 3], dim=1), [rand(2, 4)], device)
    check_parity(lambda m, x: m.roll(x, (1, -2), (0, 1)), [rand(3, 4)], device)
    check_parity(lambda m, x: m.roll(x, 2), [rand(3, 4)], device)


@pytest.mark.parametrize(
    "pad, mode", [((1, 2), "constant"), ((1, 0, 2, 1), "constant"), ((2, 1), "reflect"), ((1, 2), "replicate")]
)
def test_pad(device, pad, mode):
    check_parity(lambda m, x: m.nn.functional.pad(x, pad, mode=mode), [rand(2, 3, 4)], device)
    if mode == "constant":
        check_parity(lambda m, x: m.nn.functional.pad(x, pad, value=1.5), [rand(2, 3, 4)], device)


# ---------------------------------------------------------------------------
# indexing


INDEXING = {
    "int_array": lambda m, x: x[m.tensor([2, 0, 2])],
    "int_list_2d": lambda m, x: x[[0, 2], [1, 3]],
    "slice_and_array": lambda m, x: x[:, m.tensor([3, 1, 1])],
    "mask": lambda m, x: x[x > 0],
    "row_mask": lambda m, x: x[m.tensor([True, False, True])],
    "basic": lambda m, x: x[1:, ::2],
}


@pytest.mark.parametrize("case", sorted(INDEXING))
def test_getitem(device, case):
    check_parity(INDEXING[case], [rand(3, 4)], device)


@needs("gather")
def test_gather(device):
    index = Const(np.array([[0, 0, 3], [1, 2, 1], [3, 3, 0]]))
    check_parity(lambda m, x, i: m.gather(x, 1, i), [rand(3, 4), index], device)
    check_parity(lambda m, x, i: x.gather(0, i), [rand(4, 3), index], device)


@needs("scatter_add")
def test_scatter_add(device):
    index = Const(np.array([[0, 1, 2, 0], [2, 2, 1, 0]]))
    check_parity(lambda m, x, i, s: m.scatter_add(x, 0, i, s), [rand(3, 4), index, rand(2, 4, seed=3)], device)


@needs("index_select")
def test_index_select(device):
    index = Const(np.array([2, 0, 2]))
    check_parity(lambda m, x, i: m.index_select(x, 0, i), [rand(3, 4), index], device)
    check_parity(lambda m, x, i: x.index_select(1, i), [rand(3, 4), index], device)


# ---------------------------------------------------------------------------
# matmul and einsum


@needs("matmul")
@pytest.mark.parametrize(
    "sa, sb",
    [((3, 4), (4, 5)), ((4,), (4, 5)), ((3, 4), (4,)), ((4,), (4,)), ((2, 1, 3, 4), (3, 4, 2)), ((2, 3, 4), (4, 5))],
)
def test_matmul(device, sa, sb):
    check_parity(lambda m, a, b: m.matmul(a, b), [rand(*sa, seed=1), rand(*sb, seed=2)], device)
    check_parity(lambda m, a, b: a @ b, [rand(*sa, seed=3), rand(*sb, seed=4)], device)


@needs("einsum")
@pytest.mark.parametrize(
    "equation, shapes",
    [
        ("ij,jk->ik", [(3, 4), (4, 5)]),
        ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
        ("i,j->ij", [(3,), (4,)]),
        ("ij->", [(3, 4)]),
        ("ii->i", [(3, 3)]),
        ("ij->ji", [(3, 4)]),
        ("bhqd,bhkd->bhqk", [(2, 2, 3, 4), (2, 2, 5, 4)]),
    ],
)
def test_einsum(device, equation, shapes):
    arrays = [rand(*s, seed=i) for i, s in enumerate(shapes)]
    check_parity(lambda m, *ts: m.einsum(equation, *ts), arrays, device)


# ---------------------------------------------------------------------------
# in-place ops on views: the base's history is rewritten (torch's CopySlices), views follow their base


def _slice_mul(m, x, w):  # in-place on a slice of a non-leaf
    y = x * 2
    y[1:].mul_(w[1:])
    return y.sin()


def _base_then_view(m, x, w):  # a view made before its base changes in place
    y = x * 1.5
    v = y[:, 1]
    y.mul_(w)
    return v * 3


def _sibling_views(m, x, w):  # one view written, another read
    y = x * 2  # (x.exp() would save y itself, and writing y then fails backward in both libraries)
    a, b = y[0], y[:2]
    a.add_(w[0])
    return b.tanh()


def _transposed_setitem(m, x, w):
    y = x + 0
    t = y.T
    t[1] = w[:, 0] * 2
    return y * y


def _copy_into_buffer(m, x, w):  # the base needs no grad; the written values do
    buf = m.zeros(3, 4, dtype=m.float64)
    buf[1:].copy_(x[1:] * w[1:])
    return buf.sum(0) * buf[0:2].sum()


def _view_of_view(m, x, w):
    y = x * 1
    y.view(12)[::2].sub_(w.reshape(12)[::2])
    return y**2


def _select_and_narrow(m, x, w):  # (torch refuses in-place on unbind/chunk outputs: multi-output views)
    y = x * 1
    r0, r1 = y.select(0, 0), y.select(0, -1)
    r1.mul_(3)
    r0.add_(w[0])
    a, b = y.narrow(1, 0, 2), y.narrow(1, 2, 2)
    b.add_(w[:, 2:])
    return y, a * 2


INPLACE_VIEWS = {
    f.__name__.lstrip("_"): f
    for f in (
        _slice_mul,
        _base_then_view,
        _sibling_views,
        _transposed_setitem,
        _copy_into_buffer,
        _view_of_view,
        _select_and_narrow,
    )
}


@pytest.mark.parametrize("case", sorted(INPLACE_VIEWS))
def test_inplace_on_views(device, case):
    check_parity(INPLACE_VIEWS[case], [rand(3, 4), rand(3, 4, seed=1)], device)
