// Section "confusion": the 10×10 confusion matrix as an SVG grid of cells. The diagonal (correct answers,
// hundreds per cell) is drawn in neutral grey so that it does not drown the mistakes; off-diagonal cells
// are coloured by their count on a log scale (reversed viridis: colour-blind safe, darker = more often),
// with a legend drawn on a canvas. A cell is chosen by clicking it or one of the buttons (the keyboard
// path); the chosen cell's test digits are listed by ConfusionView's onSelect callback.

import { el } from '../dom.js';
import { sequential } from '../colormap.js';
import { MARGIN, linearScale, responsive, svg } from './svgChart.js';

const GREY = '#c9ced4';
const NONE = '#ffffff';
const HIGHLIGHT = '#ff3d8b';

// log10 of the largest count the legend spans (at least 2, so one mistake is not the darkest colour).
export function logMax(confusion) {
  let max = 1;
  confusion.forEach((row, i) => row.forEach((c, j) => { if (i !== j) max = Math.max(max, c); }));
  return Math.log10(Math.max(max, 2));
}

// Position t in [0, 1] along the mistakes' scale (viridis reversed: few mistakes light yellow, many dark
// purple), as [r, g, b].
function errorRgb(t) {
  const i = Math.round((1 - t) * 255) * 3;
  return [sequential.lut[i], sequential.lut[i + 1], sequential.lut[i + 2]];
}

function errorColor(t) {
  return `rgb(${errorRgb(t).join(', ')})`;
}

// Fill and text colour of one cell: grey on the diagonal, white without mistakes, else by log count.
export function cellColors(count, diagonal, top) {
  if (diagonal) return [GREY, '#1f2328'];
  if (count <= 0) return [NONE, '#1f2328'];
  const [r, g, b] = errorRgb(Math.min(1, Math.log10(count) / top));
  return [`rgb(${r}, ${g}, ${b})`, 0.299 * r + 0.587 * g + 0.114 * b > 140 ? '#1f2328' : '#ffffff'];
}

function niceTicks(top) {
  const max = 10 ** top;
  const ticks = [];
  for (let decade = 1; decade <= max; decade *= 10) {
    for (const m of [1, 2, 5]) if (m * decade <= max + 1e-9) ticks.push(m * decade);
  }
  return ticks.length > 6 ? ticks.filter((t) => Math.log10(t) % 1 === 0) : ticks;
}

function drawLegend(canvas, top, hasMistakes) {
  const dpr = window.devicePixelRatio || 1;
  const w = 240;
  const h = 34;
  canvas.width = Math.round(w * dpr);
  canvas.height = Math.round(h * dpr);
  const ctx = canvas.getContext('2d');
  ctx.scale(dpr, dpr);
  ctx.clearRect(0, 0, w, h);
  const x0 = 10;
  const x1 = w - 14;
  if (!hasMistakes) {
    canvas.setAttribute('aria-label', 'No mistakes at all in this test set.');
    return;
  }
  for (let x = x0; x < x1; x++) {
    ctx.fillStyle = errorColor((x - x0) / (x1 - x0 - 1));
    ctx.fillRect(x, 2, 1, 12);
  }
  ctx.strokeStyle = '#57606a';
  ctx.strokeRect(x0 - 0.5, 1.5, x1 - x0 + 1, 13);
  ctx.fillStyle = '#1f2328';
  ctx.font = '11px system-ui, sans-serif';
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  const ticks = niceTicks(top);
  for (const t of ticks) {
    const x = x0 + (x1 - x0) * (Math.log10(t) / top);
    ctx.fillRect(Math.round(x) - 0.5, 14, 1, 4);
    ctx.fillText(String(t), x, 20);
  }
  canvas.setAttribute('aria-label', `Colour legend: mistakes per cell on a log scale, light yellow for 1, `
    + `dark purple for ${Math.round(10 ** top)} or more.`);
}

function plural(n, word) {
  return `${n.toLocaleString('en')} ${word}${n === 1 ? '' : 's'}`;
}

export class ConfusionView {
  // elements: {chart, legend, cells, correct}; onSelect(label, predicted) lists the cell's digits.
  constructor(elements, onSelect) {
    Object.assign(this, elements);
    this.onSelect = onSelect;
    this.confusion = null;
    this.selected = null;
  }

  render(confusion) {
    this.confusion = confusion;
    const top = logMax(confusion);
    const hasMistakes = confusion.some((row, i) => row.some((c, j) => i !== j && c > 0));
    drawLegend(this.legend, top, hasMistakes);
    this.renderButtons(confusion);
    this.draw();
  }

  draw() {
    const confusion = this.confusion;
    const top = logMax(confusion);
    const n = confusion.length;
    responsive(this.chart, 'Confusion matrix: rows the true digit, columns the answer. The buttons beside it list '
      + 'every cell.', (w, h) => {
      const m = { l: 48, r: 8, t: 8, b: MARGIN.b };
      const side = Math.min(w - m.l - m.r, h - m.t - m.b);
      const at = linearScale([0, n], [0, side]);
      const cell = at(1);
      const font = side < 300 ? 9 : 12;
      const cells = confusion.flatMap((row, i) => row.map((c, j) => {
        const [fill, ink] = cellColors(c, i === j, top);
        const words = i === j ? `${plural(c, 'test digit')} read correctly` : `${plural(c, 'test digit')} read as ${j}`;
        const g = svg('g', { class: 'cell', 'data-label': i, 'data-predicted': j },
          svg('rect', { x: m.l + at(j) + 0.5, y: m.t + at(i) + 0.5, width: cell - 1, height: cell - 1, fill },
            svg('title', {}, `true ${i}, answered ${j}: ${words}`)),
          i === j || c > 0 ? svg('text', { x: m.l + at(j) + cell / 2, y: m.t + at(i) + cell / 2 + font * 0.35,
            'text-anchor': 'middle', 'font-size': font, fill: ink }, String(c)) : null);
        g.addEventListener('click', () => this.select(i, j));
        return g;
      }));
      const ticks = confusion.map((_, d) => d);
      const sel = this.selected;
      return [
        svg('g', { class: 'cells' }, ...cells),
        svg('g', { class: 'axis axis-x' }, ...ticks.map((d) => svg('text', { x: m.l + at(d) + cell / 2, y: m.t + side + 16,
          'text-anchor': 'middle' }, String(d))), svg('text', { class: 'axis-title', x: m.l + side / 2, y: m.t + side + 36,
          'text-anchor': 'middle' }, 'answered (predicted)')),
        svg('g', { class: 'axis axis-y' }, ...ticks.map((d) => svg('text', { x: m.l - 8, y: m.t + at(d) + cell / 2 + 4,
          'text-anchor': 'end' }, String(d))), svg('text', { class: 'axis-title', x: 14, y: m.t + side / 2,
          'text-anchor': 'middle', transform: `rotate(-90 14 ${m.t + side / 2})` }, 'true digit')),
        sel ? svg('rect', { class: 'selected-cell', x: m.l + at(sel[1]), y: m.t + at(sel[0]), width: cell, height: cell,
          fill: 'none', stroke: HIGHLIGHT, 'stroke-width': 3 }) : null,
      ];
    });
  }

  renderButtons(confusion) {
    const mistakes = [];
    confusion.forEach((row, i) => row.forEach((c, j) => { if (i !== j && c > 0) mistakes.push([c, i, j]); }));
    mistakes.sort((a, b) => b[0] - a[0] || a[1] - b[1] || a[2] - b[2]);
    // The accessible name is the visible text, then the same in words (a hidden span, not an aria-label:
    // WCAG 2.5.3 wants the visible text inside the name).
    const button = (i, j, text, words) => {
      const b = el('button', { type: 'button', class: 'cell', 'aria-pressed': 'false', dataset: { label: i, predicted: j } },
        text, el('span', { class: 'visually-hidden', text: ` ${words}` }));
      b.addEventListener('click', () => this.select(i, j));
      return b;
    };
    this.cells.replaceChildren(...mistakes.map(([c, i, j]) => button(i, j, `${i} → ${j}: ${c}`,
      `(${plural(c, 'test digit')}: true ${i}, answered ${j})`)));
    if (mistakes.length === 0) this.cells.append(el('p', { class: 'hint', text: 'None: every test digit is read correctly.' }));
    this.correct.replaceChildren(...confusion.map((row, d) => button(d, d, `${d} ✓ ${row[d]}`,
      `(digit ${d}: ${plural(row[d], 'test digit')} read correctly)`)));
  }

  select(label, predicted) {
    if (!this.confusion || !(label >= 0 && label < 10 && predicted >= 0 && predicted < 10)) return;
    this.selected = [label, predicted];
    for (const b of [...this.cells.children, ...this.correct.children]) {
      const on = Number(b.dataset.label) === label && Number(b.dataset.predicted) === predicted;
      b.setAttribute('aria-pressed', String(on));
    }
    this.chart._redraw();
    this.onSelect(label, predicted, this.confusion[label][predicted]);
  }
}

export function describeCell(report, label, predicted, count) {
  if (label !== predicted) {
    const digits = report.misclassified.filter((d) => d.label === label && d.predicted === predicted);
    return { title: `True ${label}, answered ${predicted}: ${plural(count, 'test digit')}`,
      text: 'Click one to open it in the visualizer and see why.', digits };
  }
  const total = report.confusion[label].reduce((a, b) => a + b, 0);
  const pct = total ? ((100 * count) / total).toFixed(2) : '0';
  const digits = report.lowest_margin.filter((d) => d.label === label);
  const closest = digits.length
    ? `The ${digits.length === 1 ? 'one' : digits.length} with the smallest gap between the two longest capsules `
      + `(of the ${report.lowest_margin.length} closest calls overall):`
    : `None of them is among the ${report.lowest_margin.length} closest calls.`;
  return { title: `Digit ${label}: ${count.toLocaleString('en')} of ${plural(total, 'test digit')} read correctly (${pct} %)`,
    text: closest, digits };
}
