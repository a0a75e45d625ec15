// Opening a test digit of the report in the main view (the visualizer at "/").
//
// Contract between this page and the main page: clicking a digit stores it in sessionStorage under the
// key "capsnet.openDigit" as JSON {"pixels": [[28 floats in 0..1] x 28 rows], "label": n, "index": i}
// (the MNIST test index), then navigates to "/#open". The main page, on load with the hash "#open",
// reads that entry, removes it, and analyzes it with POST /api/analyze {pixels: ...}.

import { withModel } from '../modelPicker.js';
import { decode } from '../tensor.js';

export const OPEN_DIGIT_KEY = 'capsnet.openDigit';
export const OPEN_DIGIT_URL = '/#open';

// The report's base64 string of 784 uint8 values -> Uint8Array(784), row-major 28×28.
export function digitBytes(pixels) {
  return decode({ shape: [28, 28], dtype: 'uint8', data: pixels, scale: 1 }).raw;
}

// 784 uint8 values -> 28 rows of 28 numbers in [0, 1].
export function toRows(bytes) {
  const rows = [];
  for (let r = 0; r < 28; r++) rows.push(Array.from(bytes.subarray(r * 28, (r + 1) * 28), (v) => v / 255));
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

// For the main page: the digit waiting to be opened (and forget it), or null.
export function takeOpenDigit() {
  let entry = null;
  try {
    entry = JSON.parse(sessionStorage.getItem(OPEN_DIGIT_KEY) || 'null');
    sessionStorage.removeItem(OPEN_DIGIT_KEY);
  } catch {
    return null;
  }
  const valid = entry && Array.isArray(entry.pixels) && entry.pixels.length === 28
    && entry.pixels.every((row) => Array.isArray(row) && row.length === 28);
  return valid ? entry : null;
}
