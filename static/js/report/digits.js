// Small pictures of test digits from the report, each a button with its top-2 capsule lengths that opens
// the digit in the visualizer (openDigit.js). Used by the galleries and the confusion-cell detail. A
// MultiMNIST report's entries are pairs ("labels": both digits; "label": the one missed, or the weaker).

import { el, fmt } from '../dom.js';
import { digitBytes, openDigit } from './openDigit.js';

function drawDigit(canvas, bytes, side) {
  const ctx = canvas.getContext('2d');
  const image = ctx.createImageData(side, side);
  for (let i = 0; i < side * side; i++) {
    image.data.set([bytes[i], bytes[i], bytes[i], 255], i * 4);
  }
  ctx.putImageData(image, 0, 0);
}

const SUBSCRIPT = '₀₁₂₃₄₅₆₇₈₉';


// One digit as a button: picture, "true → predicted" (or "true ✓"), the two longest capsules.
export function digitButton(digit) {
  const wrong = digit.label !== digit.predicted;
  const bytes = digitBytes(digit.pixels);
  const side = Math.round(Math.sqrt(bytes.length));
  const canvas = el('canvas', { width: side, height: side, class: 'pixelated', 'aria-hidden': 'true' });
  drawDigit(canvas, bytes, side);
  const pair = Array.isArray(digit.labels);
  const truth = pair ? digit.labels.join('+') : String(digit.label);
  const mistake = `${digit.label} → ${digit.predicted}`;
  const verdict = wrong ? (pair ? `${truth}: ${mistake}` : mistake) : `${truth} ✓`;
  // The accessible name is the visible text plus words for what the symbols say (a hidden span, not an
  // aria-label: WCAG 2.5.3 wants the visible text inside the name, and a spoken command to match it).
  const what = pair ? `test pair ${digit.index}, a ${digit.labels[0]} and a ${digit.labels[1]}` : `test digit ${digit.index}, a ${digit.label}`;
  const read = pair ? (wrong ? `the ${digit.label} read as ${digit.predicted}` : 'both read correctly')
    : (wrong ? `read as ${digit.predicted}` : 'read correctly');
  const words = ` ${what} ${read}; open it in the visualizer`;
  const button = el('button', { type: 'button', class: wrong ? 'digit wrong' : 'digit',
    title: `#${digit.index}`, dataset: { index: digit.index } },
  canvas,
  el('span', { class: 'digit-verdict', text: verdict }),
  // Three decimals: close calls differ in the third.
  ...digit.top2.map(([d, length]) => el('span', { class: 'digit-lengths', text: `|v${SUBSCRIPT[d]}| ${fmt(length, 3)}` })),
  el('span', { class: 'visually-hidden', text: words }));
  button.addEventListener('click', () => openDigit(digit));
  return button;
}

// Fills container with buttons for `digits`, showing the first `limit` and a "show all" button for the rest.
export function renderDigits(container, digits, { limit = Infinity, more = null } = {}) {
  const show = (n) => container.replaceChildren(...digits.slice(0, n).map(digitButton));
  show(limit);
  if (!more) return;
  more.hidden = digits.length <= limit;
  more.textContent = `Show all ${digits.length}`;
  more.onclick = () => {
    show(digits.length);
    more.hidden = true;
  };
}
