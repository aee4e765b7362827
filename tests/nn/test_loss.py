"""Losses: l1, smooth_l1, huber, binary_cross_entropy(_with_logits), kl_div and the loss layers.

NumPy references written here, gradcheck/gradgradcheck in float64 (input and
target), torch parity of values and gradients, the layers' buffers and every
error path.
"""

from __future__ import annotations

import numpy as np
import pytest
from op_check import assert_close, random_inputs

import nbgrad as nb
import nbgrad.nn.functional as F
from nbgrad.autograd import gradcheck, gradgradcheck

REDUCTIONS = ["none", "mean", "sum"]


def _reduce(loss, reduction):
    return {
        "none": loss,
        "sum": np.asarray(loss.sum()),
        "mean": np.asarray(loss.mean()),
        "batchmean": np.asarray(loss.sum() / loss.shape[0]),
    }[reduction]


def np_l1(x, t, reduction="mean"):
    return _reduce(np.abs(x - t), reduction)


def np_smooth_l1(x, t, reduction="mean", beta=1.0):
    d = np.abs(x - t)
    return _reduce(np.where(d < beta, 0.5 * d**2 / beta, d - 0.5 * beta), reduction)


def np_huber(x, t, reduction="mean", delta=1.0):
    d = np.abs(x - t)
    return _reduce(np.where(d < delta, 0.5 * d**2, delta * (d - 0.5 * delta)), reduction)


def np_bce(p, t, weight=None, reduction="mean"):
    with np.errstate(divide="ignore"):
        loss = -(t * np.maximum(np.log(p), -100) + (1 - t) * np.maximum(np.log(1 - p), -100))
    return _reduce(loss * (1 if weight is None else weight), reduction)


def np_bce_logits(x, t, weight=None, pos_weight=None, reduction="mean"):
    p = 1 / (1 + np.exp(-x))
    pw = 1 if pos_weight is None else pos_weight
    loss = -(pw * t * np.log(p) + (1 - t) * np.log(1 - p))
    return _reduce(loss * (1 if weight is None else weight), reduction)


def np_kl(x, t, reduction="mean", log_target=False):
    if log_target:
        loss = np.exp(t) * (t - x)
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            loss = np.where(t > 0, t * (np.log(t) - x), 0.0)
    return _reduce(loss, reduction)


def _t(a, device, grad=False):
    t = nb.tensor(a, device=device)
    return t.requires_grad_(True) if grad else t


REGRESSION = [
    ("l1_loss", {}, np_l1),
    ("smooth_l1_loss", {"beta": 1.0}, np_smooth_l1),
    ("smooth_l1_loss", {"beta": 0.3}, np_smooth_l1),
    ("smooth_l1_loss", {"beta": 0.0}, lambda x, t, r, beta: np_l1(x, t, r)),
    ("huber_loss", {"delta": 1.0}, np_huber),
    ("huber_loss", {"delta": 0.4}, np_huber),
]


@pytest.mark.parametrize("op,kw,ref", REGRESSION)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_regression_losses(device, op, kw, ref, reduction):
    x, t = random_inputs([(3, 4), (3, 4)], seed=1)
    fn = getattr(F, op)
    out = fn(_t(x, device), _t(t, device), reduction=reduction, **kw)
    assert_close(out, ref(x, t, reduction, *kw.values()), rtol=1e-12)
    args = (_t(x, device, True), _t(t, device, True))
    assert gradcheck(lambda a, b: fn(a, b, reduction=reduction, **kw), args)
    assert gradgradcheck(lambda a, b: fn(a, b, reduction=reduction, **kw), args)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_binary_cross_entropy(device, reduction, weighted):
    p, t, w = random_inputs([(4, 3), (4, 3), (3,)], seed=2, low=0.05, high=0.95)
    weight = _t(w, device) if weighted else None
    out = F.binary_cross_entropy(_t(p, device), _t(t, device), weight, reduction=reduction)
    assert_close(out, np_bce(p, t, w if weighted else None, reduction), rtol=1e-12)
    args = (_t(p, device, True), _t(t, device, True))
    assert gradcheck(lambda a, b: F.binary_cross_entropy(a, b, weight, reduction=reduction), args)
    assert gradgradcheck(lambda a, b: F.binary_cross_entropy(a, b, weight, reduction=reduction), args)


def test_binary_cross_entropy_clamps_log(device):
    p, t = np.array([0.0, 1.0, 0.0, 1.0]), np.array([1.0, 0.0, 0.0, 1.0])
    out = F.binary_cross_entropy(_t(p, device), _t(t, device), reduction="none")
    assert_close(out, [100.0, 100.0, 0.0, 0.0])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("pos", [False, True])
def test_binary_cross_entropy_with_logits(device, reduction, weighted, pos):
    x, t, w, pw = random_inputs([(4, 3), (4, 3), (4, 1), (3,)], seed=3, low=-3, high=3)
    t, w, pw = (t + 3) / 6, np.abs(w), np.abs(pw) + 0.5
    weight, pos_weight = (_t(w, device) if weighted else None), (_t(pw, device) if pos else None)
    out = F.binary_cross_entropy_with_logits(
        _t(x, device), _t(t, device), weight, reduction=reduction, pos_weight=pos_weight
    )
    assert_close(out, np_bce_logits(x, t, w if weighted else None, pw if pos else None, reduction), rtol=1e-10)
    args = (_t(x, device, True), _t(t, device, True))

    def fn(a, b):
        return F.binary_cross_entropy_with_logits(a, b, weight, reduction=reduction, pos_weight=pos_weight)

    assert gradcheck(fn, args)
    assert gradgradcheck(fn, args)


def test_binary_cross_entropy_with_logits_is_stable(device):
    x = _t(np.array([-1000.0, 1000.0, 0.0], dtype=np.float32), device, True)
    out = F.binary_cross_entropy_with_logits(
        x, _t(np.array([1.0, 0.0, 1.0], dtype=np.float32), device), reduction="none"
    )
    assert_close(out, [1000.0, 1000.0, np.log(2)], rtol=1e-6)
    out.sum().backward()
    assert_close(x.grad, [-1.0, 1.0, -0.5], rtol=1e-6)


@pytest.mark.parametrize("reduction", ["none", "sum", "batchmean", "mean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div(device, reduction, log_target):
    x, t = random_inputs([(3, 4), (3, 4)], seed=4, low=0.1, high=1.0)
    x = np.log(x / x.sum(1, keepdims=True))
    t = t / t.sum(1, keepdims=True)
    t[0, 0] = 0.0  # 0 log 0 = 0
    if log_target:
        t = np.log(t + 0.1)
    args = (_t(x, device, True), _t(t, device, True))

    def fn(a, b):
        return F.kl_div(a, b, reduction=reduction, log_target=log_target)

    if reduction == "mean":
        with pytest.warns(UserWarning, match="kl_div: reduction 'mean' divides the total loss by both"):
            out = fn(*args)
    else:
        out = fn(*args)
    assert_close(out, np_kl(x, t, reduction, log_target), rtol=1e-12, atol=1e-15)
    if reduction == "mean":
        return
    # the target gradient (log t) is not defined at t = 0: check it where it is
    t_pos = np.where(t == 0, 0.2, t)
    assert gradcheck(fn, (args[0], _t(t_pos, device, True)))
    assert gradgradcheck(fn, (args[0], _t(t_pos, device, True)))


def test_single_nodes(device):
    x = _t(np.zeros((2, 3)), device, True)
    y = _t(np.ones((2, 3)) * 0.5, device)
    assert F.l1_loss(x, y).grad_fn.name() == "L1LossBackward0"
    assert F.huber_loss(x, y).grad_fn.name() == "HuberLossBackward0"
    assert F.binary_cross_entropy_with_logits(x, y).grad_fn.name() == "BinaryCrossEntropyWithLogitsBackward0"


def test_float32_stays_float32(device):
    x, t = nb.randn(3, 4, device=device), nb.rand(3, 4, device=device)
    for fn in (F.l1_loss, F.smooth_l1_loss, F.huber_loss, F.binary_cross_entropy_with_logits):
        assert fn(x, t).dtype == nb.float32
    assert F.binary_cross_entropy(nb.sigmoid(x), t).dtype == nb.float32


def test_errors(device):
    x, t = nb.rand(3, 4, device=device), nb.rand(3, 4, device=device)
    with pytest.raises(
        RuntimeError,
        match=r"binary_cross_entropy: all elements of input should be between 0 and 1, "
        r"found 1.5",
    ):
        F.binary_cross_entropy(nb.tensor([[0.5, 1.5]], device=device), nb.tensor([[0.5, 0.5]], device=device))
    with pytest.raises(
        RuntimeError,
        match=r"binary_cross_entropy: all elements of target should be between 0 and 1, "
        r"found -2.0",
    ):
        F.binary_cross_entropy(nb.tensor([0.5, 0.5], device=device), nb.tensor([-2.0, 0.5], device=device))
    with pytest.raises(
        ValueError,
        match=r"binary_cross_entropy: using a target size \(3,\) that is different to the "
        r"input size \(3, 1\)",
    ):
        F.binary_cross_entropy(nb.rand(3, 1, device=device), nb.rand(3, device=device))
    with pytest.raises(ValueError, match=r"binary_cross_entropy_with_logits: using a target size"):
        F.binary_cross_entropy_with_logits(x, t[0])
    with pytest.raises(
        RuntimeError,
        match=r"binary_cross_entropy_with_logits: pos_weight of shape \(5,\) does not "
        r"broadcast to the input's shape \(3, 4\)",
    ):
        F.binary_cross_entropy_with_logits(x, t, pos_weight=nb.ones(5, device=device))
    with pytest.raises(ValueError, match=r"l1_loss: reduction must be 'none', 'mean' or 'sum', got 'avg'"):
        F.l1_loss(x, t, reduction="avg")
    with pytest.raises(ValueError, match=r"kl_div: reduction must be 'none', 'mean', 'sum' or 'batchmean', got 'x'"):
        F.kl_div(x, t, reduction="x")
    with pytest.raises(TypeError, match=r"huber_loss: target must be a floating point tensor, got dtype int64"):
        F.huber_loss(x, nb.zeros(3, 4, dtype=nb.int64, device=device))
    with pytest.raises(ValueError, match=r"smooth_l1_loss: beta must be non-negative, got -1"):
        F.smooth_l1_loss(x, t, beta=-1)
    with pytest.raises(ValueError, match=r"huber_loss: delta must be positive, got 0"):
        F.huber_loss(x, t, delta=0)
    with pytest.warns(UserWarning, match=r"l1_loss: target shape \(4,\) differs from input shape \(3, 4\)"):
        F.l1_loss(x, t[0])
    with pytest.raises(RuntimeError, match=r"smooth_l1_loss: shapes \(3, 4\) and \(5,\) cannot be broadcast"):
        F.smooth_l1_loss(x, nb.zeros(5, device=device))


def test_loss_layers(device):
    assert repr(nb.nn.MSELoss()) == "MSELoss()"
    w = nb.tensor([1.0, 2.0, 0.5], device=device)
    ce = nb.nn.CrossEntropyLoss(weight=w, ignore_index=1, label_smoothing=0.1)
    assert list(ce.state_dict()) == ["weight"] and ce.weight is w
    assert list(nb.nn.CrossEntropyLoss().state_dict()) == []
    bce = nb.nn.BCEWithLogitsLoss(pos_weight=nb.ones(3, device=device))
    assert list(bce.state_dict()) == ["pos_weight"]
    with pytest.warns(UserWarning, match="size_average and reduce args will be deprecated"):
        assert nb.nn.L1Loss(size_average=False).reduction == "sum"
    with pytest.warns(UserWarning):
        assert nb.nn.MSELoss(reduce=False).reduction == "none"


# ---------------------------------------------------------------------------
# torch parity

torch = pytest.importorskip("torch")


def _check_pair(out_n, out_t, xn, xt, tn, tt, device, rtol=1e-10):
    assert_close(out_n, out_t.detach().numpy(), rtol=rtol, atol=1e-12)
    g = np.random.default_rng(0).standard_normal(tuple(out_t.shape))
    out_n.backward(_t(g, device))
    out_t.backward(torch.tensor(g))
    assert_close(xn.grad, xt.grad.numpy(), rtol=rtol, atol=1e-12)
    if tt.grad is not None:
        assert_close(tn.grad, tt.grad.numpy(), rtol=rtol, atol=1e-12)


LAYER_CASES = [
    ("MSELoss", {}, "real"),
    ("L1Loss", {"reduction": "sum"}, "real"),
    ("SmoothL1Loss", {"beta": 0.5}, "real"),
    ("HuberLoss", {"delta": 0.7, "reduction": "none"}, "real"),
    ("BCELoss", {}, "prob"),
    ("BCELoss", {"weight": [0.2, 1.0, 3.0, 0.5]}, "prob"),
    ("BCEWithLogitsLoss", {"pos_weight": [1.0, 2.0, 0.5, 3.0], "weight": [[1.0], [2.0], [0.5]]}, "logit"),
    ("KLDivLoss", {"reduction": "batchmean"}, "kl"),
    ("KLDivLoss", {"reduction": "sum", "log_target": True}, "kl"),
    ("CrossEntropyLoss", {"weight": [1.0, 2.0, 0.5, 1.5], "label_smoothing": 0.2, "ignore_index": 2}, "class"),
    ("NLLLoss", {"weight": [1.0, 2.0, 0.5, 1.5]}, "class"),
]


@pytest.mark.parametrize("cls,kw,kind", LAYER_CASES)
def test_loss_layers_match_torch(device, cls, kw, kind):
    rng = np.random.default_rng(7)
    x = rng.uniform(-3, 3, size=(3, 4))
    if kind == "prob":
        x = 1 / (1 + np.exp(-x))
    if kind in ("kl",):
        x = np.log(np.exp(x) / np.exp(x).sum(1, keepdims=True))
    if kind == "class":
        target = np.array([0, 2, 3])
    elif kind == "kl" and kw.get("log_target"):
        target = np.log(rng.dirichlet(np.ones(4), size=3))
    elif kind == "kl":
        target = rng.dirichlet(np.ones(4), size=3)
    else:
        target = rng.uniform(0, 1, size=(3, 4))
    tkw = {k: (torch.tensor(v, dtype=torch.float64) if isinstance(v, list) else v) for k, v in kw.items()}
    nkw = {k: (_t(np.array(v), device) if isinstance(v, list) else v) for k, v in kw.items()}
    tm, nm = getattr(torch.nn, cls)(**tkw), getattr(nb.nn, cls)(**nkw)
    assert repr(nm) == repr(tm)
    assert {k: tuple(v.shape) for k, v in nm.state_dict().items()} == {
        k: tuple(v.shape) for k, v in tm.state_dict().items()
    }
    xn, xt = _t(x, device, True), torch.tensor(x, requires_grad=True)
    float_target = kind != "class"
    tn, tt = _t(target, device, float_target), torch.tensor(target, requires_grad=float_target)
    _check_pair(nm(xn, tn), tm(xt, tt), xn, xt, tn, tt, device)


@pytest.mark.parametrize(
    "op,kw",
    [
        ("l1_loss", {}),
        ("smooth_l1_loss", {"beta": 0.5}),
        ("huber_loss", {"delta": 2.0}),
        ("binary_cross_entropy_with_logits", {}),
    ],
)
def test_functional_float32_matches_torch(device, op, kw):
    x, t = random_inputs([(64, 10), (64, 10)], seed=9, dtype=np.float32, low=-4, high=4)
    t = (t + 4) / 8
    out_n = getattr(F, op)(_t(x, device), _t(t, device), **kw)
    out_t = getattr(torch.nn.functional, op)(torch.tensor(x), torch.tensor(t), **kw)
    assert_close(out_n, out_t.numpy(), rtol=1e-5)


def test_bce_extremes_match_torch(device):
    p = np.array([0.0, 1.0, 1e-30, 1 - 1e-16, 0.5])
    t = np.array([1.0, 0.0, 0.3, 0.7, 0.5])
    pn, pt = _t(p, device, True), torch.tensor(p, requires_grad=True)
    tn, tt = _t(t, device), torch.tensor(t)
    _check_pair(
        F.binary_cross_entropy(pn, tn, reduction="none"),
        torch.nn.functional.binary_cross_entropy(pt, tt, reduction="none"),
        pn,
        pt,
        tn,
        tt,
        device,
        rtol=1e-8,
    )
