import { test } from "node:test";
import assert from "node:assert/strict";
import { bisect, minMaxDecimate, ema, interp, nearest } from "../lib/downsample.js";

test("min/max decimation keeps every extreme and bounds the points", () => {
  const n = 100000;
  const xs = Array.from({ length: n }, (_, i) => i);
  const ys = xs.map((i) => Math.sin(i / 100) + (i === 54321 ? 50 : 0) - (i === 777 ? 50 : 0));
  const { x, y } = minMaxDecimate(xs, ys, 300);
  assert.ok(x.length <= 602);
  assert.equal(Math.max(...y), Math.max(...ys));
  assert.equal(Math.min(...y), Math.min(...ys));
  assert.ok(x.includes(54321) && x.includes(777) && x[0] === 0 && x[x.length - 1] === n - 1);
  for (let i = 1; i < x.length; i++) assert.ok(x[i] > x[i - 1]);
});

test("decimation passes short series through and drops NaN", () => {
  const { x, y } = minMaxDecimate([0, 1, 2, 3], [1, NaN, 3, Infinity], 10);
  assert.deepEqual(x, [0, 2]);
  assert.deepEqual(y, [1, 3]);
});

test("EMA: debiased, weights stand for bucket sizes", () => {
  assert.deepEqual(Array.from(ema([1, 2, 3], null, 0)), [1, 2, 3]);
  const s = ema([1, 1, 1], null, 0.9);
  for (const v of s) assert.ok(Math.abs(v - 1) < 1e-12); // debiasing: a constant stays constant
  // One bucket of weight 2 equals two raw points of the bucket's mean.
  const a = ema([0, 4, 4], [1, 1, 1], 0.5);
  const b = ema([0, 4], [1, 2], 0.5);
  assert.ok(Math.abs(a[2] - b[1]) < 1e-12);
  const raw = ema([1, NaN, 3], null, 0.5);
  assert.ok(Number.isNaN(raw[1]) && Math.abs(raw[2] - (0.5 * 0.5 * 1 + 0.5 * 3) / 0.75) < 1e-12);
});

test("interp, bisect, nearest", () => {
  assert.equal(interp(5, [0, 10], [0, 1]), 0.5);
  assert.equal(interp(-1, [0, 10], [2, 3]), 2);
  assert.equal(interp(11, [0, 10], [2, 3]), 3);
  assert.ok(Number.isNaN(interp(1, [], [])));
  assert.equal(bisect([1, 2, 2, 3], 2), 1);
  assert.equal(nearest([0, 10, 20], 14), 1);
  assert.equal(nearest([0, 10, 20], 16), 2);
  assert.equal(nearest([], 1), -1);
});
