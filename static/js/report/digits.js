// Small pictures of test digits from the report, each a button with its top-2 capsule lengths that opens
// the digit in the visualizer (openDigit.js). Used by the galleries and the confusion-cell detail.

import { el, fmt } from '../dom.js';
import { digitBytes, openDigit } from './openDigit.js';

function drawDigit(canvas, bytes) {
  const ctx = canvas.getContext('2d');
  const image = ctx.createImageData(28, 28);
  for (let i = 0; i < 784; i++) {
    image.data.set([bytes[i], bytes[i], bytes[i], 255], i * 4);
  }
  ctx.putImageData(image, 0, 0);
}

const SUBSCRIPT = '₀₁₂₃₄₅₆₇₈₉';


// One digit as a button: picture, "true → predicted" (or "true ✓"), the two longest capsules.
export function digitButton(digit) {
  const wrong = digit.label !== digit.predicted;
  const canvas = el('canvas', { width: 28, height: 28, class: 'pixelated', 'aria-hidden': 'true' });
  drawDigit(canvas, digitBytes(digit.pixels));
  const verdict = wrong ? `${digit.label} → ${digit.predicted}` : `${digit.label} ✓`;
  // The accessible name is the visible text plus words for what the symbols say (a hidden span, not an
  // aria-label: WCAG 2.5.3 wants the visible text inside the name, and a spoken command to match it).
  const words = ` test digit ${digit.index}, a ${digit.label} ${wrong ? `read as ${digit.predicted}` : 'read correctly'}; `
    + 'open it in the visualizer';
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
