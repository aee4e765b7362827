"""Activations: functional forms against NumPy references, gradcheck/gradgradcheck, erf accuracy,
layers' reprs and torch parity (values and gradients)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from op_check import assert_close, check_op, random_inputs

import nbgrad as nb
import nbgrad.nn.functional as F
from nbgrad.autograd import gradgradcheck

_erf = np.vectorize(math.erf)


def np_sigmoid(x):
    return 1 / (1 + np.exp(-x))


def np_softplus(x, beta=1.0, threshold=20.0):
    z = beta * x
    return np.where(z > threshold, x, np.log1p(np.exp(np.minimum(z, threshold))) / beta)


# (name, nbgrad fn, NumPy reference, torch fn name, kwargs)
CASES = [
    (
        "leaky_relu",
        lambda x: F.leaky_relu(x, 0.2),
        lambda x: np.where(x > 0, x, 0.2 * x),
        "leaky_relu",
        {"negative_slope": 0.2},
    ),
    ("elu", lambda x: F.elu(x, 1.5), lambda x: np.where(x > 0, x, 1.5 * (np.exp(x) - 1)), "elu", {"alpha": 1.5}),
    ("gelu", F.gelu, lambda x: 0.5 * x * (1 + _erf(x / math.sqrt(2))), "gelu", {}),
    (
        "gelu_tanh",
        lambda x: F.gelu(x, approximate="tanh"),
        lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3))),
        "gelu",
        {"approximate": "tanh"},
    ),
    ("silu", F.silu, lambda x: x * np_sigmoid(x), "silu", {}),
    ("mish", F.mish, lambda x: x * np.tanh(np.log1p(np.exp(x))), "mish", {}),
    (
        "softplus",
        lambda x: F.softplus(x, 2.0, 3.0),
        lambda x: np_softplus(x, 2.0, 3.0),
        "softplus",
        {"beta": 2.0, "threshold": 3.0},
    ),
    (
        "hardtanh",
        lambda x: F.hardtanh(x, -0.5, 1.0),
        lambda x: np.clip(x, -0.5, 1.0),
        "hardtanh",
        {"min_val": -0.5, "max_val": 1.0},
    ),
    ("relu6", lambda x: F.relu6(x * 4), lambda x: np.clip(x * 4, 0, 6), None, {}),
    ("logsigmoid", F.logsigmoid, lambda x: np.log(np_sigmoid(x)), "logsigmoid", {}),
    ("softsign", F.softsign, lambda x: x / (1 + np.abs(x)), "softsign", {}),
    ("tanhshrink", F.tanhshrink, lambda x: x - np.tanh(x), "tanhshrink", {}),
    ("erf", nb.Tensor.erf, _erf, None, {}),
]


@pytest.mark.parametrize("name,fn,ref,_tname,_kw", CASES, ids=[c[0] for c in CASES])
def test_forward_and_gradcheck(device, name, fn, ref, _tname, _kw):
    check_op(fn, ref, [(3, 5)], device, low=-4, high=4, rtol=1e-9, atol=1e-12)
    check_op(fn, ref, [(4, 3)], device, noncontiguous=True, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name,fn,ref,_tname,_kw", CASES, ids=[c[0] for c in CASES])
def test_second_order(device, name, fn, ref, _tname, _kw):
    (x,) = random_inputs([(2, 3)], seed=3, low=-3, high=3)
    assert gradgradcheck(fn, (nb.tensor(x, device=device, requires_grad=True),))


def test_erf_accuracy(device):
    # float64: a dense grid plus tiny and large magnitudes, against math.erf
    x = np.concatenate(
        [
            np.linspace(-7, 7, 40001),
            np.logspace(-300, 0.8, 500),
            -np.logspace(-300, 0.8, 500),
            [0.0, 0.5, -0.5, 6.0, 30.0, -30.0, np.inf, -np.inf],
        ]
    )
    got = nb.backend.to_numpy(nb.tensor(x, device=device).erf()._data)
    assert x.size > 32768  # the CPU path works in pieces of 32768: the boundaries are crossed
    ref = _erf(x)
    nonzero = ref != 0
    assert np.max(np.abs(got - ref)[nonzero] / np.abs(ref[nonzero])) < 1e-13
    assert np.isnan(float(nb.tensor([np.nan], device=device).erf()))
    # float32: relative 5e-7 (a few ulp) outside the subnormals; more elements than one piece of the CPU path
    x32 = np.concatenate([np.linspace(-7, 7, 40001), np.logspace(-37, 0.8, 300)]).astype(np.float32)
    got32 = nb.tensor(x32, device=device).erf()
    assert got32.dtype == nb.float32
    ref32 = _erf(x32.astype(np.float64))
    got32, nonzero = nb.backend.to_numpy(got32._data), ref32 != 0
    assert np.max(np.abs(got32 - ref32)[nonzero] / np.abs(ref32[nonzero])) < 5e-7


def test_extreme_values_are_finite(device):
    x = nb.tensor([-1e4, -50.0, 0.0, 50.0, 1e4], device=device)
    for fn in (F.elu, F.silu, F.mish, F.softplus, F.logsigmoid, F.gelu, lambda t: F.gelu(t, approximate="tanh")):
        assert bool(nb.isfinite(fn(x)).all()), fn
    assert_close(F.softplus(x), np_softplus(np.array([-1e4, -50.0, 0.0, 50.0, 1e4], dtype=np.float32)), rtol=1e-6)


def test_dtypes_and_integer_inputs(device):
    assert F.gelu(nb.randn(3, device=device)).dtype == nb.float32
    assert F.silu(nb.randn(3, dtype=nb.float64, device=device)).dtype == nb.float64
    assert F.elu(nb.tensor([-1, 2], device=device)).dtype == nb.float32  # ints become the default float


def test_inplace(device):
    x = nb.tensor([-1.0, 2.0], device=device)
    y = F.leaky_relu(x, 0.5, inplace=True)
    assert y is x
    assert_close(x, [-0.5, 2.0])
    a = nb.tensor([-1.0, 2.0], device=device, requires_grad=True)
    h = a * 1.0
    F.hardtanh(h, -0.5, 0.5, inplace=True)
    h.sum().backward()
    assert_close(a.grad, [0.0, 0.0])
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place"):
        F.elu(nb.ones(2, device=device, requires_grad=True), inplace=True)


def test_errors(device):
    x = nb.randn(3, device=device)
    with pytest.raises(ValueError, match=r"gelu: approximate must be 'none' or 'tanh', got 'fast'"):
        F.gelu(x, approximate="fast")
    with pytest.raises(ValueError, match=r"hardtanh: min_val \(2\) cannot be greater than max_val \(1\)"):
        F.hardtanh(x, 2, 1)
    with pytest.raises(TypeError, match=r"silu: input must be a Tensor, got list"):
        F.silu([1.0])
    with pytest.raises(ValueError, match=r"GELU: approximate must be 'none' or 'tanh'"):
        nb.nn.GELU("fast")


def test_layers(device):
    x = nb.randn(4, 3, device=device)
    assert_close(nb.nn.ReLU()(x), np.maximum(nb.backend.to_numpy(x._data), 0))
    assert_close(nb.nn.Softmax(dim=1)(x), F.softmax(x, 1)._data)
    assert_close(nb.nn.LogSoftmax(dim=0)(x), F.log_softmax(x, 0)._data)
    assert_close(nb.nn.Sigmoid()(x), nb.sigmoid(x)._data)
    assert_close(nb.nn.Tanh()(x), nb.tanh(x)._data)
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmax"):
        assert_close(nb.nn.Softmax()(x), F.softmax(x, 1)._data)
    y = x.clone()
    assert nb.nn.ReLU(inplace=True)(y) is y
    assert float(y.min()) >= 0


# ---------------------------------------------------------------------------
# torch parity

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("name,fn,ref,tname,kw", [c for c in CASES if c[3]], ids=[c[0] for c in CASES if c[3]])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_matches_torch(device, name, fn, ref, tname, kw, dtype):
    (x,) = random_inputs([(6, 7)], seed=5, low=-6, high=6, dtype=dtype)
    x[0, :3] = [0.0, -0.5, 1.0]  # kinks and bounds
    xn, xt = nb.tensor(x, device=device, requires_grad=True), torch.tensor(x, requires_grad=True)
    out_n, out_t = fn(xn), getattr(torch.nn.functional, tname)(xt, **kw)
    tol = {"rtol": 1e-12, "atol": 1e-14} if dtype == np.float64 else {"rtol": 2e-6, "atol": 5e-6}
    assert_close(out_n, out_t.detach().numpy(), **tol)
    g = np.random.default_rng(0).standard_normal(x.shape).astype(dtype)
    out_n.backward(nb.tensor(g, device=device))
    out_t.backward(torch.tensor(g))
    assert_close(xn.grad, xt.grad.numpy(), **tol)


LAYERS = [
    ("ReLU", (), {}),
    ("ReLU", (True,), {}),
    ("LeakyReLU", (0.1,), {}),
    ("LeakyReLU", (), {"inplace": True}),
    ("ELU", (), {}),
    ("ELU", (0.5, True), {}),
    ("GELU", (), {}),
    ("GELU", ("tanh",), {}),
    ("SiLU", (), {}),
    ("SiLU", (True,), {}),
    ("Mish", (), {}),
    ("Sigmoid", (), {}),
    ("Tanh", (), {}),
    ("Softplus", (2.0, 10.0), {}),
    ("Softmax", (1,), {}),
    ("LogSoftmax", (), {"dim": -1}),
    ("Hardtanh", (), {}),
    ("Hardtanh", (-2.0, 3.0, True), {}),
    ("ReLU6", (), {}),
    ("LogSigmoid", (), {}),
    ("Softsign", (), {}),
    ("Tanhshrink", (), {}),
]


@pytest.mark.parametrize("cls,args,kwargs", LAYERS)
def test_layer_matches_torch(device, cls, args, kwargs):
    tm, nm = getattr(torch.nn, cls)(*args, **kwargs), getattr(nb.nn, cls)(*args, **kwargs)
    assert repr(nm) == repr(tm)
    assert nm.state_dict() == {} and len(tm.state_dict()) == 0
    (x,) = random_inputs([(3, 4)], seed=2, low=-4, high=4)
    # in-place layers must not touch a leaf: feed them a fresh copy each
    assert_close(nm(nb.tensor(x, device=device)), tm(torch.tensor(x)).numpy(), rtol=1e-12, atol=1e-14)
