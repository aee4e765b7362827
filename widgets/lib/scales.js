// Scales and axis ticks: pure functions of numbers (no DOM), shared by every nbgrad widget.

/** A linear map from [d0, d1] to [r0, r1]; `.invert` maps back. A zero-width domain maps to the middle. */
export function linearScale([d0, d1], [r0, r1]) {
  const span = d1 - d0;
  const f = span === 0 ? () => (r0 + r1) / 2 : (v) => r0 + ((v - d0) / span) * (r1 - r0);
  f.invert = (p) => (r1 === r0 ? d0 : d0 + ((p - r0) / (r1 - r0)) * span);
  f.domain = [d0, d1];
  f.log = false;
  return f;
}

/** A log10 map from [d0, d1] (both > 0) to [r0, r1]; non-positive values map to NaN (not drawn). */
export function logScale([d0, d1], [r0, r1]) {
  const l0 = Math.log10(d0);
  const l1 = Math.log10(d1);
  const inner = linearScale([l0, l1], [r0, r1]);
  const f = (v) => (v > 0 ? inner(Math.log10(v)) : NaN);
  f.invert = (p) => 10 ** inner.invert(p);
  f.domain = [d0, d1];
  f.log = true;
  return f;
}

/** The step of about `count` ticks over [lo, hi]: 1, 2 or 5 times a power of ten. */
export function tickStep(lo, hi, count = 5) {
  const raw = Math.abs(hi - lo) / Math.max(1, count);
  if (!(raw > 0) || !Number.isFinite(raw)) return 0;
  const power = 10 ** Math.floor(Math.log10(raw));
  const error = raw / power;
  const factor = error >= 7.5 ? 10 : error >= 3.5 ? 5 : error >= 1.5 ? 2 : 1;
  return factor * power;
}

/** "Nice" tick values inside [lo, hi] (multiples of tickStep), rounded so that 0.1 + 0.2 prints as 0.3. */
export function niceTicks(lo, hi, count = 5) {
  if (lo > hi) [lo, hi] = [hi, lo];
  const step = tickStep(lo, hi, count);
  if (step === 0) return Number.isFinite(lo) ? [lo] : [];
  const digits = Math.max(0, -Math.floor(Math.log10(step)) + 1);
  const ticks = [];
  for (let k = Math.ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k++) {
    ticks.push(Number((k * step).toFixed(Math.min(20, digits))));
  }
  return ticks;
}

/** [lo, hi] widened to whole tick steps (so the curve never touches the frame). */
export function niceDomain(lo, hi, count = 5) {
  if (!(hi > lo)) {
    const pad = lo === 0 || !Number.isFinite(lo) ? 1 : Math.abs(lo) * 0.1;
    return [lo - pad, hi + pad];
  }
  const step = tickStep(lo, hi, count);
  return [Math.floor(lo / step) * step, Math.ceil(hi / step) * step];
}

/** Ticks of a log axis over [lo, hi] (> 0): powers of ten, with 2 and 5 in between when few decades show. */
export function logTicks(lo, hi) {
  if (!(lo > 0 && hi >= lo)) return [];
  const e0 = Math.floor(Math.log10(lo));
  const e1 = Math.ceil(Math.log10(hi));
  const mantissas = e1 - e0 <= 2 ? [1, 2, 5] : [1];
  const stride = Math.max(1, Math.ceil((e1 - e0) / 8));
  const ticks = [];
  for (let e = e0; e <= e1; e += stride) {
    for (const m of mantissas) {
      const v = Number((m * 10 ** e).toPrecision(12));
      if (v >= lo * (1 - 1e-12) && v <= hi * (1 + 1e-12)) ticks.push(v);
    }
  }
  return ticks;
}

/** A log domain: from the decade below the smallest positive value to the decade above the largest. */
export function logDomain(lo, hi) {
  if (!(hi > 0)) return [0.1, 1];
  const low = lo > 0 ? lo : hi / 10;
  return [10 ** Math.floor(Math.log10(low)), 10 ** Math.ceil(Math.log10(hi) + 1e-12)];
}
