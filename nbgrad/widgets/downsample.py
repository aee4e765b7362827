"""Bounded histories of long series that keep every extreme: min/max buckets that merge as they fill.

A :class:`MinMaxHistory` holds at most ``buckets`` complete buckets plus one
partial bucket, whatever the number of points appended. Bucket ``i`` covers the
raw points ``[i * width, (i + 1) * width)``; when the buckets are full, pairs
merge and ``width`` doubles (amortised O(1) per point, vectorised per batch).
Each bucket keeps the points of its smallest and largest finite value and the
sums behind its mean, so the global minimum and maximum survive every merge
exactly and a smoothed curve can still be drawn through the means.
"""

from __future__ import annotations

import numpy as np

# Columns of a bucket row: finite points, the (x, y) of the minimum, of the maximum, and sums of x and y.
COUNT, X_MIN, Y_MIN, X_MAX, Y_MAX, SUM_X, SUM_Y = range(7)
FIELDS = 7


def _reduce_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Bucket rows of the rows of ``x``/``y`` (shape ``(q, w)``); NaN and ±Inf take no part."""
    finite = np.isfinite(y)
    rows = np.empty((x.shape[0], FIELDS))
    rows[:, COUNT] = finite.sum(axis=1)
    r = np.arange(x.shape[0])
    lo = np.argmin(np.where(finite, y, np.inf), axis=1)
    hi = np.argmax(np.where(finite, y, -np.inf), axis=1)
    rows[:, X_MIN], rows[:, Y_MIN] = x[r, lo], y[r, lo]
    rows[:, X_MAX], rows[:, Y_MAX] = x[r, hi], y[r, hi]
    rows[:, SUM_X] = np.where(finite, x, 0.0).sum(axis=1)
    rows[:, SUM_Y] = np.where(finite, y, 0.0).sum(axis=1)
    empty = rows[:, COUNT] == 0
    rows[empty, X_MIN : Y_MAX + 1] = np.nan
    return rows


def _combine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise union of bucket rows ``a`` and ``b`` (``a`` first); an empty bucket never wins an extreme."""
    out = a.copy()
    out[:, COUNT] += b[:, COUNT]
    out[:, SUM_X] += b[:, SUM_X]
    out[:, SUM_Y] += b[:, SUM_Y]
    # Ties keep the earlier point: ``<``/``>`` on the later bucket.
    take_lo = np.nan_to_num(b[:, Y_MIN], nan=np.inf) < np.nan_to_num(a[:, Y_MIN], nan=np.inf)
    take_hi = np.nan_to_num(b[:, Y_MAX], nan=-np.inf) > np.nan_to_num(a[:, Y_MAX], nan=-np.inf)
    out[take_lo, X_MIN], out[take_lo, Y_MIN] = b[take_lo, X_MIN], b[take_lo, Y_MIN]
    out[take_hi, X_MAX], out[take_hi, Y_MAX] = b[take_hi, X_MAX], b[take_hi, Y_MAX]
    return out


class MinMaxHistory:
    r"""A series of ``(x, y)`` points held in bounded memory, keeping each bucket's extremes.

    Args:
        buckets (int): the most complete buckets kept (even, at least 2); memory is
            ``O(buckets)`` for any number of points.

    Non-finite values (NaN, ±Inf) count towards the bucket widths but not towards
    minima, maxima or means; :attr:`nonfinite` and :attr:`first_nonfinite_x` record them.

    Example::

        >>> h = MinMaxHistory(buckets=4)
        >>> h.extend(np.arange(100.0), np.sin(np.arange(100.0)))
        >>> h.width, h.count, h.rows().shape[0] <= 5
        (32, 100, True)
        >>> round(h.min()[1], 4), round(h.max()[1], 4)
        (-1.0, 0.9999)
    """

    def __init__(self, buckets: int = 1024):
        if buckets < 2 or buckets % 2:
            raise ValueError(f"buckets must be an even number >= 2, got {buckets}")
        self.buckets = buckets
        self.width = 1
        self.count = 0
        self.nonfinite = 0
        self.first_nonfinite_x: float | None = None
        self.last: tuple[float, float] | None = None
        self._rows = np.empty((buckets, FIELDS))
        self._n = 0  # complete buckets in _rows
        self._partial: np.ndarray | None = None  # one row, or None
        self._partial_points = 0  # raw points in the partial bucket

    def __len__(self) -> int:
        return self._n + (self._partial is not None)

    def extend(self, x, y) -> None:
        """Append points (1-D arrays of equal length, x ascending as logged)."""
        x = np.asarray(x, dtype=np.float64).ravel()
        y = np.asarray(y, dtype=np.float64).ravel()
        if x.shape != y.shape:
            raise ValueError(f"x and y differ in length: {x.size} != {y.size}")
        if not x.size:
            return
        bad = ~np.isfinite(y)
        if bad.any():
            if self.first_nonfinite_x is None:
                self.first_nonfinite_x = float(x[bad.argmax()])
            self.nonfinite += int(bad.sum())
        self.count += x.size
        self.last = (float(x[-1]), float(y[-1]))
        i = 0
        if self._partial_points:  # top up the open bucket first
            k = min(x.size, self.width - self._partial_points)
            self._add_partial(_reduce_rows(x[None, :k], y[None, :k]), k)
            i = k
        q = (x.size - i) // self.width
        if q:
            end = i + q * self.width
            self._push(_reduce_rows(x[i:end].reshape(q, self.width), y[i:end].reshape(q, self.width)))
            i = end
        if i < x.size:
            self._add_partial(_reduce_rows(x[None, i:], y[None, i:]), x.size - i)

    def _add_partial(self, row: np.ndarray, points: int) -> None:
        self._partial = row if self._partial is None else _combine(self._partial, row)
        self._partial_points += points
        if self._partial_points == self.width:
            row, self._partial, self._partial_points = self._partial, None, 0
            self._push(row)

    def _push(self, rows: np.ndarray) -> None:
        """Append complete buckets of the current width, merging pairs whenever the store fills."""
        while len(rows):
            take = min(len(rows), self.buckets - self._n)
            self._rows[self._n : self._n + take] = rows[:take]
            self._n += take
            rows = rows[take:]
            if self._n < self.buckets:
                continue
            self._rows[: self.buckets // 2] = _combine(self._rows[0::2], self._rows[1::2])
            self._n = self.buckets // 2
            old_width, self.width = self.width, 2 * self.width
            # Buckets still to come have the old width: pair them up; an odd last one opens the partial bucket.
            odd = rows[-1:] if len(rows) % 2 else None
            if odd is not None:
                rows = rows[:-1]
            rows = _combine(rows[0::2], rows[1::2])
            if odd is not None:
                self._push(rows)
                self._add_partial(odd, old_width)
                return

    def rows(self) -> np.ndarray:
        """A copy of the bucket rows, oldest first (the partial bucket last), shape ``(len(self), 7)``."""
        parts = [self._rows[: self._n]]
        if self._partial is not None:
            parts.append(self._partial)
        return np.concatenate(parts) if len(parts) > 1 else parts[0].copy()

    def min(self) -> tuple[float, float] | None:
        """``(x, y)`` of the smallest finite value (the first one on ties), or None."""
        return self._extreme(Y_MIN, X_MIN, np.nanargmin)

    def max(self) -> tuple[float, float] | None:
        """``(x, y)`` of the largest finite value (the first one on ties), or None."""
        return self._extreme(Y_MAX, X_MAX, np.nanargmax)

    def _extreme(self, ycol: int, xcol: int, arg) -> tuple[float, float] | None:
        rows = self.rows()
        if not len(rows) or not np.isfinite(rows[:, ycol]).any():
            return None
        i = int(arg(rows[:, ycol]))
        return float(rows[i, xcol]), float(rows[i, ycol])

    def points(self) -> tuple[np.ndarray, np.ndarray]:
        """The points to draw: each bucket's minimum and maximum in x order (one point where they coincide)."""
        rows = self.rows()
        rows = rows[rows[:, COUNT] > 0]
        first_is_min = rows[:, X_MIN] <= rows[:, X_MAX]
        xa = np.where(first_is_min, rows[:, X_MIN], rows[:, X_MAX])
        ya = np.where(first_is_min, rows[:, Y_MIN], rows[:, Y_MAX])
        xb = np.where(first_is_min, rows[:, X_MAX], rows[:, X_MIN])
        yb = np.where(first_is_min, rows[:, Y_MAX], rows[:, Y_MIN])
        x = np.stack([xa, xb], axis=1).ravel()
        y = np.stack([ya, yb], axis=1).ravel()
        keep = np.ones(x.size, dtype=bool)
        keep[1::2] = (xb != xa) | (yb != ya)
        return x[keep], y[keep]

    def means(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per-bucket mean x, mean y and finite count (for smoothing), empty buckets left out."""
        rows = self.rows()
        rows = rows[rows[:, COUNT] > 0]
        return rows[:, SUM_X] / rows[:, COUNT], rows[:, SUM_Y] / rows[:, COUNT], rows[:, COUNT].copy()

    @property
    def nbytes(self) -> int:
        """Bytes held by the store (fixed by ``buckets``)."""
        return self._rows.nbytes + (0 if self._partial is None else self._partial.nbytes)
