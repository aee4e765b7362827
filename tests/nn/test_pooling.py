"""Pooling (max/avg 1-d and 2-d, adaptive average), interpolate, and the pooling layers.

Forward values against direct-loop NumPy references, gradients by gradcheck
(float64) and gradgradcheck, parity with torch (values, gradients, indices),
layer reprs against torch, and every error message.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import nbgrad as nb
import nbgrad.nn.functional as F
from nbgrad.autograd import gradcheck, gradgradcheck

RNG = np.random.default_rng(5)


def _np(t) -> np.ndarray:
    return nb.backend.to_numpy(t.detach()._data)


def _t(a, device, requires_grad=False):
    return nb.tensor(a, device=device, requires_grad=requires_grad)


def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def _out_len(n, k, s, p, d, ceil_mode):
    span = n + 2 * p - d * (k - 1) - 1
    out = (-(-span // s) if ceil_mode else span // s) + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1
    return out


# ---------------------------------------------------------------------------
# NumPy references: one window at a time


def ref_max_pool2d(x, kernel, stride=None, padding=0, dilation=1, ceil_mode=False):
    """(values, flat indices) by scanning every window; the first maximum wins."""
    (kh, kw), (ph, pw), (dh, dw) = _pair(kernel), _pair(padding), _pair(dilation)
    sh, sw = _pair(stride if stride is not None else kernel)
    n, c, h, w = x.shape
    ho, wo = _out_len(h, kh, sh, ph, dh, ceil_mode), _out_len(w, kw, sw, pw, dw, ceil_mode)
    out, idx = np.zeros((n, c, ho, wo)), np.zeros((n, c, ho, wo), dtype=np.int64)
    for ni, ci, i, j in itertools.product(range(n), range(c), range(ho), range(wo)):
        best, where = -np.inf, -1
        for a, b in itertools.product(range(kh), range(kw)):
            r, q = i * sh - ph + a * dh, j * sw - pw + b * dw
            if 0 <= r < h and 0 <= q < w and x[ni, ci, r, q] > best:
                best, where = x[ni, ci, r, q], r * w + q
        out[ni, ci, i, j], idx[ni, ci, i, j] = best, where
    return out, idx


def ref_avg_pool2d(x, kernel, stride=None, padding=0, ceil_mode=False, count_include_pad=True, divisor=None):
    (kh, kw), (ph, pw) = _pair(kernel), _pair(padding)
    sh, sw = _pair(stride if stride is not None else kernel)
    n, c, h, w = x.shape
    ho, wo = _out_len(h, kh, sh, ph, 1, ceil_mode), _out_len(w, kw, sw, pw, 1, ceil_mode)
    out = np.zeros((n, c, ho, wo))
    for i, j in itertools.product(range(ho), range(wo)):
        r0, q0 = i * sh - ph, j * sw - pw
        r1, q1 = min(r0 + kh, h + ph), min(q0 + kw, w + pw)
        size = (r1 - r0) * (q1 - q0)
        r0c, q0c, r1c, q1c = max(r0, 0), max(q0, 0), min(r1, h), min(q1, w)
        total = x[:, :, r0c:r1c, q0c:q1c].sum(axis=(2, 3))
        d = divisor if divisor is not None else size if count_include_pad else (r1c - r0c) * (q1c - q0c)
        out[:, :, i, j] = total / d
    return out


def ref_adaptive_avg_pool2d(x, size):
    n, c, h, w = x.shape
    ho, wo = size
    out = np.zeros((n, c, ho, wo))
    for i, j in itertools.product(range(ho), range(wo)):
        r0, r1 = math.floor(i * h / ho), math.ceil((i + 1) * h / ho)
        q0, q1 = math.floor(j * w / wo), math.ceil((j + 1) * w / wo)
        out[:, :, i, j] = x[:, :, r0:r1, q0:q1].mean(axis=(2, 3))
    return out


def ref_bilinear(x, size, align_corners):
    """Per output pixel: torch's source coordinate, then the 4-neighbour weighted sum."""
    n, c, h, w = x.shape
    ho, wo = size

    def source(dst, n_in, n_out):
        if align_corners:
            return dst * (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
        return max((dst + 0.5) * n_in / n_out - 0.5, 0.0)

    out = np.zeros((n, c, ho, wo))
    for i, j in itertools.product(range(ho), range(wo)):
        r, q = source(i, h, ho), source(j, w, wo)
        r0, q0 = int(r), int(q)
        r1, q1 = min(r0 + 1, h - 1), min(q0 + 1, w - 1)
        lr, lq = r - r0, q - q0
        out[:, :, i, j] = (1 - lr) * ((1 - lq) * x[:, :, r0, q0] + lq * x[:, :, r0, q1]) + lr * (
            (1 - lq) * x[:, :, r1, q0] + lq * x[:, :, r1, q1]
        )
    return out


def ref_nearest(x, size):
    n, c, h, w = x.shape
    rows = [min(int(math.floor(i * h / size[0])), h - 1) for i in range(size[0])]
    cols = [min(int(math.floor(j * w / size[1])), w - 1) for j in range(size[1])]
    return x[:, :, rows][:, :, :, cols]


# ---------------------------------------------------------------------------
# forward against the references

MAX_CASES = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 0), ceil_mode=True),
    dict(kernel_size=2, stride=1, dilation=2),
    dict(kernel_size=3, stride=2, ceil_mode=True),
    dict(kernel_size=(2, 3), dilation=(2, 1), padding=(1, 1), ceil_mode=True),
]


@pytest.mark.parametrize("kwargs", MAX_CASES)
def test_max_pool2d_matches_reference(device, kwargs):
    x = RNG.standard_normal((2, 3, 7, 8))
    out, idx = F.max_pool2d(_t(x, device), **kwargs, return_indices=True)
    ref_kwargs = dict(kwargs)
    expected, expected_idx = ref_max_pool2d(x, ref_kwargs.pop("kernel_size"), **ref_kwargs)
    np.testing.assert_allclose(_np(out), expected)
    np.testing.assert_array_equal(_np(idx), expected_idx)
    assert idx.dtype == nb.int64 and not idx.requires_grad


def test_max_pool_ties_go_to_the_first_index_and_nan_propagates(device):
    x = _t(np.ones((1, 1, 2, 4)), device, True)
    out, idx = F.max_pool2d(x, 2, return_indices=True)
    np.testing.assert_array_equal(_np(idx), [[[[0, 2]]]])
    out.sum().backward()
    np.testing.assert_array_equal(_np(x.grad), [[[[1, 0, 1, 0], [0, 0, 0, 0]]]])
    y = np.array([[[[1.0, np.nan, 5.0, 2.0]]]])
    out, idx = F.max_pool2d(_t(y, device), (1, 2), return_indices=True)
    assert np.isnan(_np(out)[0, 0, 0, 0]) and _np(out)[0, 0, 0, 1] == 5
    np.testing.assert_array_equal(_np(idx), [[[[1, 2]]]])


def test_max_pool1d_and_unbatched_match_reference(device):
    x = RNG.standard_normal((2, 3, 9))
    out, idx = F.max_pool1d(_t(x, device), 3, stride=2, padding=1, ceil_mode=True, return_indices=True)
    expected, expected_idx = ref_max_pool2d(x[:, :, None], (1, 3), (1, 2), (0, 1), ceil_mode=True)
    np.testing.assert_allclose(_np(out), expected[:, :, 0])
    np.testing.assert_array_equal(_np(idx), expected_idx[:, :, 0])
    out = F.max_pool2d(_t(x[0].reshape(3, 3, 3), device), 2, 1)
    np.testing.assert_allclose(_np(out), ref_max_pool2d(x[0].reshape(1, 3, 3, 3), 2, 1)[0][0])


AVG_CASES = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=3, stride=2, padding=1, count_include_pad=False),
    dict(kernel_size=(3, 2), stride=2, padding=(1, 1), ceil_mode=True),
    dict(kernel_size=(3, 2), stride=2, padding=(1, 1), ceil_mode=True, count_include_pad=False),
    dict(kernel_size=3, stride=2, ceil_mode=True),
    dict(kernel_size=2, stride=1, padding=1, divisor_override=3),
]


@pytest.mark.parametrize("kwargs", AVG_CASES)
def test_avg_pool2d_matches_reference(device, kwargs):
    x = RNG.standard_normal((2, 3, 7, 8))
    out = F.avg_pool2d(_t(x, device), **kwargs)
    ref_kwargs = dict(kwargs)
    ref_kwargs["divisor"] = ref_kwargs.pop("divisor_override", None)
    np.testing.assert_allclose(_np(out), ref_avg_pool2d(x, ref_kwargs.pop("kernel_size"), **ref_kwargs), atol=1e-12)


def test_avg_pool1d_matches_reference(device):
    x = RNG.standard_normal((2, 3, 8))
    out = F.avg_pool1d(_t(x, device), 3, 2, 1, ceil_mode=True, count_include_pad=False)
    expected = ref_avg_pool2d(x[:, :, None], (1, 3), (1, 2), (0, 1), True, False)
    np.testing.assert_allclose(_np(out), expected[:, :, 0], atol=1e-12)


@pytest.mark.parametrize("size", [(3, 4), (7, 8), (1, 1), (5, 3), (4, 11)])
def test_adaptive_avg_pool2d_matches_reference(device, size):
    x = RNG.standard_normal((2, 3, 7, 8))
    np.testing.assert_allclose(
        _np(F.adaptive_avg_pool2d(_t(x, device), size)), ref_adaptive_avg_pool2d(x, size), atol=1e-12
    )


def test_adaptive_avg_pool_none_int_and_1d(device):
    x = RNG.standard_normal((3, 7, 8))
    out = F.adaptive_avg_pool2d(_t(x, device), (None, 3))
    np.testing.assert_allclose(_np(out), ref_adaptive_avg_pool2d(x[None], (7, 3))[0], atol=1e-12)
    assert F.adaptive_avg_pool2d(_t(x, device), 2).shape == (3, 2, 2)
    out = F.adaptive_avg_pool1d(_t(x, device), 3)
    np.testing.assert_allclose(_np(out), ref_adaptive_avg_pool2d(x[:, :, None], (1, 3))[:, :, 0], atol=1e-12)


@pytest.mark.parametrize("size", [(5, 9), (14, 16), (7, 8), (3, 3)])
@pytest.mark.parametrize("align_corners", [False, True])
def test_bilinear_matches_reference(device, size, align_corners):
    x = RNG.standard_normal((2, 3, 7, 8))
    out = F.interpolate(_t(x, device), size=size, mode="bilinear", align_corners=align_corners)
    np.testing.assert_allclose(_np(out), ref_bilinear(x, size, align_corners), atol=1e-12)


@pytest.mark.parametrize("size", [(5, 9), (14, 16), (3, 3), (21, 8)])
def test_nearest_matches_reference(device, size):
    x = RNG.standard_normal((2, 3, 7, 8))
    np.testing.assert_allclose(_np(F.interpolate(_t(x, device), size=size)), ref_nearest(x, size))


# ---------------------------------------------------------------------------
# gradients

GRAD_FNS = [
    lambda x: F.max_pool2d(x, 2),
    lambda x: F.max_pool2d(x, 3, 2, 1, ceil_mode=True),
    lambda x: F.max_pool2d(x, (2, 3), 1, (1, 1), dilation=(2, 1)),
    lambda x: F.max_pool2d(x, 2, return_indices=True)[0],
    lambda x: F.max_pool1d(x.flatten(2), 3, 2, 1, ceil_mode=True),
    lambda x: F.avg_pool2d(x, 2),
    lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
    lambda x: F.avg_pool2d(x, (3, 2), (1, 2), (1, 0), divisor_override=4),
    lambda x: F.avg_pool1d(x.flatten(2), 4, 3, 2, ceil_mode=True),
    lambda x: F.adaptive_avg_pool2d(x, (3, 2)),
    lambda x: F.adaptive_avg_pool1d(x.flatten(2), 4),
    lambda x: F.interpolate(x, scale_factor=1.5, mode="bilinear"),
    lambda x: F.interpolate(x, size=(3, 7), mode="bilinear", align_corners=True),
    lambda x: F.interpolate(x, scale_factor=2),
    lambda x: F.interpolate(x, size=(4, 3), mode="nearest-exact"),
    lambda x: F.interpolate(x, size=(2, 3), mode="area"),
    lambda x: F.interpolate(x.flatten(2), scale_factor=0.7, mode="linear"),
    lambda x: F.max_pool2d(x[0], 2, 1),  # unbatched
]


@pytest.mark.parametrize("fn", range(len(GRAD_FNS)))
def test_gradcheck(device, fn):
    # distinct values: max pooling is not differentiable at ties
    x = _t(RNG.permutation(2 * 2 * 5 * 5).reshape(2, 2, 5, 5) / 7.0, device, True)
    assert gradcheck(GRAD_FNS[fn], (x,))


@pytest.mark.parametrize("fn", [1, 2, 6, 9, 11])
def test_gradgradcheck(device, fn):
    x = _t(RNG.permutation(2 * 2 * 5 * 5).reshape(2, 2, 5, 5) / 7.0, device, True)
    assert gradgradcheck(GRAD_FNS[fn], (x,))


def test_max_pool_on_channels_last_conv_output_keeps_the_layout():
    h = F.conv2d(nb.randn(2, 3, 8, 8), nb.randn(4, 3, 3, 3), padding=1)
    out = F.max_pool2d(h.relu(), 2)
    assert out._data.transpose(0, 2, 3, 1).flags.c_contiguous
    np.testing.assert_allclose(_np(out), ref_max_pool2d(_np(h.relu()).astype(np.float64), 2)[0], rtol=1e-6)


# ---------------------------------------------------------------------------
# parity with torch (float64)

PARITY = (
    [
        ("max_pool2d", (2, 3, 7, 6), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, return_indices=True)),
        ("max_pool2d", (2, 3, 7, 6), dict(kernel_size=2, dilation=2, stride=1, return_indices=True)),
        ("max_pool2d", (3, 8, 8), dict(kernel_size=2)),
        ("max_pool1d", (3, 9), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, return_indices=True)),
        ("max_pool1d", (2, 3, 10), dict(kernel_size=2, dilation=3)),
        ("avg_pool2d", (2, 3, 7, 6), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
        ("avg_pool2d", (2, 3, 7, 6), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)),
        ("avg_pool2d", (2, 3, 7, 6), dict(kernel_size=(3, 2), stride=2, padding=1, divisor_override=3)),
        ("avg_pool1d", (2, 3, 8), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)),
        ("adaptive_avg_pool2d", (2, 3, 7, 6), dict(output_size=(3, 4))),
        ("adaptive_avg_pool2d", (3, 7, 6), dict(output_size=(None, 4))),
        ("adaptive_avg_pool1d", (3, 7), dict(output_size=3)),
        ("interpolate", (2, 3, 7), dict(mode="linear", scale_factor=2.3)),
        ("interpolate", (2, 3, 7), dict(mode="linear", size=3, align_corners=True)),
        ("interpolate", (2, 3, 7), dict(mode="nearest", size=11)),
    ]
    + [
        ("interpolate", (2, 3, 7, 6), dict(mode=mode, align_corners=ac, **size))
        for mode, ac in [
            ("nearest", None),
            ("nearest-exact", None),
            ("bilinear", False),
            ("bilinear", True),
            ("area", None),
        ]
        for size in [dict(size=(5, 9)), dict(scale_factor=1.7), dict(scale_factor=(0.6, 2)), dict(size=(14, 12))]
    ]
    + [
        ("interpolate", (1, 2, 5, 5), dict(mode="bilinear", scale_factor=1.7, recompute_scale_factor=True)),
    ]
)


@pytest.mark.parametrize("case", range(len(PARITY)))
def test_torch_parity(device, case):
    torch = pytest.importorskip("torch")
    op, shape, kwargs = PARITY[case]
    x = RNG.permutation(int(np.prod(shape))).reshape(shape) / 5.0
    ours, theirs = _t(x, device, True), torch.tensor(x, requires_grad=True)
    out = getattr(F, op)(ours, **kwargs)
    expected = getattr(torch.nn.functional, op)(theirs, **kwargs)
    if kwargs.get("return_indices"):
        np.testing.assert_array_equal(_np(out[1]), expected[1].numpy())
        out, expected = out[0], expected[0]
    np.testing.assert_allclose(_np(out), expected.detach().numpy(), rtol=1e-12, atol=1e-12)
    g = RNG.standard_normal(tuple(expected.shape))
    out.backward(_t(g, device))
    expected.backward(torch.tensor(g))
    np.testing.assert_allclose(_np(ours.grad), theirs.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_float32_nearest_matches_torch():
    torch = pytest.importorskip("torch")
    x = RNG.standard_normal((1, 2, 13, 17)).astype(np.float32)
    for kwargs in [dict(scale_factor=1.37), dict(size=(29, 5)), dict(scale_factor=0.41)]:
        for mode in ("nearest", "nearest-exact", "bilinear"):
            out = F.interpolate(nb.tensor(x), mode=mode, **kwargs)
            expected = torch.nn.functional.interpolate(torch.tensor(x), mode=mode, **kwargs)
            np.testing.assert_allclose(_np(out), expected.numpy(), rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------------
# layers

LAYERS = [
    ("MaxPool2d", (2,), {}, (2, 3, 8, 8)),
    ("MaxPool2d", (3,), dict(stride=2, padding=1, dilation=1, ceil_mode=True), (2, 3, 8, 7)),
    ("MaxPool2d", ((3, 2),), dict(stride=(2, 1), dilation=(1, 2)), (2, 3, 8, 7)),
    ("MaxPool1d", (3,), dict(stride=2, padding=1), (2, 3, 9)),
    ("AvgPool2d", (3,), dict(stride=2, padding=1, count_include_pad=False), (2, 3, 8, 7)),
    ("AvgPool2d", ((2, 3),), dict(ceil_mode=True, divisor_override=2), (2, 3, 7, 7)),
    ("AvgPool1d", (3,), dict(stride=2), (2, 3, 9)),
    ("AdaptiveAvgPool2d", ((3, None),), {}, (2, 3, 8, 7)),
    ("AdaptiveAvgPool2d", (1,), {}, (2, 3, 8, 7)),
    ("AdaptiveAvgPool1d", (4,), {}, (2, 3, 9)),
]


@pytest.mark.parametrize("case", range(len(LAYERS)))
def test_layer_matches_torch(device, case):
    torch = pytest.importorskip("torch")
    name, args, kwargs, shape = LAYERS[case]
    ours, theirs = getattr(nb.nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == []
    x = RNG.permutation(int(np.prod(shape))).reshape(shape) / 3.0
    np.testing.assert_allclose(_np(ours(_t(x, device))), theirs(torch.tensor(x)).numpy(), rtol=1e-12, atol=1e-12)


def test_max_pool_layer_return_indices(device):
    pool = nb.nn.MaxPool2d(2, return_indices=True)
    out, idx = pool(_t(RNG.standard_normal((1, 2, 4, 4)), device))
    assert out.shape == idx.shape == (1, 2, 2, 2)


# ---------------------------------------------------------------------------
# errors


@pytest.mark.parametrize(
    "call,exc,match",
    [
        (
            lambda: F.max_pool2d(nb.randn(4, 4), 2),
            RuntimeError,
            r"max_pool2d: expected input with 3 \(unbatched\) or 4 \(batched\) dimensions \(N, C, H, W\), "
            r"got shape \(4, 4\)",
        ),
        (
            lambda: F.max_pool1d(nb.randn(1, 2, 4, 4), 2),
            RuntimeError,
            r"max_pool1d: expected input with 2 \(unbatched\) or 3 \(batched\) dimensions \(N, C, L\)",
        ),
        (lambda: F.max_pool2d(nb.randn(1, 1, 4, 4), 0), RuntimeError, r"max_pool2d: kernel_size must be positive"),
        (lambda: F.max_pool2d(nb.randn(1, 1, 4, 4), 2, stride=0), RuntimeError, "max_pool2d: stride must be positive"),
        (
            lambda: F.max_pool2d(nb.randn(1, 1, 4, 4), 2, dilation=0),
            RuntimeError,
            "max_pool2d: dilation must be positive",
        ),
        (
            lambda: F.max_pool2d(nb.randn(1, 1, 4, 4), 3, padding=2),
            RuntimeError,
            r"max_pool2d: pad should be at most half of effective kernel size, but got padding=\(2, 2\), "
            r"kernel_size=\(3, 3\) and dilation=\(1, 1\)",
        ),
        (
            lambda: F.avg_pool2d(nb.randn(1, 1, 4, 4), 2, padding=2),
            RuntimeError,
            r"avg_pool2d: pad should be at most half of kernel size, but got padding=\(2, 2\), kernel_size=\(2, 2\)",
        ),
        (
            lambda: F.max_pool2d(nb.randn(1, 1, 2, 4), 3),
            RuntimeError,
            r"max_pool2d: input of shape \(1, 1, 2, 4\) is too small: the output size would be \(0, 1\)",
        ),
        (
            lambda: F.max_pool2d(nb.randn(1, 1, 4, 4), 2, padding=-1),
            RuntimeError,
            "max_pool2d: padding must be non-negative",
        ),
        (
            lambda: F.max_pool2d(nb.randn(1, 1, 4, 4), (2, 2, 2)),
            ValueError,
            r"max_pool2d: kernel_size must be an int or a tuple of 2 ints, got \(2, 2, 2\)",
        ),
        (
            lambda: F.avg_pool2d(nb.randn(1, 1, 4, 4), 2, divisor_override=0),
            RuntimeError,
            "avg_pool2d: divisor_override must be non-zero",
        ),
        (
            lambda: F.avg_pool2d(nb.ones(1, 1, 4, 4, dtype=nb.int64), 2),
            RuntimeError,
            "avg_pool2d: expected a floating point input, got int64",
        ),
        (
            lambda: F.adaptive_avg_pool2d(nb.randn(1, 1, 4, 4), (0, 2)),
            RuntimeError,
            r"adaptive_avg_pool2d: output_size must be positive, got \(0, 2\)",
        ),
        (
            lambda: F.adaptive_avg_pool2d(nb.randn(4, 4), 2),
            RuntimeError,
            r"adaptive_avg_pool2d: expected input with 3 \(unbatched\) or 4 \(batched\) dimensions",
        ),
        (
            lambda: F.adaptive_avg_pool2d(nb.randn(1, 1, 4, 4), (1, 2, 3)),
            ValueError,
            r"adaptive_avg_pool2d: output_size must be an int or a tuple of 2 ints",
        ),
        (
            lambda: F.interpolate(nb.randn(1, 1, 4, 4), size=2, scale_factor=2),
            ValueError,
            "interpolate: only one of size or scale_factor should be defined",
        ),
        (
            lambda: F.interpolate(nb.randn(1, 1, 4, 4)),
            ValueError,
            "interpolate: either size or scale_factor should be defined",
        ),
        (
            lambda: F.interpolate(nb.randn(1, 1, 4, 4), size=2, align_corners=True),
            ValueError,
            "interpolate: align_corners option can only be set with the interpolating modes",
        ),
        (
            lambda: F.interpolate(nb.randn(1, 1, 4), size=2, mode="bilinear"),
            NotImplementedError,
            r"interpolate: got 3D input of shape \(1, 1, 4\), but bilinear mode needs 4D input",
        ),
        (
            lambda: F.interpolate(nb.randn(1, 1, 4, 4), size=2, mode="linear"),
            NotImplementedError,
            "interpolate: got 4D input of shape .* but linear mode needs 3D input",
        ),
        (
            lambda: F.interpolate(nb.randn(1, 1, 4, 4), size=2, mode="bicubic"),
            NotImplementedError,
            "interpolate: mode 'bicubic' is not supported",
        ),
        (
            lambda: F.interpolate(nb.randn(1, 4, 4), size=(2, 2)),
            ValueError,
            r"interpolate: input of shape \(1, 4, 4\) has 1 spatial dimensions \(4,\), but size \(2, 2\) has 2",
        ),
        (
            lambda: F.interpolate(nb.randn(4, 4), size=2),
            NotImplementedError,
            r"interpolate: expected a 3-d \(N, C, L\) or 4-d \(N, C, H, W\) input, got shape \(4, 4\)",
        ),
        (
            lambda: F.interpolate(nb.randn(1, 1, 4, 4), scale_factor=0.1),
            ValueError,
            r"interpolate: the output size \(0, 0\) for input of shape \(1, 1, 4, 4\) must be positive",
        ),
        (
            lambda: F.interpolate(nb.randn(1, 1, 4, 4), size=3, recompute_scale_factor=True),
            ValueError,
            "interpolate: recompute_scale_factor is not meaningful with an explicit size",
        ),
        (
            lambda: F.interpolate(nb.randn(1, 1, 4, 4), size=3, mode="bilinear", antialias=True),
            NotImplementedError,
            "interpolate: antialias=True is not supported",
        ),
    ],
)
def test_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
