// Number formatting shared by the widgets: the same text as nbgrad.display.html.format_number.

/** 4 significant digits, no trailing zeros; exponent form outside [1e-3, 1e6). */
export function formatNumber(x, digits = 4) {
  if (x === null || x === undefined) return "–";
  if (Number.isNaN(x)) return "nan";
  if (x === Infinity) return "inf";
  if (x === -Infinity) return "-inf";
  if (x === 0) return "0";
  if (Number.isInteger(x) && Math.abs(x) < 1e15 && digits >= String(Math.abs(x)).length) return String(x);
  const magnitude = Math.floor(Math.log10(Math.abs(x)));
  if (magnitude >= -3 && magnitude < 6) {
    const text = x.toFixed(Math.max(0, digits - 1 - magnitude));
    return text.includes(".") ? text.replace(/0+$/, "").replace(/\.$/, "") : text;
  }
  let [mantissa, exponent] = x.toExponential(digits - 1).split("e");
  mantissa = mantissa.includes(".") ? mantissa.replace(/0+$/, "").replace(/\.$/, "") : mantissa;
  const sign = exponent[0] === "-" ? "-" : "+";
  const e = exponent.replace(/^[+-]/, "").padStart(2, "0");
  return `${mantissa}e${sign}${e}`;
}

/** Escape text for HTML content and attribute values. */
export function escapeHtml(text) {
  return String(text)
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#x27;");
}
