"""nbgrad.display.stats against NumPy: statistics, NaN/Inf/zero counts, sampling, histograms, block reductions."""

from __future__ import annotations

import math

import numpy as np
import pytest

import nbgrad as nb
from nbgrad import backend
from nbgrad.display.stats import block_reduce, histogram, sample, tensor_stats


def reference(a: np.ndarray) -> dict:
    """The statistics tensor_stats promises, computed plainly with NumPy in float64."""
    a = np.asarray(a)
    finite = a[np.isfinite(a)] if a.dtype.kind == "f" else a.reshape(-1)
    f64 = finite.astype(np.float64)
    return {
        "numel": a.size,
        "min": finite.min() if finite.size else None,
        "max": finite.max() if finite.size else None,
        "mean": f64.mean() if finite.size else None,
        "std": f64.std(ddof=1) if finite.size > 1 else None,
        "norm": math.sqrt((f64 * f64).sum()) if finite.size else None,
        "zeros": int((a == 0).sum()),
        "nan": int(np.isnan(a).sum()) if a.dtype.kind == "f" else 0,
        "posinf": int((a == np.inf).sum()) if a.dtype.kind == "f" else 0,
        "neginf": int((a == -np.inf).sum()) if a.dtype.kind == "f" else 0,
    }


def assert_matches(stats, a: np.ndarray, rtol: float = 1e-6):
    ref = reference(a)
    assert stats.shape == a.shape and stats.dtype == a.dtype and stats.numel == ref["numel"]
    for key in ("zeros", "nan", "posinf", "neginf"):
        assert getattr(stats, key) == ref[key], key
    for key in ("min", "max", "mean", "std", "norm"):
        got, want = getattr(stats, key), ref[key]
        if want is None:
            assert got is None, key
        else:
            assert got == pytest.approx(float(want), rel=rtol, abs=1e-9), key
    assert stats.finite == ref["numel"] - ref["nan"] - ref["posinf"] - ref["neginf"]


def test_float32_random():
    a = np.random.default_rng(0).standard_normal((300, 500)).astype(np.float32)
    assert_matches(tensor_stats(nb.from_numpy(a)), a)


def test_nan_inf_and_zero_counts():
    a = np.random.default_rng(1).standard_normal(10_000).astype(np.float32)
    a[[3, 50, 700]] = np.nan
    a[[4, 5]] = np.inf
    a[9] = -np.inf
    a[[10, 11, 12, 13]] = 0.0
    a[14] = -0.0
    s = tensor_stats(nb.from_numpy(a))
    assert (s.nan, s.posinf, s.neginf, s.zeros) == (3, 2, 1, 5)
    assert_matches(s, a)
    assert math.isfinite(s.min) and math.isfinite(s.max), "min/max are over finite values"


def test_only_non_finite():
    a = np.array([np.nan, np.inf, -np.inf, -np.inf], dtype=np.float32)
    s = tensor_stats(a)
    assert (s.nan, s.posinf, s.neginf, s.finite) == (1, 1, 2, 0)
    assert s.min is s.max is s.mean is s.std is s.norm is None


def test_zero_dim_and_single_value():
    s = tensor_stats(nb.tensor(2.5))
    assert (s.shape, s.numel, s.min, s.max, s.mean, s.std) == ((), 1, 2.5, 2.5, 2.5, None)
    s = tensor_stats(nb.tensor(float("nan")))
    assert (s.nan, s.min) == (1, None)


@pytest.mark.parametrize("shape", [(0,), (0, 3), (2, 0, 4)])
def test_empty(shape):
    s = tensor_stats(nb.zeros(*shape))
    assert s.numel == 0 and s.shape == shape
    assert s.min is s.max is s.mean is s.std is s.norm is None
    assert (s.zeros, s.nan, s.posinf, s.neginf) == (0, 0, 0, 0)


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.int8, np.uint8])
def test_integers(dtype):
    a = np.random.default_rng(2).integers(0, 100, size=(40, 30)).astype(dtype)
    a[0, :5] = 0
    s = tensor_stats(a)
    assert_matches(s, a)
    assert type(s.min) is int and type(s.max) is int


def test_int64_extremes_are_exact():
    a = np.array([2**62 + 1, -(2**62) - 3], dtype=np.int64)
    s = tensor_stats(a)
    assert (s.min, s.max) == (-(2**62) - 3, 2**62 + 1)


def test_bool():
    a = np.random.default_rng(3).random((7, 9)) > 0.3
    s = tensor_stats(nb.from_numpy(a))
    assert (s.min, s.max) == (False, True)
    assert s.zeros == int((~a).sum())
    assert s.mean == pytest.approx(a.mean()) and s.std == pytest.approx(a.astype(float).std(ddof=1))
    assert s.norm == pytest.approx(math.sqrt(a.sum()))
    assert (tensor_stats(np.ones(3, bool)).min, tensor_stats(np.zeros(3, bool)).max) == (True, False)


def test_float16_accumulates_wider():
    a = (np.random.default_rng(4).standard_normal(50_000) * 100 + 1000).astype(np.float16)
    a[7] = np.nan
    s = tensor_stats(a)
    assert_matches(s, a, rtol=1e-5)  # a float16 sum would be off by far more


def test_large_mean_keeps_variance_accurate():
    # x = 1e8 + noise: the naive E[x^2] - E[x]^2 loses every digit of the variance.
    a = 1e8 + np.random.default_rng(5).standard_normal(100_000)
    assert_matches(tensor_stats(a), a, rtol=1e-9)


def test_float32_offset_data():
    a = (1e4 + np.random.default_rng(6).standard_normal(1_000_000)).astype(np.float32)
    assert_matches(tensor_stats(a), a, rtol=1e-6)


def test_non_contiguous():
    base = np.random.default_rng(7).standard_normal((200, 300)).astype(np.float32)
    assert_matches(tensor_stats(base.T), base.T)
    assert_matches(tensor_stats(base[::3, 1::2]), base[::3, 1::2])


def test_several_chunks():
    # More elements than one chunk of the float64 pass, with a tail.
    a = np.random.default_rng(8).uniform(-3, 5, size=(1 << 18) * 3 + 17).astype(np.float32)
    assert_matches(tensor_stats(a), a)


def test_stats_on_device(device):
    a = np.random.default_rng(9).standard_normal((64, 128)).astype(np.float32)
    a[0, 0], a[1, 1], a[2, 2] = np.nan, np.inf, 0.0
    t = nb.tensor(a, device=device)
    s = tensor_stats(t)
    assert s.device == t.device
    assert_matches(s, a)
    assert all(type(v) in (int, float) for v in (s.min, s.max, s.mean, s.std, s.zeros, s.nan)), "Python scalars"


# ----------------------------------------------------------------------------- sample


def test_sample_is_bounded_strided_and_deterministic():
    a = np.arange(1_000_003, dtype=np.float32)
    s = sample(a, 1000)
    assert s.size <= 1000 and s.size > 900
    np.testing.assert_array_equal(s, a[:: math.ceil(a.size / 1000)])
    np.testing.assert_array_equal(sample(a, 1000), s)


def test_sample_small_and_non_contiguous():
    a = np.arange(12.0).reshape(3, 4)
    np.testing.assert_array_equal(sample(a, 100), a.reshape(-1))
    big = np.random.default_rng(0).standard_normal((2000, 1500)).T  # not contiguous
    s = sample(big, 10_000)
    assert 0 < s.size <= 10_000 and np.isin(s, big).all()


def test_sample_moves_only_the_sample(monkeypatch):
    sizes = []
    real = backend.to_numpy
    monkeypatch.setattr(backend, "to_numpy", lambda x: sizes.append(x.size) or real(x))
    sample(np.zeros((3000, 3000)).T, 5000)
    sample(np.zeros(9_000_000), 5000)
    assert max(sizes) <= 5000


# ----------------------------------------------------------------------------- histogram


def test_histogram_counts_finite_values():
    v = np.array([0.0, 0.1, 0.9, 1.0, np.nan, np.inf])
    counts, edges = histogram(v, bins=2)
    assert counts.tolist() == [2, 2] and edges.tolist() == [0.0, 0.5, 1.0]


def test_histogram_integer_bins_sit_on_values():
    counts, edges = histogram(np.array([1, 1, 2, 5], dtype=np.int64), bins=40)
    assert edges[0] == 0.5 and edges[-1] == 5.5 and counts.tolist() == [2, 1, 0, 0, 1]
    counts, _ = histogram(np.array([True, False, True]), bins=40)
    assert counts.tolist() == [1, 2]


def test_histogram_degenerate_range():
    counts, edges = histogram(np.full(5, 3.0), bins=4)
    assert counts.sum() == 5 and edges[0] == 2.5 and edges[-1] == 3.5
    counts, _ = histogram(np.array([], dtype=np.float32), bins=4)
    assert counts.sum() == 0


def test_histogram_range_from_stats():
    counts, edges = histogram(np.array([0.5]), bins=4, range=(0.0, 4.0))
    assert edges.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0] and counts.tolist() == [1, 0, 0, 0]


# ----------------------------------------------------------------------------- block_reduce


@pytest.mark.parametrize("n", [12, 13, 17, 5])
def test_block_mean_keeps_every_entry(n):
    a = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
    out = block_reduce(a, 0, 4, "mean")
    factor = math.ceil(n / 4)
    want = np.stack([a[i : i + factor].mean(axis=0) for i in range(0, n, factor)]) if factor > 1 else a
    np.testing.assert_allclose(out, want)
    assert out.shape[0] <= 4


def test_block_min_max_nearest_and_axis():
    a = np.array([[3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0]])
    assert block_reduce(a, 1, 3, "min").tolist() == [[1.0, 1.0, 2.0]]
    assert block_reduce(a, 1, 3, "max").tolist() == [[4.0, 9.0, 2.0]]
    assert block_reduce(a, 1, 3, "nearest").tolist() == [[3.0, 1.0, 2.0]]
    assert block_reduce(a, 0, 3, "mean") is a  # already small enough


def test_block_reduce_propagates_nan_and_rejects_unknown():
    a = np.array([1.0, np.nan, 3.0, 4.0])
    out = block_reduce(a, 0, 2, "mean")
    assert np.isnan(out[0]) and out[1] == 3.5
    with pytest.raises(ValueError, match="unknown reduction"):
        block_reduce(a, 0, 2, "median")
