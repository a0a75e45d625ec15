// Decodes the API's tensor encoding (app/encoding.py): {shape, dtype, data: base64 little-endian C-order, scale}.
// Values are raw * scale. Pure functions, no DOM.

const ELEMENT_TYPES = { float32: Float32Array, float16: Uint16Array, uint8: Uint8Array, int8: Int8Array };

let halfTable = null;

// Every one of the 65536 float16 bit patterns as a float32, built once (256 KB).
function halfToFloatTable() {
  if (halfTable) return halfTable;
  halfTable = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exponent = (h >> 10) & 0x1f;
    const fraction = h & 0x3ff;
    let value;
    if (exponent === 0) value = fraction * 2 ** -24; // subnormal
    else if (exponent === 31) value = fraction ? NaN : Infinity;
    else value = (1 + fraction / 1024) * 2 ** (exponent - 15);
    halfTable[h] = sign * value;
  }
  return halfTable;
}

function base64ToBytes(text) {
  if (typeof Uint8Array.fromBase64 === 'function') return Uint8Array.fromBase64(text);
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

// {shape, dtype, data, scale} -> {shape, data: Float32Array of the values, scale, raw: the typed array as sent}
export function decode(tensor) {
  const Type = ELEMENT_TYPES[tensor.dtype];
  if (!Type) throw new Error(`unknown tensor dtype ${tensor.dtype}`);
  const bytes = base64ToBytes(tensor.data);
  const raw = new Type(bytes.buffer, bytes.byteOffset, bytes.byteLength / Type.BYTES_PER_ELEMENT);
  const size = tensor.shape.reduce((a, b) => a * b, 1);
  if (raw.length !== size) throw new Error(`tensor data has ${raw.length} values, shape ${tensor.shape} needs ${size}`);
  const data = new Float32Array(size);
  if (tensor.dtype === 'float16') {
    const table = halfToFloatTable();
    for (let i = 0; i < size; i++) data[i] = table[raw[i]];
  } else {
    const scale = tensor.scale ?? 1;
    for (let i = 0; i < size; i++) data[i] = raw[i] * scale;
  }
  return { shape: tensor.shape, data, scale: tensor.scale ?? 1, raw };
}

// Values of the sub-tensor at `index` along the first axis (a view, no copy).
export function slice(tensor, index) {
  const inner = tensor.shape.slice(1).reduce((a, b) => a * b, 1);
  return tensor.data.subarray(index * inner, (index + 1) * inner);
}

// Largest absolute value, for colour scales symmetric around 0.
export function maxAbs(values) {
  let m = 0;
  for (let i = 0; i < values.length; i++) m = Math.max(m, Math.abs(values[i]));
  return m;
}

export function max(values) {
  let m = -Infinity;
  for (let i = 0; i < values.length; i++) m = Math.max(m, values[i]);
  return m;
}

// Row-major (rows, cols) values -> array of row arrays, for plotly heat maps.
export function toRows(values, rows, cols) {
  const out = [];
  for (let r = 0; r < rows; r++) out.push(Array.from(values.subarray(r * cols, (r + 1) * cols)));
  return out;
}
