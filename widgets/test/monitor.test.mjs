// Pure helpers of widgets/monitor.js: run with `node --test widgets/test/`.
import assert from "node:assert/strict";
import { test } from "node:test";

import { formatValue, sparkPath, unpackSeries } from "../monitor.js";

test("unpackSeries reads x then y of each series from one float64 buffer", () => {
  // Two series: [1, 2] -> [10, 20] and [5] -> [0.5], as TrainingMonitor._push packs them.
  const flat = new Float64Array([1, 2, 10, 20, 5, 0.5]);
  const view = new DataView(flat.buffer); // ipywidgets hands buffers over as DataViews
  const index = [["param", 0, "grad_norm", 0, 2], ["layer", 1, "mean", 4, 1]];
  const s = unpackSeries(view, index);
  assert.deepEqual([...s.get("param/0/grad_norm").x], [1, 2]);
  assert.deepEqual([...s.get("param/0/grad_norm").y], [10, 20]);
  assert.deepEqual([...s.get("layer/1/mean").y], [0.5]);
  // An index pointing past the buffer is skipped, not read.
  assert.equal(unpackSeries(view, [["param", 0, "std", 4, 3]]).size, 0);
});

test("sparkPath spans the box, breaks at NaN and marks the last point", () => {
  const { d, last } = sparkPath([0, 1, 2, 3], [0, 1, NaN, 2], 100, 20);
  const moves = d.match(/[ML]/g);
  assert.deepEqual(moves, ["M", "L", "M"]); // the NaN lifts the pen
  assert.ok(d.startsWith("M2.0 18.0")); // the minimum at the bottom-left (2 px padding)
  assert.deepEqual(last, [98, 2]); // the maximum at the top-right
});

test("sparkPath on a log scale drops non-positive values and handles flat series", () => {
  const logged = sparkPath([0, 1, 2], [1e-3, 0, 1e-1], 50, 10, true);
  assert.equal(logged.d.match(/M/g).length, 2);
  const flat = sparkPath([0, 1], [3, 3], 50, 10);
  assert.match(flat.d, /^M2\.0 5\.0L48\.0 5\.0$/); // a constant sits in the middle
  assert.equal(sparkPath([0], [NaN], 50, 10).d, "");
});

test("formatValue shows fractions as percentages", () => {
  assert.equal(formatValue("zeros", 0.348), "34.8%");
  assert.equal(formatValue("grad_norm", 0.000123456), "1.235e-04"); // as nbgrad.display.html.format_number
  assert.equal(formatValue("mean", null), "–");
});
