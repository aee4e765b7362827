// Pure helpers of widgets/graph_view.js: run with `node --test widgets/test/`.
import assert from "node:assert/strict";
import { test } from "node:test";

import { clientToSvg, fitViewBox, formatViewBox, panBy, parseViewBox, zoomAt } from "../graph_view.js";

const close = (a, b) => a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) < 1e-9, `${a} != ${b}`));

test("parseViewBox reads four numbers, with a safe default", () => {
  assert.deepEqual(parseViewBox("0 0 120.5 80"), [0, 0, 120.5, 80]);
  assert.deepEqual(parseViewBox("1,2, 3 4"), [1, 2, 3, 4]);
  assert.deepEqual(parseViewBox("nonsense"), [0, 0, 1, 1]);
});

test("clientToSvg inverts the 'meet' scaling, letterbox included", () => {
  // A 100 x 50 drawing in a 400 x 400 element: scale 4, 100 px bands above and below.
  const vb = [0, 0, 100, 50];
  close(clientToSvg(vb, 0, 100, 400, 400), [0, 0]);
  close(clientToSvg(vb, 400, 300, 400, 400), [100, 50]);
  close(clientToSvg([10, 20, 100, 50], 200, 200, 400, 400), [60, 45]);
});

test("zoomAt keeps the point under the cursor fixed and bounds the zoom", () => {
  const vb = [0, 0, 200, 100];
  const z = zoomAt(vb, 50, 25, 2);
  close(z, [25, 12.5, 100, 50]);
  // the fixed point sits at the same fraction of the view before and after
  close([(50 - z[0]) / z[2], (25 - z[1]) / z[3]], [50 / 200, 25 / 100]);
  assert.equal(zoomAt(vb, 0, 0, 1000, 20)[2], 20);
  close(zoomAt(z, 50, 25, 0.5), vb);
});

test("panBy moves the view against the drag, in drawing units", () => {
  // scale 2 (a 200 x 100 box in 400 x 200 px): a 40 px drag right moves the view 20 units left
  close(panBy([0, 0, 200, 100], 40, -10, 400, 200), [-20, 5, 200, 100]);
});

test("fitViewBox frames the drawing at the element's aspect, centred", () => {
  const [x, y, w, h] = fitViewBox(100, 50, 2, 0);
  close([x, y, w, h], [0, 0, 100, 50]);
  const tall = fitViewBox(100, 50, 1, 10);
  close([tall[2] / tall[3]], [1]);
  close([tall[0] + tall[2] / 2, tall[1] + tall[3] / 2], [50, 25]);
});

test("formatViewBox rounds to hundredths", () => {
  assert.equal(formatViewBox([0.123, -5, 100, 33.333333]), "0.12 -5 100 33.33");
});
