"""Dropout (statistics, scaling, eval mode, seeding, channels) and Embedding / one_hot."""

from __future__ import annotations

import numpy as np
import pytest
from op_check import assert_close, random_inputs

import nbgrad as nb
import nbgrad.nn.functional as F
from nbgrad.autograd import gradcheck, gradgradcheck


def _np(t):
    return nb.backend.to_numpy(t._data)


def _t(a, device, grad=False):
    t = nb.tensor(a, device=device)
    return t.requires_grad_(True) if grad else t


# ---------------------------------------------------------------------------
# dropout


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_statistics(device, p):
    x = nb.ones(200_000, device=device)
    out = _np(F.dropout(x, p))
    zeroed = (out == 0).mean()
    assert abs(zeroed - p) < 0.01
    assert_close(out[out != 0], np.full((out != 0).sum(), 1 / (1 - p), dtype=np.float32), rtol=1e-6)
    assert abs(out.mean() - 1.0) < 0.03  # the expectation is preserved


def test_dropout_gradient_is_the_mask(device):
    x = _t(np.random.default_rng(0).standard_normal((50, 40)), device, True)
    out = F.dropout(x, 0.3)
    out.backward(nb.ones(50, 40, dtype=nb.float64, device=device))
    kept = _np(out) != 0
    assert_close(x.grad, kept / 0.7, rtol=1e-12)
    assert out.grad_fn.name() == "DropoutBackward0"


def test_dropout_gradcheck_with_a_fixed_seed(device):
    (x,) = random_inputs([(4, 5)], seed=1)

    def fn(a):
        nb.manual_seed(3)  # the same mask on every call of the numerical Jacobian
        return F.dropout(a, 0.4)

    assert gradcheck(fn, (_t(x, device, True),))
    assert gradgradcheck(fn, (_t(x, device, True),))


def test_dropout_eval_p0_p1(device):
    x = nb.randn(5, 6, device=device)
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x
    assert float(F.dropout(x, 1.0).abs().sum()) == 0
    layer = nb.nn.Dropout(0.5)
    assert layer.eval()(x) is x
    assert float((layer.train()(x) == 0).sum()) > 0


def test_dropout_is_seeded(device):
    x = nb.ones(100, device=device)
    nb.manual_seed(11)
    a = _np(F.dropout(x, 0.5))
    b = _np(F.dropout(x, 0.5))
    nb.manual_seed(11)
    assert (a == _np(F.dropout(x, 0.5))).all()
    assert not (a == b).all()


def test_dropout_inplace(device):
    x = nb.ones(1000, device=device)
    out = F.dropout(x, 0.5, inplace=True)
    assert out is x and float((x == 0).sum()) > 300
    a = nb.ones(8, 8, device=device, requires_grad=True)
    h = a * 1.0
    nb.nn.Dropout(0.5, inplace=True)(h)
    h.sum().backward()
    assert_close(a.grad, _np(h.detach()))


@pytest.mark.parametrize("shape", [(6, 50, 3, 3), (40, 4, 4)])
def test_dropout2d_drops_whole_channels(device, shape):
    x = nb.ones(*shape, device=device)
    out = _np(F.dropout2d(x, 0.5))
    per_channel = out.reshape(shape[: 2 if len(shape) == 4 else 1] + (-1,))
    # every channel is either all zero or all 2
    assert ((per_channel == 0).all(-1) | (per_channel == 2).all(-1)).all()
    assert 0.3 < (per_channel == 0).all(-1).mean() < 0.7
    assert F.dropout2d(x, 0.5, training=False) is x
    assert repr(nb.nn.Dropout2d(0.2)) == "Dropout2d(p=0.2, inplace=False)"


def test_dropout_errors(device):
    x = nb.ones(3, device=device)
    with pytest.raises(ValueError, match=r"dropout: dropout probability has to be between 0 and 1, but got 1.5"):
        F.dropout(x, 1.5)
    with pytest.raises(ValueError, match=r"Dropout: dropout probability has to be between 0 and 1, but got -0.1"):
        nb.nn.Dropout(-0.1)
    with pytest.raises(TypeError, match=r"dropout: input must be a floating point tensor, got dtype int64"):
        F.dropout(nb.ones(3, dtype=nb.int64, device=device))
    with pytest.warns(UserWarning, match=r"dropout2d: received a 2-D input of shape \(4, 5\)"):
        F.dropout2d(nb.ones(4, 5, device=device))


# ---------------------------------------------------------------------------
# embedding


def test_embedding_forward_and_grad(device):
    w = np.random.default_rng(0).standard_normal((7, 3))
    idx = np.array([[0, 3, 3], [6, 0, 2]])
    wt = _t(w, device, True)
    out = F.embedding(_t(idx, device), wt)
    assert_close(out, w[idx])
    g = np.random.default_rng(1).standard_normal((2, 3, 3))
    out.backward(_t(g, device))
    expected = np.zeros_like(w)
    np.add.at(expected, idx.reshape(-1), g.reshape(-1, 3))
    assert_close(wt.grad, expected, rtol=1e-12)
    assert gradcheck(lambda w: F.embedding(_t(idx, device), w), (_t(w, device, True),))
    assert gradgradcheck(lambda w: F.embedding(_t(idx, device), w) ** 2, (_t(w, device, True),))


def test_embedding_padding_idx_and_freq(device):
    w = _t(np.ones((5, 2)), device, True)
    idx = _t(np.array([1, 1, 4, 0, 1]), device)
    F.embedding(idx, w, padding_idx=-1, scale_grad_by_freq=True).sum().backward()
    assert_close(w.grad, [[1.0, 1.0], [1.0, 1.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0]])
    emb = nb.nn.Embedding(5, 2, padding_idx=4, device=device)
    assert float(emb.weight[4].abs().sum()) == 0
    assert repr(emb) == "Embedding(5, 2, padding_idx=4)"


def test_embedding_max_norm_renormalises_rows(device):
    w = _t(np.array([[3.0, 4.0], [0.3, 0.4], [6.0, 8.0]]), device)
    F.embedding(_t(np.array([0, 1]), device), w, max_norm=1.0)
    norms = np.linalg.norm(_np(w), axis=1)
    assert_close(norms, [1.0, 0.5, 10.0], rtol=1e-6)  # row 2 was not looked up


def test_from_pretrained(device):
    weights = _t(np.arange(6.0).reshape(3, 2), device)
    emb = nb.nn.Embedding.from_pretrained(weights)
    assert not emb.weight.requires_grad
    assert_close(emb(_t(np.array([2]), device)), [[4.0, 5.0]])
    assert nb.nn.Embedding.from_pretrained(weights, freeze=False).weight.requires_grad
    with pytest.raises(ValueError, match=r"Embedding.from_pretrained: embeddings must be a 2-D Tensor"):
        nb.nn.Embedding.from_pretrained(nb.ones(3, device=device))


def test_embedding_errors(device):
    w = nb.randn(10, 3, device=device)
    with pytest.raises(
        IndexError,
        match=r"embedding: index 12 is out of range for an embedding with "
        r"num_embeddings=10 \(valid indices are 0 to 9",
    ):
        F.embedding(_t(np.array([1, 12]), device), w)
    with pytest.raises(IndexError, match=r"embedding: index -1 is out of range"):
        nb.nn.Embedding(10, 3, device=device)(_t(np.array([-1]), device))
    with pytest.raises(TypeError, match=r"embedding: input must be an integer Tensor, got \(2,\) float32"):
        F.embedding(nb.ones(2, device=device), w)
    with pytest.raises(NotImplementedError, match=r"embedding: sparse=True"):
        nb.nn.Embedding(10, 3, sparse=True, device=device)(_t(np.array([1]), device))
    with pytest.raises(ValueError, match=r"Embedding: padding_idx=10 must be within num_embeddings=10"):
        nb.nn.Embedding(10, 3, padding_idx=10)
    with pytest.raises(ValueError, match=r"embedding: padding_idx=-11 must be within num_embeddings=10"):
        F.embedding(_t(np.array([1]), device), w, padding_idx=-11)


def test_one_hot(device):
    out = F.one_hot(_t(np.array([[0, 2], [1, 0]]), device))
    assert out.dtype == nb.int64 and tuple(out.shape) == (2, 2, 3)
    assert_close(out, np.eye(3, dtype=np.int64)[[[0, 2], [1, 0]]])
    assert tuple(F.one_hot(_t(np.array([1]), device), 5).shape) == (1, 5)
    with pytest.raises(RuntimeError, match=r"one_hot: class values must be smaller than num_classes=3, found 4"):
        F.one_hot(_t(np.array([4]), device), 3)
    with pytest.raises(RuntimeError, match=r"one_hot: class values must be non-negative, found -1"):
        F.one_hot(_t(np.array([-1]), device))
    with pytest.raises(RuntimeError, match=r"one_hot: cannot infer the number of classes from an empty tensor"):
        F.one_hot(_t(np.zeros(0, dtype=np.int64), device))
    with pytest.raises(TypeError, match=r"one_hot: expected an integer \(class index\) Tensor"):
        F.one_hot(nb.ones(2, device=device))


# ---------------------------------------------------------------------------
# torch parity

torch = pytest.importorskip("torch")


@pytest.mark.parametrize(
    "kw", [{}, {"padding_idx": 2}, {"scale_grad_by_freq": True}, {"max_norm": 1.5}, {"max_norm": 1.0, "norm_type": 1.0}]
)
def test_embedding_matches_torch(device, kw):
    tm = torch.nn.Embedding(6, 4, **kw).double()
    nm = nb.nn.Embedding(6, 4, **kw, device=device, dtype=nb.float64)
    assert repr(nm) == repr(tm)
    assert {k: tuple(v.shape) for k, v in nm.state_dict().items()} == {"weight": (6, 4)}
    nm.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    idx = np.array([[0, 2, 5, 2], [2, 1, 1, 3]])
    out_t, out_n = tm(torch.tensor(idx)), nm(_t(idx, device))
    assert_close(out_n, out_t.detach().numpy(), rtol=1e-12)
    g = np.random.default_rng(2).standard_normal((2, 4, 4))
    out_t.backward(torch.tensor(g))
    out_n.backward(_t(g, device))
    assert_close(nm.weight.grad, tm.weight.grad.numpy(), rtol=1e-12)
    assert_close(nm.weight, tm.weight.detach().numpy(), rtol=1e-12)  # max_norm renormalised the same rows


def test_dropout_layers_match_torch_reprs():
    assert repr(nb.nn.Dropout(0.3, inplace=True)) == repr(torch.nn.Dropout(0.3, inplace=True))
    assert repr(nb.nn.Dropout2d()) == repr(torch.nn.Dropout2d())


def test_one_hot_matches_torch(device):
    idx = np.array([[3, 0], [1, 1]])
    assert_close(F.one_hot(_t(idx, device), 5), torch.nn.functional.one_hot(torch.tensor(idx), 5).numpy())
