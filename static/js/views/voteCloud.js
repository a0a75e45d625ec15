// The vote cloud view: for each of two digits a plotly scatter of the N votes u_hat_j|i in the fixed 2-D
// projection the server chose (axis 1 = v_j's direction after the last iteration), point area and opacity
// by c_ij of the chosen iteration, colour by agreement u_hat . v_j; the weighted mean s_j / sum_i c_ij per
// iteration as a numbered path and v_j's direction as a dashed ray; below, the c-weighted distribution of
// the agreement. The axes, sizes and colour ranges are fixed across iterations, so stepping moves weights.

import { diverging } from '../colormap.js';
import { $, fmt, setText, sig } from '../dom.js';
import { legend } from '../legend.js';
import { baseLayout, plot } from '../plots.js';
import { fieldBox, fieldText } from '../receptiveField.js';
import { maxAbs, slice } from '../tensor.js';

const MIN_SIZE = 2, MAX_SIZE = 16; // marker diameter in px: c = 0 .. the cloud's largest c_ij
const PLAY_MS = 900;

export class VoteCloudView {
  constructor(root, shapes, field, actions) {
    Object.assign(this, { s: shapes, field, actions, root, last: null });
    this.stepInput = $('#vote-cloud-step', root);
    this.stepLabel = $('#vote-cloud-step-label', root);
    this.status = $('#vote-cloud-status', root);
    this.readout = $('#vote-cloud-readout', root);
    this.summary = $('#vote-cloud-summary', root);
    this.panels = [0, 1].map((k) => ({
      plot: $(`#vote-cloud-${k}`, root), hist: $(`#vote-cloud-hist-${k}`, root),
      caption: $(`#vote-cloud-caption-${k}`, root), legend: $(`#vote-cloud-legend-${k}`, root),
      figure: $(`#vote-cloud-${k}`, root).closest('figure'),
    }));
    this.stepInput.addEventListener('input', () => actions.step(Number(this.stepInput.value) - 1));
    this.playButton = $('#vote-cloud-play', root);
    this.playButton.addEventListener('click', () => this.#play());
  }

  // Steps 1 .. n once, one iteration every PLAY_MS.
  #play() {
    const n = this.last?.result?.iterations ?? 0;
    if (!n || this.timer) return;
    let r = 0;
    this.actions.step(r);
    this.timer = setInterval(() => {
      r += 1;
      if (r >= n) { clearInterval(this.timer); this.timer = null; return; }
      this.actions.step(r);
    }, PLAY_MS);
  }

  // state: {step, result, busy, error}. Resolves to true when clouds were drawn.
  async render(state) {
    setText(this.status, state.error ?? (state.busy ? 'Computing the votes…' : ''));
    this.root.setAttribute('aria-busy', String(Boolean(state.busy)));
    const { result } = state;
    // A play started for an answer with more iterations may still be stepping: stay within this one.
    const step = state.step === null ? null : Math.min(state.step, (result?.iterations ?? 1) - 1);
    if (!result || step === null || (this.last && result === this.last.result && step === this.last.step)) return false;
    this.last = state;
    const n = result.iterations;
    this.stepInput.max = String(n);
    this.stepInput.value = String(step + 1);
    setText(this.stepLabel, `${step + 1} of ${n}`);
    this.panels.forEach((p, k) => { p.figure.hidden = k >= result.digits.length; });
    await Promise.all(result.digits.map((d, k) => this.#panel(this.panels[k], d, result, step, k)));
    const [p, q] = result.digits;
    const w = (d) => sig(d.weighted_agreement[step]);
    setText(this.summary, q
      ? `Iteration ${step + 1}: the c-weighted mean agreement of digit ${p.digit}'s votes is ${w(p)}, of digit ${q.digit}'s ${w(q)}`
        + ` (${p.weighted_agreement[step] > q.weighted_agreement[step] ? 'the prediction\'s votes agree more' : 'the runner-up\'s votes agree as much or more'}).`
      : `Iteration ${step + 1}: the c-weighted mean agreement of digit ${p.digit}'s votes is ${w(p)}.`);
    return true;
  }

  #panel(panel, d, result, step, k) {
    const N = this.s.primary;
    const xy = d.coords.data;
    const c = slice(d.c, step), a = slice(d.agreement, step);
    const cMax = Math.max(...d.c.data) || 1; // over every iteration: the sizes of one cloud stay comparable
    const aMax = maxAbs(d.agreement.data) || 1;
    const x = new Array(N), y = new Array(N), size = new Array(N), opacity = new Array(N), custom = new Array(N);
    const lengths = result.primary_lengths.data;
    for (let i = 0; i < N; i++) {
      x[i] = xy[2 * i]; y[i] = xy[2 * i + 1];
      const share = c[i] / cMax;
      size[i] = MIN_SIZE + (MAX_SIZE - MIN_SIZE) * Math.sqrt(share);
      opacity[i] = 0.15 + 0.85 * share;
      custom[i] = i;
    }
    const reach = Math.max(maxAbs(xy), 1e-9) * 1.08; // the v_j ray's length
    const bounds = (k) => { // this axis's data and the origin, padded; fixed across iterations
      let lo = 0, hi = 0;
      for (let i = k; i < xy.length; i += 2) { lo = Math.min(lo, xy[i]); hi = Math.max(hi, xy[i]); }
      const pad = (hi - lo) * 0.06 || 1e-9;
      return [lo - pad, hi + pad];
    };
    const mean = d.mean.slice(0, step + 1);
    const v = d.v[step];
    const vNorm = Math.hypot(v[0], v[1]) || 1;
    const traces = [
      {
        type: 'scatter', mode: 'markers', x, y, customdata: custom, name: 'votes',
        marker: { size, opacity, color: Array.from(a), cmin: -aMax, cmax: aMax, colorscale: diverging.plotly, showscale: false, line: { width: 0 } },
        text: custom.map((i) => this.#pointText(i, c[i], a[i], lengths[i])), hoverinfo: 'text',
      },
      {
        type: 'scatter', mode: 'lines+markers+text', x: mean.map((m) => m[0]), y: mean.map((m) => m[1]),
        text: mean.map((_, r) => String(r + 1)), textposition: 'top center', name: 'weighted mean',
        line: { color: '#1f2328', width: 2 }, marker: { size: 9, color: '#1f2328', symbol: 'x' },
        hovertemplate: `weighted mean s_${d.digit} / Σc after iteration %{text}: (%{x:.4f}, %{y:.4f})<extra></extra>`,
      },
      {
        type: 'scatter', mode: 'lines', x: [0, (v[0] / vNorm) * reach], y: [0, (v[1] / vNorm) * reach],
        name: `v_${d.digit} direction`, line: { color: '#b35806', width: 2, dash: 'dash' },
        hovertemplate: `direction of v_${d.digit}, iteration ${step + 1}: |v| = ${fmt(d.lengths[step], 3)}<extra></extra>`,
      },
    ];
    const layout = baseLayout({
      height: 340, margin: { l: 48, r: 8, t: 8, b: 40 }, showlegend: false, hovermode: 'closest',
      xaxis: { title: { text: `along v_${d.digit}` }, range: bounds(0), zeroline: true, fixedrange: true },
      yaxis: { title: { text: 'top orthogonal direction' }, range: bounds(1), zeroline: true, fixedrange: true },
    });
    legend(panel.legend, 'diverging', -aMax, aMax, `û·v_${d.digit}`);
    setText(panel.caption, `Digit ${d.digit} (${k === 0 ? 'prediction' : 'runner-up'}), iteration ${step + 1}: ${N} votes; `
      + `area and opacity ∝ c_ij (largest ${sig(cMax)}), colour û·v_${d.digit}. The plane keeps `
      + `${fmt(d.projection.variance_kept * 100, 1)} % of the c-weighted variance of the votes. |v_${d.digit}| = ${fmt(d.lengths[step], 3)}.`);
    const bins = { start: -aMax, end: aMax, size: (2 * aMax) / 40 };
    const total = c.reduce((s, w) => s + w, 0) || 1;
    const hist = [{
      type: 'histogram', x: Array.from(a), y: Array.from(c, (w) => w / total), histfunc: 'sum', xbins: bins,
      marker: { color: '#4e79a7' }, hovertemplate: 'û·v %{x}: %{y:.1%} of the c mass<extra></extra>',
    }];
    const median = d.weighted_median[step];
    const histLayout = baseLayout({
      height: 150, margin: { l: 48, r: 8, t: 8, b: 36 }, bargap: 0.05,
      xaxis: { title: { text: `û·v_${d.digit}, weighted by c (median ${sig(median)})` }, range: [-aMax, aMax], fixedrange: true },
      yaxis: { tickformat: '.0%', fixedrange: true },
      shapes: [{ type: 'line', xref: 'x', yref: 'paper', x0: median, x1: median, y0: 0, y1: 1, line: { color: '#b35806', width: 2 } }],
    });
    const drawn = Promise.all([plot(panel.plot, traces, layout), plot(panel.hist, hist, histLayout)]);
    return drawn.then(() => this.#bind(panel.plot, d.digit));
  }

  #pointText(i, c, a, length) {
    const g = this.s.grid, cells = this.s.cells;
    const type = Math.floor(i / cells), row = Math.floor((i % cells) / g), col = i % g;
    return `capsule ${i}: type ${type}, row ${row}, col ${col}<br>${fieldText(fieldBox(this.field, row, col))}`
      + `<br>|u| ${fmt(length, 3)}, c ${fmt(c, 4)}, û·v ${sig(a)}`;
  }

  // Plotly's events, once per chart; the digit a click opens is read when it happens.
  #bind(node, digit) {
    node.dataset.digit = String(digit);
    if (node.dataset.bound || !node.on) return;
    node.dataset.bound = '1';
    node.on('plotly_click', (e) => {
      const pt = e.points.find((p) => p.curveNumber === 0);
      if (pt) this.actions.pick(pt.customdata, Number(node.dataset.digit));
    });
    node.on('plotly_hover', (e) => {
      const pt = e.points.find((p) => p.curveNumber === 0);
      if (pt) setText(this.readout, pt.text.replaceAll('<br>', '; '));
    });
  }
}
