import { test } from "node:test";
import assert from "node:assert/strict";
import { colormap, valueRange, colorOf, rgb, NAN_COLOR, POSINF_COLOR, ANCHORS } from "../lib/colormap.js";

test("tables run from the first anchor to the last", () => {
  for (const name of Object.keys(ANCHORS)) {
    const t = colormap(name, 256);
    assert.equal(t.length, 768);
    assert.deepEqual(Array.from(t.slice(0, 3)), rgb(ANCHORS[name][0]));
    assert.deepEqual(Array.from(t.slice(765)), rgb(ANCHORS[name][ANCHORS[name].length - 1]));
  }
  assert.deepEqual(Array.from(colormap("gray", 3)), [0, 0, 0, 128, 128, 128, 255, 255, 255]); // rint(127.5) = 128
  assert.throws(() => colormap("jet"), /unknown colour map/);
});

test("diverging maps are symmetric about zero; specials get their colours", () => {
  assert.deepEqual(valueRange(-1, 3, "RdBu"), [-3, 3]);
  assert.deepEqual(valueRange(-1, 3, "viridis"), [-1, 3]);
  const t = colormap("RdBu", 252);
  assert.equal(colorOf(0, -1, 1, t), colorOf(0, -2, 2, t));
  assert.equal(colorOf(NaN, 0, 1, t), NAN_COLOR);
  assert.equal(colorOf(Infinity, 0, 1, t), POSINF_COLOR);
});
