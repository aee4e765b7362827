// nbgrad.widgets.TrainingMonitor: a table of sparklines per parameter and per layer, with flags.
//
// The kernel sends the rows (latest values and flags) as JSON scalars and every series as one
// float64 buffer (`_series`), described by `_index` rows [group, row, metric, offset, length]:
// x values at [offset, offset + length), y values right after. Redraws are throttled.

import { float64 } from "./lib/buffers.js";
import { suppressShortcuts } from "./lib/host.js";
import { nearest } from "./lib/downsample.js";
import { escapeHtml, formatNumber } from "./lib/format.js";
import { linearScale } from "./lib/scales.js";
import { throttle } from "./lib/schedule.js";

export const PARAM_METRICS = [
  ["grad_norm", "grad norm"],
  ["weight_norm", "weight norm"],
  ["update_ratio", "update / weight"],
];
export const LAYER_METRICS = [
  ["mean", "mean"],
  ["std", "std"],
  ["zeros", "zeros"],
  ["dead", "dead units"],
];
// Norms and step sizes span decades: the log toggle applies to them; activation statistics stay linear.
const LOG_METRICS = new Set(["grad_norm", "weight_norm", "update_ratio"]);
const FRACTIONS = new Set(["zeros", "dead"]);
const SEVERE = new Set(["nan", "inf", "exploding"]);
const SPARK_W = 96;
const SPARK_H = 20;

/** The series of one buffer as a Map "group/row/metric" -> {x, y} (Float64Array views, no copies). */
export function unpackSeries(buffer, index) {
  const flat = float64(buffer);
  const out = new Map();
  for (const [group, row, metric, offset, length] of index) {
    if (offset + 2 * length > flat.length) continue; // a torn message: skip rather than read garbage
    out.set(`${group}/${row}/${metric}`, {
      x: flat.subarray(offset, offset + length),
      y: flat.subarray(offset + length, offset + 2 * length),
    });
  }
  return out;
}

/** SVG path data of a sparkline in a width x height box; log drops non-positive values; NaN lifts the pen. */
export function sparkPath(xs, ys, width, height, log = false) {
  const pad = 2;
  const t = (v) => (log ? (v > 0 ? Math.log10(v) : NaN) : v);
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < ys.length; i++) {
    const v = t(ys[i]);
    if (Number.isFinite(v)) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
  }
  if (!(hi >= lo)) return { d: "", last: null };
  if (hi === lo) {
    lo -= 0.5;
    hi += 0.5;
  }
  const x0 = xs.length ? xs[0] : 0;
  const x1 = xs.length ? xs[xs.length - 1] : 1;
  const sx = linearScale(x1 > x0 ? [x0, x1] : [x0 - 1, x0 + 1], [pad, width - pad]);
  const sy = linearScale([lo, hi], [height - pad, pad]);
  const parts = [];
  let pen = false;
  let last = null;
  for (let i = 0; i < xs.length; i++) {
    const v = t(ys[i]);
    if (!Number.isFinite(v)) {
      pen = false;
      continue;
    }
    const px = sx(xs[i]);
    const py = sy(v);
    parts.push(`${pen ? "L" : "M"}${px.toFixed(1)} ${py.toFixed(1)}`);
    pen = true;
    last = [px, py];
  }
  return { d: parts.join(""), last, sx, sy: (v) => sy(t(v)) };
}

/** The text of a value: percentages for fractions, 4 significant digits otherwise. */
export function formatValue(metric, v) {
  if (v === null || v === undefined) return "–";
  return FRACTIONS.has(metric) ? `${(100 * v).toFixed(1)}%` : formatNumber(v);
}

function badges(flags) {
  return (flags || [])
    .map((f) => `<span class="nbm-flag${SEVERE.has(f) ? " nbm-severe" : ""}">${escapeHtml(f)}</span>`)
    .join("");
}

function render({ model, el }) {
  const make = (tag, className) => Object.assign(document.createElement(tag), { className });
  const root = make("div", "nbgrad-monitor");
  suppressShortcuts(root);
  el.appendChild(root);

  const head = make("div", "nbm-head");
  const title = make("span", "nbm-title");
  const logBox = make("label", "nbm-toggle");
  const log = Object.assign(make("input", "nbm-log"), { type: "checkbox" });
  logBox.append(log, " log scale (norms)");
  log.addEventListener("change", () => {
    model.set("log_scale", log.checked);
    model.save_changes();
  });
  head.append(title, logBox);

  const tables = make("div", "nbm-tables");
  const alerts = make("div", "nbm-alerts");
  const tip = make("div", "nbm-tip");
  tip.hidden = true;
  root.append(head, tables, alerts, tip);

  let series = new Map();

  function table(caption, group, rows, metrics, detail) {
    const t = make("table", `nbm-table nbm-${group}s`);
    const cols = metrics.map(([, label]) => `<th>${escapeHtml(label)}</th>`).join("");
    t.innerHTML = `<thead><tr><th>${caption}</th><th>${detail[0]}</th>${cols}<th>flags</th></tr></thead>`;
    const body = document.createElement("tbody");
    rows.forEach((row, i) => {
      const tr = document.createElement("tr");
      if (row.flags && row.flags.length) tr.className = "nbm-flagged";
      tr.innerHTML = `<td class="nbm-name">${escapeHtml(row.name === "" ? "(model)" : row.name)}</td>`
        + `<td class="nbm-muted">${escapeHtml(detail[1](row))}</td>`;
      for (const [metric] of metrics) {
        const td = make("td", "nbm-cell");
        const s = series.get(`${group}/${i}/${metric}`);
        const useLog = LOG_METRICS.has(metric) && model.get("log_scale");
        if (s && s.x.length) {
          const spark = sparkPath(s.x, s.y, SPARK_W, SPARK_H, useLog);
          const svgNS = "http://www.w3.org/2000/svg";
          const svg = document.createElementNS(svgNS, "svg");
          svg.setAttribute("width", SPARK_W);
          svg.setAttribute("height", SPARK_H);
          svg.setAttribute("class", "nbm-spark");
          const path = document.createElementNS(svgNS, "path");
          path.setAttribute("d", spark.d);
          svg.appendChild(path);
          if (spark.last) {
            const dot = document.createElementNS(svgNS, "circle");
            dot.setAttribute("cx", spark.last[0].toFixed(1));
            dot.setAttribute("cy", spark.last[1].toFixed(1));
            dot.setAttribute("r", "1.8");
            svg.appendChild(dot);
          }
          svg.addEventListener("mousemove", (ev) => {
            if (!spark.sx) return;
            const box = svg.getBoundingClientRect();
            const k = nearest(s.x, spark.sx.invert(ev.clientX - box.left));
            if (k < 0) return;
            tip.hidden = false;
            tip.textContent = `${row.name || "(model)"} ${metric} at step ${s.x[k]}: ${formatValue(metric, s.y[k])}`;
          });
          svg.addEventListener("mouseleave", () => {
            tip.hidden = true;
          });
          td.appendChild(svg);
        }
        const value = make("span", "nbm-value");
        value.textContent = formatValue(metric, row[metric]);
        td.appendChild(value);
        tr.appendChild(td);
      }
      const flags = document.createElement("td");
      flags.innerHTML = badges(row.flags);
      tr.appendChild(flags);
      body.appendChild(tr);
    });
    t.appendChild(body);
    return t;
  }

  function draw() {
    series = unpackSeries(model.get("_series"), model.get("_index"));
    log.checked = model.get("log_scale");
    const every = model.get("every");
    title.textContent = `TrainingMonitor of ${model.get("title")}: step ${model.get("step_count")}, `
      + `statistics every ${every} step${every === 1 ? "" : "s"}`;
    tables.replaceChildren(
      table("parameter", "param", model.get("_params"), PARAM_METRICS, ["shape", (r) => (r.shape || []).join("×")]),
      table("layer", "layer", model.get("_layers"), LAYER_METRICS, ["type", (r) => r.type || ""]),
    );
    alerts.innerHTML = model.get("_alerts")
      .map((a) => `<div>${badges([a.flag])} ${escapeHtml(a.name || "(model)")}: steps ${a.first}–${a.last} (${a.count}×)</div>`)
      .join("");
  }

  const request = throttle(draw, 100);
  draw();
  for (const name of ["_series", "_index", "_params", "_layers", "_alerts", "step_count", "log_scale", "every", "title"]) {
    model.on(`change:${name}`, request);
  }
}

export default { render };
