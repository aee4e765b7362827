"""Fused nn ops: softmax, log_softmax, cross_entropy, nll_loss, mse_loss.

Forward values are compared with NumPy references written here (plain loops
over the definitions, not the fused formulas), gradients by gradcheck in float64.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from op_check import assert_close, check_op, random_inputs

import nbgrad as nb
import nbgrad.nn.functional as F
from nbgrad.autograd import gradcheck, gradgradcheck

# ---------------------------------------------------------------------------
# NumPy references


def np_log_softmax(x, dim):
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 0:
        return np.zeros_like(x)
    m = x.max(axis=dim, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=dim, keepdims=True))


def np_softmax(x, dim):
    return np.exp(np_log_softmax(x, dim))


def _move_classes_last(x):
    """(C,) -> (1, C); (N, C, d...) -> (N*d..., C): one row per sample."""
    if x.ndim == 1:
        return x[None, :]
    return np.moveaxis(x, 1, -1).reshape(-1, x.shape[1])


def np_cross_entropy(x, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0, log_probs=False):
    """torch's definition, sample by sample; ``log_probs=True`` gives nll_loss (x already log-probs)."""
    n_classes = x.shape[0 if x.ndim == 1 else 1]
    w = np.ones(n_classes) if weight is None else np.asarray(weight, dtype=np.float64)
    rows = _move_classes_last(x if log_probs else np_log_softmax(x, 0 if x.ndim == 1 else 1))
    index_shape = x.shape[:1] + x.shape[2:] if x.ndim > 1 else ()
    eps = label_smoothing
    if target.dtype.kind == "f":  # class probabilities
        probs = _move_classes_last(target) * (1 - eps) + eps / n_classes
        losses = np.array([-(w * p * r).sum() for p, r in zip(probs, rows)])
        denom = len(rows)
    else:
        losses, denom = [], 0.0
        for t, r in zip(target.reshape(-1), rows):
            if t == ignore_index:
                losses.append(0.0)
                continue
            nll = -w[t] * r[t]
            smooth = -(w * r).sum() / n_classes
            losses.append((1 - eps) * nll + eps * smooth)
            denom += w[t]
        losses = np.array(losses)
    if reduction == "none":
        return losses.reshape(index_shape)
    if reduction == "sum":
        return np.asarray(losses.sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(losses.sum() / denom)


def np_mse(x, y, reduction="mean"):
    d = (np.asarray(x) - np.asarray(y)) ** 2
    return {"none": d, "sum": np.asarray(d.sum()), "mean": np.asarray(d.mean())}[reduction]


def _t(array, device, requires_grad=False):
    t = nb.tensor(array, device=device)
    return t.requires_grad_(True) if requires_grad else t


def _targets(shape, n_classes, seed, ignore_index=None):
    rng = np.random.default_rng(seed)
    t = rng.integers(0, n_classes, size=shape).astype(np.int64)
    if ignore_index is not None and t.size > 1:  # (a lone ignored sample is tested on its own)
        t.reshape(-1)[::3] = ignore_index  # every third sample ignored
    return t


# ---------------------------------------------------------------------------
# softmax / log_softmax

SOFTMAX_CASES = [((5,), 0), ((3, 4), 1), ((3, 4), 0), ((2, 3, 4), -1), ((2, 3, 4), 1), ((), 0), ((1, 1), -1)]


@pytest.mark.parametrize("fn, ref", [(nb.softmax, np_softmax), (nb.log_softmax, np_log_softmax)])
@pytest.mark.parametrize("shape, dim", SOFTMAX_CASES)
def test_softmax_forward_and_grad(device, fn, ref, shape, dim):
    check_op(lambda x: fn(x, dim), lambda x: ref(x, dim), [shape], device)


@pytest.mark.parametrize("fn, ref", [(nb.softmax, np_softmax), (nb.log_softmax, np_log_softmax)])
def test_softmax_noncontiguous(device, fn, ref):
    check_op(lambda x: fn(x, 1), lambda x: ref(x, 1), [(3, 5)], device, noncontiguous=True)
    check_op(lambda x: fn(x, 0), lambda x: ref(x, 0), [(4, 2, 3)], device, noncontiguous=True)


@pytest.mark.parametrize("fn", [nb.softmax, nb.log_softmax])
@pytest.mark.parametrize("shape, dim", [((0, 4), 1), ((3, 0), 1), ((0,), 0)])
def test_softmax_empty(device, fn, shape, dim):
    out = fn(nb.zeros(shape, device=device), dim)
    assert tuple(out.shape) == shape


@pytest.mark.parametrize("fn, ref", [(nb.softmax, np_softmax), (nb.log_softmax, np_log_softmax)])
def test_softmax_second_order(device, fn, ref):
    (x,) = random_inputs([(3, 4)], seed=1)
    assert gradgradcheck(lambda t: fn(t, 1), (_t(x, device, True),))
    assert gradgradcheck(lambda t: fn(t, 0), (_t(x, device, True),))


def test_softmax_large_logits_are_stable(device):
    x = _t(np.array([[1000.0, 1001.0, -1000.0], [-1e4, -1e4, -1e4]], dtype=np.float32), device)
    p = nb.softmax(x, 1)
    lp = nb.log_softmax(x, 1)
    assert np.isfinite(p.cpu().numpy()).all() and np.isfinite(lp.cpu().numpy()).all()
    assert_close(p, np_softmax(x.cpu().numpy().astype(np.float64), 1).astype(np.float32), rtol=1e-5, atol=1e-6)
    assert_close(lp, np_log_softmax(x.cpu().numpy().astype(np.float64), 1).astype(np.float32), rtol=1e-5)
    # log_softmax of a very unlikely class stays finite (log(softmax) would give -inf).
    assert lp.cpu().numpy()[0, 2] == pytest.approx(-2001.3133, rel=1e-6)


def test_softmax_dtypes_and_methods(device):
    x = _t(random_inputs([(2, 3)])[0].astype(np.float32), device)
    assert nb.softmax(x, 1).dtype == nb.float32
    assert x.softmax(1).dtype == nb.float32
    assert_close(x.log_softmax(-1), nb.log_softmax(x, -1))
    assert nb.softmax(x, 1, dtype=nb.float64).dtype == nb.float64
    ints = _t(np.array([[1, 2, 3]]), device)
    assert_close(nb.softmax(ints, 1), np_softmax(np.array([[1.0, 2.0, 3.0]]), 1).astype(np.float32), rtol=1e-6)


def test_softmax_is_one_node(device):
    x = _t(random_inputs([(2, 3)])[0], device, True)
    y = nb.softmax(x, 1)
    assert y.grad_fn.name() == "SoftmaxBackward0"
    assert y.grad_fn.next_functions[0][0] is x


def test_softmax_dim_out_of_range(device):
    x = nb.zeros(2, 3, device=device)
    with pytest.raises(IndexError, match=r"softmax: dimension out of range.*got 2"):
        nb.softmax(x, 2)
    with pytest.raises(IndexError, match=r"log_softmax: dimension out of range.*got -3"):
        nb.log_softmax(x, -3)
    with pytest.raises(TypeError, match="softmax: input must be a Tensor, got list"):
        nb.softmax([1.0, 2.0], 0)


# ---------------------------------------------------------------------------
# cross_entropy and nll_loss with class indices

CLASS_SHAPES = [(5,), (4, 5), (3, 5, 2), (2, 5, 2, 3)]
REDUCTIONS = ["none", "mean", "sum"]


def _index_case(shape, ignore_index, seed=0):
    (x,) = random_inputs([shape], seed=seed, low=-3, high=3)
    index_shape = shape[:1] + shape[2:] if len(shape) > 1 else ()
    target = _targets(index_shape, shape[0 if len(shape) == 1 else 1], seed, ignore_index)
    return x, target


@pytest.mark.parametrize("shape", CLASS_SHAPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(
    "weighted, ignore_index, label_smoothing", list(itertools.product([False, True], [-100, 2], [0.0, 0.3]))
)
def test_cross_entropy_indices(device, shape, reduction, weighted, ignore_index, label_smoothing):
    x, target = _index_case(shape, ignore_index if ignore_index != -100 else None)
    n_classes = shape[0 if len(shape) == 1 else 1]
    weight = np.linspace(0.5, 2.0, n_classes) if weighted else None
    kwargs = dict(ignore_index=ignore_index, reduction=reduction, label_smoothing=label_smoothing)
    expected = np_cross_entropy(x, target, weight, **kwargs)
    xt, tt = _t(x, device, True), _t(target, device)
    wt = None if weight is None else _t(weight, device)
    out = F.cross_entropy(xt, tt, wt, **kwargs)
    assert_close(out, expected, rtol=1e-10, atol=1e-12)
    assert gradcheck(lambda a: F.cross_entropy(a, tt, wt, **kwargs), (xt,))


@pytest.mark.parametrize("shape", CLASS_SHAPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted, ignore_index", list(itertools.product([False, True], [-100, 1])))
def test_nll_loss(device, shape, reduction, weighted, ignore_index):
    x, target = _index_case(shape, ignore_index if ignore_index != -100 else None, seed=3)
    x = np_log_softmax(x, 0 if len(shape) == 1 else 1)
    n_classes = shape[0 if len(shape) == 1 else 1]
    weight = np.linspace(2.0, 0.5, n_classes) if weighted else None
    kwargs = dict(ignore_index=ignore_index, reduction=reduction)
    expected = np_cross_entropy(x, target, weight, log_probs=True, **kwargs)
    xt, tt = _t(x, device, True), _t(target, device)
    wt = None if weight is None else _t(weight, device)
    assert_close(F.nll_loss(xt, tt, wt, **kwargs), expected, rtol=1e-10, atol=1e-12)
    assert gradcheck(lambda a: F.nll_loss(a, tt, wt, **kwargs), (xt,))


@pytest.mark.parametrize("shape", [(4, 5), (3, 5, 2)])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted, label_smoothing", list(itertools.product([False, True], [0.0, 0.2])))
def test_cross_entropy_probabilities(device, shape, reduction, weighted, label_smoothing):
    x, probs = random_inputs([shape, shape], seed=5)
    probs = np_softmax(probs * 2, 1)
    weight = np.linspace(0.5, 2.0, shape[1]) if weighted else None
    kwargs = dict(reduction=reduction, label_smoothing=label_smoothing)
    xt, pt = _t(x, device, True), _t(probs, device, True)
    wt = None if weight is None else _t(weight, device)
    assert_close(F.cross_entropy(xt, pt, wt, **kwargs), np_cross_entropy(x, probs, weight, **kwargs), rtol=1e-10)
    # The gradient flows to the logits and to the target probabilities.
    assert gradcheck(lambda a, b: F.cross_entropy(a, b, wt, **kwargs), (xt, pt))


def test_cross_entropy_unbatched_probabilities(device):
    x, probs = random_inputs([(4,), (4,)], seed=2, low=0.1, high=1.0)
    xt, pt = _t(x, device, True), _t(probs, device, True)
    assert_close(
        F.cross_entropy(xt, pt, label_smoothing=0.1), np_cross_entropy(x, probs, label_smoothing=0.1), rtol=1e-10
    )
    assert gradcheck(lambda a, b: F.cross_entropy(a, b, reduction="sum"), (xt, pt))


def test_cross_entropy_noncontiguous(device):
    (x,) = random_inputs([(5, 4)], seed=4)
    x = x.T  # (4, 5), transposed strides
    target = _targets((4,), 5, 0)
    xt = nb.Tensor._wrap(nb.backend.move(x, nb.device(device)))
    assert_close(F.cross_entropy(xt, _t(target, device)), np_cross_entropy(x, target), rtol=1e-10)


def test_cross_entropy_float32_and_large_logits(device):
    x = np.array([[1e4, 0.0, -1e4], [0.0, 0.0, 0.0]], dtype=np.float32)
    xt = _t(x, device, True)
    loss = F.cross_entropy(xt, _t(np.array([2, 1]), device))
    assert loss.dtype == nb.float32
    assert loss.item() == pytest.approx((2e4 + np.log(3)) / 2, rel=1e-5)
    loss.backward()
    assert np.isfinite(xt.grad.cpu().numpy()).all()


def test_cross_entropy_all_ignored_mean_is_nan_with_zero_grad(device):
    xt = _t(random_inputs([(3, 4)])[0], device, True)
    loss = F.cross_entropy(xt, _t(np.full(3, -100), device))
    assert np.isnan(loss.item())
    loss.backward()
    assert_close(xt.grad, np.zeros((3, 4)))  # torch's gradient here is zero too


@pytest.mark.parametrize("op", [F.cross_entropy, F.nll_loss])
def test_losses_on_an_empty_batch(device, op):
    x, target = _t(np.zeros((0, 5)), device, True), _t(np.zeros(0, dtype=np.int64), device)
    assert tuple(op(x, target, reduction="none").shape) == (0,)
    assert np.isnan(op(x, target).item())  # 0 / 0, as in torch
    total = op(x, target, reduction="sum")
    assert total.item() == 0.0
    total.backward()
    assert tuple(x.grad.shape) == (0, 5)


def test_cross_entropy_weight_of_zero_class(device):
    # A class with weight 0 contributes neither to the loss nor to the mean's denominator.
    x, target = _index_case((6, 3), None, seed=7)
    weight = np.array([1.0, 0.0, 2.0])
    xt = _t(x, device, True)
    out = F.cross_entropy(xt, _t(target, device), _t(weight, device), label_smoothing=0.1)
    assert_close(out, np_cross_entropy(x, target, weight, label_smoothing=0.1), rtol=1e-10)


def test_losses_are_single_nodes(device):
    x, target = _index_case((3, 4), None)
    xt = _t(x, device, True)
    for loss, name in [
        (F.cross_entropy(xt, _t(target, device), label_smoothing=0.1), "CrossEntropyBackward0"),
        (F.nll_loss(xt, _t(target, device)), "NllLossBackward0"),
        (F.mse_loss(xt, _t(x * 0, device)), "MseLossBackward0"),
    ]:
        assert loss.grad_fn.name() == name
        assert loss.grad_fn.next_functions[0][0] is xt


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_second_order(device, reduction):
    x, target = _index_case((3, 4), 1, seed=8)
    xt, tt = _t(x, device, True), _t(target, device)
    wt = _t(np.array([1.0, 0.5, 2.0, 1.5]), device)
    assert gradgradcheck(
        lambda a: F.cross_entropy(a, tt, wt, ignore_index=1, reduction=reduction, label_smoothing=0.2), (xt,)
    )
    (p,) = random_inputs([(3, 4)], seed=9, low=0.0, high=1.0)
    pt = _t(p, device, True)
    assert gradgradcheck(lambda a, b: F.cross_entropy(a, b, wt, reduction=reduction, label_smoothing=0.1), (xt, pt))


@pytest.mark.parametrize("shape", [(4, 5), (3, 5, 2)])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted, label_smoothing", list(itertools.product([False, True], [0.0, 0.3])))
def test_cross_entropy_graph_and_fast_backward_agree(device, shape, reduction, weighted, label_smoothing):
    # The array fast path (plain backward) and the Tensor path (create_graph) are two codings of one gradient.
    x, target = _index_case(shape, 1, seed=10)
    xt, tt = _t(x, device, True), _t(target, device)
    wt = _t(np.linspace(0.5, 2.0, shape[1]), device) if weighted else None
    kwargs = dict(ignore_index=1, reduction=reduction, label_smoothing=label_smoothing)
    upstream = _t(random_inputs([shape[:1] + shape[2:]], seed=11)[0], device) if reduction == "none" else None
    grads = [
        nb.autograd.grad(F.cross_entropy(xt, tt, wt, **kwargs), xt, upstream, create_graph=graph)[0]
        for graph in (False, True)
    ]
    assert grads[1].requires_grad and not grads[0].requires_grad
    assert_close(grads[1], nb.backend.to_numpy(grads[0]._data), rtol=1e-12, atol=1e-14)


def test_nll_loss_second_order(device):
    x, target = _index_case((3, 4), None, seed=8)
    xt, tt = _t(x, device, True), _t(target, device)
    assert gradgradcheck(lambda a: F.nll_loss(a, tt), (xt,))


def test_loss_backward_twice_needs_retain_graph(device):
    xt = _t(random_inputs([(3, 4)])[0], device, True)
    loss = F.cross_entropy(xt, _t(np.array([0, 1, 2]), device))
    loss.backward()
    with pytest.raises(RuntimeError, match="CrossEntropyBackward0: trying to backward through the graph a second"):
        loss.backward()


# ---------------------------------------------------------------------------
# mse_loss


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(), (5,), (3, 4), (2, 3, 2)])
def test_mse_loss(device, reduction, shape):
    check_op(
        lambda a, b: F.mse_loss(a, b, reduction=reduction), lambda a, b: np_mse(a, b, reduction), [shape, shape], device
    )


def test_mse_loss_noncontiguous_and_empty(device):
    check_op(lambda a, b: F.mse_loss(a, b), np_mse, [(3, 4), (3, 4)], device, noncontiguous=True)
    empty = nb.zeros(0, 3, device=device)
    assert tuple(F.mse_loss(empty, empty, reduction="none").shape) == (0, 3)
    assert F.mse_loss(empty, empty, reduction="sum").item() == 0.0
    assert np.isnan(F.mse_loss(empty, empty).item())  # mean of nothing, as in torch


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_loss_second_order(device, reduction):
    x, y = random_inputs([(2, 3), (2, 3)], seed=6)
    assert gradgradcheck(lambda a, b: F.mse_loss(a, b, reduction=reduction), (_t(x, device, True), _t(y, device, True)))


def test_mse_loss_broadcasts_with_warning(device):
    x, y = random_inputs([(3, 1), (3,)], seed=2)
    xt, yt = _t(x, device, True), _t(y, device, True)
    with pytest.warns(UserWarning, match=r"mse_loss: target shape \(3,\) differs from input shape \(3, 1\)"):
        out = F.mse_loss(xt, yt)
    assert_close(out, np_mse(x, y))
    with pytest.warns(UserWarning):
        assert gradcheck(lambda a, b: F.mse_loss(a, b, reduction="sum"), (xt, yt))


# ---------------------------------------------------------------------------
# errors


def test_target_out_of_range(device):
    x = nb.zeros(3, 4, device=device)
    with pytest.raises(IndexError, match=r"cross_entropy: target 4 is out of bounds for 4 classes"):
        F.cross_entropy(x, _t(np.array([0, 4, 1]), device))
    with pytest.raises(IndexError, match=r"nll_loss: target -1 is out of bounds for 4 classes"):
        F.nll_loss(x, _t(np.array([0, -1, 1]), device))
    # ignore_index is exempt from the range check
    F.cross_entropy(x, _t(np.array([0, -7, 1]), device), ignore_index=-7)


def test_target_shape_mismatch(device):
    x = nb.zeros(3, 5, device=device)
    with pytest.raises(
        RuntimeError,
        match=r"cross_entropy: target of shape \(4,\) does not match input of shape "
        r"\(3, 5\): expected a target of shape \(3,\)",
    ):
        F.cross_entropy(x, _t(np.zeros(4, dtype=np.int64), device))
    with pytest.raises(
        RuntimeError,
        match=r"nll_loss: target of shape \(3, 2\) does not match input of shape "
        r"\(3, 5, 2, 2\)",
    ):
        F.nll_loss(nb.zeros(3, 5, 2, 2, device=device), _t(np.zeros((3, 2), dtype=np.int64), device))
    with pytest.raises(
        RuntimeError,
        match=r"cross_entropy: target of shape \(3, 4\) does not match input of shape "
        r"\(3, 5\)",
    ):
        F.cross_entropy(x, nb.zeros(3, 4, device=device))


def test_target_dtype(device):
    x = nb.zeros(3, 5, device=device)
    with pytest.raises(
        TypeError,
        match=r"cross_entropy: target must hold class indices .* got dtype float32 with "
        r"shape \(3,\) for input of shape \(3, 5\)",
    ):
        F.cross_entropy(x, nb.zeros(3, device=device))
    with pytest.raises(
        TypeError,
        match=r"nll_loss: target must hold class indices \(an integer tensor\); got dtype "
        r"bool",
    ):
        F.nll_loss(x, _t(np.zeros(3, dtype=bool), device))
    with pytest.raises(
        TypeError,
        match=r"nll_loss: target must hold class indices.*got dtype float32 with shape "
        r"\(3, 5\)",
    ):
        F.nll_loss(x, nb.zeros(3, 5, device=device))  # nll_loss takes no probabilities
    with pytest.raises(
        TypeError,
        match=r"cross_entropy: class-probability target has dtype float64 but input has "
        r"dtype float32",
    ):
        F.cross_entropy(x, nb.zeros(3, 5, dtype=nb.float64, device=device))
    with pytest.raises(TypeError, match=r"cross_entropy: input must be a floating point tensor, got dtype int64"):
        F.cross_entropy(_t(np.zeros((3, 5), dtype=np.int64), device), _t(np.zeros(3, dtype=np.int64), device))
    with pytest.raises(TypeError, match=r"mse_loss: target must be a floating point tensor, got dtype int64"):
        F.mse_loss(x, _t(np.zeros((3, 5), dtype=np.int64), device))
    with pytest.raises(TypeError, match=r"mse_loss: target must be a Tensor, got float"):
        F.mse_loss(x, 1.0)


@pytest.mark.parametrize("op", ["cross_entropy", "nll_loss", "mse_loss"])
def test_bad_reduction(device, op):
    x = nb.zeros(3, 5, device=device)
    target = _t(np.zeros(3, dtype=np.int64), device) if op != "mse_loss" else x
    with pytest.raises(ValueError, match=rf"{op}: reduction must be 'none', 'mean' or 'sum', got 'avg'"):
        getattr(F, op)(x, target, reduction="avg")


def test_bad_weight_and_smoothing(device):
    x, target = nb.zeros(3, 5, device=device), _t(np.zeros(3, dtype=np.int64), device)
    with pytest.raises(
        RuntimeError,
        match=r"cross_entropy: weight must be a floating point tensor of shape \(5,\).*"
        r"input of shape \(3, 5\); got \(4,\) float32",
    ):
        F.cross_entropy(x, target, nb.ones(4, device=device))
    with pytest.raises(RuntimeError, match=r"nll_loss: the class weight is not differentiable"):
        F.nll_loss(x, target, nb.ones(5, device=device, requires_grad=True))
    with pytest.raises(ValueError, match=r"cross_entropy: label_smoothing must be between 0.0 and 1.0, got 1.5"):
        F.cross_entropy(x, target, label_smoothing=1.5)
    with pytest.raises(RuntimeError, match=r"cross_entropy: input must have a class dimension, got a 0-d tensor"):
        F.cross_entropy(nb.zeros((), device=device), _t(np.array(0), device))


def test_mse_shapes_that_do_not_broadcast(device):
    with pytest.raises(RuntimeError, match=r"mse_loss: shapes \(3, 4\) and \(5,\) cannot be broadcast together"):
        F.mse_loss(nb.zeros(3, 4, device=device), nb.zeros(5, device=device))
