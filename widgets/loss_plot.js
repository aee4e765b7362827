// nb.widgets.LossPlot front end: panels of training curves drawn as SVG from the model's binary buffers.
// Data: `_snapshot` rows [series, count, x_min, y_min, x_max, y_max, sum_x, sum_y] (bounded, downsampled) and
// `_tail` rows [series, x, y] (raw points since the snapshot); see nbgrad/widgets/loss_plot.py.

import { linearScale, logScale, niceTicks, niceDomain, logTicks, logDomain } from "./lib/scales.js";
import { minMaxDecimate, ema, interp, nearest } from "./lib/downsample.js";
import { formatNumber, escapeHtml } from "./lib/format.js";
import { float64 } from "./lib/buffers.js";
import { suppressShortcuts } from "./lib/host.js";
import { throttle } from "./lib/schedule.js";

export const REDRAW_MS = 100; // at most 10 redraws a second, however fast the kernel sends
const MARGIN = { left: 52, right: 10, top: 8, bottom: 30 };

/** Per-series drawing data from the two buffers: points (bucket extremes in x order, then raw tail) and means. */
export function decode(snapshot, tail, count) {
  const series = Array.from({ length: count }, () => ({
    x: [], y: [], mx: [], my: [], mw: [], last: null, nonfinite: 0, firstNonfinite: null,
  }));
  const s = float64(snapshot);
  for (let i = 0; i + 8 <= s.length; i += 8) {
    const d = series[s[i]];
    const c = s[i + 1];
    if (!d || !(c > 0)) continue;
    const [xmin, ymin, xmax, ymax] = [s[i + 2], s[i + 3], s[i + 4], s[i + 5]];
    const minFirst = xmin <= xmax;
    d.x.push(minFirst ? xmin : xmax);
    d.y.push(minFirst ? ymin : ymax);
    if (xmin !== xmax || ymin !== ymax) {
      d.x.push(minFirst ? xmax : xmin);
      d.y.push(minFirst ? ymax : ymin);
    }
    d.mx.push(s[i + 6] / c);
    d.my.push(s[i + 7] / c);
    d.mw.push(c);
  }
  const t = float64(tail);
  for (let i = 0; i + 3 <= t.length; i += 3) {
    const d = series[t[i]];
    if (!d) continue;
    const [x, y] = [t[i + 1], t[i + 2]];
    d.last = [x, y];
    if (!Number.isFinite(y)) {
      d.nonfinite += 1;
      if (d.firstNonfinite === null) d.firstNonfinite = x;
      continue;
    }
    d.x.push(x);
    d.y.push(y);
    d.mx.push(x);
    d.my.push(y);
    d.mw.push(1);
  }
  for (const d of series) if (d.last === null && d.x.length) d.last = [d.x[d.x.length - 1], d.y[d.y.length - 1]];
  return series;
}

/** [x, y] of the best value ("min" or "max") of a decoded series; null when it has none. */
export function bestOf(d, goal) {
  let best = -1;
  for (let i = 0; i < d.y.length; i++) {
    if (best < 0 || (goal === "max" ? d.y[i] > d.y[best] : d.y[i] < d.y[best])) best = i;
  }
  return best < 0 ? null : [d.x[best], d.y[best]];
}

function pathOf(xs, ys, sx, sy) {
  let d = "";
  let pen = false;
  for (let i = 0; i < xs.length; i++) {
    const px = sx(xs[i]);
    const py = sy(ys[i]);
    if (!Number.isFinite(px) || !Number.isFinite(py)) {
      pen = false;
      continue;
    }
    d += `${pen ? "L" : "M"}${px.toFixed(1)} ${py.toFixed(1)}`;
    pen = true;
  }
  return d;
}

function control(html) {
  const label = document.createElement("label");
  label.innerHTML = html;
  return label;
}

function render({ model, el }) {
  el.classList.add("nbgrad-loss-plot");
  suppressShortcuts(el);
  const title = document.createElement("div");
  title.className = "nbgrad-lp-title";
  const bar = document.createElement("div");
  bar.className = "nbgrad-lp-controls";
  const logBox = control('<input type="checkbox"> log y');
  const smoothBox = control('smoothing <input type="range" min="0" max="0.99" step="0.01"> <span></span>');
  const xBox = control('x <select><option value="step">step</option><option value="epoch">epoch</option></select>');
  bar.append(logBox, smoothBox, xBox);
  const panelsEl = document.createElement("div");
  panelsEl.className = "nbgrad-lp-panels";
  const empty = document.createElement("div");
  empty.className = "nbgrad-lp-empty";
  empty.textContent = "waiting for plot.log(...)";
  el.append(title, bar, panelsEl, empty);

  const logInput = logBox.querySelector("input");
  const smoothInput = smoothBox.querySelector("input");
  const smoothText = smoothBox.querySelector("span");
  const xSelect = xBox.querySelector("select");
  logInput.addEventListener("change", () => {
    model.set("log_scale", logInput.checked);
    model.save_changes();
  });
  smoothInput.addEventListener("input", () => {
    model.set("smoothing", Number(smoothInput.value));
    model.save_changes();
  });
  xSelect.addEventListener("change", () => {
    model.set("x_axis", xSelect.value);
    model.save_changes();
  });

  let decoded = null;
  let decodedFrom = [null, null, 0];
  let panelState = [];

  function data() {
    const snapshot = model.get("_snapshot");
    const tail = model.get("_tail");
    const names = model.get("_series") || [];
    if (!decoded || decodedFrom[0] !== snapshot || decodedFrom[1] !== tail || decodedFrom[2] !== names.length) {
      decoded = decode(snapshot, tail, names.length);
      decodedFrom = [snapshot, tail, names.length];
    }
    return { names, series: decoded };
  }

  let drawnOnce = false;
  function draw() {
    if (!el.isConnected) return; // a detached view (replaced by a refreshed output) draws nothing
    drawnOnce = true;
    const { names, series } = data();
    const byName = Object.fromEntries(names.map((n, i) => [n, series[i]]));
    const panels = model.get("_panels") || [];
    const logScaleOn = model.get("log_scale");
    const smoothing = model.get("smoothing");
    const epoch = byName.epoch;
    const byEpoch = model.get("x_axis") === "epoch" && epoch && epoch.x.length > 0;
    const toX = byEpoch ? (v) => interp(v, epoch.x, epoch.y) : (v) => v;
    logInput.checked = logScaleOn;
    smoothInput.value = String(smoothing);
    smoothText.textContent = smoothing.toFixed(2);
    xSelect.value = model.get("x_axis");
    xSelect.querySelector('option[value="epoch"]').disabled = !epoch;
    title.textContent = model.get("title") || "";
    title.style.display = model.get("title") ? "" : "none";
    empty.style.display = panels.length ? "none" : "";

    const height = model.get("height");
    const available = Math.max(260, panelsEl.clientWidth || el.clientWidth || 660);
    const cols = Math.max(1, Math.min(panels.length, Math.floor(available / 300)));
    const width = Math.floor(available / cols) - 8;
    const plotW = width - MARGIN.left - MARGIN.right;
    const plotH = height - MARGIN.top - MARGIN.bottom;

    while (panelsEl.children.length > panels.length) panelsEl.lastChild.remove();
    while (panelsEl.children.length < panels.length) panelsEl.append(makePanel(panelsEl.children.length));
    panelState = panels.map((panel, k) => {
      const root = panelsEl.children[k];
      const lines = panel.series.map((s) => {
        const d = byName[s.name] || { x: [], y: [], mx: [], my: [], mw: [], last: null, nonfinite: 0 };
        const xs = d.x.map(toX);
        return { spec: s, d, xs, ys: d.y, mxs: d.mx.map(toX), smooth: smoothing > 0 ? ema(d.my, d.mw, smoothing) : null };
      });
      let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
      for (const l of lines) {
        for (let i = 0; i < l.xs.length; i++) {
          if (logScaleOn && !(l.ys[i] > 0)) continue;
          x0 = Math.min(x0, l.xs[i]);
          x1 = Math.max(x1, l.xs[i]);
          y0 = Math.min(y0, l.ys[i]);
          y1 = Math.max(y1, l.ys[i]);
        }
      }
      if (!(x1 >= x0)) [x0, x1, y0, y1] = [0, 1, logScaleOn ? 0.1 : 0, 1];
      if (x1 === x0) [x0, x1] = [x0 - 1, x1 + 1];
      const yDomain = logScaleOn ? logDomain(y0, y1) : niceDomain(y0, y1);
      const sx = linearScale([x0, x1], [MARGIN.left, MARGIN.left + plotW]);
      const sy = (logScaleOn ? logScale : linearScale)(yDomain, [MARGIN.top + plotH, MARGIN.top]);
      const yTicks = logScaleOn ? logTicks(...yDomain) : niceTicks(...yDomain);
      const xTicks = niceTicks(x0, x1, Math.max(2, Math.floor(plotW / 80)));
      let svg = "";
      let grid = "";
      for (const v of yTicks) grid += `M${MARGIN.left} ${sy(v).toFixed(1)}h${plotW}`;
      for (const v of xTicks) grid += `M${sx(v).toFixed(1)} ${MARGIN.top}v${plotH}`;
      svg += `<path class="grid" d="${grid}"/>`;
      svg += `<rect class="frame" x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}"/>`;
      for (const v of yTicks) svg += `<text x="${MARGIN.left - 4}" y="${(sy(v) + 3).toFixed(1)}" text-anchor="end">${formatNumber(v)}</text>`;
      for (const v of xTicks) svg += `<text x="${sx(v).toFixed(1)}" y="${MARGIN.top + plotH + 12}" text-anchor="middle">${formatNumber(v)}</text>`;
      svg += `<text x="${MARGIN.left + plotW}" y="${MARGIN.top + plotH + 25}" text-anchor="end">${byEpoch ? "epoch" : "step"}</text>`;
      let legend = "";
      for (const l of lines) {
        const { x, y } = minMaxDecimate(l.xs, l.ys, Math.max(16, Math.floor(plotW)), x0, x1);
        const raw = pathOf(x, y, sx, sy);
        svg += `<path class="line${l.smooth ? " faint" : ""}" stroke="${l.spec.color}" d="${raw}"/>`;
        if (l.smooth) svg += `<path class="line" stroke="${l.spec.color}" d="${pathOf(l.mxs, l.smooth, sx, sy)}"/>`;
        const best = bestOf(l.d, panel.goal);
        let text = `<b style="color:${l.spec.color}">■</b> ${escapeHtml(l.spec.name)}`;
        if (l.d.last) text += ` <span class="v">${formatNumber(l.d.last[1])}</span>`;
        if (best) {
          const bx = sx(toX(best[0]));
          const by = sy(best[1]);
          if (Number.isFinite(by)) {
            svg += `<circle class="best" cx="${bx.toFixed(1)}" cy="${by.toFixed(1)}" r="3.5" stroke="${l.spec.color}"><title>best ${formatNumber(best[1])} at step ${formatNumber(best[0])}</title></circle>`;
          }
          text += ` <span class="muted">${panel.goal} ${formatNumber(best[1])} @ ${formatNumber(best[0])}</span>`;
        }
        if (l.d.nonfinite) text += ` <span class="warn">non-finite from step ${formatNumber(l.d.firstNonfinite)}</span>`;
        legend += `<span>${text}</span>`;
      }
      svg += `<line class="cross" y1="${MARGIN.top}" y2="${MARGIN.top + plotH}" visibility="hidden"/>`;
      const svgEl = root.querySelector("svg");
      svgEl.setAttribute("width", width);
      svgEl.setAttribute("height", height);
      svgEl.setAttribute("viewBox", `0 0 ${width} ${height}`);
      svgEl.innerHTML = svg;
      root.querySelector(".nbgrad-lp-panel-title").textContent = panel.title;
      root.querySelector(".nbgrad-lp-legend").innerHTML = legend;
      return { lines, sx, sy, byEpoch, plotW };
    });
    el.dataset.points = String(series.reduce((n, d) => n + d.x.length, 0)); // for tests and curious users
  }

  function makePanel(k) {
    const root = document.createElement("div");
    root.className = "nbgrad-lp-panel";
    root.innerHTML = '<div class="nbgrad-lp-panel-title"></div><svg xmlns="http://www.w3.org/2000/svg"></svg>'
      + '<div class="nbgrad-lp-legend"></div><div class="nbgrad-lp-tip" hidden></div>';
    const svgEl = root.querySelector("svg");
    const tip = root.querySelector(".nbgrad-lp-tip");
    svgEl.addEventListener("mousemove", (event) => {
      const state = panelState[k];
      if (!state) return;
      const box = svgEl.getBoundingClientRect();
      const px = event.clientX - box.left;
      const x = state.sx.invert(px);
      const rows = [];
      let at = null;
      for (const l of state.lines) {
        const i = nearest(l.xs, x);
        if (i < 0) continue;
        at = at === null ? l.xs[i] : at;
        rows.push(`<span style="color:${l.spec.color}">${escapeHtml(l.spec.name)}</span> ${formatNumber(l.ys[i])} <span class="muted">@ ${formatNumber(l.d.x[i])}</span>`);
      }
      if (at === null) return;
      const cross = svgEl.querySelector(".cross");
      cross.setAttribute("x1", state.sx(at));
      cross.setAttribute("x2", state.sx(at));
      cross.setAttribute("visibility", "visible");
      tip.innerHTML = `${state.byEpoch ? "epoch" : "step"} ${formatNumber(at)}<br>${rows.join("<br>")}`;
      tip.hidden = false;
      tip.style.left = `${Math.min(px + 12, box.width - 150)}px`;
    });
    svgEl.addEventListener("mouseleave", () => {
      tip.hidden = true;
      const cross = svgEl.querySelector(".cross");
      if (cross) cross.setAttribute("visibility", "hidden");
    });
    return root;
  }

  const request = throttle(draw, REDRAW_MS);
  const events = ["_snapshot", "_tail", "_series", "_panels", "log_scale", "smoothing", "x_axis", "height", "title"]
    .map((name) => `change:${name}`).join(" ");
  model.on(events, request);
  // Also fires once the view is attached (and when re-attached after being detached), so the first draw happens
  // at a known width. That first draw is immediate, not throttled: a view re-created when its output is
  // refreshed (the end of a training cell) would otherwise stay blank for up to REDRAW_MS.
  const resize =
    typeof ResizeObserver === "undefined" ? null : new ResizeObserver(() => (drawnOnce ? request() : draw()));
  if (resize) resize.observe(el);
  request();
  return () => {
    model.off(events, request);
    if (resize) resize.disconnect();
  };
}

export default { render };
