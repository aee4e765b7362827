// Colour maps: the same anchors, interpolation and rounding as nbgrad/display/html.py, so a widget and its
// static fallback colour a value alike (tests/widgets/test_loss_plot.py compares the anchors).

export const ANCHORS = {
  RdBu: ["#053061", "#2166ac", "#4393c3", "#92c5de", "#d1e5f0", "#f7f7f7", "#fddbc7", "#f4a582", "#d6604d", "#b2182b", "#67001f"],
  coolwarm: ["#3b4cc0", "#6788ee", "#9abbff", "#c9d7f0", "#dddddd", "#f2cbb7", "#f7a889", "#e26952", "#b40426"],
  viridis: ["#440154", "#472c7a", "#3b518b", "#2c718e", "#21908d", "#27ad81", "#5cc863", "#aadc32", "#fde725"],
  gray: ["#000000", "#ffffff"],
};
export const DIVERGING = new Set(["RdBu", "coolwarm"]);
export const NAN_COLOR = "#e600e6";
export const POSINF_COLOR = "#ffc400";
export const NEGINF_COLOR = "#00b050";

// Series colours of line plots (train, validation, test, then others); nbgrad/widgets/loss_plot.py has the same.
export const CATEGORICAL = ["#3b7dd8", "#e8710a", "#1e9e63", "#c2185b", "#7e57c2", "#8d6e63", "#00838f", "#9e9d24"];

/** [r, g, b] of "#rrggbb". */
export function rgb(hex) {
  return [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
}

// NumPy's rint: halves go to the even neighbour.
function rint(v) {
  const f = Math.floor(v);
  const d = v - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** An n-entry table (Uint8Array of length 3n, r g b r g b ...) of map `name`, as html.colormap(name, n). */
export function colormap(name, n = 256) {
  const anchors = ANCHORS[name];
  if (!anchors) throw new Error(`unknown colour map ${name}; use one of ${Object.keys(ANCHORS).sort().join(", ")}`);
  const colors = anchors.map(rgb);
  const table = new Uint8Array(3 * n);
  const segments = colors.length - 1;
  for (let i = 0; i < n; i++) {
    const x = n === 1 ? 0 : i / (n - 1);
    const where = x * segments;
    const k = Math.min(segments - 1, Math.floor(where));
    const lo = k / segments;
    const hi = (k + 1) / segments;
    const t = (x - lo) / (hi - lo);
    for (let c = 0; c < 3; c++) table[3 * i + c] = rint(colors[k][c] + t * (colors[k + 1][c] - colors[k][c]));
  }
  return table;
}

/** The range a map spans: symmetric about zero for diverging maps (as html.value_range). */
export function valueRange(lo, hi, name) {
  if (lo === null || hi === null || lo === undefined || hi === undefined) return [0, 1];
  if (DIVERGING.has(name)) {
    const m = Math.max(Math.abs(lo), Math.abs(hi));
    return [-m, m];
  }
  return [lo, hi];
}

/** "rgb(r, g, b)" of value v on [lo, hi] with `table` (from colormap); NaN/±Inf get their own colours. */
export function colorOf(v, lo, hi, table) {
  if (Number.isNaN(v)) return NAN_COLOR;
  if (v === Infinity) return POSINF_COLOR;
  if (v === -Infinity) return NEGINF_COLOR;
  const n = table.length / 3;
  const t = hi > lo ? Math.min(1, Math.max(0, (v - lo) / (hi - lo))) : 0.5;
  const i = rint(t * (n - 1));
  return `rgb(${table[3 * i]}, ${table[3 * i + 1]}, ${table[3 * i + 2]})`;
}
