// One capsule, step by step: bars of u_i beside its pre-squash vector, W_ij as a 16x8 heat map, bars of
// u_hat_j|i and of c_ij u_hat_j|i for the chosen iteration, bars of s_j and v_j, and the squash curve with
// |pre-squash| -> |u_i| and |s_j| -> |v_j| (every iteration) marked on it. The numbers are the server's.

import { diverging } from '../colormap.js';
import { $, el, fmt, setText, sig } from '../dom.js';
import { legend } from '../legend.js';
import { baseLayout, heatmap, plot } from '../plots.js';
import { maxAbs, slice, toRows } from '../tensor.js';

const GREY = '#b8bcc4', BLUE = '#4e79a7', ORANGE = '#e15759';
const range = (n) => Array.from({ length: n }, (_, k) => k + 1);

function bars(a, b, names, title) {
  const x = range(a.length);
  return {
    data: [
      { type: 'bar', x, y: Array.from(a), name: names[0], marker: { color: GREY }, hovertemplate: `${names[0]} [%{x}] = %{y:.5f}<extra></extra>` },
      { type: 'bar', x, y: Array.from(b), name: names[1], marker: { color: BLUE }, hovertemplate: `${names[1]} [%{x}] = %{y:.5f}<extra></extra>` },
    ],
    layout: baseLayout({
      // The title on its own line at the top and the legend on the next: side by side they collided at 390 px.
      height: 216, barmode: 'group', margin: { l: 48, r: 8, t: 44, b: 30 },
      title: { text: title, font: { size: 12 }, x: 0, xanchor: 'left', y: 1, yref: 'container', yanchor: 'top', pad: { t: 4 } },
      legend: { orientation: 'h', x: 0, xanchor: 'left', y: 1.02, yanchor: 'bottom', font: { size: 11 } },
      xaxis: { dtick: 1, fixedrange: true }, yaxis: { fixedrange: true, zeroline: true },
    }),
  };
}

export class CapsuleStepsView {
  constructor(root, shapes, actions) {
    Object.assign(this, { s: shapes, root, last: null });
    this.capsuleInput = $('#capsule-steps-capsule', root);
    this.capsuleInput.max = String(shapes.primary - 1);
    this.digitSelect = $('#capsule-steps-digit', root);
    for (let j = 0; j < shapes.digits; j++) this.digitSelect.append(el('option', { value: j, text: String(j) }));
    this.stepInput = $('#capsule-steps-step', root);
    this.stepLabel = $('#capsule-steps-step-label', root);
    this.status = $('#capsule-steps-status', root);
    this.where = $('#capsule-steps-where', root);
    this.numbers = $('#capsule-steps-numbers', root);
    this.wLegend = $('#capsule-steps-W-legend', root);
    this.capsuleInput.addEventListener('change', () => {
      const i = Math.round(Number(this.capsuleInput.value));
      if (i >= 0 && i < shapes.primary) actions.capsule(i);
    });
    this.digitSelect.addEventListener('change', () => actions.digit(Number(this.digitSelect.value)));
    this.stepInput.addEventListener('input', () => actions.step(Number(this.stepInput.value) - 1));
  }

  async render(state) {
    setText(this.status, state.error ?? (state.busy ? 'Computing…' : ''));
    this.root.setAttribute('aria-busy', String(Boolean(state.busy)));
    if (state.capsule !== null) this.capsuleInput.value = String(state.capsule);
    const r = state.result;
    if (!r || state.step === null || (this.last && r === this.last.result && state.step === this.last.step)) return false;
    this.last = state;
    const step = state.step, n = r.iterations, D = this.s.dim;
    this.digitSelect.value = String(r.digit);
    this.stepInput.max = String(n);
    this.stepInput.value = String(step + 1);
    setText(this.stepLabel, `${step + 1} of ${n}`);
    setText(this.where, `Primary capsule ${r.capsule} (type ${r.type}, row ${r.row}, column ${r.col}) → digit ${r.digit}.`);
    const j = r.digit;
    const c = r.c[step];
    const items = [
      ['1 · u_i = squash(pre-squash)', `|pre-squash| ${fmt(r.u_raw_length, 4)} → |u_i| ${fmt(r.u_length, 4)}`],
      ['2 · û_j|i = W_ij u_i', `|û_${j}|i| ${fmt(r.u_hat_length, 4)}`],
      ['3 · × c_ij', r.c.map((x, k) => `c(${k + 1}) = ${fmt(x, 5)}`).join(', ')],
      [`4 · s_${j} = Σ_i c_ij û_${j}|i, v_${j} = squash(s_${j})`,
        r.s_lengths.map((x, k) => `iteration ${k + 1}: |s| ${fmt(x, 4)} → |v| ${fmt(r.v_lengths[k], 4)}`).join('; ')],
    ];
    this.numbers.replaceChildren(...items.map(([k, v]) => el('li', {}, el('strong', { text: `${k}: ` }), el('span', { text: v }))));
    this.numbers.dataset.c = JSON.stringify(r.c);
    const u = bars(r.u_raw.data, r.u.data, ['pre-squash', 'u_i'], `u_i (${this.s.primaryDim}-D) and its pre-squash vector`);
    const w = maxAbs(r.W.data) || 1;
    const W = [heatmap(toRows(r.W.data, D, this.s.primaryDim), {
      colorscale: diverging.plotly, zmin: -w, zmax: w, x: range(this.s.primaryDim), y: range(D),
      hovertemplate: 'W[%{y}, %{x}] = %{z:.5f}<extra></extra>',
    })];
    const wLayout = baseLayout({ height: 260, margin: { l: 36, r: 8, t: 24, b: 30 },
      title: { text: `W_${r.capsule},${j} (${D}×${this.s.primaryDim})`, font: { size: 12 }, x: 0, xanchor: 'left' },
      xaxis: { dtick: 1, fixedrange: true }, yaxis: { dtick: 1, autorange: 'reversed', fixedrange: true } });
    legend(this.wLegend, 'diverging', -w, w, 'W_ij');
    const uh = bars(r.u_hat.data, slice(r.contribution, step), ['û_j|i', `c_ij û_j|i (c = ${sig(c)})`], `û_${j}|i = W u_i and its contribution, iteration ${step + 1}`);
    const sv = bars(slice(r.s, step), slice(r.v, step), [`s_${j}`, `v_${j}`], `s_${j} = Σ_i c_ij û_${j}|i and v_${j} = squash(s_${j}), iteration ${step + 1}`);
    const curve = r.squash_curve;
    const squash = [
      { type: 'scatter', mode: 'lines', x: curve.length_in, y: curve.length_out, name: '|squash(s)|', line: { color: GREY, width: 2 }, hoverinfo: 'skip' },
      { type: 'scatter', mode: 'markers+text', x: [r.u_raw_length], y: [r.u_length], text: ['u_i'], textposition: 'bottom right',
        name: 'primary', marker: { color: ORANGE, size: 10 }, hovertemplate: '|pre-squash| %{x:.4f} → |u_i| %{y:.4f}<extra></extra>' },
      { type: 'scatter', mode: 'markers+text', x: r.s_lengths, y: r.v_lengths, text: r.s_lengths.map((_, k) => `v(${k + 1})`),
        textposition: 'top left', name: `digit ${j}`, marker: { color: BLUE, size: r.s_lengths.map((_, k) => (k === step ? 12 : 7)) },
        hovertemplate: `|s_${j}| %{x:.4f} → |v_${j}| %{y:.4f}<extra></extra>` },
    ];
    const squashLayout = baseLayout({ height: 260, margin: { l: 44, r: 24, t: 30, b: 36 }, showlegend: false,
      title: { text: 'squash: |s| → |s|² / (1 + |s|²)', font: { size: 12 }, x: 0, xanchor: 'left' },
      xaxis: { title: { text: 'length in' }, fixedrange: true }, yaxis: { title: { text: 'length out' }, range: [0, 1.1], fixedrange: true } }); // room for the labels near 1
    await Promise.all([
      plot($('#capsule-steps-u', this.root), u.data, u.layout), plot($('#capsule-steps-W', this.root), W, wLayout),
      plot($('#capsule-steps-uhat', this.root), uh.data, uh.layout), plot($('#capsule-steps-sv', this.root), sv.data, sv.layout),
      plot($('#capsule-steps-squash', this.root), squash, squashLayout),
    ]);
    return true;
  }
}
