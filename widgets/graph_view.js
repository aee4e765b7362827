// Front end of nbgrad.widgets.GraphView: the SVG drawn by nbgrad/display/graph.py, with
// pan (drag), zoom (wheel, buttons), click a box to inspect it (trait `selected`, answered
// by `detail` HTML) and double-click a module box to open it / an op to close its module
// (trait `expanded`, answered by a new `svg`).

import { suppressShortcuts } from "./lib/host.js";

// ---------------------------------------------------------------- pure helpers (node --test)

/** [x, y, width, height] of a viewBox attribute. */
export function parseViewBox(text) {
  const v = String(text || "").trim().split(/[\s,]+/).map(Number);
  return v.length === 4 && v.every(Number.isFinite) ? v : [0, 0, 1, 1];
}

/** The point of the drawing under client offset (px, py) of an element of size (width, height). */
export function clientToSvg(vb, px, py, width, height) {
  // preserveAspectRatio="xMidYMid meet": one scale for both axes, the drawing centred.
  const scale = Math.min(width / vb[2], height / vb[3]);
  const ox = (width - vb[2] * scale) / 2;
  const oy = (height - vb[3] * scale) / 2;
  return [vb[0] + (px - ox) / scale, vb[1] + (py - oy) / scale];
}

/** The viewBox zoomed by `factor` (> 1 zooms in) about the drawing point (x, y), which stays put. */
export function zoomAt(vb, x, y, factor, minSize = 20, maxSize = 1e6) {
  let f = factor;
  const w = vb[2] / f;
  if (w < minSize) f = vb[2] / minSize;
  if (w > maxSize) f = vb[2] / maxSize;
  return [x - (x - vb[0]) / f, y - (y - vb[1]) / f, vb[2] / f, vb[3] / f];
}

/** The viewBox moved so that the drawing follows a drag of (dx, dy) client pixels. */
export function panBy(vb, dx, dy, width, height) {
  const scale = Math.min(width / vb[2], height / vb[3]);
  return [vb[0] - dx / scale, vb[1] - dy / scale, vb[2], vb[3]];
}

/** The viewBox framing a drawing of size (w, h) in an element of the given aspect (width / height), with a margin. */
export function fitViewBox(w, h, aspect, margin = 8) {
  let vw = w + 2 * margin;
  let vh = h + 2 * margin;
  if (vw / vh < aspect) vw = vh * aspect;
  else vh = vw / aspect;
  return [(w - vw) / 2, (h - vh) / 2, vw, vh];
}

/** The text form of a viewBox, rounded to 0.01 (short and stable). */
export function formatViewBox(vb) {
  return vb.map((v) => String(Math.round(v * 100) / 100)).join(" ");
}

// ---------------------------------------------------------------- the view

function render({ model, el: root }) {
  const box = document.createElement("div");
  box.className = "nbgrad-gv";
  suppressShortcuts(box);
  const bar = document.createElement("div");
  bar.className = "nbgrad-gv-bar";
  const summary = document.createElement("span");
  summary.className = "nbgrad-gv-summary";
  const button = (text, label, onClick) => {
    const b = document.createElement("button");
    b.textContent = text;
    b.title = label;
    b.setAttribute("aria-label", label);
    b.addEventListener("click", onClick);
    bar.append(b);
    return b;
  };
  const stage = document.createElement("div");
  stage.className = "nbgrad-gv-stage";
  const detail = document.createElement("div");
  detail.className = "nbgrad-gv-detail";
  box.append(bar, stage, detail);
  root.append(box);
  let svg = null;
  let vb = [0, 0, 1, 1];
  let size = [1, 1]; // the drawing's own width and height

  const setViewBox = (next) => {
    vb = next;
    if (svg) svg.setAttribute("viewBox", formatViewBox(vb));
  };
  const stageSize = () => [stage.clientWidth || 600, stage.clientHeight || 400];
  const fit = () => {
    const [w, h] = stageSize();
    setViewBox(fitViewBox(size[0], size[1], w / h));
  };
  const zoomCentre = (factor) => {
    const [w, h] = stageSize();
    const [x, y] = clientToSvg(vb, w / 2, h / 2, w, h);
    setViewBox(zoomAt(vb, x, y, factor));
  };
  button("+", "zoom in", () => zoomCentre(1.25));
  button("−", "zoom out", () => zoomCentre(0.8));
  button("fit", "fit the graph", fit);
  button("close all", "draw every module call as one box", () => {
    model.set("expanded", []);
    model.save_changes();
  });
  button("open all", "open every module call", () => {
    model.set("expanded", model.get("groups").map((_, i) => i));
    model.save_changes();
  });
  bar.append(summary);

  function nodeGroups() {
    // render_svg draws each node as <g><title>..</title><rect/>..</g>, in node order.
    return [...svg.querySelectorAll("g")].filter((g) => g.firstElementChild && g.firstElementChild.tagName.toLowerCase() === "title");
  }

  function draw() {
    stage.innerHTML = model.get("svg");
    svg = stage.querySelector("svg");
    summary.textContent = model.get("summary");
    if (!svg) return;
    const own = parseViewBox(svg.getAttribute("viewBox"));
    size = [own[2], own[3]];
    svg.removeAttribute("width");
    svg.removeAttribute("height");
    svg.setAttribute("preserveAspectRatio", "xMidYMid meet");
    const [w, h] = stageSize();
    // A small graph is shown at its own size (1 unit = 1 pixel), a big one fitted.
    if (size[0] <= w && size[1] <= h) setViewBox([-(w - size[0]) / 2, -(h - size[1]) / 2, w, h]);
    else fit();
    const nodes = model.get("nodes");
    nodeGroups().forEach((g, k) => {
      g.classList.add("nbgrad-gv-node");
      g.dataset.index = String(k);
      const info = nodes[k] || {};
      if (info.group >= 0) g.classList.add("nbgrad-gv-module");
      if (k === model.get("selected")) g.classList.add("nbgrad-gv-selected");
    });
  }

  // Pan: drag anywhere; a click without movement selects the box under it.
  const nodeAt = (event) => {
    const g = event.target.closest && event.target.closest(".nbgrad-gv-node");
    return g ? Number(g.dataset.index) : -1;
  };
  let drag = null;
  let pressed = -1;
  stage.addEventListener("pointerdown", (event) => {
    // The box is read here: once the stage captures the pointer, later events target the stage.
    drag = { x: event.clientX, y: event.clientY, vb, moved: false, node: nodeAt(event) };
    pressed = drag.node;
    stage.setPointerCapture?.(event.pointerId);
  });
  stage.addEventListener("pointermove", (event) => {
    if (!drag) return;
    const dx = event.clientX - drag.x;
    const dy = event.clientY - drag.y;
    if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
    if (drag.moved) {
      const [w, h] = stageSize();
      setViewBox(panBy(drag.vb, dx, dy, w, h));
    }
  });
  stage.addEventListener("pointerup", () => {
    const start = drag;
    drag = null;
    if (!start || start.moved) return;
    model.set("selected", start.node);
    model.save_changes();
  });
  stage.addEventListener("dblclick", (event) => {
    // After pointer capture the event may target the stage: fall back to the box the press was on.
    const k = nodeAt(event) >= 0 ? nodeAt(event) : pressed;
    const info = model.get("nodes")[k];
    if (!info) return;
    const expanded = model.get("expanded").slice();
    if (info.group >= 0) expanded.push(info.group); // open a module box
    else if (info.parent >= 0) {
      // close the innermost open module call around an op (and the calls inside it)
      const groups = model.get("groups");
      const inside = new Set([info.parent]);
      groups.forEach((g, i) => {
        if (inside.has(g.parent)) inside.add(i);
      });
      model.set("expanded", expanded.filter((g) => !inside.has(g)));
      model.save_changes();
      return;
    } else return;
    model.set("expanded", expanded);
    model.save_changes();
  });
  stage.addEventListener(
    "wheel",
    (event) => {
      event.preventDefault(); // the page must not scroll while zooming
      const rect = stage.getBoundingClientRect();
      const [x, y] = clientToSvg(vb, event.clientX - rect.left, event.clientY - rect.top, rect.width, rect.height);
      setViewBox(zoomAt(vb, x, y, Math.exp(-event.deltaY * 0.0015)));
    },
    { passive: false },
  );

  const showDetail = () => {
    detail.innerHTML = model.get("detail") || '<span class="nbgrad-gv-hint">click a box to see its tensors; double-click a module box to open it, an op to close its module</span>';
    if (svg) for (const g of nodeGroups()) g.classList.toggle("nbgrad-gv-selected", Number(g.dataset.index) === model.get("selected"));
  };
  draw();
  showDetail();
  model.on("change:svg", draw);
  model.on("change:detail", showDetail);
  model.on("change:selected", showDetail);
}

export default { render };
