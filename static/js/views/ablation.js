// Section "ablation" ("Does routing matter?"): the 10 capsule lengths with uniform coupling (no routing)
// beside those after n = 1..10 iterations (the page's own control, no new request), each digit's length
// against the iteration count, and the change of the coupling coefficients Δc from iteration r − 1 to r as a
// 32×6×6 difference map for one digit, with the mean |Δc| of every digit per step. Draws what /api/ablation
// sent (decoded by main.js); reports the iteration count, step and digit through callbacks.

import { diverging } from '../colormap.js';
import { $, el, fmt, setText, sig } from '../dom.js';
import { TileGrid } from '../draw.js';
import { legend } from '../legend.js';
import { baseLayout, plot } from '../plots.js';
import { maxAbs, slice } from '../tensor.js';
import { DIGIT_COLORS } from './routing.js';

const MARGIN_LINE = { color: '#57606a', dash: 'dash', width: 1 };

// [4, 4, 4, 7, 7] -> "4 for 1–3 iterations, 7 for 4–5"
function runs(predictions) {
  const parts = [];
  let start = 0;
  for (let i = 1; i <= predictions.length; i++) {
    if (i < predictions.length && predictions[i] === predictions[start]) continue;
    const span = i - start === 1 ? `${start + 1}` : `${start + 1}–${i}`;
    parts.push(`${predictions[start]} for ${span}${parts.length ? '' : (i - start === 1 ? ' iteration' : ' iterations')}`);
    start = i;
  }
  return parts.join(', ');
}

export class AblationView {
  constructor(root, actions, shapes) {
    this.s = shapes;
    this.digits = [...Array(shapes.digits).keys()];
    this.iterationsInput = $('#ablation-iterations', root);
    this.iterationsLabel = $('#ablation-iterations-label', root);
    this.stepInput = $('#ablation-step', root);
    this.stepLabel = $('#ablation-step-label', root);
    this.conclusion = $('#ablation-conclusion', root);
    this.uniformPlot = $('#ablation-uniform', root);
    this.routedPlot = $('#ablation-routed', root);
    this.uniformCaption = $('#ablation-uniform-caption', root);
    this.routedCaption = $('#ablation-routed-caption', root);
    this.curvesPlot = $('#ablation-curves', root);
    this.convergencePlot = $('#ablation-convergence', root);
    this.deltaCaption = $('#ablation-delta-caption', root);
    this.deltaRange = $('#ablation-delta-range', root);
    this.deltaLegend = $('#ablation-delta-legend', root);
    this.readout = $('#ablation-readout', root);
    this.grid = new TileGrid($('#ablation-delta', root), {
      count: shapes.types, tileW: shapes.grid, tileH: shapes.grid, cols: 8, scale: 9, gap: 5, cellMode: true,
      onHover: (at) => this.#hover(at), onSelect: (at) => this.#hover(at),
    });
    this.iterationsInput.addEventListener('input', () => actions.iterations(Number(this.iterationsInput.value)));
    this.stepInput.addEventListener('input', () => actions.step(Number(this.stepInput.value)));
    const picker = $('#ablation-digits', root);
    this.digitInputs = this.digits.map((j) => {
      const input = el('input', { type: 'radio', name: 'ablation-digit', value: j, id: `ablation-digit-${j}` });
      input.addEventListener('change', () => actions.digit(j));
      picker.append(el('span', { class: 'digit-option' }, input, el('label', { for: input.id, text: String(j) })));
      return input;
    });
    this.last = {};
  }

  // data: {result: /api/ablation decoded | null, n: iterations on the right (1..10), step: r (2..10),
  //        digit: the digit picked for Δc, busy, error}
  render(data) {
    const { result, n, step, digit, busy, error } = data;
    const last = this.last;
    this.last = data;
    if (Number(this.iterationsInput.value) !== n) this.iterationsInput.value = String(n);
    setText(this.iterationsLabel, `n = ${n}`);
    if (Number(this.stepInput.value) !== step) this.stepInput.value = String(step);
    setText(this.stepLabel, `${step - 1} → ${step}`);
    this.digitInputs[digit].checked = true;
    this.iterationsInput.disabled = this.stepInput.disabled = !result;
    this.conclusion.classList.toggle('is-error', Boolean(error));
    if (!result) {
      setText(this.conclusion, error ?? (busy ? 'Comparing routing iterations…' : 'Analyze a digit first.'));
      return undefined;
    }
    setText(this.conclusion, error ?? this.#conclusion(result, n));
    const fresh = result !== last.result;
    const pending = [];
    if (fresh) pending.push(this.#bars(this.uniformPlot, result.uniform.lengths.data, result.uniform.prediction));
    if (fresh || n !== last.n) {
      const lengths = slice(result.lengths, n - 1);
      pending.push(this.#bars(this.routedPlot, lengths, result.predictions[n - 1]));
      this.#captions(result, n);
    }
    if (fresh || n !== last.n || result.digit !== last.result?.digit) pending.push(this.#curves(result, n));
    if (fresh || step !== last.step) {
      this.#map(result, step);
      pending.push(this.#convergence(result, step));
    }
    return Promise.all(pending);
  }

  #conclusion(result, n) {
    const U = result.uniform.lengths.data;
    const R = slice(result.lengths, n - 1);
    const pu = result.uniform.prediction;
    const pn = result.predictions[n - 1];
    let k = 0;
    this.digits.forEach((j) => { if (Math.abs(R[j] - U[j]) > Math.abs(R[k] - U[k])) k = j; });
    const d = R[k] - U[k];
    const all = new Set(result.predictions).size === 1
      ? `The prediction is ${pn} for every count 1–${result.predictions.length}.`
      : `The prediction changes with the count: ${runs(result.predictions)}.`;
    if (d === 0) {
      const why = n === 1 ? 'after 1 iteration the coupling is still uniform, so both sides are the same computation'
        : `routing leaves every length unchanged after ${n} iterations`;
      return `Identical: ${why} (prediction ${pn}). ${all}`;
    }
    const answer = pu === pn ? `Routing keeps the answer ${pn}`
      : `Routing changes the answer from ${pu} (no routing) to ${pn} (${n} iterations)`;
    return `${answer}; the largest length change is |v_${k}| ${fmt(U[k], 3)} → ${fmt(R[k], 3)} `
      + `(${d > 0 ? '+' : '−'}${fmt(Math.abs(d), 3)}). ${all} ${this.#moved(result, n)}`;
  }

  // How far the coupling itself moved on the way to n iterations, from the per-step means.
  #moved(result, n) {
    let most = 0;
    for (let r = 2; r <= n; r++) for (const j of this.digits) most = Math.max(most, result.meanAbs.data[(r - 2) * this.s.digits + j]);
    return `Meanwhile c_ij moves by at most ${sig(most)} per step on average (from 0.1).`;
  }

  #captions(result, n) {
    const say = (lengths, p) => `Prediction ${p}, |v_${p}| = ${fmt(lengths[p], 3)}.`;
    setText(this.uniformCaption, say(result.uniform.lengths.data, result.uniform.prediction)
      + ` Every primary capsule sends its vote to all ${this.s.digits} digits equally.`);
    setText(this.routedCaption, say(slice(result.lengths, n - 1), result.predictions[n - 1])
      + (n === 1 ? ' One iteration: the same uniform coupling as on the left.' : ` After ${n} iterations of routing by agreement.`));
  }

  #bars(container, lengths, prediction) {
    const margin = (y) => ({ type: 'line', xref: 'paper', x0: 0, x1: 1, y0: y, y1: y, line: MARGIN_LINE });
    return plot(container, [{
      type: 'bar', x: this.digits.map(String), y: Array.from(lengths),
      marker: { color: this.digits.map((j) => (j === prediction ? '#b2182b' : '#8a9bb5')) },
      hovertemplate: 'digit %{x}: |v| = %{y:.4f}<extra></extra>',
    }], baseLayout({
      height: 240,
      xaxis: { title: { text: 'digit capsule j' }, type: 'category', fixedrange: true },
      yaxis: { title: { text: '|v_j|' }, range: [0, 1], fixedrange: true },
      shapes: [margin(0.9), margin(0.1)],
    }));
  }

  #curves(result, n) {
    const R = result.lengths.shape[0];
    const x = [...Array(R).keys()].map((r) => r + 1);
    const traces = this.digits.map((j) => ({
      type: 'scatter', mode: 'lines+markers', name: String(j), x,
      y: x.map((r) => result.lengths.data[(r - 1) * this.s.digits + j]),
      line: { color: DIGIT_COLORS[j], width: j === result.digit ? 4 : 1.3 },
      marker: { size: j === result.digit ? 7 : 4 },
      hovertemplate: `digit ${j}, %{x} iteration(s): |v| = %{y:.4f}<extra></extra>`,
    }));
    const line = (y) => ({ type: 'line', xref: 'paper', x0: 0, x1: 1, y0: y, y1: y, line: MARGIN_LINE });
    return plot(this.curvesPlot, traces, baseLayout({
      height: 280,
      margin: { l: 44, r: 12, t: 30, b: 40 },
      xaxis: { title: { text: 'routing iterations (1 = uniform coupling)' }, dtick: 1, range: [0.7, R + 0.3], fixedrange: true },
      yaxis: { title: { text: '|v_j|' }, range: [0, 1], fixedrange: true },
      legend: { orientation: 'h', x: 0, y: 1, yanchor: 'bottom', font: { size: 11 } },
      shapes: [line(0.9), line(0.1), { type: 'line', xref: 'x', yref: 'paper', x0: n, x1: n, y0: 0, y1: 1,
        line: { color: '#8a8f98', dash: 'dot', width: 1 } }],
    }));
  }

  #map(result, step) {
    const values = slice(result.deltaC, step - 2);
    const m = maxAbs(values);
    this.grid.draw(values, diverging, -(m || 1), m || 1);
    const j = result.digit;
    setText(this.deltaCaption, `Δc for digit ${j}, iteration ${step - 1} → ${step}: ${this.s.types} capsule types (tiles) × ${this.s.grid}×${this.s.grid} positions.`);
    legend(this.deltaLegend, 'diverging', -(m || 1), m || 1, 'Δc');
    setText(this.deltaRange, m ? '(±the largest |Δc| of this step)' : 'all 0: no capsule changed its coupling');
  }

  #convergence(result, step) {
    const steps = result.deltaC.shape[0];
    const x = [...Array(steps).keys()].map((k) => k + 2);
    const mean = result.meanAbs.data;
    const traces = this.digits.map((j) => ({
      type: 'scatter', mode: 'lines+markers', name: String(j), x,
      // log axis: an exact 0 (nothing moved) cannot be drawn, so it is left out rather than faked
      y: x.map((r) => mean[(r - 2) * this.s.digits + j] || null),
      line: { color: DIGIT_COLORS[j], width: j === result.digit ? 4 : 1.3 },
      marker: { size: j === result.digit ? 7 : 4 },
      hovertemplate: `digit ${j}, step %{x}: mean |Δc| = %{y:.2e}<extra></extra>`,
    }));
    return plot(this.convergencePlot, traces, baseLayout({
      height: 300,
      margin: { l: 64, r: 12, t: 30, b: 40 },
      xaxis: { title: { text: 'step r (iteration r − 1 → r)' }, dtick: 1, range: [1.7, steps + 1.3], fixedrange: true },
      yaxis: { title: { text: 'mean |Δc_ij|' }, type: 'log', dtick: 'D2', exponentformat: 'e', fixedrange: true },
      legend: { orientation: 'h', x: 0, y: 1, yanchor: 'bottom', font: { size: 11 } },
      shapes: [{ type: 'line', xref: 'x', yref: 'paper', x0: step, x1: step, y0: 0, y1: 1,
        line: { color: '#8a8f98', dash: 'dot', width: 1 } }],
    }));
  }

  #hover(at) {
    const { result, step } = this.last;
    if (!at || !result) return;
    const value = result.deltaC.data[(step - 2) * this.s.primary + at.tile * this.s.cells + at.y * this.s.grid + at.x];
    setText(this.readout, `Capsule type ${at.tile}, row ${at.y}, column ${at.x} → digit ${result.digit}, `
      + `iteration ${step - 1} → ${step}: Δc = ${value > 0 ? '+' : ''}${sig(value)}.`);
    this.grid.cursor = at;
    this.grid.paint();
  }
}
