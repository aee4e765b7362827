"""scaled_dot_product_attention and MultiheadAttention: NumPy reference, gradcheck, torch parity, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

import nbgrad as nb
import nbgrad.nn.functional as F


def _np(t) -> np.ndarray:
    return nb.backend.to_numpy(t.detach()._data)


def _t(a, device, requires_grad=False):
    return nb.tensor(a, device=device, requires_grad=requires_grad)


def _reference_sdpa(q, k, v, mask=None, causal=False, scale=None):
    """softmax(q k^T * scale + mask) v in plain NumPy; bool masks: True takes part; fully masked rows give 0."""
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    s = q @ np.swapaxes(k, -1, -2) * scale
    if causal:
        s = np.where(np.tri(q.shape[-2], k.shape[-2], dtype=bool), s, -np.inf)
    if mask is not None:
        s = np.where(mask, s, -np.inf) if mask.dtype == bool else s + mask
    m = s.max(-1, keepdims=True)
    e = np.exp(s - np.where(np.isneginf(m), 0, m))
    total = e.sum(-1, keepdims=True)
    return (e / np.where(total == 0, 1, total)) @ v


RNG = np.random.default_rng(7)
pytestmark = pytest.mark.filterwarnings("ignore:Support for mismatched")
Q, K, V = RNG.standard_normal((2, 3, 5, 4)), RNG.standard_normal((2, 1, 6, 4)), RNG.standard_normal((1, 3, 6, 2))
FLOAT_MASK = RNG.standard_normal((5, 6))
BOOL_MASK = RNG.random((3, 5, 6)) > 0.4
BOOL_MASK[0, 1] = False  # one query with every key masked out
MASKS = {"none": None, "float": FLOAT_MASK, "bool": BOOL_MASK, "causal": "causal"}


def _mask_args(kind, device):
    mask = MASKS[kind]
    if isinstance(mask, str):
        return {"is_causal": True}, {"causal": True}
    if mask is None:
        return {}, {}
    return {"attn_mask": _t(mask, device)}, {"mask": mask}


# ---------------------------------------------------------------------------
# scaled_dot_product_attention


@pytest.mark.parametrize("kind", list(MASKS))
@pytest.mark.parametrize("scale", [None, 0.3])
def test_sdpa_matches_numpy_reference(device, kind, scale):
    kwargs, ref_kwargs = _mask_args(kind, device)
    out = F.scaled_dot_product_attention(_t(Q, device), _t(K, device), _t(V, device), scale=scale, **kwargs)
    np.testing.assert_allclose(_np(out), _reference_sdpa(Q, K, V, scale=scale, **ref_kwargs), atol=1e-12)
    assert out.shape == (2, 3, 5, 2)


@pytest.mark.parametrize("kind", list(MASKS))
@pytest.mark.parametrize("dropout_p", [0.0, 0.3])
@pytest.mark.parametrize("scale", [None, 0.7])
def test_sdpa_gradcheck(device, kind, dropout_p, scale):
    q, k, v = (_t(a[..., :3, :] if a is Q else a, device, True) for a in (Q, K, V))
    mask = MASKS[kind]
    kwargs = {}
    if kind == "float":
        kwargs["attn_mask"] = _t(FLOAT_MASK[:3], device, True)  # the float mask is differentiated too
    elif kind == "bool":
        kwargs["attn_mask"] = _t(mask[:, :3], device)
    elif kind == "causal":
        kwargs["is_causal"] = True

    def fn(q, k, v, attn_mask=None):
        nb.manual_seed(3)  # the same dropout mask at every evaluation
        extra = {} if attn_mask is None else {"attn_mask": attn_mask}
        return F.scaled_dot_product_attention(
            q, k, v, dropout_p=dropout_p, scale=scale, is_causal=kwargs.get("is_causal", False), **extra
        )

    inputs = (q, k, v) + ((kwargs["attn_mask"],) if "attn_mask" in kwargs else ())
    assert nb.autograd.gradcheck(fn, inputs)


@pytest.mark.parametrize("kind", ["float", "bool", "causal"])
def test_sdpa_gradgradcheck(device, kind):
    q, k, v = (_t(a[:1, :2, :3] if a is Q else a[:1, :1], device, True) for a in (Q, K, V))
    kwargs, _ = _mask_args(kind, device)
    if kind != "causal":
        kwargs["attn_mask"] = kwargs["attn_mask"][..., :3, :] if kind == "float" else kwargs["attn_mask"][:2, :3]
    assert nb.autograd.gradgradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, **kwargs), (q, k, v))


def test_sdpa_fully_masked_rows_give_zeros(device):
    q, k, v = (_t(a, device, True) for a in (Q, K, V))
    mask = np.ones((5, 6), dtype=bool)
    mask[2] = False
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=_t(mask, device))
    assert np.all(_np(out)[..., 2, :] == 0) and np.isfinite(_np(out)).all()
    out.sum().backward()
    assert np.all(_np(q.grad)[..., 2, :] == 0) and np.isfinite(_np(k.grad)).all()


def test_sdpa_dropout_drops_and_rescales_weights(device):
    # With v = I the output is the (dropped-out) attention weights themselves.
    q, k = _t(RNG.standard_normal((4, 64, 8)), device), _t(RNG.standard_normal((4, 64, 8)), device)
    eye = _t(np.eye(64), device)
    full = _np(F.scaled_dot_product_attention(q, k, eye))
    dropped = _np(F.scaled_dot_product_attention(q, k, eye, dropout_p=0.25))
    kept = dropped != 0
    assert abs(1 - kept.mean() - 0.25) < 0.02
    np.testing.assert_allclose(dropped[kept], full[kept] / 0.75, rtol=1e-12)
    nb.manual_seed(1)
    a = _np(F.scaled_dot_product_attention(q, k, eye, dropout_p=0.5))
    nb.manual_seed(1)
    np.testing.assert_array_equal(a, _np(F.scaled_dot_product_attention(q, k, eye, dropout_p=0.5)))
    assert np.all(_np(F.scaled_dot_product_attention(q, k, eye, dropout_p=1.0)) == 0)


def test_sdpa_float32_and_grad_fn(device):
    q = nb.randn(2, 3, 4, device=device, requires_grad=True)
    out = F.scaled_dot_product_attention(q, q, q)
    assert out.dtype == nb.float32 and out.grad_fn.name() == "AttentionBackward0"
    with nb.no_grad():
        assert F.scaled_dot_product_attention(q, q, q).grad_fn is None


@pytest.mark.parametrize("kind", list(MASKS))
def test_sdpa_torch_parity(kind):
    torch = pytest.importorskip("torch")
    kwargs, _ = _mask_args(kind, "cpu")
    tkwargs = {k: (torch.tensor(_np(v)) if isinstance(v, nb.Tensor) else v) for k, v in kwargs.items()}
    nbs = [_t(a, "cpu", True) for a in (Q, K, V)]
    ts = [torch.tensor(a, requires_grad=True) for a in (Q, K, V)]
    out = F.scaled_dot_product_attention(*nbs, scale=0.4, **kwargs)
    expected = torch.nn.functional.scaled_dot_product_attention(*ts, scale=0.4, **tkwargs)
    np.testing.assert_allclose(_np(out), expected.detach().numpy(), atol=1e-12)
    g = RNG.standard_normal(tuple(expected.shape))
    out.backward(nb.tensor(g))
    expected.backward(torch.tensor(g))
    for a, b in zip(nbs, ts):
        np.testing.assert_allclose(_np(a.grad), b.grad.numpy(), atol=1e-12)


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "match"),
    [
        (
            ((2, 5, 4), (2, 6, 3), (2, 6, 2)),
            {},
            RuntimeError,
            r"query of shape \(2, 5, 4\) and key of shape \(2, 6, 3\)",
        ),
        (
            ((2, 5, 4), (2, 6, 4), (2, 7, 2)),
            {},
            RuntimeError,
            r"key of shape \(2, 6, 4\) and value of shape \(2, 7, 2\)",
        ),
        (((2, 5, 4), (3, 6, 4), (3, 6, 2)), {}, RuntimeError, r"batch dims .* cannot be broadcast"),
        (((4,), (6, 4), (6, 2)), {}, RuntimeError, r"query must have at least 2 dimensions .* shape \(4,\)"),
        (
            ((5, 4), (6, 4), (6, 2)),
            {"attn_mask": (5, 7)},
            RuntimeError,
            r"attn_mask of shape \(5, 7\) cannot be broadcast to .* \(5, 6\)",
        ),
        (
            ((5, 4), (6, 4), (6, 2)),
            {"attn_mask": (5, 6), "is_causal": True},
            RuntimeError,
            "attn_mask should not be set when is_causal=True",
        ),
        (((5, 4), (6, 4), (6, 2)), {"dropout_p": 1.5}, ValueError, "dropout_p must be between 0 and 1, got 1.5"),
    ],
)
def test_sdpa_errors(device, args, kwargs, error, match):
    tensors = [nb.randn(*s, device=device) for s in args]
    if "attn_mask" in kwargs:
        kwargs = dict(kwargs, attn_mask=nb.zeros(*kwargs["attn_mask"], device=device))
    with pytest.raises(error, match=match):
        F.scaled_dot_product_attention(*tensors, **kwargs)


def test_sdpa_dtype_errors(device):
    q = nb.randn(5, 4, device=device)
    with pytest.raises(RuntimeError, match="same floating point dtype, got float32, float64 and float32"):
        F.scaled_dot_product_attention(q, q.double(), q)
    with pytest.raises(TypeError, match="only bool and floating types of attn_mask are supported, got int64"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=nb.zeros(5, 5, dtype=nb.int64, device=device))
    with pytest.raises(TypeError, match="key must be a Tensor, got ndarray"):
        F.scaled_dot_product_attention(q, np.zeros((5, 4)), q)


# ---------------------------------------------------------------------------
# MultiheadAttention against torch


def _pair(torch, **kwargs):
    """A torch MultiheadAttention (float64) and an nbgrad one loaded from its state dict."""
    torch.manual_seed(0)
    theirs = torch.nn.MultiheadAttention(dtype=torch.float64, **kwargs)
    ours = nb.nn.MultiheadAttention(dtype=nb.float64, **kwargs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    return theirs, ours


N, L, S, E, H = 3, 4, 5, 8, 2
PADDING = np.arange(S)[None, :] >= np.array([[5], [3], [2]])  # batch item 0 keeps every key


def _causal(length, source):
    return np.triu(np.ones((length, source), dtype=bool), 1)


MHA_CASES = {
    "self": ({}, {}),
    "self-batch-first": ({"batch_first": True}, {}),
    "cross": ({}, {"cross": True}),
    "cross-batch-first": ({"batch_first": True}, {"cross": True}),
    "kdim-vdim": ({"kdim": 5, "vdim": 7}, {"cross": True}),
    "kdim-vdim-batch-first": ({"kdim": 5, "vdim": 7, "batch_first": True}, {"cross": True}),
    "no-weights": ({}, {"need_weights": False}),
    "per-head-weights": ({"batch_first": True}, {"average_attn_weights": False}),
    "no-bias": ({"bias": False}, {}),
    "bool-2d-mask": ({}, {"attn_mask": lambda: _causal(L, L)}),
    "float-2d-mask": ({}, {"cross": True, "attn_mask": lambda: RNG.standard_normal((L, S))}),
    "float-3d-mask": ({"batch_first": True}, {"cross": True, "attn_mask": lambda: RNG.standard_normal((N * H, L, S))}),
    "bool-3d-mask": ({}, {"cross": True, "attn_mask": lambda: RNG.random((N * H, L, S)) > 0.8}),
    "padding": ({"batch_first": True}, {"cross": True, "key_padding_mask": lambda: PADDING}),
    "padding-no-weights": ({}, {"cross": True, "key_padding_mask": lambda: PADDING, "need_weights": False}),
    "float-padding": ({}, {"cross": True, "key_padding_mask": lambda: np.where(PADDING, -np.inf, 0.0)}),
    "padding-and-mask": (
        {},
        {
            "cross": True,
            "key_padding_mask": lambda: np.where(PADDING, -np.inf, 0.0),
            "attn_mask": lambda: RNG.standard_normal((L, S)),
        },
    ),
    "causal-hint": ({}, {"attn_mask": lambda: _causal(L, L), "is_causal": True, "need_weights": False}),
    "unbatched": ({}, {"unbatched": True}),
    "unbatched-cross-padding": (
        {"batch_first": True},
        {"unbatched": True, "cross": True, "key_padding_mask": lambda: PADDING[1]},
    ),
    "unbatched-3d-mask": ({}, {"unbatched": True, "attn_mask": lambda: RNG.random((H, L, L)) > 0.7}),
    "bias-kv": (
        {"add_bias_kv": True},
        {"attn_mask": lambda: _causal(L, L), "key_padding_mask": lambda: PADDING[:, :L]},
    ),
    "zero-attn": ({"add_zero_attn": True}, {"cross": True, "key_padding_mask": lambda: PADDING}),
    "bias-kv-zero-attn": ({"add_bias_kv": True, "add_zero_attn": True, "batch_first": True}, {"cross": True}),
}


def _mha_inputs(module_kwargs, case):
    """query, key and value (NumPy) for one case."""
    rng = np.random.default_rng(11)
    unbatched, bf = case.get("unbatched", False), module_kwargs.get("batch_first", False)

    def shape(T, d):
        return (T, d) if unbatched else ((N, T, d) if bf else (T, N, d))

    q = rng.standard_normal(shape(L, E))
    if not case.get("cross"):
        return q, q, q
    return (
        q,
        rng.standard_normal(shape(S, module_kwargs.get("kdim", E))),
        rng.standard_normal(shape(S, module_kwargs.get("vdim", E))),
    )


@pytest.mark.parametrize("name", list(MHA_CASES))
def test_multihead_attention_torch_parity(name):
    torch = pytest.importorskip("torch")
    module_kwargs, case = MHA_CASES[name]
    theirs, ours = _pair(torch, embed_dim=E, num_heads=H, **module_kwargs)
    arrays = _mha_inputs(module_kwargs, case)
    self_attention = not case.get("cross")
    t_in = [torch.tensor(a, requires_grad=True) for a in arrays[: 1 if self_attention else 3]]
    n_in = [nb.tensor(a, requires_grad=True) for a in arrays[: 1 if self_attention else 3]]
    if self_attention:  # the same tensor three times: torch's (and our) packed in-projection path
        t_in, n_in = t_in * 3, n_in * 3
    kwargs = {k: case[k] for k in ("need_weights", "average_attn_weights", "is_causal") if k in case}
    t_kwargs, n_kwargs = dict(kwargs), dict(kwargs)
    for key in ("attn_mask", "key_padding_mask"):
        if key in case:
            mask = case[key]()
            t_kwargs[key], n_kwargs[key] = torch.tensor(mask), nb.tensor(mask)
    t_out, t_w = theirs(*t_in, **t_kwargs)
    n_out, n_w = ours(*n_in, **n_kwargs)
    np.testing.assert_allclose(_np(n_out), t_out.detach().numpy(), atol=1e-12)
    if t_w is None:
        assert n_w is None
    else:
        np.testing.assert_allclose(_np(n_w), t_w.detach().numpy(), atol=1e-12)
    g = np.random.default_rng(3).standard_normal(tuple(t_out.shape))
    t_loss = (t_out * torch.tensor(g)).sum() + (0 if t_w is None else (t_w.nan_to_num() ** 2).sum())
    n_loss = (n_out * nb.tensor(g)).sum() + (0 if n_w is None else (n_w**2).sum())
    t_loss.backward()
    n_loss.backward()
    for (key, p), (_, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(_np(p.grad), tp.grad.numpy(), atol=1e-10, err_msg=key)
    for a, b in zip(n_in[:1] if self_attention else n_in, t_in):
        np.testing.assert_allclose(_np(a.grad), b.grad.numpy(), atol=1e-10)


def test_multihead_attention_fully_masked_rows_like_torch():
    """need_weights=True: NaN (torch's softmax); need_weights=False: zeros (torch's sdpa)."""
    torch = pytest.importorskip("torch")
    theirs, ours = _pair(torch, embed_dim=E, num_heads=H)
    x = RNG.standard_normal((L, 1, E))
    padding = np.ones((1, L), dtype=bool)
    for need_weights in (True, False):
        t_out, _ = theirs(*[torch.tensor(x)] * 3, key_padding_mask=torch.tensor(padding), need_weights=need_weights)
        n_out, _ = ours(*[nb.tensor(x)] * 3, key_padding_mask=nb.tensor(padding), need_weights=need_weights)
        np.testing.assert_array_equal(np.isnan(_np(n_out)), np.isnan(t_out.detach().numpy()))
        np.testing.assert_allclose(_np(n_out), t_out.detach().numpy(), atol=1e-12)


def test_multi_head_attention_forward_functional_parity():
    torch = pytest.importorskip("torch")
    theirs, ours = _pair(torch, embed_dim=E, num_heads=H)
    q, k, v = _mha_inputs({}, {"cross": True})
    static_k = RNG.standard_normal((N * H, S, E // H))
    args = (E, H)
    t_params = [
        theirs.in_proj_weight,
        theirs.in_proj_bias,
        None,
        None,
        False,
        0.0,
        theirs.out_proj.weight,
        theirs.out_proj.bias,
    ]
    n_params = [
        ours.in_proj_weight,
        ours.in_proj_bias,
        None,
        None,
        False,
        0.0,
        ours.out_proj.weight,
        ours.out_proj.bias,
    ]
    t_out, t_w = torch.nn.functional.multi_head_attention_forward(
        *(torch.tensor(a) for a in (q, k, v)), *args, *t_params, static_k=torch.tensor(static_k)
    )
    n_out, n_w = F.multi_head_attention_forward(
        *(nb.tensor(a) for a in (q, k, v)), *args, *n_params, static_k=nb.tensor(static_k)
    )
    np.testing.assert_allclose(_np(n_out), t_out.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(_np(n_w), t_w.detach().numpy(), atol=1e-12)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"bias": False},
        {"kdim": 3, "vdim": 5},
        {"add_bias_kv": True},
        {"kdim": 3, "add_bias_kv": True, "bias": False},
    ],
)
def test_multihead_attention_state_dict_like_torch(kwargs):
    torch = pytest.importorskip("torch")
    theirs = torch.nn.MultiheadAttention(E, H, **kwargs)
    ours = nb.nn.MultiheadAttention(E, H, **kwargs)
    assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == [
        (k, tuple(v.shape)) for k, v in theirs.state_dict().items()
    ]


def test_multihead_attention_init(device):
    mha = nb.nn.MultiheadAttention(64, 4, device=device)
    w = _np(mha.in_proj_weight)
    bound = math.sqrt(6 / (64 + 3 * 64))  # xavier_uniform_ on (3E, E)
    assert w.shape == (192, 64) and np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert np.all(_np(mha.in_proj_bias) == 0) and np.all(_np(mha.out_proj.bias) == 0)
    assert np.abs(_np(mha.out_proj.weight)).max() <= 1 / math.sqrt(64)  # Linear's own init
    assert mha.in_proj_weight.device == nb.device(device) and mha.in_proj_weight.dtype == nb.float32
    assert mha.bias_k is None and mha.q_proj_weight is None
    sep = nb.nn.MultiheadAttention(8, 2, kdim=3, vdim=5, add_bias_kv=True)
    assert sep.in_proj_weight is None and tuple(sep.k_proj_weight.shape) == (8, 3)
    assert tuple(sep.bias_k.shape) == (1, 1, 8) and np.abs(_np(sep.bias_k)).max() > 0


def test_multihead_attention_on_device_float32(device):
    mha = nb.nn.MultiheadAttention(8, 2, batch_first=True, device=device)
    x = nb.randn(2, 3, 8, device=device, requires_grad=True)
    out, weights = mha(x, x, x, key_padding_mask=nb.tensor([[False, False, True]] * 2, device=device))
    assert out.shape == (2, 3, 8) and weights.shape == (2, 3, 3) and out.dtype == nb.float32
    np.testing.assert_allclose(_np(weights).sum(-1), 1, rtol=1e-5)
    assert np.all(_np(weights)[..., 2] == 0)
    out.sum().backward()
    assert x.grad.shape == x.shape and mha.in_proj_weight.grad.shape == (24, 8)


def test_multihead_attention_gradgradcheck():
    mha = nb.nn.MultiheadAttention(4, 2, dtype=nb.float64)
    x = nb.tensor(RNG.standard_normal((3, 1, 4)), requires_grad=True)
    mask = nb.tensor(_causal(3, 3))
    assert nb.autograd.gradcheck(lambda x: mha(x, x, x, attn_mask=mask)[0], (x,))
    assert nb.autograd.gradgradcheck(lambda x: mha(x, x, x, attn_mask=mask, need_weights=False)[0], (x,))


def test_multihead_attention_dropout_train_and_eval():
    mha = nb.nn.MultiheadAttention(8, 2, dropout=0.5, dtype=nb.float64)
    x = nb.tensor(RNG.standard_normal((6, 2, 8)))
    plain = nb.nn.MultiheadAttention(8, 2, dtype=nb.float64)
    plain.load_state_dict(mha.state_dict())
    _, weights = mha(x, x, x, average_attn_weights=False)
    assert (_np(weights) == 0).mean() > 0.3  # training: weights dropped
    mha.eval()
    out, weights = mha(x, x, x)
    expected, expected_weights = plain(x, x, x)
    np.testing.assert_allclose(_np(out), _np(expected), atol=1e-12)
    np.testing.assert_allclose(_np(weights), _np(expected_weights), atol=1e-12)


def test_multihead_attention_repr():
    assert repr(nb.nn.MultiheadAttention(8, 2, batch_first=True)) == (
        "MultiheadAttention(\n  embed_dim=8, num_heads=2, batch_first=True\n"
        "  (out_proj): Linear(in_features=8, out_features=8, bias=True)\n)"
    )


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"embed_dim": 10, "num_heads": 3}, ValueError, "embed_dim must be divisible by num_heads, got embed_dim=10"),
        ({"embed_dim": 0, "num_heads": 2}, ValueError, "must be greater than 0, got embed_dim=0 and num_heads=2"),
    ],
)
def test_multihead_attention_constructor_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        nb.nn.MultiheadAttention(**kwargs)


@pytest.mark.parametrize(
    ("shapes", "kwargs", "match"),
    [
        (
            ((4, 2, 8), (5, 2, 8), (5, 2, 8)),
            {"attn_mask": ((4, 4), "bool")},
            r"shape of the 2-D attn_mask is \(4, 4\), but should be \(4, 5\)",
        ),
        (
            ((4, 2, 8), (5, 2, 8), (5, 2, 8)),
            {"attn_mask": ((2, 4, 5), "bool")},
            r"shape of the 3-D attn_mask is \(2, 4, 5\), but should be \(4, 4, 5\)",
        ),
        (
            ((4, 2, 8), (5, 2, 8), (5, 2, 8)),
            {"attn_mask": ((1, 1, 4, 5), "bool")},
            r"expected attn_mask to be None, 2-D or 3-D, got shape \(1, 1, 4, 5\)",
        ),
        (
            ((4, 2, 8), (5, 2, 8), (5, 2, 8)),
            {"key_padding_mask": ((2, 4), "bool")},
            r"expected key_padding_mask of shape \(2, 5\), but got \(2, 4\)",
        ),
        (
            ((4, 2, 8), (5, 2, 8), (5, 2, 8)),
            {"key_padding_mask": ((2, 5), "int64")},
            "only bool and floating types of key_padding_mask are supported, got int64",
        ),
        (((4, 2, 8), (5, 2, 8), (6, 2, 8)), {}, r"key of shape \(5, 2, 8\) and value of shape \(6, 2, 8\)"),
        (((4, 2, 8), (5, 3, 8), (5, 3, 8)), {}, r"do not match each other or the query of shape \(4, 2, 8\)"),
        (((4, 2, 6), (5, 2, 6), (5, 2, 6)), {}, r"embedding dimension 8 in its last dim, got shape \(4, 2, 6\)"),
        (((1, 4, 2, 8),) * 3, {}, r"unbatched 2-D or batched 3-D, but got a 4-D query of shape \(1, 4, 2, 8\)"),
        (((4, 2, 8), (5, 8), (5, 8)), {}, "for batched \\(3-D\\) query, expected key and value to be 3-D"),
        (
            ((4, 8), (5, 8), (5, 8)),
            {"attn_mask": ((3, 4, 5), "bool")},
            r"expected attn_mask to be None, \(L, S\) or \(2, 4, 5\), got shape \(3, 4, 5\)",
        ),
        (((4, 2, 8), (4, 2, 8), (4, 2, 8)), {"is_causal": True}, "need attn_mask if specifying the is_causal hint"),
    ],
)
def test_multihead_attention_call_errors(device, shapes, kwargs, match):
    mha = nb.nn.MultiheadAttention(8, 2, device=device)
    tensors = [nb.randn(*s, device=device) for s in shapes]
    masks = {
        k: v if k == "is_causal" else nb.zeros(*v[0], dtype=getattr(nb, v[1]), device=device) for k, v in kwargs.items()
    }
    with pytest.raises(RuntimeError if "int64" not in match else TypeError, match=match):
        mha(*tensors, **masks)


class _Parent(nb.nn.Module):
    def __init__(self):
        super().__init__()
        self.attn = nb.nn.MultiheadAttention(8, 2)

    def forward(self, x):
        return self.attn(x, x, x, attn_mask=nb.zeros(3, 3))


def test_multihead_attention_error_names_module_path():
    with pytest.raises(
        RuntimeError, match=r"model.attn \(MultiheadAttention\): multi_head_attention_forward: the shape of"
    ):
        _Parent()(nb.randn(4, 2, 8))
