"""MinMaxHistory: bounded memory whatever the length, every extreme kept, sums exact."""

import numpy as np
import pytest

from nbgrad.widgets.downsample import COUNT, SUM_Y, MinMaxHistory


def _fill(h: MinMaxHistory, x, y, rng=None, chunk=None):
    i = 0
    while i < len(x):
        k = chunk or int(rng.integers(1, 400))
        h.extend(x[i : i + k], y[i : i + k])
        i += k


def test_million_points_bounded_and_extremes_kept():
    rng = np.random.default_rng(0)
    n = 1_000_000
    x = np.arange(n, dtype=np.float64)
    y = np.cumsum(rng.standard_normal(n))
    h = MinMaxHistory(buckets=1024)
    nbytes = h.nbytes
    _fill(h, x, y, chunk=4096)
    assert h.count == n
    assert len(h) <= 1025 and h.rows().shape == (len(h), 7)
    assert h.nbytes <= nbytes + 7 * 8  # the store never grows (the partial bucket is one row)
    assert h.min() == (float(np.argmin(y)), float(y.min()))
    assert h.max() == (float(np.argmax(y)), float(y.max()))
    assert h.rows()[:, COUNT].sum() == n
    assert np.isclose(h.rows()[:, SUM_Y].sum(), y.sum())
    px, py = h.points()
    assert px.size <= 2 * 1025 and np.all(np.diff(px) > 0)
    assert py.min() == y.min() and py.max() == y.max()
    # The local extremes of every bucket survive too: each width-aligned block's max is among the points.
    w = h.width
    blocks = y[: (n // w) * w].reshape(-1, w)
    assert set(blocks.max(axis=1).tolist()) <= set(py.tolist())


@pytest.mark.parametrize("seed", range(20))
def test_any_batching_gives_the_same_buckets(seed):
    rng = np.random.default_rng(seed)
    buckets = int(rng.integers(1, 6)) * 2
    n = int(rng.integers(1, 3000))
    x = np.arange(n, dtype=np.float64)
    y = rng.standard_normal(n)
    if seed % 3 == 0:
        y[rng.integers(0, n, 5)] = np.nan
    one, many = MinMaxHistory(buckets), MinMaxHistory(buckets)
    one.extend(x, y)
    _fill(many, x, y, rng)
    assert one.width == many.width and len(one) == len(many) <= buckets + 1
    np.testing.assert_allclose(one.rows(), many.rows(), equal_nan=True)
    finite = np.isfinite(y)
    if finite.any():
        assert many.min() == (float(x[np.nanargmin(y)]), float(np.nanmin(y)))
        assert many.max() == (float(x[np.nanargmax(y)]), float(np.nanmax(y)))
    # Complete buckets cover exactly `width` consecutive raw points each.
    full = many.rows()[: len(many) - (n % many.width != 0)]
    expect = np.where(finite, y, 0)[: len(full) * many.width].reshape(len(full), many.width).sum(axis=1)
    np.testing.assert_allclose(full[:, SUM_Y], expect)


def test_small_series_is_kept_exactly():
    h = MinMaxHistory(buckets=64)
    x, y = np.arange(50.0), np.sin(np.arange(50.0))
    h.extend(x, y)
    px, py = h.points()
    np.testing.assert_array_equal(px, x)
    np.testing.assert_array_equal(py, y)
    mx, my, mw = h.means()
    np.testing.assert_array_equal(my, y)
    assert mw.tolist() == [1.0] * 50


def test_nonfinite_values_are_counted_not_drawn():
    h = MinMaxHistory(buckets=4)
    h.extend([0, 1, 2, 3, 4], [1.0, np.nan, np.inf, 0.5, -np.inf])
    assert (h.nonfinite, h.first_nonfinite_x) == (3, 1.0)
    assert h.min() == (3.0, 0.5) and h.max() == (0.0, 1.0)
    assert h.last[0] == 4.0 and np.isneginf(h.last[1])
    assert np.isfinite(h.points()[1]).all()


def test_bad_arguments():
    with pytest.raises(ValueError, match="even"):
        MinMaxHistory(buckets=3)
    with pytest.raises(ValueError, match="differ"):
        MinMaxHistory().extend([1.0, 2.0], [1.0])
