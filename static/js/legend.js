// One colour legend for every heat map: "lo [gradient] hi", the gradient a CSS class (the page's
// Content-Security-Policy forbids inline styles) matching colormap.js's map, the ends in numbers.
// A legend element is a <span class="legend-row"> in the HTML; legend() fills it.

import { el, sig } from './dom.js';

const GRADIENT = { sequential: 'legend-sequential', diverging: 'legend-diverging', grayscale: 'legend-grayscale' };

// kind: 'sequential' | 'diverging' | 'grayscale'; lo and hi: numbers (shown with two significant digits)
// or text. Redraws only when something changed, so render() can call it every time.
export function legend(node, kind, lo, hi, label = '') {
  const text = (v) => (typeof v === 'number' ? sig(v) : String(v));
  const key = `${kind}|${text(lo)}|${text(hi)}|${label}`;
  if (node.dataset.legend === key) return;
  node.dataset.legend = key;
  node.dataset.lo = text(lo);
  node.dataset.hi = text(hi);
  node.replaceChildren(
    ...(label ? [el('span', { class: 'legend-label', text: label })] : []),
    el('span', { class: 'legend-end', text: text(lo) }),
    el('span', { class: `legend ${GRADIENT[kind]}`, 'aria-hidden': 'true' }),
    el('span', { class: 'legend-end', text: text(hi) }),
  );
}
