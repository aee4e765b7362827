import { test } from "node:test";
import assert from "node:assert/strict";
import { decode, bestOf, REDRAW_MS } from "../loss_plot.js";

const buf = (rows) => new DataView(new Float64Array(rows.flat()).buffer);

test("snapshot buckets and tail points decode per series, extremes in x order", () => {
  // series 0: a bucket of 4 points (max at x=1, min at x=3), series 1: one point; tail: two more for series 0.
  const snapshot = buf([[0, 4, 3, -1, 1, 5, 6, 8], [1, 1, 0, 2, 0, 2, 0, 2]]);
  const tail = buf([[0, 4, 0.5], [0, 5, NaN], [1, 5, 1.5]]);
  const [a, b] = decode(snapshot, tail, 2);
  assert.deepEqual(a.x, [1, 3, 4]);
  assert.deepEqual(a.y, [5, -1, 0.5]);
  assert.deepEqual([a.mx, a.my, a.mw], [[1.5, 4], [2, 0.5], [4, 1]]);
  assert.deepEqual([a.nonfinite, a.firstNonfinite, a.last[0]], [1, 5, 5]);
  assert.deepEqual(b.y, [2, 1.5]);
  assert.deepEqual(bestOf(a, "min"), [3, -1]);
  assert.deepEqual(bestOf(a, "max"), [1, 5]);
  assert.equal(bestOf({ x: [], y: [] }, "min"), null);
  assert.ok(REDRAW_MS >= 100);
});
