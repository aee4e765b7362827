import { test } from "node:test";
import assert from "node:assert/strict";
import { formatNumber, escapeHtml } from "../lib/format.js";
import { float64, columns } from "../lib/buffers.js";
import { throttle } from "../lib/schedule.js";

test("numbers print like nbgrad.display.html.format_number", () => {
  // The Python doctest's cases: [0.5, 1234.567, 123456.7, 1e-7, -3, None, nan]
  assert.deepEqual([0.5, 1234.567, 123456.7, 1e-7, -3, null, NaN].map((v) => formatNumber(v)),
    ["0.5", "1235", "123457", "1e-07", "-3", "–", "nan"]);
  assert.equal(formatNumber(1.096e-4), "1.096e-04");
  assert.equal(formatNumber(2.5e12), "2.5e+12");
  assert.equal(formatNumber(0.0123456), "0.01235");
  assert.equal(escapeHtml(`<a href="x">&'`), "&lt;a href=&quot;x&quot;&gt;&amp;&#x27;");
});

test("float64 buffers from DataViews, aligned or not", () => {
  const values = new Float64Array([1.5, -2, 3e300]);
  assert.deepEqual(Array.from(float64(new DataView(values.buffer))), [1.5, -2, 3e300]);
  const shifted = new Uint8Array(25);
  shifted.set(new Uint8Array(values.buffer), 1);
  assert.deepEqual(Array.from(float64(new DataView(shifted.buffer, 1, 24))), [1.5, -2, 3e300]);
  assert.equal(float64(null).length, 0);
  const [a, b] = columns(new DataView(new Float64Array([1, 2, 3, 4]).buffer), 2);
  assert.deepEqual([Array.from(a), Array.from(b)], [[1, 3], [2, 4]]);
});

test("throttle: at most one run per interval, and a trailing run", () => {
  let now = 0;
  const timers = [];
  let runs = 0;
  const request = throttle(() => runs++, 100, () => now, (f, t) => timers.push([f, t]));
  request(); // leading edge
  assert.equal(runs, 1);
  for (let i = 0; i < 50; i++) {
    now += 1;
    request();
  }
  assert.equal(runs, 1);
  assert.equal(timers.length, 1); // coalesced into one trailing run
  now = 100;
  timers[0][0]();
  assert.equal(runs, 2);
  now = 250;
  request();
  assert.equal(runs, 3);
});
