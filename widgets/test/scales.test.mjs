import { test } from "node:test";
import assert from "node:assert/strict";
import { linearScale, logScale, niceTicks, niceDomain, logTicks, logDomain, tickStep } from "../lib/scales.js";

test("linear scale maps and inverts", () => {
  const s = linearScale([0, 10], [100, 0]);
  assert.equal(s(0), 100);
  assert.equal(s(10), 0);
  assert.equal(s(2.5), 75);
  assert.equal(s.invert(75), 2.5);
  assert.equal(linearScale([3, 3], [0, 10])(3), 5); // a flat domain sits in the middle
});

test("log scale: decades are equal steps, non-positive values are not drawn", () => {
  const s = logScale([0.01, 100], [0, 400]);
  assert.ok(Math.abs(s(0.1) - 100) < 1e-9);
  assert.ok(Math.abs(s(10) - 300) < 1e-9);
  assert.ok(Math.abs(s.invert(200) - 1) < 1e-12);
  assert.ok(Number.isNaN(s(0)) && Number.isNaN(s(-1)));
});

test("nice ticks are 1/2/5 multiples and print cleanly", () => {
  assert.deepEqual(niceTicks(0, 1), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(niceTicks(0.1, 0.35), [0.1, 0.15, 0.2, 0.25, 0.3, 0.35]);
  assert.deepEqual(niceTicks(0, 999, 4), [0, 200, 400, 600, 800]);
  assert.deepEqual(niceTicks(5, 5), [5]);
  assert.equal(tickStep(0, 1000, 4), 200);
  assert.deepEqual(niceDomain(0.13, 2.37), [0, 2.5]);
  assert.deepEqual(niceDomain(2, 2), [1.8, 2.2]);
});

test("log ticks and domains", () => {
  assert.deepEqual(logTicks(0.001, 10), [0.001, 0.01, 0.1, 1, 10]);
  assert.deepEqual(logTicks(1, 100), [1, 2, 5, 10, 20, 50, 100]);
  assert.deepEqual(logDomain(0.03, 4), [0.01, 10]);
  assert.deepEqual(logDomain(-1, 5), [0.1, 10]);
  assert.deepEqual(logTicks(0, 1), []);
});
