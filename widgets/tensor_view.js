// Front end of nbgrad.widgets.TensorView: a canvas heatmap of one 2-D slice, sliders for the
// other axes, axis pickers, colour-scale options, a histogram and statistics.
// The Python side sends the slice as a float32 buffer (`data`, `data_shape`); the controls
// write the traits `index`, `row_axis`, `col_axis`, `show_grad`, `cmap`, `symmetric`, `log_scale`.

import { float64 } from "./lib/buffers.js";
import { DIVERGING, NAN_COLOR, NEGINF_COLOR, POSINF_COLOR, colormap, rgb } from "./lib/colormap.js";
import { formatNumber } from "./lib/format.js";
import { suppressShortcuts } from "./lib/host.js";
import { linearScale } from "./lib/scales.js";

// ---------------------------------------------------------------- pure helpers (node --test)

// NaN, +Inf and -Inf have colours of their own, as in the static views.
const SPECIAL = { nan: rgb(NAN_COLOR), posinf: rgb(POSINF_COLOR), neginf: rgb(NEGINF_COLOR) };

/** The float32 values of a little-endian buffer (a DataView, ArrayBuffer or typed array). */
export function decodeFloat32(buffer) {
  const view = buffer instanceof DataView ? buffer : ArrayBuffer.isView(buffer) ? new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength) : new DataView(buffer);
  const n = view.byteLength >> 2;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = view.getFloat32(4 * i, true);
  return out;
}

/** [min, max] of the finite values, or null when there are none. */
export function finiteRange(values) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (Number.isFinite(v)) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  return lo <= hi ? [lo, hi] : null;
}

/**
 * The value transform and the range the colours span.
 * Diverging maps (and `symmetric`) centre the range on zero; `log` maps x to
 * sign(x) log10(1 + |x| / t) with t = 1e-3 of the largest magnitude, so that
 * small values stay visible next to outliers.
 */
export function colorScale(range, { cmap = "RdBu", symmetric = false, log = false } = {}) {
  let [lo, hi] = range || [0, 1];
  const magnitude = Math.max(Math.abs(lo), Math.abs(hi)) || 1;
  const t = magnitude * 1e-3;
  const f = log ? (x) => Math.sign(x) * Math.log10(1 + Math.abs(x) / t) : (x) => x;
  lo = f(lo);
  hi = f(hi);
  if (DIVERGING.has(cmap) || symmetric) {
    const m = Math.max(Math.abs(lo), Math.abs(hi));
    [lo, hi] = [-m, m];
  }
  if (hi <= lo) [lo, hi] = [lo - 0.5, hi + 0.5];
  const unit = linearScale([lo, hi], [0, 1]);
  return { lo, hi, f, fraction: (x) => Math.min(1, Math.max(0, unit(f(x)))) };
}

/** RGBA pixels (Uint8ClampedArray, h x w) of `values` coloured by `scale` and `table`. */
export function colorize(values, scale, table) {
  const n = table.length / 3;
  const out = new Uint8ClampedArray(values.length * 4);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    let rgb;
    if (Number.isNaN(v)) rgb = SPECIAL.nan;
    else if (v === Infinity) rgb = SPECIAL.posinf;
    else if (v === -Infinity) rgb = SPECIAL.neginf;
    else {
      const k = Math.round(scale.fraction(v) * (n - 1));
      rgb = [table[3 * k], table[3 * k + 1], table[3 * k + 2]];
    }
    out[4 * i] = rgb[0];
    out[4 * i + 1] = rgb[1];
    out[4 * i + 2] = rgb[2];
    out[4 * i + 3] = 255;
  }
  return out;
}

/** The cell [row, col] under a point (x, y) of an element of size width x height showing h x w cells. */
export function cellAt(x, y, width, height, h, w) {
  const row = Math.floor((y / height) * h);
  const col = Math.floor((x / width) * w);
  return row >= 0 && row < h && col >= 0 && col < w ? [row, col] : null;
}

/** The rows [r0, r1) and columns [c0, c1) of the slice behind cell (row, col), given the block sizes. */
export function cellRange(row, col, block, sliceShape) {
  const [br, bc] = block;
  return [row * br, Math.min((row + 1) * br, sliceShape[0]), col * bc, Math.min((col + 1) * bc, sliceShape[1])];
}

/** The tensor index text of a cell, e.g. "[2, 0:8, 5]" for a block of rows 0..7. */
export function indexLabel(index, rowAxis, colAxis, range) {
  const [r0, r1, c0, c1] = range;
  const part = (a, b) => (b - a > 1 ? `${a}:${b}` : `${a}`);
  return "[" + index.map((i, axis) => (axis === rowAxis ? part(r0, r1) : axis === colAxis ? part(c0, c1) : `${i}`)).join(", ") + "]";
}

/** CSS size of an h x w picture: whole-number cells, the long side near `longest` (like display_size in Python). */
export function displaySize(h, w, longest = 384, cell = 24) {
  const scale = Math.max(1, Math.min(cell, Math.floor(longest / Math.max(h, w, 1))));
  if (Math.max(h, w) * scale > longest * 1.5) {
    const s = longest / Math.max(h, w);
    return [Math.max(1, Math.round(w * s)), Math.max(1, Math.round(h * s))];
  }
  return [w * scale, h * scale];
}

// ---------------------------------------------------------------- the view

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c);
  return node;
}

function render({ model, el: root }) {
  const box = el("div", { class: "nbgrad-tv" });
  suppressShortcuts(box);
  const head = el("div", { class: "nbgrad-tv-head" });
  const controls = el("div", { class: "nbgrad-tv-controls" });
  const sliders = el("div", { class: "nbgrad-tv-sliders" });
  const canvas = el("canvas", { class: "nbgrad-tv-canvas" });
  const colorbar = el("canvas", { class: "nbgrad-tv-colorbar", width: "256", height: "1" });
  const barLabels = el("div", { class: "nbgrad-tv-barlabels" });
  const hist = el("div", { class: "nbgrad-tv-hist" });
  const stats = el("div", { class: "nbgrad-tv-stats" });
  const hover = el("div", { class: "nbgrad-tv-hover" }, "\u00a0");
  const side = el("div", { class: "nbgrad-tv-side" }, colorbar, barLabels, hist, stats);
  box.append(head, controls, sliders, el("div", { class: "nbgrad-tv-main" }, canvas, side), hover);
  root.append(box);
  let values = new Float32Array(0);

  const select = (label, options, value, onChange) => {
    const s = el("select", { "aria-label": label });
    for (const [v, text] of options) {
      const o = el("option", { value: String(v) }, text);
      if (String(v) === String(value)) o.selected = true;
      s.append(o);
    }
    s.addEventListener("change", () => onChange(s.value));
    return el("label", {}, `${label} `, s);
  };
  const check = (label, trait, disabled = false) => {
    const c = el("input", { type: "checkbox", "aria-label": label });
    c.checked = model.get(trait);
    c.disabled = disabled;
    c.addEventListener("change", () => {
      model.set(trait, c.checked);
      model.save_changes();
    });
    return el("label", {}, c, ` ${label}`);
  };

  function buildControls() {
    const shape = model.get("shape");
    const axes = shape.map((n, a) => [a, `axis ${a} (${n})`]);
    const setAxis = (trait) => (v) => {
      const other = trait === "row_axis" ? "col_axis" : "row_axis";
      const a = Number(v);
      // Picking the other displayed axis swaps the two, in one message.
      if (model.get(other) === a) model.set(other, model.get(trait));
      model.set(trait, a);
      model.save_changes();
    };
    controls.replaceChildren(
      select("rows", axes, model.get("row_axis"), setAxis("row_axis")),
      select("cols", axes, model.get("col_axis"), setAxis("col_axis")),
      select("colours", [["RdBu", "RdBu (diverging)"], ["coolwarm", "coolwarm (diverging)"], ["viridis", "viridis"], ["gray", "gray"]], model.get("cmap"), (v) => {
        model.set("cmap", v);
        model.save_changes();
      }),
      check("symmetric", "symmetric"),
      check("log", "log_scale"),
      check(".grad", "show_grad", !model.get("has_grad")),
    );
    const index = model.get("index");
    const rows = [];
    shape.forEach((n, axis) => {
      if (axis === model.get("row_axis") || axis === model.get("col_axis")) return;
      const input = el("input", { type: "range", min: "0", max: String(Math.max(0, n - 1)), step: "1", "data-axis": String(axis), "aria-label": `axis ${axis}` });
      input.value = String(index[axis]);
      const out = el("span", { class: "nbgrad-tv-pos" }, `${index[axis]} / ${n - 1}`);
      input.addEventListener("input", () => {
        const next = model.get("index").slice();
        next[axis] = Number(input.value);
        out.textContent = `${input.value} / ${n - 1}`;
        model.set("index", next);
        model.save_changes();
      });
      rows.push(el("label", { class: "nbgrad-tv-slider" }, `axis ${axis} `, input, out));
    });
    sliders.replaceChildren(...rows);
  }

  function drawHistogram() {
    const counts = float64(model.get("hist"));
    const [lo, hi] = model.get("hist_range");
    const peak = Math.max(1, ...counts);
    const W = 220;
    const H = 56;
    const bw = W / Math.max(1, counts.length);
    let bars = "";
    counts.forEach((c, i) => {
      if (c > 0) {
        const h = Math.max(1, ((H - 12) * c) / peak);
        bars += `<rect x="${(i * bw).toFixed(1)}" y="${(H - 12 - h).toFixed(1)}" width="${Math.max(0.7, bw - 1).toFixed(1)}" height="${h.toFixed(1)}"/>`;
      }
    });
    hist.innerHTML =
      `<svg width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="histogram of the slice">` +
      `<g fill="#5b8ff9">${bars}</g><line x1="0" x2="${W}" y1="${H - 12}" y2="${H - 12}" stroke="currentColor" stroke-opacity="0.3"/>` +
      `<text x="0" y="${H - 1}" font-size="10" fill="currentColor">${formatNumber(lo)}</text>` +
      `<text x="${W}" y="${H - 1}" font-size="10" text-anchor="end" fill="currentColor">${formatNumber(hi)}</text></svg>`;
  }

  function drawText() {
    const s = model.get("slice_stats");
    const t = model.get(model.get("show_grad") ? "grad_stats" : "tensor_stats");
    const shape = model.get("shape").join(", ");
    head.innerHTML = "";
    head.append(
      el("b", {}, `Tensor[${shape}]`),
      ` ${model.get("dtype")} ${model.get("device")}${model.get("show_grad") ? " · .grad" : ""} · n=${t.numel} min ${formatNumber(t.min)} max ${formatNumber(t.max)} mean ${formatNumber(t.mean)} std ${formatNumber(t.std)}`,
    );
    const special = ["nan", "posinf", "neginf"].filter((k) => s[k]).map((k) => `${{ nan: "NaN", posinf: "+Inf", neginf: "-Inf" }[k]} ${s[k]}`);
    const [h, w] = model.get("slice_shape");
    stats.textContent = `slice ${h}×${w}: min ${formatNumber(s.min)} max ${formatNumber(s.max)} mean ${formatNumber(s.mean)} std ${formatNumber(s.std)} zeros ${s.zeros}${special.length ? " " + special.join(" ") : ""}`;
    if (model.get("message")) stats.append(el("div", { class: "nbgrad-tv-note" }, model.get("message")));
  }

  function drawHeatmap() {
    const [h, w] = model.get("data_shape");
    values = decodeFloat32(model.get("data"));
    const scale = colorScale(finiteRange(values), { cmap: model.get("cmap"), symmetric: model.get("symmetric"), log: model.get("log_scale") });
    const table = colormap(model.get("cmap"));
    canvas.width = w;
    canvas.height = h;
    if (w && h) canvas.getContext("2d").putImageData(new ImageData(colorize(values, scale, table), w, h), 0, 0);
    const [cw, ch] = displaySize(h, w);
    canvas.style.width = `${cw}px`;
    canvas.style.height = `${ch}px`;
    const bar = new Uint8ClampedArray(256 * 4);
    for (let i = 0; i < 256; i++) bar.set([table[3 * i], table[3 * i + 1], table[3 * i + 2], 255], 4 * i);
    colorbar.getContext("2d").putImageData(new ImageData(bar, 256, 1), 0, 0);
    const unlog = (y) => (model.get("log_scale") ? "log " : "") + formatNumber(y);
    barLabels.textContent = `${unlog(scale.lo)} … ${unlog(scale.hi)}`;
  }

  canvas.addEventListener("mousemove", (event) => {
    const [h, w] = model.get("data_shape");
    const rect = canvas.getBoundingClientRect();
    const cell = cellAt(event.clientX - rect.left, event.clientY - rect.top, rect.width, rect.height, h, w);
    if (!cell) return;
    const range = cellRange(cell[0], cell[1], model.get("block"), model.get("slice_shape"));
    const label = indexLabel(model.get("index"), model.get("row_axis"), model.get("col_axis"), range);
    const blockText = range[1] - range[0] > 1 || range[3] - range[2] > 1 ? " (block mean)" : "";
    hover.textContent = `${model.get("show_grad") ? ".grad" : "t"}${label} = ${formatNumber(values[cell[0] * w + cell[1]])}${blockText}`;
  });
  canvas.addEventListener("mouseleave", () => {
    hover.textContent = "\u00a0";
  });

  const redraw = () => {
    drawHeatmap();
    drawHistogram();
    drawText();
  };
  buildControls();
  redraw();
  model.on("change:data", redraw);
  for (const name of ["cmap", "symmetric", "log_scale"]) model.on(`change:${name}`, drawHeatmap);
  for (const name of ["shape", "row_axis", "col_axis", "has_grad", "show_grad"]) model.on(`change:${name}`, buildControls);
  model.on("change:index", () => {
    // Python may clamp the index: keep the sliders where it says.
    const index = model.get("index");
    for (const input of sliders.querySelectorAll("input[type=range]")) {
      const axis = Number(input.dataset.axis);
      if (Number(input.value) !== index[axis]) {
        input.value = String(index[axis]);
        input.nextSibling.textContent = `${index[axis]} / ${model.get("shape")[axis] - 1}`;
      }
    }
  });
}

export default { render };
