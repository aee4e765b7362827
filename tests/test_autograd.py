"""The autograd engine: backward, grad, hooks, grad modes, custom Functions, anomaly mode, memory."""

from __future__ import annotations

import gc
import sys
import weakref

import numpy as np
import pytest
from op_check import assert_close

import nbgrad as nb
from nbgrad.autograd import Function


def test_backward_accumulates_on_leaves(device):
    x = nb.tensor([1.0, 2.0], device=device, requires_grad=True)
    (x * x).sum().backward()
    (x * 3).sum().backward()
    assert_close(x.grad, [5.0, 7.0])


def test_reused_node_gradients_add_up(device):
    x = nb.tensor([1.0, 2.0, 3.0], dtype=nb.float64, device=device, requires_grad=True)
    y = x.exp()
    z = y * y + y.sin() + y  # y feeds three consumers
    z.sum().backward()
    e = np.exp([1.0, 2.0, 3.0])
    assert_close(x.grad, (2 * e + np.cos(e) + 1) * e)


def test_grads_of_two_leaves_do_not_alias(device):
    a = nb.tensor([1.0, 2.0], device=device, requires_grad=True)
    b = nb.tensor([3.0, 4.0], device=device, requires_grad=True)
    (a + b).sum().backward()  # add passes the same gradient to both
    a.grad._data[0] = 100.0
    assert b.grad.tolist() == [1.0, 1.0]


@pytest.mark.parametrize(
    "fn",
    [
        lambda a, b: (a * b + b / a - 2 * a).sin().exp().tanh(),
        lambda a, b: (3 - a) * (b / 2.5) - 1 / b,
        lambda a, b: nb.nn.functional.softmax(a * b, dim=1) + nb.nn.functional.log_softmax(a - b, dim=0),
        lambda a, b: nb.nn.functional.gelu(a) * nb.nn.functional.leaky_relu(b, 0.2) + a.sigmoid() * b.relu(),
        lambda a, b: nb.nn.functional.linear(a, b, b[0]) + nb.nn.functional.mse_loss(a, b),
    ],
)
def test_array_and_tensor_backward_agree(fn, device):
    """A plain backward runs the derivatives on arrays; create_graph runs the same formulas on Tensors."""
    rng = np.random.default_rng(0)
    a, b = (nb.tensor(rng.uniform(0.5, 2.0, (3, 3)), device=device, requires_grad=True) for _ in range(2))
    seed = nb.tensor(rng.standard_normal((3, 3)), device=device)
    fn(a, b).backward(seed)
    on_tensors = nb.autograd.grad(fn(a, b), (a, b), seed, create_graph=True)
    for plain, recorded in zip((a.grad, b.grad), on_tensors):
        assert recorded.requires_grad and not plain.requires_grad
        assert_close(plain, nb.backend.to_numpy(recorded.detach()._data), rtol=1e-12)


def test_leaf_takes_a_fresh_gradient_without_copying_and_copies_a_shared_one():
    made = []

    class Twice(Function):
        @staticmethod
        def forward(ctx, a, b):
            return a * 2 + b * 2

        @staticmethod
        def backward(ctx, grad):
            g = grad._data * 2
            made.append(weakref.ref(g))  # numpy arrays take weak references: no reference count is added
            return g, g  # the same array for both inputs

    a, b = nb.randn(3, requires_grad=True), nb.randn(3, requires_grad=True)
    Twice.apply(a, b).sum().backward()
    assert not np.shares_memory(a.grad._data, b.grad._data)
    # The last leaf to finish holds the only reference left: it takes the array itself.
    assert sum(made[0]() is t.grad._data for t in (a, b)) == 1
    seed = nb.ones(3)
    a.grad = None
    a.backward(seed)  # the user's own gradient: .grad must be a copy
    assert not np.shares_memory(a.grad._data, seed._data)


def test_a_root_that_is_an_ancestor_of_another_root(device):
    x = nb.tensor([1.0, 2.0], device=device, requires_grad=True)
    y = x * 3
    (g,) = nb.autograd.grad([y, y * 2], [x], [nb.ones(2, device=device), nb.ones(2, device=device)])
    assert g.tolist() == [9.0, 9.0]  # 3 + 2 * 3: each path counted once
    y = x * 3
    nb.autograd.backward([y * 2, y], [nb.ones(2, device=device), nb.ones(2, device=device)])
    assert x.grad.tolist() == [9.0, 9.0]


def test_non_scalar_backward_needs_gradient(device):
    x = nb.ones(3, device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"grad can be implicitly created only for scalar outputs.*\(3,\)"):
        (x * 2).backward()
    (x * 2).backward(nb.tensor([1.0, 2.0, 3.0], device=device))
    assert_close(x.grad, [2.0, 4.0, 6.0])
    with pytest.raises(RuntimeError, match=r"gradient has shape \(2,\) but the tensor has shape \(3,\)"):
        (x * 2).backward(nb.ones(2, device=device))


def test_backward_on_tensor_without_grad_raises():
    with pytest.raises(RuntimeError, match="does not require grad"):
        nb.ones(2).sum().backward() if hasattr(nb.Tensor, "sum") else nb.ones(1).backward()


def test_second_backward_mentions_retain_graph(device):
    x = nb.tensor([1.0, 2.0], device=device, requires_grad=True)
    y = (x.exp() * x).sum() if hasattr(nb.Tensor, "sum") else (x.exp() * x)
    g = None if y.numel() == 1 else nb.ones(2, device=device)
    y.backward(g)
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward(g)


def test_retain_graph_allows_second_backward(device):
    x = nb.tensor([1.0, 2.0], device=device, requires_grad=True)
    y = x.exp() * x
    g = nb.ones(2, device=device)
    y.backward(g, retain_graph=True)
    first = x.grad.tolist()
    y.backward(g)
    assert_close(x.grad, 2 * np.array(first), rtol=1e-6)


def test_long_chain_is_iterative():
    """A 100,000-node chain: no recursion limit, and the gradient is exact."""
    x = nb.tensor([1.0], dtype=nb.float64, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    assert sys.getrecursionlimit() < 100_000
    y.backward(nb.ones(1, dtype=nb.float64))
    assert x.grad.tolist() == [1.0]


def test_graph_is_freed_after_backward():
    """Saved tensors are released by backward: intermediate arrays die with their last reference."""
    x = nb.randn(50, requires_grad=True)
    h = x.exp()
    probe = weakref.ref(h._data)
    node = weakref.ref(h.grad_fn)
    out = (h * 2).sin()
    del h
    gc.collect()
    assert probe() is not None  # still saved by the graph (exp saves its output, mul saves it as input)
    out.backward(nb.ones(50))
    gc.collect()
    assert probe() is None
    del out
    gc.collect()
    assert node() is None  # no reference cycles keep the graph alive


def test_graph_without_backward_is_freed_by_refcount():
    x = nb.randn(10, requires_grad=True)
    y = x.exp().tanh()
    node = weakref.ref(y.grad_fn)
    gc.disable()
    try:
        del y
        assert node() is None  # no cycle: freed without the garbage collector
    finally:
        gc.enable()


def test_create_graph_gives_higher_order_gradients(device):
    x = nb.tensor([0.3, 1.2], dtype=nb.float64, device=device, requires_grad=True)
    (g,) = nb.autograd.grad(
        (x**3 * x.sin()), x, grad_outputs=nb.ones(2, dtype=nb.float64, device=device), create_graph=True
    )
    (gg,) = nb.autograd.grad(g, x, grad_outputs=nb.ones(2, dtype=nb.float64, device=device))
    v = np.array([0.3, 1.2])
    assert_close(g, 3 * v**2 * np.sin(v) + v**3 * np.cos(v))
    assert_close(gg, 6 * v * np.sin(v) + 6 * v**2 * np.cos(v) - v**3 * np.sin(v))


@pytest.mark.parametrize(
    "fn",
    [
        lambda a, b: (a * b).tanh() / (b.exp() + 1),
        lambda a, b: (a - b).sigmoid() ** 2 + a.sqrt() * b.cos(),
        lambda a, b: nb.maximum(a, b) * a.log1p() - b.reciprocal(),
    ],
)
def test_gradgradcheck(fn, device):
    a = nb.tensor(np.random.default_rng(1).uniform(0.2, 2, 4), device=device, requires_grad=True)
    b = nb.tensor(np.random.default_rng(2).uniform(0.2, 2, 4), device=device, requires_grad=True)
    if a.dtype != nb.float64:
        a, b = a.double().detach().requires_grad_(), b.double().detach().requires_grad_()
    assert nb.autograd.gradgradcheck(fn, (a, b))


def test_autograd_grad_does_not_touch_dot_grad(device):
    x = nb.tensor([1.0, 2.0], device=device, requires_grad=True)
    (g,) = nb.autograd.grad(x * x, x, grad_outputs=nb.ones(2, device=device))
    assert x.grad is None
    assert_close(g, [2.0, 4.0])


def test_autograd_grad_unused_input(device):
    x = nb.tensor([1.0], device=device, requires_grad=True)
    y = nb.tensor([1.0], device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match="input 1 .* was not used"):
        nb.autograd.grad(x * 2, [x, y], grad_outputs=nb.ones(1, device=device))
    gx, gy = nb.autograd.grad(x * 2, [x, y], grad_outputs=nb.ones(1, device=device), allow_unused=True)
    assert gy is None and gx.tolist() == [2.0]


def test_autograd_grad_of_intermediate(device):
    x = nb.tensor([1.0, 2.0], device=device, requires_grad=True)
    h = x * 3
    y = h * h
    (gh,) = nb.autograd.grad(y, h, grad_outputs=nb.ones(2, device=device))
    assert_close(gh, [6.0, 12.0])


def test_hooks_on_leaf_and_intermediate(device):
    x = nb.tensor([1.0, 2.0], device=device, requires_grad=True)
    seen = []
    handle = x.register_hook(lambda g: g * 10)
    h = x * 2
    h.register_hook(lambda g: seen.append(g.tolist()))
    (h * 3).backward(nb.ones(2, device=device))
    assert seen == [[3.0, 3.0]]
    assert_close(x.grad, [60.0, 60.0])
    handle.remove()
    x.grad = None
    (x * 2).backward(nb.ones(2, device=device))
    assert_close(x.grad, [2.0, 2.0])


def test_leaf_hook_sees_total_gradient(device):
    x = nb.tensor([1.0], device=device, requires_grad=True)
    calls = []
    x.register_hook(lambda g: calls.append(g.item()))
    (x * 2 + x * 3).backward(nb.ones(1, device=device))
    assert calls == [5.0]


def test_retain_grad(device):
    x = nb.tensor([1.0, 2.0], device=device, requires_grad=True)
    h = x * 2
    h.retain_grad()
    assert h.retains_grad
    (h * h).backward(nb.ones(2, device=device))
    assert_close(h.grad, [4.0, 8.0])


def test_hook_requires_grad():
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        nb.ones(2).register_hook(lambda g: g)


def test_grad_modes_as_context_and_decorator():
    x = nb.ones(2, requires_grad=True)
    with nb.no_grad():
        assert not (x * 2).requires_grad
        assert not nb.is_grad_enabled()
        with nb.enable_grad():
            assert (x * 2).requires_grad
    assert nb.is_grad_enabled()

    @nb.no_grad()
    def f(t):
        return t * 2

    assert not f(x).requires_grad
    with nb.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert (x * 2).requires_grad
    nb.set_grad_enabled(False)
    assert not nb.is_grad_enabled()
    nb.set_grad_enabled(True)

    @nb.set_grad_enabled(False)
    def g(t):
        return t * 2

    assert nb.is_grad_enabled() and not g(x).requires_grad
    with nb.inference_mode():
        assert not (x * 2).requires_grad and nb.autograd.is_inference_mode_enabled()
    with nb.inference_mode(False):
        assert (x * 2).requires_grad

    @nb.inference_mode()
    def h(t):
        return t * 2

    assert not h(x).requires_grad


def test_grad_mode_restored_after_exception():
    with pytest.raises(ValueError):
        with nb.no_grad():
            raise ValueError
    assert nb.is_grad_enabled()


class Cube(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x**3

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return 3 * x**2 * grad


class SplitSigns(Function):
    """Two outputs; the second gets no gradient in some graphs."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return nb.relu(x), nb.relu(-x)

    @staticmethod
    def backward(ctx, g_pos, g_neg):
        (x,) = ctx.saved_tensors
        return g_pos * (x > 0) - g_neg * (x < 0)


def test_custom_function(device):
    x = nb.tensor([1.0, -2.0], dtype=nb.float64, device=device, requires_grad=True)
    y = Cube.apply(x)
    assert y.grad_fn.name() == "CubeBackward"
    assert repr(y.grad_fn) == "<CubeBackward>"
    assert nb.autograd.gradcheck(Cube.apply, (x,))
    assert nb.autograd.gradgradcheck(Cube.apply, (x,))


def test_custom_function_reads_needs_input_grad_in_forward():
    seen = []

    class Scale(Function):
        @staticmethod
        def forward(ctx, x, w):
            seen.append(ctx.needs_input_grad)
            return x * w

        @staticmethod
        def backward(ctx, grad):
            return grad, None

    x, w = nb.ones(2, requires_grad=True), nb.ones(2)
    Scale.apply(x, w)
    with nb.no_grad():
        Scale.apply(x, w)
    assert seen == [(True, False), (False, False)]


def test_custom_function_multiple_outputs(device):
    x = nb.tensor([1.5, -2.0, 0.5], dtype=nb.float64, device=device, requires_grad=True)
    pos, neg = SplitSigns.apply(x)
    assert pos.grad_fn is neg.grad_fn and neg.output_nr == 1
    pos.backward(nb.ones(3, dtype=nb.float64, device=device))  # neg gets zeros materialised
    assert_close(x.grad, [1.0, 0.0, 1.0])
    assert nb.autograd.gradcheck(lambda t: SplitSigns.apply(t), (x.detach().requires_grad_(),))


def test_custom_function_wrong_gradient_shape():
    class Bad(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, grad):
            return nb.ones(5)

    x = nb.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"BadBackward: backward returned a gradient of shape \(5,\)"):
        Bad.apply(x).backward(nb.ones(3))


def test_anomaly_mode_names_backward_op_and_user_line():
    x = nb.tensor([0.0, 1.0], requires_grad=True)
    with nb.autograd.detect_anomaly():
        y = x.sqrt() * 0.0 + x.sqrt()  # noqa: F841 - the line the report must point at
        with pytest.raises(nb.autograd.AnomalyError) as info:
            y.backward(nb.ones(2))
    err = info.value
    assert err.phase == "backward" and err.op == "SqrtBackward0"
    assert "SqrtBackward0 returned" in str(err) and "shape=(2,)" in str(err)
    assert "test_autograd.py" in str(err) and "x.sqrt()" in str(err)
    assert not nb.autograd.is_anomaly_enabled()


@pytest.mark.filterwarnings("ignore:invalid value encountered in log:RuntimeWarning")
def test_anomaly_mode_forward_nan():
    x = nb.tensor([-1.0, 1.0], requires_grad=True)
    with nb.autograd.set_detect_anomaly(True):
        with pytest.raises(nb.autograd.AnomalyError, match="forward of Log produced 1 NaN"):
            x.log()
    assert not nb.autograd.is_anomaly_enabled()


def test_anomaly_mode_passes_clean_graphs():
    x = nb.tensor([1.0, 2.0], requires_grad=True)
    with nb.autograd.detect_anomaly():
        (x.exp() * x).backward(nb.ones(2))
    assert x.grad is not None


def test_gradcheck_catches_wrong_backward():
    class WrongSin(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x.sin()

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * x.sin()  # wrong on purpose

    x = nb.tensor([0.5, 1.0], dtype=nb.float64, requires_grad=True)
    with pytest.raises(nb.autograd.GradcheckError, match="Jacobian mismatch"):
        nb.autograd.gradcheck(WrongSin.apply, (x,))
    assert nb.autograd.gradcheck(WrongSin.apply, (x,), raise_exception=False) is False


def test_gradcheck_requires_float64():
    with pytest.raises(ValueError, match="use float64"):
        nb.autograd.gradcheck(nb.exp, (nb.ones(2, requires_grad=True),))


def test_detach_and_requires_grad_rules():
    x = nb.ones(2, requires_grad=True)
    y = x * 2
    d = y.detach()
    assert d.grad_fn is None and not d.requires_grad and d.is_leaf
    with pytest.raises(RuntimeError, match="only change requires_grad of leaf tensors"):
        y.requires_grad_(False)
    with pytest.raises(RuntimeError, match="only floating point tensors can require gradients"):
        nb.tensor([1, 2]).requires_grad_()
    assert y.grad_fn.name() == "MulBackward0"
    assert not y.is_leaf and x.is_leaf
    edges = y.grad_fn.next_functions
    assert edges[0][0] is x and edges[1] is None


def test_multiple_roots_autograd_backward():
    x = nb.tensor([1.0, 2.0], requires_grad=True)
    nb.autograd.backward([x * 2, x * 3], [nb.ones(2), nb.ones(2)])
    assert_close(x.grad, [5.0, 5.0])


def test_leaf_grad_keeps_leaf_dtype_in_mixed_precision(device):
    x = nb.ones(2, device=device, requires_grad=True)
    w = nb.tensor([2.0, 3.0], dtype=nb.float64, device=device)
    (x * w).backward(nb.ones(2, dtype=nb.float64, device=device))
    assert x.grad.dtype == nb.float32 and x.grad.tolist() == [2.0, 3.0]


def test_nodes_remember_the_module_that_recorded_them():
    layer = nb.nn.Linear(2, 3)
    act = nb.nn.ReLU()
    h = layer(nb.randn(4, 2))
    y = act(h)
    z = y.sum()  # recorded outside any module
    assert h.grad_fn._module.module is layer and y.grad_fn._module.module is act
    assert h.grad_fn._module is not layer(nb.randn(1, 2)).grad_fn._module  # each call is its own record
    assert "_module" not in z.grad_fn.__dict__
    assert h.grad_fn._out_shape == (4, 3) and z.grad_fn._out_shape == ()
    z.backward()
    assert y.grad_fn._module.module is act and y.grad_fn._out_shape == (4, 3)  # kept for drawing the freed graph
