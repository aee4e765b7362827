"""In-place ops: values, aliasing with views, version counters, autograd through them, and errors."""

from __future__ import annotations

import numpy as np
import pytest
from op_check import assert_close, random_inputs

import nbgrad as nb
from nbgrad.autograd import gradcheck


def _t(array, device, requires_grad=False):
    t = nb.tensor(array, device=device)
    return t.requires_grad_(True) if requires_grad else t


# (method call on a Tensor, the same on a NumPy array); other operands broadcast from shape (4,).
OTHER = np.array([0.5, -1.5, 2.0, 3.0])
BINARY = {
    "add_": (lambda t, o: t.add_(o), lambda a, o: a + o),
    "add_alpha": (lambda t, o: t.add_(o, alpha=-2), lambda a, o: a - 2 * o),
    "sub_": (lambda t, o: t.sub_(o), lambda a, o: a - o),
    "sub_alpha": (lambda t, o: t.sub_(o, alpha=0.5), lambda a, o: a - 0.5 * o),
    "mul_": (lambda t, o: t.mul_(o), lambda a, o: a * o),
    "div_": (lambda t, o: t.div_(o), lambda a, o: a / o),
    "div_floor": (lambda t, o: t.div_(o, rounding_mode="floor"), lambda a, o: np.floor(a / o)),
    "pow_": (lambda t, o: t.abs_().pow_(o), lambda a, o: np.abs(a) ** o),
    "iadd": (lambda t, o: t.__iadd__(o), lambda a, o: a + o),
    "isub": (lambda t, o: t.__isub__(o), lambda a, o: a - o),
    "imul": (lambda t, o: t.__imul__(o), lambda a, o: a * o),
    "itruediv": (lambda t, o: t.__itruediv__(o), lambda a, o: a / o),
    "ipow": (lambda t, o: t.abs_().__ipow__(o), lambda a, o: np.abs(a) ** o),
}
UNARY = {
    "neg_": np.negative,
    "abs_": np.abs,
    "exp_": np.exp,
    "log_": lambda a: np.log(np.abs(a)),
    "sqrt_": lambda a: np.sqrt(np.abs(a)),
    "tanh_": np.tanh,
    "sigmoid_": lambda a: 1 / (1 + np.exp(-a)),
    "relu_": lambda a: np.maximum(a, 0),
}


def _unary(name):
    if name in ("log_", "sqrt_"):
        return lambda t: getattr(t.abs_(), name)()
    return lambda t: getattr(t, name)()


@pytest.mark.parametrize("name", list(BINARY))
@pytest.mark.parametrize("other_kind", ["tensor", "scalar", "ndarray"])
def test_binary_inplace_values_and_aliasing(name, other_kind, device):
    fn, ref = BINARY[name]
    a = random_inputs([(3, 4)], seed=1)[0]
    other = {"tensor": _t(OTHER, device), "scalar": 1.5, "ndarray": OTHER}[other_kind]
    o_np = OTHER if other_kind != "scalar" else 1.5
    x = _t(a.copy(), device)
    view = x.T  # a view made before the write must see it
    memory = x._data
    out = fn(x, other)
    assert out is x and x._data is memory
    assert_close(x, ref(a, o_np))
    assert_close(view, ref(a, o_np).T)
    assert x._version[0] >= 1


@pytest.mark.parametrize("name", list(UNARY))
def test_unary_inplace_values(name, device):
    a = random_inputs([(2, 3)], seed=2)[0]
    x = _t(a.copy(), device)
    view = x[1]
    assert _unary(name)(x) is x
    assert_close(x, UNARY[name](a), rtol=1e-6)
    assert_close(view, UNARY[name](a)[1], rtol=1e-6)


def test_inplace_on_views_changes_the_base(device):
    x = _t(np.arange(6.0).reshape(2, 3), device)
    x.T.mul_(2)
    x[0].add_(1)
    x.reshape(6)[5:].zero_()
    assert_close(x, np.array([[1.0, 3.0, 5.0], [6.0, 8.0, 0.0]]))
    assert x._version[0] == 3


def test_inplace_noncontiguous_self(device):
    base = _t(np.arange(12.0).reshape(3, 4), device)
    col = base[:, 1]
    col.add_(_t(np.array([10.0, 20.0, 30.0]), device))
    col.mul_(2)
    assert_close(base[:, 1], np.array([22.0, 50.0, 78.0]))
    assert_close(base[:, 0], np.array([0.0, 4.0, 8.0]))


def test_chaining_and_0d_and_empty(device):
    x = _t(np.zeros(3), device)
    assert x.add_(1).mul_(2).sub_(0.5) is x
    assert_close(x, np.full(3, 1.5))
    s = _t(np.array(2.0), device)
    s += 1
    s.pow_(2)
    assert_close(s, np.array(9.0))
    e = _t(np.zeros((0, 3)), device)
    e.add_(1)
    e.fill_(3)
    assert e.shape == (0, 3)


def test_float32_keeps_dtype_and_weak_scalars(device):
    x = _t(np.ones(3, np.float32), device)
    x.mul_(2.5)
    x.add_(_t(np.ones(3), device))  # float64 operand: the result is cast back (same kind)
    assert x.dtype == nb.float32
    assert_close(x, np.full(3, 3.5, np.float32))
    i = _t(np.arange(3), device)
    i += 2
    i *= 3
    assert i.dtype == nb.int64 and i.tolist() == [6, 9, 12]


def test_fill_zero_copy_clamp(device):
    x = _t(np.arange(6.0).reshape(2, 3), device)
    x.clamp_(1, 4)
    assert_close(x, np.clip(np.arange(6.0).reshape(2, 3), 1, 4))
    x.clip_(max=2)
    assert_close(x, np.clip(np.arange(6.0).reshape(2, 3), 1, 2))
    x.clamp_(min=_t(np.array([0.0, 1.5, 3.0]), device))
    assert_close(x, np.array([[1.0, 1.5, 3.0], [2.0, 2.0, 3.0]]))
    x.fill_(7)
    assert_close(x, np.full((2, 3), 7.0))
    x.fill_(_t(np.array(-1.0), device))
    assert_close(x, np.full((2, 3), -1.0))
    x.zero_()
    assert_close(x, np.zeros((2, 3)))
    x.copy_(_t(np.array([1.0, 2.0, 3.0]), device))  # broadcast
    assert_close(x, np.tile([1.0, 2.0, 3.0], (2, 1)))
    i = _t(np.zeros(3, np.int64), device)
    i.copy_(_t(np.array([1.7, 2.2, -0.5]), device))  # copy_ casts freely, as in torch
    assert i.tolist() == [1, 2, 0]
    assert x._version[0] == 7


def test_masked_fill_and_scatter_inplace(device):
    x = _t(np.arange(4.0), device)
    x.masked_fill_(x > 1.5, -1.0)
    assert_close(x, np.array([0.0, 1.0, -1.0, -1.0]))
    y = _t(np.zeros((2, 3)), device)
    y.scatter_(1, nb.tensor([[2], [0]], device=device), 5.0)
    y.scatter_add_(1, nb.tensor([[2, 2]], device=device), _t(np.ones((1, 2)), device))
    assert_close(y, np.array([[0.0, 0.0, 7.0], [5.0, 0.0, 0.0]]))


# ---------------------------------------------------------------------------
# autograd through in-place ops


def test_torch_accepts_inplace_on_a_non_leaf_whose_value_no_one_saved(device):
    x = _t(np.array([1.0, 2.0, 3.0]), device, requires_grad=True)
    y = x * 2
    y.add_(1)
    assert y.grad_fn.name() == "AddBackward0"
    y.sum().backward()
    assert_close(x.grad, np.full(3, 2.0))


def test_inplace_mul_on_non_leaf_saves_a_snapshot(device):
    x = _t(np.array([1.0, 2.0, 3.0]), device, requires_grad=True)
    y = x * 1
    y.mul_(x)  # MulBackward needs the old y: it gets a copy, so the next write does not corrupt it
    y.mul_(3)
    y.sum().backward()
    assert_close(x.grad, 6 * np.array([1.0, 2.0, 3.0]))


def test_inplace_with_itself_as_operand_fails_at_backward_like_torch(device):
    x = _t(np.array([1.0, 2.0]), device, requires_grad=True)
    y = x * 1
    y.mul_(y)  # the operand is the tensor being overwritten: torch refuses at backward too
    with pytest.raises(RuntimeError, match=r"MulBackward0: .*modified by an inplace operation"):
        y.sum().backward()


def test_inplace_after_exp_fails_at_backward_like_torch(device):
    a = _t(np.ones(3), device, requires_grad=True)
    b = a.exp()
    b.add_(1)
    with pytest.raises(
        RuntimeError,
        match=r"ExpBackward0: one of the variables needed for gradient computation has "
        r"been modified by an inplace operation.*version 1; expected version 0",
    ):
        b.sum().backward()


def test_inplace_after_sigmoid_fails_at_backward_like_torch(device):
    x = _t(np.zeros(2), device, requires_grad=True)
    y = x.sigmoid()
    y.mul_(2)
    with pytest.raises(RuntimeError, match=r"SigmoidBackward0: .*modified by an inplace operation"):
        y.sum().backward()


def test_inplace_through_a_view_bumps_the_shared_version(device):
    x = _t(np.ones((2, 2)), device, requires_grad=True)
    y = x.exp()
    y[0].zero_()  # writes y's memory through a view: ExpBackward's saved output is stale
    with pytest.raises(RuntimeError, match=r"ExpBackward0: .*at version 1"):
        y.sum().backward()


def test_operand_requiring_grad_records_graph(device):
    x = _t(np.zeros(3), device)  # no grad: a buffer
    w = _t(np.array([1.0, 2.0, 3.0]), device, requires_grad=True)
    x.add_(w * 2)
    x.mul_(w)
    assert x.requires_grad and x.grad_fn.name() == "MulBackward0"
    x.sum().backward()
    assert_close(w.grad, 4 * np.array([1.0, 2.0, 3.0]))


@pytest.mark.parametrize("name", list(BINARY))
def test_binary_inplace_gradcheck(name, device):
    fn = BINARY[name][0]
    a, o = random_inputs([(3, 4), (4,)], seed=4, low=0.5, high=2.0)

    def f(x, other):
        y = x * 1  # in-place ops need a non-leaf
        return fn(y, other)

    assert gradcheck(f, (_t(a, device, True), _t(o, device, True)))


@pytest.mark.parametrize("name", list(UNARY))
def test_unary_inplace_gradcheck(name, device):
    a = random_inputs([(2, 3)], seed=5, low=0.5, high=2.0)[0]
    assert gradcheck(lambda x: _unary(name)(x * 1), (_t(a, device, True),))


def test_fill_copy_clamp_gradcheck(device):
    a, s = random_inputs([(2, 3), (3,)], seed=6)
    x, src = _t(a, device, True), _t(s, device, True)
    v = _t(np.array(0.7), device, True)
    assert gradcheck(lambda x, src: (x * 1).copy_(src) * x, (x, src))
    assert gradcheck(lambda x, v: (x * 1).fill_(v) * x, (x, v))
    assert gradcheck(lambda x: (x * 1).clamp_(-0.5, 0.5), (x,))
    assert gradcheck(lambda x, v: (x * 1).masked_fill_(x > 0, v), (x, v))


def test_inplace_result_dtype_follows_self_in_graph(device):
    x = _t(np.ones(3, np.float32), device, requires_grad=True)
    w = _t(np.full(3, 2.0), device, requires_grad=True)  # float64
    y = x * 1
    y.mul_(w)
    assert y.dtype == nb.float32
    y.sum().backward()
    assert w.grad.dtype == nb.float64
    assert_close(w.grad, np.ones(3))
    assert_close(x.grad, np.full(3, 2.0))


# ---------------------------------------------------------------------------
# errors


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda w: w.add_(1), "add_"),
        (lambda w: w.mul_(2), "mul_"),
        (lambda w: w.zero_(), "zero_"),
        (lambda w: w.exp_(), "exp_"),
        (lambda w: w.__iadd__(1), "add_"),
        (lambda w: w.copy_(w.detach()), "copy_"),
        (lambda w: w.clamp_(0), "clamp_"),
    ],
)
def test_leaf_requiring_grad_raises(call, name, device):
    w = _t(np.ones(3), device, requires_grad=True)
    with pytest.raises(RuntimeError, match=rf"^{name}: a leaf Variable that requires grad is being used in an in-pl"):
        call(w)
    with nb.no_grad():
        call(w)  # optimizer-style updates are fine without grad recording
    assert w._version[0] == 1


def test_view_of_leaf_requiring_grad_raises(device):
    w = _t(np.ones((2, 3)), device, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"add_: a view of a leaf Variable that requires grad.*\(3,\).*\(2, 3\)"):
        w[0].add_(1)
    with pytest.raises(RuntimeError, match=r"mul_: a view of a leaf Variable"):
        w.T.mul_(2)
    with pytest.raises(RuntimeError, match=r"zero_: a view of a leaf Variable.*\(1,\).*\(2, 3\)"):
        w.T[1:2].view(-1, 1)[0].zero_()  # a view of a view of a view
    with nb.no_grad():
        made_without_grad = w[1]
    with pytest.raises(RuntimeError, match=r"fill_: a view of a leaf Variable"):
        made_without_grad.fill_(0)
    assert w.is_leaf and w.tolist() == [[1.0] * 3] * 2  # nothing was written
    with nb.no_grad():
        w.T[0].mul_(2)  # the optimizer's case: allowed
    assert w.is_leaf and w.tolist()[0][0] == 2.0


def test_cast_errors(device):
    i = _t(np.arange(3), device)
    with pytest.raises(RuntimeError, match=r"^add_: result type Double can't be cast to the desired output type Long"):
        i.add_(_t(np.ones(3), device))
    with pytest.raises(RuntimeError, match=r"^mul_: result type Float can't be cast to the desired output type Long"):
        i.mul_(1.5)
    with pytest.raises(RuntimeError, match=r"^div_: result type Float can't be cast to the desired output type Long"):
        i /= 2
    with pytest.raises(RuntimeError, match=r"^exp_: result type Float can't be cast to the desired output type Long"):
        i.exp_()
    f = _t(np.ones(2, np.float32), device)
    f.add_(_t(np.ones(2, np.int64), device))  # int operand into float: allowed
    assert f.dtype == nb.float32 and f.tolist() == [2.0, 2.0]
    assert i.tolist() == [0, 1, 2] and i._version[0] == 0  # failed ops change nothing


def test_shape_errors(device):
    x = _t(np.zeros(3), device)
    with pytest.raises(RuntimeError, match=r"^add_: output with shape \(3,\) doesn't match the broadcast shape \(2, 3"):
        x.add_(_t(np.zeros((2, 3)), device))
    with pytest.raises(RuntimeError, match=r"cannot be broadcast"):
        x.mul_(_t(np.zeros(4), device))
    e = _t(np.ones(3), device).expand(2, 3)
    with pytest.raises(
        RuntimeError,
        match=r"^add_: unsupported operation: more than one element of the written-to "
        r"tensor \(shape \(2, 3\)\).*clone\(\)",
    ):
        e.add_(1)
    with pytest.raises(RuntimeError, match=r"^fill_: only supports a 0-dimensional value tensor.*\(3,\)"):
        x.fill_(_t(np.ones(3), device))
    with pytest.raises(RuntimeError, match=r"^clamp_: at least one of 'min' or 'max'"):
        x.clamp_()
    with pytest.raises(TypeError, match=r"add_: unsupported operand type str"):
        x.add_("a")


# ---------------------------------------------------------------------------- in-place on views: torch's CopySlices


def test_inplace_on_a_slice_rewrites_the_base_history(device):
    x = _t([1.0, 2.0, 3.0], device, requires_grad=True)
    y = x * 2
    y[1:].mul_(3)  # without rewriting y's history, x.grad would be [2, 2, 2]
    assert y.grad_fn.name() == "CopySlices"
    assert y.tolist() == [2.0, 12.0, 18.0]
    y.sum().backward()
    assert x.grad.tolist() == [2.0, 6.0, 6.0]


def test_a_view_made_before_its_base_changed_follows_the_base(device):
    x = _t([1.0, 2.0], device, requires_grad=True)
    y = x * 1
    first = y[0]
    y.mul_(5)
    first.backward()  # first is a root here: its history is re-derived from y's
    assert x.grad.tolist() == [5.0, 0.0]
    x.grad = None
    y = x * 1
    row, col = y.view(1, 2), y[1:]
    row.mul_(x)  # a sibling view written: col's history goes through it as well
    (col * 1).backward(nb.ones(1, device=device))
    assert x.grad.tolist() == [0.0, 4.0]


def test_writing_a_grad_value_into_a_plain_buffer_makes_it_require_grad(device):
    w = _t([1.0, 2.0], device, requires_grad=True)
    buf = nb.zeros(2, 3, dtype=nb.float64, device=device)
    buf[:, 1].copy_(w * w)
    buf.T[2] = w  # a view of a view
    assert buf.requires_grad and not buf.is_leaf
    (buf * nb.tensor([[1.0, 10.0, 100.0]], dtype=nb.float64, device=device)).sum().backward()
    assert w.grad.tolist() == [10 * 2 * 1.0 + 100, 10 * 2 * 2.0 + 100]


def _write_through_views(x, w):
    y = x * 1.5
    y.T[1:, ::2].mul_(w[:2, :3].T)
    y.view(-1)[3:5].add_(y[0, :2].exp())
    return y.sin()


def test_writes_through_views_pass_gradcheck_and_gradgradcheck(device):
    x, w = (_t(a, device, requires_grad=True) for a in random_inputs([(3, 4), (3, 4)]))
    assert gradcheck(_write_through_views, (x, w))
    assert nb.autograd.gradgradcheck(_write_through_views, (x, w))


def test_saved_views_still_refuse_backward_after_a_write(device):
    x = _t([1.0, 2.0, 3.0], device, requires_grad=True)
    y = x * 1
    s = y[:2].sin()  # saves the view y[:2]
    y[1:].zero_()  # overlaps it
    with pytest.raises(RuntimeError, match=r"SinBackward0: .*modified by an inplace operation"):
        s.sum().backward()


def test_views_written_under_no_grad_keep_their_history(device):
    x = _t([1.0, 2.0], device, requires_grad=True)
    y = x * 3
    v = y[1:]
    with nb.no_grad():
        y[0].fill_(7.0)  # not recorded: v is re-derived from y's unchanged history
    (v * 2).backward(nb.ones(1, device=device))
    assert x.grad.tolist() == [0.0, 6.0]
