"""conv1d/conv2d/conv_transpose1d/conv_transpose2d and the Conv layers.

Forward values against direct-loop NumPy references, gradients by gradcheck
(float64) and gradgradcheck, parity with torch (values and gradients, float64),
layer reprs / state dicts / init against torch, and every error message.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import nbgrad as nb
import nbgrad.nn.functional as F
from nbgrad.autograd import gradcheck, gradgradcheck

RNG = np.random.default_rng(3)


def _np(t) -> np.ndarray:
    return nb.backend.to_numpy(t.detach()._data)


def _t(a, device, requires_grad=False):
    return nb.tensor(a, device=device, requires_grad=requires_grad)


def _pairs(v, nd):
    return tuple(v) if isinstance(v, (tuple, list)) else (v,) * nd


# ---------------------------------------------------------------------------
# NumPy references: the definition, one output element at a time


def ref_conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """Direct cross-correlation; ``padding`` may be an int, a pair or ((top, bottom), (left, right))."""
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    (sh, sw), (dh, dw) = _pairs(stride, 2), _pairs(dilation, 2)
    if isinstance(padding, tuple) and isinstance(padding[0], tuple):
        (pt, pb), (pl, pr) = padding
    else:
        ph, pw = _pairs(padding, 2)
        pt, pb, pl, pr = ph, ph, pw, pw
    xp = np.zeros((n, c, h + pt + pb, wd + pl + pr))
    xp[:, :, pt : pt + h, pl : pl + wd] = x
    ho = (h + pt + pb - dh * (kh - 1) - 1) // sh + 1
    wo = (wd + pl + pr - dw * (kw - 1) - 1) // sw + 1
    og = o // groups
    out = np.zeros((n, o, ho, wo))
    for ni, oi, i, j in itertools.product(range(n), range(o), range(ho), range(wo)):
        gi = oi // og
        acc = 0.0
        for ci in range(cg):
            for a in range(kh):
                for bb in range(kw):
                    acc += xp[ni, gi * cg + ci, i * sh + a * dh, j * sw + bb * dw] * w[oi, ci, a, bb]
        out[ni, oi, i, j] = acc + (0.0 if b is None else b[oi])
    return out


def ref_conv_transpose2d(x, w, b=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """Direct scatter: every input element adds ``x * w`` into its output window, then crop the padding."""
    n, cin, h, wd = x.shape
    _, og, kh, kw = w.shape
    (sh, sw), (ph, pw) = _pairs(stride, 2), _pairs(padding, 2)
    (oph, opw), (dh, dw) = _pairs(output_padding, 2), _pairs(dilation, 2)
    ho = (h - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1
    wo = (wd - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1
    full = np.zeros((n, og * groups, ho + 2 * ph + kh * dh, wo + 2 * pw + kw * dw))
    cg = cin // groups
    for ni, ci, i, j in itertools.product(range(n), range(cin), range(h), range(wd)):
        gi = ci // cg
        for oc in range(og):
            for a in range(kh):
                for bb in range(kw):
                    full[ni, gi * og + oc, i * sh + a * dh, j * sw + bb * dw] += x[ni, ci, i, j] * w[ci, oc, a, bb]
    out = full[:, :, ph : ph + ho, pw : pw + wo]
    return out if b is None else out + b[:, None, None]


def _same_pads(kernel, dilation):
    totals = [d * (k - 1) for d, k in zip(dilation, kernel)]
    return tuple((t // 2, t - t // 2) for t in totals)


# ---------------------------------------------------------------------------
# conv2d / conv1d: forward against the reference

CONV2D_CASES = [
    # (x shape, w shape, kwargs)
    ((2, 3, 6, 5), (4, 3, 3, 3), {}),
    ((2, 3, 6, 5), (4, 3, 3, 2), {"stride": 2, "padding": 1}),
    ((1, 4, 7, 7), (6, 2, 3, 3), {"groups": 2, "padding": (1, 2), "stride": (1, 2)}),
    ((2, 4, 7, 6), (4, 1, 3, 3), {"groups": 4, "padding": 1}),  # depthwise
    ((1, 2, 8, 7), (3, 2, 2, 3), {"dilation": (2, 1), "padding": 2}),
    ((2, 2, 6, 6), (3, 2, 4, 3), {"padding": "same"}),  # even kernel: asymmetric padding
    ((1, 2, 7, 6), (3, 2, 3, 2), {"padding": "same", "dilation": (2, 3)}),
    ((1, 2, 5, 6), (3, 2, 3, 3), {"padding": "valid", "stride": (2, 3)}),
]


def _ref_padding(kwargs, w_shape):
    padding = kwargs.get("padding", 0)
    if padding == "same":
        return _same_pads(w_shape[2:], _pairs(kwargs.get("dilation", 1), 2))
    return 0 if padding == "valid" else padding


@pytest.mark.parametrize("case", range(len(CONV2D_CASES)))
@pytest.mark.parametrize("bias", [True, False])
def test_conv2d_forward_matches_reference(device, case, bias):
    xs, ws, kwargs = CONV2D_CASES[case]
    x, w, b = RNG.standard_normal(xs), RNG.standard_normal(ws), RNG.standard_normal(ws[0])
    out = F.conv2d(_t(x, device), _t(w, device), _t(b, device) if bias else None, **kwargs)
    ref_kwargs = {k: v for k, v in kwargs.items() if k != "padding"}
    expected = ref_conv2d(x, w, b if bias else None, padding=_ref_padding(kwargs, ws), **ref_kwargs)
    np.testing.assert_allclose(_np(out), expected, rtol=1e-10, atol=1e-10)


def test_conv2d_unbatched_and_conv1d_match_reference(device):
    x, w, b = RNG.standard_normal((3, 6, 5)), RNG.standard_normal((4, 3, 3, 3)), RNG.standard_normal(4)
    out = F.conv2d(_t(x, device), _t(w, device), _t(b, device), padding=1)
    np.testing.assert_allclose(_np(out), ref_conv2d(x[None], w, b, padding=1)[0], rtol=1e-10, atol=1e-10)
    x1, w1 = RNG.standard_normal((2, 4, 9)), RNG.standard_normal((6, 2, 3))
    out = F.conv1d(_t(x1, device), _t(w1, device), stride=2, padding=1, dilation=2, groups=2)
    expected = ref_conv2d(x1[:, :, None], w1[:, :, None], stride=(1, 2), padding=(0, 1), dilation=(1, 2), groups=2)
    np.testing.assert_allclose(_np(out), expected[:, :, 0], rtol=1e-10, atol=1e-10)
    w4 = RNG.standard_normal((3, 4, 4))  # even kernel: 'same' pads 1 before, 2 after
    out = F.conv1d(_t(x1[0], device), _t(w4, device), padding="same")
    expected = ref_conv2d(x1[:1, :, None], w4[:, :, None], padding=((0, 0), (1, 2)))
    np.testing.assert_allclose(_np(out), expected[0, :, 0], rtol=1e-10, atol=1e-10)


TRANSPOSE_CASES = [
    ((2, 4, 3, 4), (4, 3, 3, 3), {}),
    ((2, 4, 3, 4), (4, 3, 3, 2), {"stride": 2, "padding": 1, "output_padding": 1}),
    ((1, 4, 4, 3), (4, 2, 3, 3), {"groups": 2, "stride": (2, 1), "dilation": (1, 2)}),
    ((1, 2, 3, 3), (2, 2, 2, 2), {"stride": 1, "dilation": 2, "output_padding": 1}),  # op < dilation only
]


@pytest.mark.parametrize("case", range(len(TRANSPOSE_CASES)))
@pytest.mark.parametrize("bias", [True, False])
def test_conv_transpose2d_forward_matches_reference(device, case, bias):
    xs, ws, kwargs = TRANSPOSE_CASES[case]
    groups = kwargs.get("groups", 1)
    x, w, b = RNG.standard_normal(xs), RNG.standard_normal(ws), RNG.standard_normal(ws[1] * groups)
    out = F.conv_transpose2d(_t(x, device), _t(w, device), _t(b, device) if bias else None, **kwargs)
    expected = ref_conv_transpose2d(x, w, b if bias else None, **kwargs)
    np.testing.assert_allclose(_np(out), expected, rtol=1e-10, atol=1e-10)


def test_conv_transpose1d_forward_matches_reference(device):
    x, w, b = RNG.standard_normal((2, 4, 5)), RNG.standard_normal((4, 3, 3)), RNG.standard_normal(3)
    out = F.conv_transpose1d(_t(x, device), _t(w, device), _t(b, device), stride=3, padding=1, output_padding=2)
    expected = ref_conv_transpose2d(
        x[:, :, None], w[:, :, None], b, stride=(1, 3), padding=(0, 1), output_padding=(0, 2)
    )
    np.testing.assert_allclose(_np(out), expected[:, :, 0], rtol=1e-10, atol=1e-10)
    unbatched = F.conv_transpose1d(_t(x[0], device), _t(w, device), stride=2)
    assert unbatched.shape == (3, 11)


def test_conv_transpose_is_the_input_gradient_of_conv(device):
    x = _t(RNG.standard_normal((2, 4, 7, 6)), device, requires_grad=True)
    w = _t(RNG.standard_normal((6, 2, 3, 3)), device)
    y = F.conv2d(x, w, stride=2, padding=1, groups=2)
    g = _t(RNG.standard_normal(tuple(y.shape)), device)
    y.backward(g)
    out = F.conv_transpose2d(g, w, stride=2, padding=1, output_padding=(0, 1), groups=2)
    np.testing.assert_allclose(_np(out), _np(x.grad), rtol=1e-12, atol=1e-12)


def test_conv_output_is_channels_last_in_memory():
    x, w, w2 = nb.randn(2, 3, 8, 8), nb.randn(5, 3, 3, 3), nb.randn(2, 5, 3, 3)
    out = F.conv2d(x, w, padding=1)
    assert out.shape == (2, 5, 8, 8)
    assert out._data.transpose(0, 2, 3, 1).flags.c_contiguous
    # the next conv reads that memory as it is and agrees with a C-ordered copy
    np.testing.assert_allclose(_np(F.conv2d(out, w2)), _np(F.conv2d(out.contiguous(), w2)), rtol=1e-5, atol=1e-5)


def test_channels_last_and_c_order_inputs_agree():
    x = RNG.standard_normal((2, 4, 6, 6))
    w = RNG.standard_normal((3, 4, 3, 3))
    channels_last = nb.Tensor._wrap(np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2))
    a = F.conv2d(channels_last, nb.tensor(w), padding=1)
    b = F.conv2d(nb.tensor(x), nb.tensor(w), padding=1)
    np.testing.assert_allclose(_np(a), _np(b), rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------------------
# gradients

GRAD_CASES = [
    ("conv2d", (2, 2, 5, 4), (3, 2, 3, 2), {"stride": 2, "padding": 1}),
    ("conv2d", (1, 4, 5, 5), (4, 2, 2, 3), {"groups": 2, "dilation": (2, 1), "padding": "same"}),
    ("conv2d", (2, 3, 4, 4), (3, 1, 3, 3), {"groups": 3, "padding": (1, 0), "stride": (1, 2)}),
    ("conv2d", (2, 4, 4), (3, 2, 2, 2), {}),  # unbatched
    ("conv1d", (2, 2, 7), (4, 2, 3), {"stride": 2, "padding": 2, "dilation": 2}),
    ("conv1d", (2, 4, 6), (2, 2, 4), {"padding": "same", "groups": 2}),
    ("conv_transpose2d", (2, 4, 3, 3), (4, 1, 3, 2), {"stride": 2, "padding": 1, "output_padding": 1, "groups": 2}),
    ("conv_transpose2d", (2, 3, 3), (2, 2, 2, 2), {"dilation": 2}),
    ("conv_transpose1d", (2, 2, 4), (2, 3, 3), {"stride": 3, "output_padding": 1}),
]


def _bias_len(op, w_shape, kwargs):
    return w_shape[1] * kwargs.get("groups", 1) if "transpose" in op else w_shape[0]


@pytest.mark.parametrize("case", range(len(GRAD_CASES)))
@pytest.mark.parametrize("bias", [True, False])
def test_gradcheck(device, case, bias):
    op, xs, ws, kwargs = GRAD_CASES[case]
    fn = getattr(F, op)
    x = _t(RNG.standard_normal(xs), device, True)
    w = _t(RNG.standard_normal(ws), device, True)
    inputs = (x, w, _t(RNG.standard_normal(_bias_len(op, ws, kwargs)), device, True)) if bias else (x, w)
    assert gradcheck(lambda *a: fn(*a, **kwargs), inputs)


@pytest.mark.parametrize("case", [0, 1, 4, 6])
def test_gradgradcheck(device, case):
    op, xs, ws, kwargs = GRAD_CASES[case]
    fn = getattr(F, op)
    x = _t(RNG.standard_normal(xs), device, True)
    w = _t(RNG.standard_normal(ws), device, True)
    b = _t(RNG.standard_normal(_bias_len(op, ws, kwargs)), device, True)
    assert gradgradcheck(lambda *a: fn(*a, **kwargs), (x, w, b))


def test_only_requested_gradients_are_computed():
    x, w = nb.randn(2, 3, 5, 5), nb.randn(4, 3, 3, 3, requires_grad=True)
    F.conv2d(x, w).sum().backward()
    assert x.grad is None and w.grad.shape == (4, 3, 3, 3)
    x.requires_grad_(True)
    w.requires_grad_(False)
    w.grad = None
    F.conv2d(x, w).sum().backward()
    assert x.grad.shape == (2, 3, 5, 5) and w.grad is None


def test_in_place_change_of_the_input_is_detected():
    x, w = nb.randn(1, 2, 4, 4, requires_grad=True), nb.randn(3, 2, 3, 3, requires_grad=True)
    h = x * 1
    y = F.conv2d(h, w)
    h.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_float32_and_no_grad():
    x, w, b = nb.randn(2, 3, 6, 6), nb.randn(4, 3, 3, 3), nb.randn(4)
    with nb.no_grad():
        out = F.conv2d(x, w, b, padding=1)
    assert out.dtype == nb.float32 and out.grad_fn is None


# ---------------------------------------------------------------------------
# parity with torch (float64): values and gradients over a grid

PARITY_GRID = [
    ("conv2d", (2, 4, 7, 6), (6, 2, 3, 2), dict(stride=(2, 1), padding=1, dilation=(1, 2), groups=2)),
    ("conv2d", (2, 4, 7, 6), (6, 4, 4, 2), dict(padding="same")),
    ("conv2d", (4, 7, 6), (6, 4, 3, 3), dict(padding="same", dilation=2)),
    ("conv2d", (3, 6, 9, 9), (6, 1, 3, 3), dict(groups=6, stride=2, padding=1)),
    ("conv2d", (2, 3, 9, 8), (5, 3, 5, 5), dict(padding="valid", stride=(3, 2))),
    ("conv1d", (2, 4, 9), (6, 2, 4), dict(padding="same", groups=2)),
    ("conv1d", (4, 9), (6, 4, 3), dict(stride=2, dilation=3, padding=2)),
    ("conv_transpose2d", (2, 4, 5, 6), (4, 3, 3, 2), dict(stride=2, padding=1, output_padding=1, groups=2)),
    ("conv_transpose2d", (2, 4, 5, 6), (4, 3, 3, 2), dict(padding=1, output_padding=1, dilation=2)),
    ("conv_transpose2d", (4, 5, 6), (4, 3, 2, 2), dict(stride=(1, 3))),
    ("conv_transpose1d", (4, 5), (4, 3, 3), dict(stride=3, output_padding=2)),
]


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths")  # torch's own notice
@pytest.mark.parametrize("case", range(len(PARITY_GRID)))
@pytest.mark.parametrize("bias", [True, False])
def test_torch_parity(device, case, bias):
    torch = pytest.importorskip("torch")
    op, xs, ws, kwargs = PARITY_GRID[case]
    arrays = [RNG.standard_normal(xs), RNG.standard_normal(ws)]
    if bias:
        arrays.append(RNG.standard_normal(_bias_len(op, ws, kwargs)))
    ours = [_t(a, device, True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = getattr(F, op)(*ours, **kwargs)
    expected = getattr(torch.nn.functional, op)(*theirs, **kwargs)
    g = RNG.standard_normal(tuple(expected.shape))
    out.backward(_t(g, device))
    expected.backward(torch.tensor(g))
    np.testing.assert_allclose(_np(out), expected.detach().numpy(), rtol=1e-10, atol=1e-10)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(_np(a.grad), b.grad.numpy(), rtol=1e-10, atol=1e-10)


# ---------------------------------------------------------------------------
# layers

LAYERS = [
    ("Conv1d", (4, 6, 3), dict(stride=2, padding=1)),
    ("Conv1d", (4, 6, 4), dict(padding="same", groups=2, bias=False)),
    ("Conv2d", (3, 8, 3), {}),
    ("Conv2d", (4, 8, (3, 2)), dict(stride=(2, 1), padding=(1, 0), dilation=2, groups=2)),
    ("Conv2d", (4, 4, 3), dict(padding="same", groups=4, bias=False)),
    ("Conv2d", (2, 3, 3), dict(padding="valid")),
    ("Conv2d", (2, 3, 3), dict(padding=1, padding_mode="reflect")),
    ("Conv2d", (2, 3, 3), dict(padding=(1, 2), padding_mode="circular")),
    ("Conv2d", (2, 3, 4), dict(padding="same", padding_mode="replicate")),
    ("Conv1d", (2, 3, 3), dict(padding=2, padding_mode="reflect")),
    ("ConvTranspose2d", (4, 6, 3), dict(stride=2, padding=1, output_padding=1, groups=2)),
    ("ConvTranspose2d", (4, 2, (2, 3)), dict(dilation=2, bias=False)),
    ("ConvTranspose1d", (4, 2, 3), dict(stride=2)),
]
INPUT_SHAPES = {
    "Conv1d": (2, None, 9),
    "Conv2d": (2, None, 7, 6),
    "ConvTranspose2d": (2, None, 4, 5),
    "ConvTranspose1d": (2, None, 6),
}


def _input_for(name, in_channels):
    shape = list(INPUT_SHAPES[name])
    shape[1] = in_channels
    return RNG.standard_normal(shape)


@pytest.mark.parametrize("case", range(len(LAYERS)))
def test_layer_matches_torch(device, case):
    torch = pytest.importorskip("torch")
    name, args, kwargs = LAYERS[case]
    theirs = getattr(torch.nn, name)(*args, **kwargs).double()
    ours = getattr(nb.nn, name)(*args, **kwargs, device=device, dtype=nb.float64)
    assert repr(ours) == repr(theirs)
    sd_theirs = theirs.state_dict()
    assert list(ours.state_dict()) == list(sd_theirs)
    assert [tuple(v.shape) for v in ours.state_dict().values()] == [tuple(v.shape) for v in sd_theirs.values()]
    ours.load_state_dict({k: nb.tensor(v.numpy()) for k, v in sd_theirs.items()})
    x = _input_for(name, args[0])
    xo, xt = _t(x, device, True), torch.tensor(x, requires_grad=True)
    out, expected = ours(xo), theirs(xt)
    np.testing.assert_allclose(_np(out), expected.detach().numpy(), rtol=1e-10, atol=1e-10)
    g = RNG.standard_normal(tuple(expected.shape))
    out.backward(_t(g, device))
    expected.backward(torch.tensor(g))
    np.testing.assert_allclose(_np(xo.grad), xt.grad.numpy(), rtol=1e-10, atol=1e-10)
    for (n1, p1), (n2, p2) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert n1 == n2
        np.testing.assert_allclose(_np(p1.grad), p2.grad.numpy(), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize(
    "name,args,fan_in",
    [
        ("Conv2d", (6, 8, 3), 6 * 9),
        ("Conv2d", (6, 9, (3, 2), 1, 0, 1, 3), 2 * 6),
        ("Conv1d", (4, 5, 7), 4 * 7),
        ("ConvTranspose2d", (6, 8, 3), 8 * 9),  # torch's fan_in of a transposed weight: out/groups * k
    ],
)
def test_default_init_bounds(name, args, fan_in):
    layer = getattr(nb.nn, name)(*args)
    bound = 1 / math.sqrt(fan_in)
    w, b = _np(layer.weight), _np(layer.bias)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.8 * bound
    assert np.abs(b).max() <= bound
    assert layer.weight.dtype == nb.float32
    expected = (
        (args[1], args[0] // (args[6] if len(args) > 6 else 1)) if "Transpose" not in name else (args[0], args[1])
    )
    assert tuple(layer.weight.shape[:2]) == expected


def test_layer_dtype_device_and_unbatched(device):
    conv = nb.nn.Conv2d(3, 4, 3, padding=1, device=device, dtype=nb.float64)
    assert conv.weight.dtype == nb.float64 and conv.weight.device == nb.device(device)
    out = conv(_t(RNG.standard_normal((3, 5, 5)), device))
    assert out.shape == (4, 5, 5)


def test_conv_transpose_output_size():
    torch = pytest.importorskip("torch")
    ours = nb.nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1).double()
    theirs = torch.nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1).double()
    ours.load_state_dict({k: nb.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    x = RNG.standard_normal((1, 3, 4, 5))
    for size in [(7, 9), (8, 10), (1, 2, 8, 9)]:
        out = ours(nb.tensor(x), output_size=size)
        expected = theirs(torch.tensor(x), output_size=size)
        np.testing.assert_allclose(_np(out), expected.detach().numpy(), rtol=1e-10, atol=1e-10)
    with pytest.raises(ValueError, match="ConvTranspose2d: requested an output size of \\(10, 9\\)"):
        ours(nb.tensor(x), output_size=(10, 9))


def test_conv_layer_in_a_model_trains():
    model = nb.nn.Sequential(
        nb.nn.Conv2d(1, 4, 3, padding=1), nb.nn.ReLU(), nb.nn.MaxPool2d(2), nb.nn.Flatten(), nb.nn.Linear(4 * 4 * 4, 2)
    )
    x, y = nb.randn(8, 1, 8, 8), nb.tensor([0, 1] * 4)
    losses = []
    for _ in range(30):
        loss = F.cross_entropy(model(x), y)
        model.zero_grad()
        loss.backward()
        with nb.no_grad():
            for p in model.parameters():
                p.add_(p.grad, alpha=-0.1)
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


# ---------------------------------------------------------------------------
# errors: each names the op and the shapes involved


@pytest.mark.parametrize(
    "call,exc,match",
    [
        (
            lambda: F.conv2d(nb.randn(2, 3, 5), nb.randn(4, 3, 3)),
            RuntimeError,
            r"conv2d: expected weight with 4 dimensions .* got shape \(4, 3, 3\)",
        ),
        (
            lambda: F.conv2d(nb.randn(3, 5), nb.randn(4, 3, 3, 3)),
            RuntimeError,
            r"conv2d: expected input with 3 \(unbatched\) or 4 \(batched\) dimensions \(N, C, H, W\), "
            r"got shape \(3, 5\)",
        ),
        (
            lambda: F.conv1d(nb.randn(1, 2, 3, 5), nb.randn(4, 3, 3)),
            RuntimeError,
            r"conv1d: expected input with 2 \(unbatched\) or 3 \(batched\) dimensions \(N, C, L\), "
            r"got shape \(1, 2, 3, 5\)",
        ),
        (
            lambda: F.conv2d(nb.randn(1, 4, 5, 5), nb.randn(4, 3, 3, 3)),
            RuntimeError,
            r"conv2d: input of shape \(1, 4, 5, 5\) has 4 channels, but weight of shape \(4, 3, 3, 3\) with groups=1 "
            r"expects 3 channels",
        ),
        (
            lambda: F.conv2d(nb.randn(1, 4, 5, 5), nb.randn(4, 4, 3, 3), groups=2),
            RuntimeError,
            r"conv2d: input of shape \(1, 4, 5, 5\) has 4 channels, but weight of shape \(4, 4, 3, 3\) with groups=2 "
            r"expects 8 channels",
        ),
        (
            lambda: F.conv2d(nb.randn(1, 4, 5, 5), nb.randn(3, 2, 3, 3), groups=2),
            RuntimeError,
            r"conv2d: weight of shape \(3, 2, 3, 3\) has 3 output channels, not divisible by groups=2",
        ),
        (
            lambda: F.conv2d(nb.randn(1, 2, 5, 5), nb.randn(3, 2, 3, 3), groups=0),
            RuntimeError,
            "conv2d: groups must be a positive integer, got 0",
        ),
        (
            lambda: F.conv2d(nb.randn(1, 2, 2, 5), nb.randn(3, 2, 3, 3)),
            RuntimeError,
            r"conv2d: kernel size \(3, 3\) \(dilated: \(3, 3\)\) is larger than the padded input size \(2, 5\)",
        ),
        (
            lambda: F.conv2d(nb.randn(1, 2, 4, 5), nb.randn(3, 2, 3, 3), dilation=2),
            RuntimeError,
            r"conv2d: kernel size \(3, 3\) \(dilated: \(5, 5\)\) is larger than the padded input size \(4, 5\)",
        ),
        (
            lambda: F.conv2d(nb.randn(1, 2, 5, 5), nb.randn(3, 2, 3, 3), stride=0),
            RuntimeError,
            r"conv2d: stride must be positive, got \(0, 0\)",
        ),
        (
            lambda: F.conv2d(nb.randn(1, 2, 5, 5), nb.randn(3, 2, 3, 3), dilation=(1, 0)),
            RuntimeError,
            r"conv2d: dilation must be positive, got \(1, 0\)",
        ),
        (
            lambda: F.conv2d(nb.randn(1, 2, 5, 5), nb.randn(3, 2, 3, 3), padding=-1),
            RuntimeError,
            "conv2d: negative padding is not supported",
        ),
        (
            lambda: F.conv2d(nb.randn(1, 2, 5, 5), nb.randn(3, 2, 3, 3), padding="same", stride=2),
            ValueError,
            r"conv2d: padding='same' is not supported for strided convolutions \(stride=\(2, 2\)\)",
        ),
        (
            lambda: F.conv2d(nb.randn(1, 2, 5, 5), nb.randn(3, 2, 3, 3), padding="full"),
            ValueError,
            "conv2d: invalid padding string 'full'",
        ),
        (
            lambda: F.conv2d(nb.randn(1, 2, 5, 5), nb.randn(3, 2, 3, 3), stride=(1, 2, 3)),
            ValueError,
            r"conv2d: stride must be an int or a tuple of 2 ints, got \(1, 2, 3\)",
        ),
        (
            lambda: F.conv2d(nb.randn(1, 2, 5, 5), nb.randn(3, 2, 3, 3), nb.randn(4)),
            RuntimeError,
            r"conv2d: expected bias of shape \(3,\) for weight of shape \(3, 2, 3, 3\), got \(4,\)",
        ),
        (
            lambda: F.conv2d(nb.randn(1, 2, 5, 5), nb.randn(3, 2, 3, 3).double()),
            RuntimeError,
            "conv2d: input dtype float32 and weight dtype float64 differ",
        ),
        (
            lambda: F.conv2d(nb.ones(1, 2, 5, 5, dtype=nb.int64), nb.ones(3, 2, 3, 3, dtype=nb.int64)),
            RuntimeError,
            "conv2d: expected a floating point input, got int64",
        ),
        (
            lambda: F.conv_transpose2d(nb.randn(1, 3, 5, 5), nb.randn(4, 2, 3, 3)),
            RuntimeError,
            r"conv_transpose2d: input of shape \(1, 3, 5, 5\) has 3 channels, "
            r"but weight of shape \(4, 2, 3, 3\) expects 4",
        ),
        (
            lambda: F.conv_transpose2d(nb.randn(1, 4, 5, 5), nb.randn(4, 2, 3, 3), output_padding=1),
            RuntimeError,
            r"conv_transpose2d: output_padding \(1, 1\) must be smaller than either stride \(1, 1\) "
            r"or dilation \(1, 1\)",
        ),
        (
            lambda: F.conv_transpose2d(nb.randn(1, 4, 5, 5), nb.randn(4, 2, 3, 3), groups=3),
            RuntimeError,
            r"conv_transpose2d: weight of shape \(4, 2, 3, 3\) has 4 input channels, not divisible by groups=3",
        ),
        (
            lambda: F.conv_transpose2d(nb.randn(1, 4, 1, 1), nb.randn(4, 2, 1, 1), padding=1),
            RuntimeError,
            r"conv_transpose2d: input of shape \(1, 4, 1, 1\) .* gives the empty output size \(-1, -1\)",
        ),
        (
            lambda: F.conv_transpose2d(nb.randn(1, 4, 3, 3), nb.randn(4, 2, 3, 3), padding="same"),
            ValueError,
            "conv_transpose2d: padding must be an int or a tuple of ints, got 'same'",
        ),
        (lambda: nb.nn.Conv2d(4, 6, 3, groups=3), ValueError, "Conv2d: in_channels=4 must be divisible by groups=3"),
        (lambda: nb.nn.Conv2d(6, 4, 3, groups=3), ValueError, "Conv2d: out_channels=4 must be divisible by groups=3"),
        (lambda: nb.nn.Conv2d(6, 4, 3, groups=0), ValueError, "Conv2d: groups must be a positive integer, got 0"),
        (
            lambda: nb.nn.Conv2d(2, 4, 3, padding="same", stride=2),
            ValueError,
            "Conv2d: padding='same' is not supported for strided convolutions",
        ),
        (lambda: nb.nn.Conv2d(2, 4, 3, padding="half"), ValueError, "Conv2d: invalid padding string 'half'"),
        (
            lambda: nb.nn.Conv2d(2, 4, 3, padding_mode="mirror"),
            ValueError,
            "Conv2d: padding_mode must be one of .* but got padding_mode='mirror'",
        ),
        (
            lambda: nb.nn.ConvTranspose2d(2, 4, 3, padding_mode="reflect"),
            ValueError,
            'ConvTranspose2d: only "zeros" padding mode is supported',
        ),
        (
            lambda: nb.nn.ConvTranspose2d(2, 4, 3, padding="same"),
            ValueError,
            "ConvTranspose2d: padding must be an int or a tuple of ints",
        ),
    ],
)
def test_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_layer_error_names_the_module_and_shapes():
    model = nb.nn.Sequential(nb.nn.Conv2d(3, 4, 3))
    with pytest.raises(RuntimeError, match=r"0.*conv2d: input of shape \(1, 2, 5, 5\) has 2 channels"):
        model(nb.randn(1, 2, 5, 5))
