// Section "confusion": the 10×10 confusion matrix as a plotly heat map. The diagonal (correct answers,
// hundreds per cell) is drawn in neutral grey so that it does not drown the mistakes; off-diagonal cells
// are coloured by their count on a log scale (reversed viridis: colour-blind safe, darker = more often),
// with a legend drawn on a canvas. A cell is chosen by clicking the heat map or one of the buttons (the
// keyboard path); the chosen cell's test digits are listed by ConfusionView's onSelect callback.

import { el } from '../dom.js';
import { baseLayout, plot } from '../plots.js';
import { sequential } from '../colormap.js';

// Heat-map values: [0, 0.045) the diagonal, [0.045, 0.095) no mistakes, [0.095, 1] mistakes, log scale.
const Z_CORRECT = 0.02;
const Z_NONE = 0.07;
const Z_LOW = 0.1;
const GREY = '#c9ced4';
const NONE = '#ffffff';
const HIGHLIGHT = '#ff3d8b';

// viridis reversed: few mistakes light yellow, many dark purple.
const ERROR_STOPS = sequential.plotly.map(([p, c]) => [1 - p, c]).reverse();

export const COLORSCALE = [[0, GREY], [0.045, GREY], [0.045, NONE], [0.095, NONE],
  ...ERROR_STOPS.map(([p, c]) => [Z_LOW + (1 - Z_LOW) * p, c])];

// log10 of the largest count the legend spans (at least 2, so one mistake is not the darkest colour).
export function logMax(confusion) {
  let max = 1;
  confusion.forEach((row, i) => row.forEach((c, j) => { if (i !== j) max = Math.max(max, c); }));
  return Math.log10(Math.max(max, 2));
}

export function cellValue(count, diagonal, top) {
  if (diagonal) return Z_CORRECT;
  if (count <= 0) return Z_NONE;
  return Z_LOW + (1 - Z_LOW) * Math.min(1, Math.log10(count) / top);
}

// CSS colour of position t in [0, 1] along the mistakes' scale.
function errorColor(t) {
  const i = Math.round((1 - t) * 255) * 3;
  return `rgb(${sequential.lut[i]}, ${sequential.lut[i + 1]}, ${sequential.lut[i + 2]})`;
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
    this.listening = false;
  }

  render(confusion) {
    this.confusion = confusion;
    const top = logMax(confusion);
    const hasMistakes = confusion.some((row, i) => row.some((c, j) => i !== j && c > 0));
    drawLegend(this.legend, top, hasMistakes);
    this.renderButtons(confusion);
    return this.draw().then(() => this.listen());
  }

  draw() {
    const confusion = this.confusion;
    const top = logMax(confusion);
    const digits = confusion.map((_, d) => d);
    const z = confusion.map((row, i) => row.map((c, j) => cellValue(c, i === j, top)));
    const text = confusion.map((row, i) => row.map((c, j) => (i === j || c > 0 ? String(c) : '')));
    const hover = confusion.map((row, i) => row.map((c, j) => (i === j
      ? `${plural(c, 'test digit')} read correctly` : `${plural(c, 'test digit')} read as ${j}`)));
    const width = this.chart.clientWidth || 400;
    const side = Math.min(width, 480);
    const shapes = this.selected ? [{
      type: 'rect', xref: 'x', yref: 'y', x0: this.selected[1] - 0.5, x1: this.selected[1] + 0.5,
      y0: this.selected[0] - 0.5, y1: this.selected[0] + 0.5, line: { color: HIGHLIGHT, width: 3 },
    }] : [];
    return plot(this.chart, [{
      type: 'heatmap', x: digits, y: digits, z, zmin: 0, zmax: 1, colorscale: COLORSCALE, showscale: false,
      xgap: 1, ygap: 1, text, texttemplate: '%{text}', textfont: { size: side < 360 ? 9 : 12 },
      customdata: hover, hovertemplate: 'true %{y}, answered %{x}: %{customdata}<extra></extra>',
    }], baseLayout({
      height: side, margin: { l: 48, r: 8, t: 8, b: 44 }, plot_bgcolor: '#ffffff', shapes,
      xaxis: { title: { text: 'answered (predicted)' }, dtick: 1, side: 'bottom', constrain: 'domain', fixedrange: true },
      yaxis: { title: { text: 'true digit' }, dtick: 1, autorange: 'reversed', scaleanchor: 'x', constrain: 'domain',
        fixedrange: true },
    }));
  }

  listen() {
    if (this.listening) return;
    this.listening = true;
    this.chart.on('plotly_click', (event) => {
      const point = event.points && event.points[0];
      if (point) this.select(Number(point.y), Number(point.x));
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
    this.draw();
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
