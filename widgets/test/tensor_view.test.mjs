// Pure helpers of widgets/tensor_view.js: run with `node --test widgets/test/`.
import assert from "node:assert/strict";
import { test } from "node:test";

import { colormap } from "../lib/colormap.js";
import {
  cellAt,
  cellRange,
  colorScale,
  colorize,
  decodeFloat32,
  displaySize,
  finiteRange,
  indexLabel,
} from "../tensor_view.js";

test("decodeFloat32 reads little-endian float32, NaN and Inf included", () => {
  const buf = new ArrayBuffer(16);
  const view = new DataView(buf);
  [1.5, -2, NaN, Infinity].forEach((v, i) => view.setFloat32(4 * i, v, true));
  const out = decodeFloat32(view);
  assert.deepEqual([...out.slice(0, 2)], [1.5, -2]);
  assert.ok(Number.isNaN(out[2]));
  assert.equal(out[3], Infinity);
  assert.deepEqual([...decodeFloat32(new Uint8Array(buf, 4, 4))], [-2]);
});

test("finiteRange skips NaN and Inf; null without finite values", () => {
  assert.deepEqual(finiteRange([3, NaN, -1, Infinity, 2]), [-1, 3]);
  assert.equal(finiteRange([NaN, -Infinity]), null);
});

test("diverging and symmetric scales are centred on zero; sequential spans the data", () => {
  const d = colorScale([-1, 3], { cmap: "RdBu" });
  assert.deepEqual([d.lo, d.hi], [-3, 3]);
  assert.equal(d.fraction(0), 0.5);
  const s = colorScale([1, 3], { cmap: "viridis" });
  assert.deepEqual([s.lo, s.hi], [1, 3]);
  assert.equal(s.fraction(1), 0);
  assert.equal(s.fraction(3), 1);
  assert.equal(s.fraction(10), 1); // clamped
  const sym = colorScale([1, 3], { cmap: "viridis", symmetric: true });
  assert.deepEqual([sym.lo, sym.hi], [-3, 3]);
  const flat = colorScale([2, 2], { cmap: "viridis" });
  assert.ok(flat.hi > flat.lo);
});

test("the log scale keeps small values apart from zero next to an outlier", () => {
  const lin = colorScale([0, 1000], { cmap: "viridis" });
  const log = colorScale([0, 1000], { cmap: "viridis", log: true });
  assert.ok(lin.fraction(1) < 0.01);
  assert.ok(log.fraction(1) > 0.09 && log.fraction(1) > 50 * lin.fraction(1));
  assert.equal(log.fraction(1000), 1);
  assert.ok(Math.abs(log.f(-5) + log.f(5)) < 1e-12); // odd: the sign is kept
});

test("colorize maps the scale onto the table and gives NaN/Inf their own colours", () => {
  const t = colormap("gray");
  const px = colorize([0, 1, NaN, Infinity, -Infinity], colorScale([0, 1], { cmap: "gray" }), t);
  assert.deepEqual([...px.slice(0, 8)], [0, 0, 0, 255, 255, 255, 255, 255]);
  assert.deepEqual([...px.slice(8, 11)], [230, 0, 230]);
  assert.deepEqual([...px.slice(12, 15)], [255, 196, 0]);
  assert.deepEqual([...px.slice(16, 19)], [0, 176, 80]);
});

test("cellAt maps pointer positions to cells, null outside", () => {
  assert.deepEqual(cellAt(0, 0, 100, 50, 5, 10), [0, 0]);
  assert.deepEqual(cellAt(99.9, 49.9, 100, 50, 5, 10), [4, 9]);
  assert.deepEqual(cellAt(35, 21, 100, 50, 5, 10), [2, 3]);
  assert.equal(cellAt(100, 10, 100, 50, 5, 10), null);
  assert.equal(cellAt(-1, 10, 100, 50, 5, 10), null);
});

test("cellRange and indexLabel name the block of the tensor behind a downsampled cell", () => {
  // 1000 x 10 rows shown as 125 x 10 cells: blocks of 8 rows; the last block is short.
  assert.deepEqual(cellRange(2, 3, [8, 1], [1000, 10]), [16, 24, 3, 4]);
  assert.deepEqual(cellRange(124, 0, [8, 1], [998, 10]), [992, 998, 0, 1]);
  assert.equal(indexLabel([4, 0, 0], 1, 2, [16, 24, 3, 4]), "[4, 16:24, 3]");
  // transposed view: rows are axis 2
  assert.equal(indexLabel([1, 7, 0], 2, 0, [5, 6, 2, 3]), "[2, 7, 5]");
});

test("displaySize keeps whole cells for small slices and bounds big ones", () => {
  assert.deepEqual(displaySize(3, 4), [96, 72]);
  assert.deepEqual(displaySize(512, 256), [256, 512]); // one pixel per cell up to 1.5x the target
  assert.deepEqual(displaySize(10, 2000), [384, 2]); // longer: scaled down to the target
});
