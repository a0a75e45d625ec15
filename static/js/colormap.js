// Colour maps shared by canvas drawings and plotly charts, so a value has one colour everywhere.
// Sequential: viridis (colour-blind safe). Diverging: ColorBrewer RdBu (blue < 0 < red, white at 0).
// Pure functions, no DOM.

const VIRIDIS = ['#440154', '#472d7b', '#3b528b', '#2c728e', '#21918c', '#28ae80', '#5ec962', '#addc30', '#fde725'];
const RDBU = ['#053061', '#2166ac', '#4393c3', '#92c5de', '#d1e5f0', '#f7f7f7',
  '#fddbc7', '#f4a582', '#d6604d', '#b2182b', '#67001f'];

function hexToRgb(hex) {
  const n = parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

// 256 RGB triples interpolated linearly between evenly spaced stops, flat in a Uint8Array.
function lut(stops) {
  const rgb = stops.map(hexToRgb);
  const out = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) {
    const t = (i / 255) * (rgb.length - 1);
    const k = Math.min(Math.floor(t), rgb.length - 2);
    const f = t - k;
    for (let c = 0; c < 3; c++) out[i * 3 + c] = Math.round(rgb[k][c] * (1 - f) + rgb[k + 1][c] * f);
  }
  return out;
}

function plotlyScale(stops) {
  return stops.map((color, i) => [i / (stops.length - 1), color]);
}

function gray() {
  const out = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) out.fill(i, i * 3, i * 3 + 3);
  return out;
}

export const sequential = { lut: lut(VIRIDIS), plotly: plotlyScale(VIRIDIS) };
export const diverging = { lut: lut(RDBU), plotly: plotlyScale(RDBU) };
export const grayscale = { lut: gray(), plotly: [[0, '#000000'], [1, '#ffffff']] };

// The LUT index for value v on the range [lo, hi], clamped.
export function index(v, lo, hi) {
  const t = hi > lo ? (v - lo) / (hi - lo) : 0;
  return Math.max(0, Math.min(255, Math.round(t * 255)));
}

// CSS colour of one value, for legends.
export function css(map, v, lo, hi) {
  const i = index(v, lo, hi) * 3;
  return `rgb(${map.lut[i]}, ${map.lut[i + 1]}, ${map.lut[i + 2]})`;
}
