// Binary buffers from the kernel (ipywidgets hands them over as DataViews) as typed arrays.

/** A Float64Array over a DataView / ArrayBuffer / typed array (copied when misaligned); empty for null. */
export function float64(buffer) {
  if (!buffer) return new Float64Array(0);
  if (buffer instanceof Float64Array) return buffer;
  const bytes = buffer instanceof ArrayBuffer ? new Uint8Array(buffer)
    : new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  if (bytes.byteOffset % 8 === 0 && bytes.byteLength % 8 === 0) {
    return new Float64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 8);
  }
  return new Float64Array(bytes.slice(0, bytes.byteLength - (bytes.byteLength % 8)).buffer);
}

/** Split a row-major float64 buffer of `columns` columns into one Float64Array per column. */
export function columns(buffer, count) {
  const flat = float64(buffer);
  const rows = Math.floor(flat.length / count);
  const out = Array.from({ length: count }, () => new Float64Array(rows));
  for (let i = 0; i < rows; i++) for (let c = 0; c < count; c++) out[c][i] = flat[i * count + c];
  return out;
}
