// Downsampling and smoothing of long series for drawing: min/max per pixel column keeps every spike.

/** Index of the first element of sorted `xs` that is >= x (xs.length when none). */
export function bisect(xs, x) {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (xs[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * At most 2 points per bin of x over [x0, x1]: each bin's minimum and maximum, in x order, plus the first and
 * last points. NaN/Inf values are skipped. Returns {x, y} (plain arrays). Series at or under 2*bins pass as-is.
 */
export function minMaxDecimate(xs, ys, bins, x0 = xs[0], x1 = xs[xs.length - 1]) {
  const n = xs.length;
  const keep = [];
  for (let i = 0; i < n; i++) if (Number.isFinite(ys[i])) keep.push(i);
  if (keep.length <= 2 * bins || !(x1 > x0)) return { x: keep.map((i) => xs[i]), y: keep.map((i) => ys[i]) };
  const lo = new Array(bins).fill(-1);
  const hi = new Array(bins).fill(-1);
  const width = (x1 - x0) / bins;
  for (const i of keep) {
    const b = Math.min(bins - 1, Math.max(0, Math.floor((xs[i] - x0) / width)));
    if (lo[b] < 0 || ys[i] < ys[lo[b]]) lo[b] = i;
    if (hi[b] < 0 || ys[i] > ys[hi[b]]) hi[b] = i;
  }
  const picked = new Set([keep[0], keep[keep.length - 1]]);
  for (let b = 0; b < bins; b++) {
    if (lo[b] >= 0) picked.add(lo[b]);
    if (hi[b] >= 0) picked.add(hi[b]);
  }
  const order = [...picked].sort((a, b) => a - b);
  return { x: order.map((i) => xs[i]), y: order.map((i) => ys[i]) };
}

/**
 * Debiased exponential moving average (TensorBoard's smoothing) of values that stand for `weights` raw points
 * each (a bucket mean stands for its count): each item decays the state by smoothing**weight. smoothing 0 returns
 * the values; NaN/Inf and zero-weight items are skipped (NaN out).
 */
export function ema(values, weights, smoothing) {
  const out = new Float64Array(values.length);
  if (!(smoothing > 0)) {
    for (let i = 0; i < values.length; i++) out[i] = Number.isFinite(values[i]) ? values[i] : NaN;
    return out;
  }
  let state = 0;
  let norm = 0;
  for (let i = 0; i < values.length; i++) {
    const w = weights ? weights[i] : 1;
    if (!Number.isFinite(values[i]) || !(w > 0)) {
      out[i] = NaN;
      continue;
    }
    const decay = smoothing ** w;
    state = state * decay + (1 - decay) * values[i];
    norm = norm * decay + (1 - decay);
    out[i] = state / norm;
  }
  return out;
}

/** Linear interpolation of sorted (xs, ys) at x, clamped to the ends (NaN when xs is empty). */
export function interp(x, xs, ys) {
  const n = xs.length;
  if (n === 0) return NaN;
  if (x <= xs[0]) return ys[0];
  if (x >= xs[n - 1]) return ys[n - 1];
  const i = bisect(xs, x);
  if (xs[i] === x) return ys[i];
  const t = (x - xs[i - 1]) / (xs[i] - xs[i - 1]);
  return ys[i - 1] + t * (ys[i] - ys[i - 1]);
}

/** Index of the point of sorted `xs` nearest to x (-1 when empty). */
export function nearest(xs, x) {
  if (xs.length === 0) return -1;
  const i = bisect(xs, x);
  if (i === 0) return 0;
  if (i === xs.length) return xs.length - 1;
  return x - xs[i - 1] <= xs[i] - x ? i - 1 : i;
}
