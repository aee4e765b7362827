"""Transformer layers and stacks: parity with torch (outputs and every gradient), state dicts, clones, errors."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import nbgrad as nb


def _np(t) -> np.ndarray:
    return nb.backend.to_numpy(t.detach()._data)


D_MODEL, NHEAD, FF = 8, 2, 16
N, S, T = 3, 5, 4
RNG = np.random.default_rng(5)
# torch warns when a bool padding mask meets a float attention mask; both are supported.
pytestmark = pytest.mark.filterwarnings("ignore:Support for mismatched")
SRC_PADDING = np.arange(S)[None, :] >= np.array([[5], [4], [2]])
TGT_PADDING = np.arange(T)[None, :] >= np.array([[4], [3], [1]])


def _load(ours, theirs, device="cpu"):
    """Copy torch's state dict into ours after checking that keys and shapes agree one to one."""
    assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == [
        (k, tuple(v.shape)) for k, v in theirs.state_dict().items()
    ]
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    return ours.to(device)


def _layout(shape_seq_first, batch_first, unbatched=False):
    seq, batch, feat = shape_seq_first
    if unbatched:
        return (seq, feat)
    return (batch, seq, feat) if batch_first else shape_seq_first


def _compare_grads(ours, theirs, pairs):
    for (name, p), (tname, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert name == tname
        np.testing.assert_allclose(_np(p.grad), tp.grad.numpy(), atol=1e-10, err_msg=name)
    for a, b in pairs:
        np.testing.assert_allclose(_np(a.grad), b.grad.numpy(), atol=1e-10)


def _run_pair(torch, ours, theirs, arrays, kwargs_np, device, train=False):
    """Forward (and backward of a weighted sum) through both; compare outputs, parameter and input grads."""
    ours.train(train)
    theirs.train(train)
    t_in = [torch.tensor(a, requires_grad=True) for a in arrays]
    n_in = [nb.tensor(a, device=device, requires_grad=True) for a in arrays]
    t_kwargs = {k: (torch.tensor(v) if isinstance(v, np.ndarray) else v) for k, v in kwargs_np.items()}
    n_kwargs = {k: (nb.tensor(v, device=device) if isinstance(v, np.ndarray) else v) for k, v in kwargs_np.items()}
    t_out = theirs(*t_in, **t_kwargs)
    n_out = ours(*n_in, **n_kwargs)
    np.testing.assert_allclose(_np(n_out), t_out.detach().numpy(), atol=1e-10)
    g = np.random.default_rng(0).standard_normal(tuple(t_out.shape))
    (t_out * torch.tensor(g)).sum().backward()
    (n_out * nb.tensor(g, device=device)).sum().backward()
    _compare_grads(ours, theirs, zip(n_in, t_in))


LAYER_CASES = {
    "post-norm-relu": ({}, {}),
    "pre-norm-gelu": ({"norm_first": True, "activation": "gelu"}, {}),
    "batch-first": ({"batch_first": True}, {}),
    "batch-first-pre-norm": ({"batch_first": True, "norm_first": True}, {}),
    "no-bias": ({"bias": False}, {}),
    "eps-and-callable": ({"layer_norm_eps": 1e-3, "activation": "callable"}, {}),
    "masks": ({}, {"masks": True}),
    "masks-batch-first-causal": ({"batch_first": True}, {"masks": True, "causal": True}),
    "unbatched": ({"norm_first": True}, {"unbatched": True}),
}


def _activation(kwargs, lib):
    if kwargs.get("activation") == "callable":
        return dict(kwargs, activation=(lambda x: lib.tanh(x)))
    return kwargs


@pytest.mark.parametrize("name", list(LAYER_CASES))
def test_encoder_layer_torch_parity(device, name):
    torch = pytest.importorskip("torch")
    kwargs, case = LAYER_CASES[name]
    torch.manual_seed(0)
    theirs = torch.nn.TransformerEncoderLayer(
        D_MODEL, NHEAD, FF, dropout=0.1, dtype=torch.float64, **_activation(kwargs, torch)
    )
    ours = _load(
        nb.nn.TransformerEncoderLayer(D_MODEL, NHEAD, FF, dropout=0.1, dtype=nb.float64, **_activation(kwargs, nb)),
        theirs,
        device,
    )
    bf = kwargs.get("batch_first", False)
    src = RNG.standard_normal(_layout((S, N, D_MODEL), bf, case.get("unbatched", False)))
    extra = {}
    if case.get("masks"):
        extra["src_mask"] = np.triu(np.full((S, S), -np.inf), 1) if case.get("causal") else RNG.random((S, S)) > 0.7
        extra["src_key_padding_mask"] = SRC_PADDING
        np.fill_diagonal(extra["src_mask"], 0 if case.get("causal") else False)  # no fully masked rows
        if case.get("causal"):
            extra["is_causal"] = True
    _run_pair(torch, ours, theirs, [src], extra, device)  # eval mode: dropout off


@pytest.mark.parametrize("name", list(LAYER_CASES))
def test_decoder_layer_torch_parity(device, name):
    torch = pytest.importorskip("torch")
    kwargs, case = LAYER_CASES[name]
    torch.manual_seed(0)
    theirs = torch.nn.TransformerDecoderLayer(
        D_MODEL, NHEAD, FF, dropout=0.0, dtype=torch.float64, **_activation(kwargs, torch)
    )
    ours = _load(
        nb.nn.TransformerDecoderLayer(D_MODEL, NHEAD, FF, dropout=0.0, dtype=nb.float64, **_activation(kwargs, nb)),
        theirs,
        device,
    )
    bf, unbatched = kwargs.get("batch_first", False), case.get("unbatched", False)
    tgt = RNG.standard_normal(_layout((T, N, D_MODEL), bf, unbatched))
    memory = RNG.standard_normal(_layout((S, N, D_MODEL), bf, unbatched))
    extra = {}
    if case.get("masks"):
        extra["tgt_mask"] = np.triu(np.full((T, T), -np.inf), 1)
        extra["memory_mask"] = RNG.standard_normal((T, S))
        extra["tgt_key_padding_mask"] = TGT_PADDING
        extra["memory_key_padding_mask"] = SRC_PADDING
        if case.get("causal"):
            extra["tgt_is_causal"] = True
    _run_pair(torch, ours, theirs, [tgt, memory], extra, device, train=True)  # dropout=0: training is exact


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
def test_encoder_and_decoder_stacks_torch_parity(device, norm_first, batch_first):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    layer_kwargs = {"dim_feedforward": FF, "norm_first": norm_first, "batch_first": batch_first}
    t_enc = torch.nn.TransformerEncoder(
        torch.nn.TransformerEncoderLayer(D_MODEL, NHEAD, dtype=torch.float64, **layer_kwargs),
        2,
        norm=torch.nn.LayerNorm(D_MODEL, dtype=torch.float64),
        enable_nested_tensor=False,
    )
    n_enc = nb.nn.TransformerEncoder(
        nb.nn.TransformerEncoderLayer(D_MODEL, NHEAD, dtype=nb.float64, **layer_kwargs),
        2,
        norm=nb.nn.LayerNorm(D_MODEL, dtype=nb.float64),
    )
    _load(n_enc, t_enc, device)
    src = RNG.standard_normal(_layout((S, N, D_MODEL), batch_first))
    causal = np.triu(np.full((S, S), -np.inf), 1)
    _run_pair(torch, n_enc, t_enc, [src], {"mask": causal, "src_key_padding_mask": SRC_PADDING}, device)

    t_dec = torch.nn.TransformerDecoder(
        torch.nn.TransformerDecoderLayer(D_MODEL, NHEAD, dtype=torch.float64, **layer_kwargs), 2
    )
    n_dec = _load(
        nb.nn.TransformerDecoder(nb.nn.TransformerDecoderLayer(D_MODEL, NHEAD, dtype=nb.float64, **layer_kwargs), 2),
        t_dec,
        device,
    )
    tgt = RNG.standard_normal(_layout((T, N, D_MODEL), batch_first))
    _run_pair(
        torch,
        n_dec,
        t_dec,
        [tgt, src],
        {"tgt_mask": np.triu(np.full((T, T), -np.inf), 1), "memory_key_padding_mask": SRC_PADDING},
        device,
    )


def test_transformer_torch_parity(device):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    kwargs = {
        "d_model": D_MODEL,
        "nhead": NHEAD,
        "num_encoder_layers": 2,
        "num_decoder_layers": 1,
        "dim_feedforward": FF,
        "batch_first": True,
    }
    theirs = torch.nn.Transformer(dtype=torch.float64, **kwargs)
    ours = _load(nb.nn.Transformer(dtype=nb.float64, **kwargs), theirs, device)
    src = RNG.standard_normal((N, S, D_MODEL))
    tgt = RNG.standard_normal((N, T, D_MODEL))
    mask = nb.nn.Transformer.generate_square_subsequent_mask(T, dtype=nb.float64)
    np.testing.assert_array_equal(_np(mask), torch.nn.Transformer.generate_square_subsequent_mask(T).numpy())
    _run_pair(torch, ours, theirs, [src, tgt], {"tgt_mask": _np(mask), "src_key_padding_mask": SRC_PADDING}, device)


def test_transformer_init_is_xavier():
    model = nb.nn.Transformer(d_model=16, nhead=2, num_encoder_layers=1, num_decoder_layers=1, dim_feedforward=64)
    w = _np(model.encoder.layers[0].linear1.weight)
    bound = np.sqrt(6 / (16 + 64))
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.8 * bound
    assert np.all(_np(model.encoder.layers[0].self_attn.in_proj_bias) == 0)


def test_stack_layers_are_independent_copies():
    layer = nb.nn.TransformerEncoderLayer(D_MODEL, NHEAD, FF)
    encoder = nb.nn.TransformerEncoder(layer, 3)
    weights = [m.linear1.weight for m in encoder.layers]
    assert len({id(w) for w in weights}) == 3 and all(w is not layer.linear1.weight for w in weights)
    np.testing.assert_array_equal(_np(weights[0]), _np(layer.linear1.weight))
    with nb.no_grad():
        weights[0].add_(1.0)
    assert not np.allclose(_np(weights[0]), _np(weights[1]))
    assert len(list(encoder.parameters())) == 3 * len(list(layer.parameters()))
    assert [k for k in encoder.state_dict()][:2] == [
        "layers.0.self_attn.in_proj_weight",
        "layers.0.self_attn.in_proj_bias",
    ]
    clone = copy.deepcopy(encoder)
    assert clone.layers[0].linear1.weight is not encoder.layers[0].linear1.weight


def test_layers_run_on_device_in_float32(device):
    layer = nb.nn.TransformerDecoderLayer(D_MODEL, NHEAD, FF, batch_first=True, device=device)
    tgt = nb.randn(2, T, D_MODEL, device=device, requires_grad=True)
    memory = nb.randn(2, S, D_MODEL, device=device)
    out = layer(
        tgt, memory, tgt_mask=nb.nn.Transformer.generate_square_subsequent_mask(T, device=device), tgt_is_causal=True
    )
    assert out.shape == (2, T, D_MODEL) and out.dtype == nb.float32
    out.sum().backward()
    assert tgt.grad.shape == tgt.shape and layer.multihead_attn.in_proj_weight.grad is not None


def test_dropout_active_only_in_training():
    layer = nb.nn.TransformerEncoderLayer(D_MODEL, NHEAD, FF, dropout=0.5, dtype=nb.float64)
    x = nb.tensor(RNG.standard_normal((S, N, D_MODEL)))
    assert not np.allclose(_np(layer(x)), _np(layer(x)))
    layer.eval()
    np.testing.assert_array_equal(_np(layer(x)), _np(layer(x)))


def test_detect_causal_mask():
    from nbgrad.nn.transformer import _detect_is_causal_mask

    causal = nb.nn.Transformer.generate_square_subsequent_mask(4)
    assert _detect_is_causal_mask(causal, None, 4)
    assert not _detect_is_causal_mask(nb.zeros(4, 4), None, 4)
    assert not _detect_is_causal_mask(causal, False, 4)
    assert _detect_is_causal_mask(nb.tensor(np.triu(np.ones((4, 4), dtype=bool), 1)), None, 4)
    assert not _detect_is_causal_mask(None, None, 4)


def test_repr_names_torch_submodules():
    text = repr(nb.nn.TransformerEncoderLayer(D_MODEL, NHEAD, FF))
    for name in (
        "(self_attn): MultiheadAttention",
        "(linear1): Linear",
        "(dropout): Dropout",
        "(norm2): LayerNorm",
        "(dropout2): Dropout",
    ):
        assert name in text


@pytest.mark.parametrize(
    ("build", "error", "match"),
    [
        (lambda: nb.nn.TransformerEncoderLayer(10, 3), ValueError, "embed_dim must be divisible by num_heads"),
        (
            lambda: nb.nn.TransformerEncoderLayer(8, 2, activation="tanh"),
            RuntimeError,
            "activation should be relu/gelu, not tanh",
        ),
        (
            lambda: nb.nn.TransformerDecoderLayer(8, 2, activation=3),
            TypeError,
            "activation must be 'relu', 'gelu' or a callable, got int",
        ),
        (lambda: nb.nn.TransformerEncoder(nb.nn.Linear(2, 2), -1), ValueError, "num_layers must be non-negative"),
        (lambda: nb.nn.TransformerEncoder("layer", 2), TypeError, "expected a layer Module to clone, got str"),
    ],
)
def test_constructor_errors(build, error, match):
    with pytest.raises(error, match=match):
        build()


def test_forward_errors_name_the_layer():
    encoder = nb.nn.TransformerEncoder(nb.nn.TransformerEncoderLayer(D_MODEL, NHEAD, FF), 2)
    x = nb.randn(S, N, D_MODEL)
    with pytest.raises(
        RuntimeError,
        match=r"model.layers.0.self_attn \(MultiheadAttention\): .*2-D attn_mask is "
        r"\(3, 3\), but should be \(5, 5\)",
    ):
        encoder(x, mask=nb.zeros(3, 3))
    with pytest.raises(RuntimeError, match=r"need attn_mask if specifying the is_causal hint"):
        encoder(x, is_causal=True)
    model = nb.nn.Transformer(
        d_model=D_MODEL, nhead=NHEAD, num_encoder_layers=1, num_decoder_layers=1, dim_feedforward=FF
    )
    with pytest.raises(RuntimeError, match=r"batch sizes of src \(5, 3, 8\) and tgt \(4, 2, 8\) \(dim 1\)"):
        model(x, nb.randn(T, 2, D_MODEL))
    with pytest.raises(RuntimeError, match=r"must be equal to d_model=8"):
        model(x, nb.randn(T, N, 6))
