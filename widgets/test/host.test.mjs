import { test } from "node:test";
import assert from "node:assert/strict";
import { suppressShortcuts } from "../lib/host.js";

/** A stand-in for a DOM element: attributes and keydown listeners are all suppressShortcuts touches. */
function fakeElement() {
  const attributes = {};
  const listeners = [];
  return {
    attributes,
    listeners,
    setAttribute: (name, value) => (attributes[name] = value),
    addEventListener: (type, fn) => listeners.push([type, fn]),
  };
}

function keydownOn(targetTag) {
  const event = { stopped: false, stopPropagation: () => (event.stopped = true) };
  event.target = { closest: (selector) => (selector.split(", ").includes(targetTag) ? {} : null) };
  return event;
}

test("marks the element for Lumino and keeps keys on its controls from the notebook", () => {
  const el = fakeElement();
  assert.equal(suppressShortcuts(el), el);
  assert.equal(el.attributes["data-lm-suppress-shortcuts"], "true");
  const [[type, onKeydown]] = el.listeners;
  assert.equal(type, "keydown");
  for (const tag of ["input", "select", "textarea", "button"]) {
    const event = keydownOn(tag);
    onKeydown(event);
    assert.equal(event.stopped, true, tag);
  }
  const onCanvas = keydownOn("canvas"); // not a control: the page keeps its keys
  onKeydown(onCanvas);
  assert.equal(onCanvas.stopped, false);
});
