// Opening a test digit of the report in the main view (the visualizer at "/").
//
// Contract between this page and the main page: clicking a digit stores it in sessionStorage under the
// key "capsnet.openDigit" as JSON {"pixels": [[side floats in 0..1] x side rows], "label": n, "index": i}
// (the test index; side: the report's model's input), then navigates to "/?model=<the report's>#open". The main page, on load with the hash "#open",
// reads that entry, removes it, and analyzes it with POST /api/analyze {pixels: ...}.

import { withModel } from '../modelPicker.js';
import { decode } from '../tensor.js';

export const OPEN_DIGIT_KEY = 'capsnet.openDigit';
export const OPEN_DIGIT_URL = '/#open';

// The side of a square image held in base64 (4 characters per 3 bytes, '=' padding).
export function sideOf(pixels) {
  const bytes = (pixels.length * 3) / 4 - (pixels.endsWith('==') ? 2 : pixels.endsWith('=') ? 1 : 0);
  return Math.round(Math.sqrt(bytes));
}

// The report's base64 string of side² uint8 values -> Uint8Array, row-major side × side.
export function digitBytes(pixels) {
  const side = sideOf(pixels);
  return decode({ shape: [side, side], dtype: 'uint8', data: pixels, scale: 1 }).raw;
}

// side² uint8 values -> side rows of side numbers in [0, 1].
export function toRows(bytes) {
  const side = Math.round(Math.sqrt(bytes.length));
  const rows = [];
  for (let r = 0; r < side; r++) rows.push(Array.from(bytes.subarray(r * side, (r + 1) * side), (v) => v / 255));
  return rows;
}

// digit: one entry of the report's misclassified / lowest_margin lists.
export function openDigit(digit) {
  const entry = { pixels: toRows(digitBytes(digit.pixels)), label: digit.label, index: digit.index };
  try {
    sessionStorage.setItem(OPEN_DIGIT_KEY, JSON.stringify(entry));
  } catch {
    // Storage disabled or full: the main page then simply opens with its default sample.
  }
  window.location.assign(withModel(OPEN_DIGIT_URL)); // the report's model, in the visualizer too
}

// For the main page: the digit waiting to be opened (and forget it), or null; side: the page's model's
// input side, which the digit's pixels must have.
export function takeOpenDigit(side) {
  let entry = null;
  try {
    entry = JSON.parse(sessionStorage.getItem(OPEN_DIGIT_KEY) || 'null');
    sessionStorage.removeItem(OPEN_DIGIT_KEY);
  } catch {
    return null;
  }
  const valid = entry && Array.isArray(entry.pixels) && entry.pixels.length === side
    && entry.pixels.every((row) => Array.isArray(row) && row.length === side);
  return valid ? entry : null;
}
