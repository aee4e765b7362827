"""Normalisation: batch_norm layer_norm group_norm rms_norm and their layers.

Forward values against NumPy references written here, gradients by gradcheck
(float64) and gradgradcheck, running statistics, and parity with torch
(values, gradients, running stats over several steps, state dicts both ways).
"""

from __future__ import annotations

import numpy as np
import pytest
from op_check import assert_close, random_inputs

import nbgrad as nb
import nbgrad.nn.functional as F
from nbgrad.autograd import gradcheck, gradgradcheck

# ---------------------------------------------------------------------------
# NumPy references


def np_normalize(x, axes, eps, center=True):
    x = np.asarray(x, dtype=np.float64)
    mean = x.mean(axis=axes, keepdims=True) if center else 0.0
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    return (x - mean) / np.sqrt(var + eps)


def np_batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps):
    """Returns (output, new running mean, new running var)."""
    c = x.shape[1]
    axes = (0,) + tuple(range(2, x.ndim))
    bshape = (1, c) + (1,) * (x.ndim - 2)
    if training:
        y = np_normalize(x, axes, eps)
        n = x.size // c
        mean, var = x.mean(axis=axes), x.var(axis=axes) * n / (n - 1)
        if running_mean is not None:
            running_mean = (1 - momentum) * running_mean + momentum * mean
            running_var = (1 - momentum) * running_var + momentum * var
    else:
        y = (x - running_mean.reshape(bshape)) / np.sqrt(running_var.reshape(bshape) + eps)
    if weight is not None:
        y = y * weight.reshape(bshape)
    if bias is not None:
        y = y + bias.reshape(bshape)
    return y, running_mean, running_var


def np_layer_norm(x, k, weight=None, bias=None, eps=1e-5, center=True):
    y = np_normalize(x, tuple(range(x.ndim - k, x.ndim)), eps, center)
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


def np_group_norm(x, groups, weight=None, bias=None, eps=1e-5):
    n, c = x.shape[:2]
    y = np_normalize(x.reshape(n, groups, -1), (2,), eps).reshape(x.shape)
    bshape = (1, c) + (1,) * (x.ndim - 2)
    if weight is not None:
        y = y * weight.reshape(bshape)
    if bias is not None:
        y = y + bias.reshape(bshape)
    return y


def _t(a, device, grad=False):
    t = nb.tensor(a, device=device)
    return t.requires_grad_(True) if grad else t


def _np(t):
    return nb.backend.to_numpy(t._data)


SHAPES = [(4, 3), (3, 2, 5), (2, 3, 4, 4)]

# ---------------------------------------------------------------------------
# batch_norm


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_training_forward_and_running_stats(device, shape, affine):
    x, w, b, rm, rv = random_inputs([shape, shape[1:2], shape[1:2], shape[1:2], shape[1:2]], seed=1)
    rv = np.abs(rv) + 0.5
    w, b = (w, b) if affine else (None, None)
    rm_t, rv_t = _t(rm, device), _t(rv, device)
    out = F.batch_norm(
        _t(x, device),
        rm_t,
        rv_t,
        None if w is None else _t(w, device),
        None if b is None else _t(b, device),
        training=True,
        momentum=0.3,
        eps=1e-3,
    )
    y, new_rm, new_rv = np_batch_norm(x, rm, rv, w, b, True, 0.3, 1e-3)
    assert_close(out, y, rtol=1e-10)
    assert_close(rm_t, new_rm, rtol=1e-12)
    assert_close(rv_t, new_rv, rtol=1e-12)


@pytest.mark.parametrize("shape", SHAPES)
def test_batch_norm_eval_uses_running_stats(device, shape):
    x, w, b, rm, rv = random_inputs([shape, shape[1:2], shape[1:2], shape[1:2], shape[1:2]], seed=2)
    rv = np.abs(rv) + 0.5
    rm_t, rv_t = _t(rm, device), _t(rv, device)
    out = F.batch_norm(_t(x, device), rm_t, rv_t, _t(w, device), _t(b, device), training=False)
    assert_close(out, np_batch_norm(x, rm, rv, w, b, False, 0.1, 1e-5)[0], rtol=1e-10)
    assert_close(rm_t, rm)  # untouched in eval mode
    assert_close(rv_t, rv)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_gradcheck(device, shape, training):
    x, w, b, rm, rv = random_inputs([shape, shape[1:2], shape[1:2], shape[1:2], shape[1:2]], seed=3)
    rm_t, rv_t = _t(rm, device), _t(np.abs(rv) + 0.5, device)
    args = (_t(x, device, True), _t(w, device, True), _t(b, device, True))

    def fn(x, w, b):
        # Fresh running buffers each call: the numerical Jacobian calls fn many times.
        return F.batch_norm(x, None if training else rm_t, None if training else rv_t, w, b, training=training)

    assert gradcheck(fn, args)
    assert gradgradcheck(fn, args)


def test_batch_norm_without_affine_gradcheck(device):
    (x,) = random_inputs([(3, 2, 4)], seed=4)
    assert gradcheck(lambda x: F.batch_norm(x, None, None, training=True), (_t(x, device, True),))
    assert gradgradcheck(lambda x: F.batch_norm(x, None, None, training=True), (_t(x, device, True),))


def test_batch_norm_keeps_float32(device):
    x = nb.randn(8, 3, device=device)
    rm, rv = nb.zeros(3, device=device), nb.ones(3, device=device)
    out = F.batch_norm(x, rm, rv, training=True)
    assert out.dtype == nb.float32 and rm.dtype == nb.float32
    assert F.batch_norm(x, rm, rv).dtype == nb.float32


def test_batch_norm_is_one_node(device):
    x = nb.randn(4, 3, device=device, requires_grad=True)
    out = F.batch_norm(x, None, None, nb.ones(3, device=device), nb.zeros(3, device=device), training=True)
    assert out.grad_fn.name() == "BatchNormBackward0"
    assert out.grad_fn.next_functions[0][0] is x


def test_batch_norm_errors(device):
    x = nb.randn(4, 3, device=device)
    with pytest.raises(RuntimeError, match=r"batch_norm: expected running_mean of shape \(3,\) .*got \(4,\) float32"):
        F.batch_norm(x, nb.zeros(4, device=device), nb.ones(3, device=device))
    with pytest.raises(
        ValueError,
        match=r"batch_norm: expected more than 1 value per channel when training, got input "
        r"of shape \(1, 3\)",
    ):
        F.batch_norm(nb.randn(1, 3, device=device), None, None, training=True)
    with pytest.raises(RuntimeError, match=r"batch_norm: running_mean and running_var must be given when training"):
        F.batch_norm(x, None, None, training=False)
    with pytest.raises(ValueError, match=r"batch_norm: expected an input of shape \(N, C, \*\).*got shape \(3,\)"):
        F.batch_norm(nb.randn(3, device=device), None, None, training=True)
    with pytest.raises(TypeError, match=r"batch_norm: input must be a floating point tensor, got dtype int64"):
        F.batch_norm(nb.zeros(4, 3, dtype=nb.int64, device=device), None, None, training=True)


# ---------------------------------------------------------------------------
# layer_norm, group_norm, rms_norm


@pytest.mark.parametrize("shape,k", [((4, 5), 1), ((2, 3, 4), 1), ((2, 3, 4), 2)])
@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm(device, shape, k, affine):
    x, w, b = random_inputs([shape, shape[-k:], shape[-k:]], seed=5)
    w, b = (w, b) if affine else (None, None)
    tw = None if w is None else _t(w, device, True)
    tb = None if b is None else _t(b, device, True)
    out = F.layer_norm(_t(x, device), shape[-k:], tw, tb, eps=1e-4)
    assert_close(out, np_layer_norm(x, k, w, b, 1e-4), rtol=1e-10, atol=1e-12)
    args = (_t(x, device, True),) + tuple(t for t in (tw, tb) if t is not None)

    def fn(x, *params):
        return F.layer_norm(x, shape[-k:], *params, eps=1e-4) if params else F.layer_norm(x, shape[-k:], eps=1e-4)

    assert gradcheck(fn, args)
    assert gradgradcheck(fn, args)


@pytest.mark.parametrize("shape,groups", [((2, 4), 2), ((2, 6, 3), 3), ((2, 4, 3, 3), 1), ((2, 4, 2, 2), 4)])
def test_group_norm(device, shape, groups):
    x, w, b = random_inputs([shape, shape[1:2], shape[1:2]], seed=6)
    out = F.group_norm(_t(x, device), groups, _t(w, device), _t(b, device))
    assert_close(out, np_group_norm(x, groups, w, b), rtol=1e-10, atol=1e-12)
    args = (_t(x, device, True), _t(w, device, True), _t(b, device, True))
    assert gradcheck(lambda x, w, b: F.group_norm(x, groups, w, b), args)
    assert gradgradcheck(lambda x, w, b: F.group_norm(x, groups, w, b), args)
    assert gradcheck(lambda x: F.group_norm(x, groups), args[:1])


@pytest.mark.parametrize("shape,k", [((4, 5), 1), ((2, 3, 4), 2)])
def test_rms_norm(device, shape, k):
    x, w = random_inputs([shape, shape[-k:]], seed=7)
    out = F.rms_norm(_t(x, device), shape[-k:], _t(w, device), eps=1e-3)
    assert_close(out, np_layer_norm(x, k, w, eps=1e-3, center=False), rtol=1e-10)
    args = (_t(x, device, True), _t(w, device, True))
    assert gradcheck(lambda x, w: F.rms_norm(x, shape[-k:], w, eps=1e-3), args)
    assert gradgradcheck(lambda x, w: F.rms_norm(x, shape[-k:], w, eps=1e-3), args)
    assert gradcheck(lambda x: F.rms_norm(x, shape[-k:]), args[:1])


def test_rms_norm_default_eps_is_dtype_eps(device):
    x = np.array([[1e-5, -1e-5]], dtype=np.float32)
    out = F.rms_norm(_t(x, device), 2)
    eps = np.finfo(np.float32).eps
    assert_close(out, x / np.sqrt((x.astype(np.float64) ** 2).mean() + eps), rtol=1e-5)


def test_norm_errors(device):
    x = nb.randn(2, 3, device=device)
    with pytest.raises(
        RuntimeError,
        match=r"layer_norm: given normalized_shape=\[4\], expected input with shape "
        r"\[\*, 4\], but got input of shape \(2, 3\)",
    ):
        F.layer_norm(x, (4,))
    with pytest.raises(
        RuntimeError,
        match=r"layer_norm: expected weight of shape \(3,\) \(normalized_shape\), got "
        r"\(4,\) float32",
    ):
        F.layer_norm(x, 3, nb.ones(4, device=device))
    with pytest.raises(RuntimeError, match=r"rms_norm: given normalized_shape=\[2, 3, 4\]"):
        F.rms_norm(x, (2, 3, 4))
    with pytest.raises(
        RuntimeError,
        match=r"group_norm: expected the number of channels in the input \(3, shape "
        r"\(2, 3\)\) to be divisible by num_groups=2",
    ):
        F.group_norm(x, 2)
    with pytest.raises(RuntimeError, match=r"group_norm: expected weight of shape \(3,\)"):
        F.group_norm(x, 3, nb.ones(2, device=device))


# ---------------------------------------------------------------------------
# layers


def test_layers_reprs_and_parameters(device):
    bn = nb.nn.BatchNorm2d(4, device=device)
    assert [n for n, _ in bn.named_parameters()] == ["weight", "bias"]
    assert list(bn.state_dict()) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    assert bn.num_batches_tracked.dtype == nb.int64 and bn.num_batches_tracked.ndim == 0
    assert repr(nb.nn.BatchNorm1d(3, momentum=None, affine=False)) == (
        "BatchNorm1d(3, eps=1e-05, momentum=None, affine=False, bias=False, track_running_stats=True)"
    )
    assert list(nb.nn.BatchNorm1d(3, track_running_stats=False).state_dict()) == ["weight", "bias"]
    assert (
        repr(nb.nn.LayerNorm([2, 3], bias=False)) == "LayerNorm((2, 3), eps=1e-05, elementwise_affine=True, bias=False)"
    )
    assert repr(nb.nn.GroupNorm(2, 4)) == "GroupNorm(2, 4, eps=1e-05, affine=True, bias=True)"
    assert repr(nb.nn.RMSNorm(3, eps=1e-6)) == "RMSNorm((3,), eps=1e-06, elementwise_affine=True)"
    ln = nb.nn.LayerNorm(3, dtype=nb.float64, device=device)
    assert ln.weight.dtype == nb.float64 and float(ln.weight.sum()) == 3 and float(ln.bias.abs().sum()) == 0


def test_layer_errors(device):
    with pytest.raises(
        ValueError,
        match=r"BatchNorm2d: input of shape \(2, 3, 5, 5\) has 3 channels \(dimension 1\) "
        r"but num_features=4",
    ):
        nb.nn.BatchNorm2d(4, device=device)(nb.randn(2, 3, 5, 5, device=device))
    with pytest.raises(ValueError, match=r"BatchNorm2d: expected 4D input \(N, C, H, W\), got 3D input of shape"):
        nb.nn.BatchNorm2d(3, device=device)(nb.randn(3, 5, 5, device=device))
    with pytest.raises(ValueError, match=r"BatchNorm1d: expected 2D or 3D input"):
        nb.nn.BatchNorm1d(3, device=device)(nb.randn(2, 3, 5, 5, device=device))
    with pytest.raises(ValueError, match=r"GroupNorm: num_channels=5 must be divisible by num_groups=2"):
        nb.nn.GroupNorm(2, 5)
    with pytest.raises(ValueError, match=r"GroupNorm: expected input of shape \(N, 4, \*\)"):
        nb.nn.GroupNorm(2, 4, device=device)(nb.randn(2, 6, device=device))
    with pytest.raises(RuntimeError, match=r"model \(LayerNorm\): layer_norm: given normalized_shape=\[5\]"):
        nb.nn.LayerNorm(5, device=device)(nb.randn(2, 4, device=device))


def test_batch_norm_momentum_none_is_cumulative_average(device):
    bn = nb.nn.BatchNorm1d(2, momentum=None, device=device, dtype=nb.float64)
    batches = random_inputs([(5, 2)] * 3, seed=8)
    for b in batches:
        bn(_t(b, device))
    assert int(bn.num_batches_tracked) == 3
    assert_close(bn.running_mean, np.mean([b.mean(0) for b in batches], axis=0), rtol=1e-12)
    assert_close(bn.running_var, np.mean([b.var(0, ddof=1) for b in batches], axis=0), rtol=1e-12)


def test_batch_norm_without_running_stats_uses_batch_stats_in_eval(device):
    bn = nb.nn.BatchNorm1d(2, track_running_stats=False, affine=False, device=device, dtype=nb.float64).eval()
    (x,) = random_inputs([(6, 2)], seed=9)
    assert_close(bn(_t(x, device)), np_normalize(x, (0,), 1e-5), rtol=1e-10)


# ---------------------------------------------------------------------------
# parity with torch

torch = pytest.importorskip("torch")


def _torch(a, grad=False):
    return torch.tensor(np.asarray(a), requires_grad=grad)


def _load_torch_state(module, torch_module):
    module.load_state_dict({k: v.detach().numpy() for k, v in torch_module.state_dict().items()})


@pytest.mark.parametrize(
    "cls,shape", [("BatchNorm1d", (6, 3)), ("BatchNorm1d", (4, 3, 5)), ("BatchNorm2d", (4, 3, 5, 5))]
)
@pytest.mark.parametrize("momentum", [0.1, None])
def test_batch_norm_layer_matches_torch(device, cls, shape, momentum):
    tb = getattr(torch.nn, cls)(3, momentum=momentum).double()
    nbm = getattr(nb.nn, cls)(3, momentum=momentum, device=device, dtype=nb.float64)
    assert repr(nbm) == repr(tb)
    assert {k: tuple(v.shape) for k, v in nbm.state_dict().items()} == {
        k: tuple(v.shape) for k, v in tb.state_dict().items()
    }
    with torch.no_grad():
        tb.weight.uniform_(0.5, 1.5)
        tb.bias.uniform_(-0.5, 0.5)
    _load_torch_state(nbm, tb)
    for step in range(4):
        (x,) = random_inputs([shape], seed=10 + step, low=-3, high=5)
        xt, xn = _torch(x, True), _t(x, device, True)
        out_t, out_n = tb(xt), nbm(xn)
        assert_close(out_n, out_t.detach().numpy(), rtol=1e-9, atol=1e-10)
        g = np.random.default_rng(step).standard_normal(shape)
        out_t.backward(_torch(g))
        out_n.backward(_t(g, device))
        assert_close(xn.grad, xt.grad.numpy(), rtol=1e-8, atol=1e-10)
        assert_close(nbm.weight.grad, tb.weight.grad.numpy(), rtol=1e-8, atol=1e-10)
        assert_close(nbm.bias.grad, tb.bias.grad.numpy(), rtol=1e-8, atol=1e-10)
        nbm.zero_grad()
        tb.zero_grad()
    assert_close(nbm.running_mean, tb.running_mean.numpy(), rtol=1e-12)
    assert_close(nbm.running_var, tb.running_var.numpy(), rtol=1e-12)
    assert int(nbm.num_batches_tracked) == int(tb.num_batches_tracked) == 4
    tb.eval()
    nbm.eval()
    (x,) = random_inputs([shape], seed=20)
    assert_close(nbm(_t(x, device)), tb(_torch(x)).detach().numpy(), rtol=1e-10, atol=1e-12)


def test_batch_norm_loads_torch_state_dict(device):
    tb = torch.nn.BatchNorm2d(3)
    tb.train()
    for seed in range(3):
        tb(torch.randn(4, 3, 5, 5, generator=torch.Generator().manual_seed(seed)) * 2 + 1)
    with torch.no_grad():
        tb.weight.uniform_(0.5, 1.5)
    tb.eval()
    nbm = nb.nn.BatchNorm2d(3, device=device)
    _load_torch_state(nbm, tb)
    assert int(nbm.num_batches_tracked) == 3
    nbm.eval()
    (x,) = random_inputs([(2, 3, 4, 4)], seed=1, dtype=np.float32)
    assert_close(nbm(_t(x, device)), tb(_torch(x)).detach().numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "make",
    [
        lambda m: m.LayerNorm((4, 5)),
        lambda m: m.LayerNorm(5, elementwise_affine=False),
        lambda m: m.LayerNorm(5, bias=False),
        lambda m: m.GroupNorm(2, 4),
        lambda m: m.GroupNorm(4, 4, affine=False),
        lambda m: m.RMSNorm(5),
        lambda m: m.RMSNorm((4, 5), eps=1e-4),
    ],
)
def test_norm_layers_match_torch(device, make):
    tm, nm = make(torch.nn).double(), make(nb.nn).to(device).double()
    assert repr(nm) == repr(tm)
    assert {k: tuple(v.shape) for k, v in nm.state_dict().items()} == {
        k: tuple(v.shape) for k, v in tm.state_dict().items()
    }
    with torch.no_grad():
        for p in tm.parameters():
            p.uniform_(-1, 1)
    _load_torch_state(nm, tm)
    (x,) = random_inputs([(3, 4, 5)], seed=11, low=-4, high=6)
    xt, xn = _torch(x, True), _t(x, device, True)
    out_t, out_n = tm(xt), nm(xn)
    assert_close(out_n, out_t.detach().numpy(), rtol=1e-9, atol=1e-10)
    g = np.random.default_rng(0).standard_normal(x.shape)
    out_t.backward(_torch(g))
    out_n.backward(_t(g, device))
    assert_close(xn.grad, xt.grad.numpy(), rtol=1e-8, atol=1e-10)
    for (name, p), tp in zip(nm.named_parameters(), tm.parameters()):
        assert_close(p.grad, tp.grad.numpy(), rtol=1e-8, atol=1e-10, msg=name)


def test_norm_functionals_match_torch_in_float32(device):
    (x,) = random_inputs([(8, 16, 6, 6)], seed=12, dtype=np.float32, low=-3, high=3)
    xn, xt = _t(x, device), _torch(x)
    w = np.linspace(0.5, 1.5, 16).astype(np.float32)
    tf = torch.nn.functional
    assert_close(F.layer_norm(xn, (6, 6)), tf.layer_norm(xt, (6, 6)).numpy(), rtol=1e-4, atol=1e-5)
    assert_close(F.group_norm(xn, 4, _t(w, device)), tf.group_norm(xt, 4, _torch(w)).numpy(), rtol=1e-4, atol=1e-5)
    assert_close(F.rms_norm(xn, (6,)), tf.rms_norm(xt, (6,)).numpy(), rtol=1e-4, atol=1e-5)
    rm, rv = np.zeros(16, np.float32), np.ones(16, np.float32)
    rm_n, rv_n, rm_t, rv_t = _t(rm, device), _t(rv, device), _torch(rm), _torch(rv)
    out_n = F.batch_norm(xn, rm_n, rv_n, training=True, momentum=0.2)
    out_t = tf.batch_norm(xt, rm_t, rv_t, training=True, momentum=0.2)
    assert_close(out_n, out_t.numpy(), rtol=1e-4, atol=1e-5)
    assert_close(rm_n, rm_t.numpy(), rtol=1e-5, atol=1e-6)
    assert_close(rv_n, rv_t.numpy(), rtol=1e-5, atol=1e-6)
