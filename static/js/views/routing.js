// Section "routing": routing by agreement, iteration by iteration. For the chosen iteration and digit j,
// the 32x6x6 maps of coupling coefficients c_ij and agreement u_hat_j|i . v_j (canvas grids); a plotly
// chart of how the routing mass moves between digits; controls for the number of iterations (re-analyzes).
// The c map is drawn relative to uniform coupling, c - 1/J on a diverging scale of ± the map's largest
// |c - 1/J|, because with trained weights most c_ij stay near 1/J and the absolute 0-1 scale shows one
// flat colour; a switch brings the absolute scale back.

import { diverging, sequential } from '../colormap.js';
import { $, el, fmt, setText, sig } from '../dom.js';
import { TileGrid } from '../draw.js';
import { legend } from '../legend.js';
import { baseLayout, plot } from '../plots.js';
import { maxAbs, slice } from '../tensor.js';

// Tableau 10: distinguishable lines for ten digits, also for common colour-vision deficiencies.
export const DIGIT_COLORS = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f',
  '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];

export class RoutingView {
  constructor(root, actions, shapes) {
    this.s = shapes;
    const grid = (id) => new TileGrid($(id, root), {
      count: shapes.types, tileW: shapes.grid, tileH: shapes.grid, cols: 8, scale: 9, gap: 5, cellMode: true,
      onHover: (at) => this.#hover(at), onSelect: (at) => this.#hover(at),
    });
    this.cGrid = grid('#routing-c');
    this.agreementGrid = grid('#routing-agreement');
    this.iterationsInput = $('#routing-iterations', root);
    this.uniformInput = $('#uniform-routing', root);
    this.stepInput = $('#routing-step', root);
    this.stepLabel = $('#routing-step-label', root);
    this.readout = $('#routing-readout', root);
    this.cCaption = $('#routing-c-caption', root);
    this.agreementCaption = $('#routing-agreement-caption', root);
    this.cLegend = $('#routing-c-legend', root);
    this.agreementLegend = $('#routing-agreement-legend', root);
    this.massPlot = $('#routing-mass', root);
    // Built here rather than in the HTML: one switch that only this view reads.
    this.absoluteInput = el('input', { type: 'checkbox', id: 'routing-c-absolute' });
    this.cLegend.after(el('label', { class: 'check', for: 'routing-c-absolute' }, this.absoluteInput,
      el('span', { text: ' absolute scale (0–1)' })));
    this.absoluteInput.addEventListener('change', () => { this.last = { ...this.last, routing: null }; this.render({ ...this.lastData }); });
    this.iterationsInput.addEventListener('change', () => {
      const n = Math.round(Number(this.iterationsInput.value));
      if (n >= 1 && n <= shapes.iterationsMax) actions.iterations(n);
      else this.iterationsInput.value = String(this.last.iterations ?? 3);
    });
    this.uniformInput.addEventListener('change', () => actions.uniform(this.uniformInput.checked));
    this.stepInput.addEventListener('input', () => actions.step(Number(this.stepInput.value) - 1));
    const picker = $('#routing-digits', root);
    this.digitInputs = [];
    for (let j = 0; j < shapes.digits; j++) {
      const input = el('input', { type: 'radio', name: 'routing-digit', value: j, id: `routing-digit-${j}` });
      input.addEventListener('change', () => actions.digit(j));
      this.digitInputs.push(input);
      picker.append(el('span', { class: 'digit-option' }, input, el('label', { for: input.id, text: String(j) })));
    }
    this.last = {};
  }

  // data: {routing: [{c, agreement, mass, lengths}] decoded, step, digit, iterations, uniform, prediction}
  render(data) {
    const { routing, step, digit, iterations, uniform } = data;
    if (Number(this.iterationsInput.value) !== iterations) this.iterationsInput.value = String(iterations);
    this.uniformInput.checked = uniform;
    const changed = ['routing', 'step', 'digit'].some((k) => data[k] !== this.last[k]);
    this.last = data;
    this.lastData = data;
    if (!routing || !changed) return undefined;
    const n = routing.length;
    this.stepInput.max = String(n);
    this.stepInput.value = String(step + 1);
    setText(this.stepLabel, `${step + 1} of ${n}`);
    this.digitInputs[digit].checked = true;
    this.digitInputs.forEach((input, j) => input.nextSibling.setAttribute('title', `digit ${j}: ${fmt(routing[step].mass[j] * 100, 1)} % of the routing mass`));
    const it = routing[step];
    const even = 1 / this.s.digits; // uniform coupling, 1/J
    const c = slice(it.c, digit);
    if (this.absoluteInput.checked) {
      this.cGrid.draw(c, sequential, 0, 1);
      legend(this.cLegend, 'sequential', 0, 1, 'c_ij');
    } else {
      const rel = c.map((x) => x - even);
      // c comes quantised (uint8, step it.c.scale): differences below one step are rounding, not routing.
      const m = Math.max(maxAbs(rel), it.c.scale);
      this.cGrid.draw(rel, diverging, -m, m);
      legend(this.cLegend, 'diverging', -m, m, `c_ij − ${sig(even)}`);
    }
    const a = it.agreement.scale * 127 || 1; // int8 encoding: the largest |agreement| is 127 steps
    this.agreementGrid.draw(slice(it.agreement, digit), diverging, -a, a);
    setText(this.cCaption, this.absoluteInput.checked
      ? `c_ij for digit ${digit}, iteration ${step + 1}. Each capsule's c_ij sum to 1 over the ${this.s.digits} digits.`
      : `c_ij − 1/${this.s.digits} for digit ${digit}, iteration ${step + 1}: red capsules send digit ${digit} more than uniform coupling would, blue less.`);
    setText(this.agreementCaption, `Agreement û_j|i · v_j for digit ${digit}, iteration ${step + 1}.`);
    legend(this.agreementLegend, 'diverging', -a, a, 'û·v');
    setText(this.readout, `Iteration ${step + 1}: digit ${digit} receives ${fmt(it.mass[digit] * 100, 1)} % of the routing mass; |v_${digit}| = ${fmt(it.lengths[digit], 3)}.`);
    return this.#massChart(routing, step, digit);
  }

  #hover(at) {
    const { routing, step, digit } = this.last;
    if (!at || !routing) return;
    const it = routing[step];
    const cell = at.tile * this.s.cells + at.y * this.s.grid + at.x;
    const c = it.c.data[digit * this.s.primary + cell];
    const agreement = it.agreement.data[digit * this.s.primary + cell];
    setText(this.readout, `Capsule type ${at.tile}, row ${at.y}, column ${at.x} → digit ${digit}, iteration ${step + 1}: `
      + `c = ${fmt(c, 3)}, agreement = ${sig(agreement)}.`);
    this.cGrid.cursor = at;
    this.cGrid.paint();
    this.agreementGrid.cursor = at;
    this.agreementGrid.paint();
  }

  #massChart(routing, step, digit) {
    const x = routing.map((_, i) => i + 1);
    const traces = [];
    for (let j = 0; j < this.s.digits; j++) {
      traces.push({
        type: 'scatter', mode: 'lines+markers', name: String(j), x, y: routing.map((it) => it.mass[j]),
        line: { color: DIGIT_COLORS[j], width: j === digit ? 4 : 1.5 },
        marker: { size: j === digit ? 8 : 5 },
        hovertemplate: `digit ${j}, iteration %{x}: %{y:.1%}<extra></extra>`,
      });
    }
    const uniform = 1 / this.s.digits;
    const all = routing.flatMap((it) => it.mass).concat([uniform]);
    const lo = Math.min(...all), hi = Math.max(...all), pad = Math.max((hi - lo) * 0.08, 0.002);
    const layout = baseLayout({
      height: 260,
      margin: { l: 52, r: 12, t: 30, b: 40 },
      xaxis: { title: { text: 'iteration' }, dtick: 1, range: [0.7, routing.length + 0.3], fixedrange: true },
      yaxis: { title: { text: 'share of mass' }, tickformat: hi - lo < 0.05 ? '.1%' : '.0%', range: [Math.max(0, lo - pad), hi + pad], fixedrange: true },
      legend: { orientation: 'h', x: 0, y: 1, yanchor: 'bottom', font: { size: 11 } },
      shapes: [{ type: 'line', xref: 'x', yref: 'paper', x0: step + 1, x1: step + 1, y0: 0, y1: 1,
        line: { color: '#8a8f98', dash: 'dot', width: 1 } },
      { type: 'line', xref: 'paper', yref: 'y', x0: 0, x1: 1, y0: uniform, y1: uniform, line: { color: '#1f2328', dash: 'dash', width: 1 } }],
      annotations: [{ xref: 'paper', yref: 'y', x: 1, y: uniform, xanchor: 'right', yanchor: 'bottom', showarrow: false,
        text: `uniform ${fmt(uniform * 100, 0)} %`, font: { size: 11 } }],
    });
    return plot(this.massPlot, traces, layout);
  }
}
