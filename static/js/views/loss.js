// The loss for this input: stacked bars per digit of the margin loss's two terms (present: label's
// max(0, m+ − |v|)², absent: λ max(0, |v| − m−)² of the others), the input, the reconstruction from the
// label's capsule and their difference x − x̂ (diverging), and the total.

import { diverging, grayscale } from '../colormap.js';
import { $, el, fmt, setText, sig } from '../dom.js';
import { drawImage } from '../draw.js';
import { legend } from '../legend.js';
import { baseLayout, plot } from '../plots.js';
import { maxAbs } from '../tensor.js';

const SCALE = 5;

export class LossView {
  constructor(root, shapes, actions) {
    Object.assign(this, { s: shapes, root, last: null });
    this.labelSelect = $('#loss-label', root);
    this.labelSelect.append(el('option', { value: '', text: 'the prediction' }));
    for (let j = 0; j < shapes.digits; j++) this.labelSelect.append(el('option', { value: j, text: String(j) }));
    this.labelSelect.addEventListener('change', () => actions.label(this.labelSelect.value === '' ? null : Number(this.labelSelect.value)));
    this.status = $('#loss-status', root);
    this.total = $('#loss-total', root);
    this.diffLegend = $('#loss-difference-legend', root);
  }

  async render(state) {
    setText(this.status, state.error ?? (state.busy ? 'Computing…' : ''));
    this.root.setAttribute('aria-busy', String(Boolean(state.busy)));
    this.labelSelect.value = state.label === null ? '' : String(state.label);
    const r = state.result;
    if (!r || r === this.last) return false;
    this.last = r;
    const k = r.label, m = r.margin, rec = r.reconstruction, n = this.s.image;
    this.total.dataset.total = String(r.total);
    setText(this.total, `Label ${k}${k === r.prediction ? ' (the prediction)' : ` (the prediction is ${r.prediction})`}: margin loss ${sig(m.total)} `
      + `+ reconstruction loss ${r.constants.reconstruction_weight} × ${fmt(rec.squared_error, 3)} = ${sig(rec.loss)} → total ${fmt(r.total, 4)}.`);
    const d = maxAbs(rec.difference.data) || 1;
    drawImage($('#loss-input', this.root), this.input(r), n, n, grayscale, 0, 1, SCALE);
    drawImage($('#loss-reconstruction', this.root), rec.image.data, n, n, grayscale, 0, 1, SCALE);
    drawImage($('#loss-difference', this.root), rec.difference.data, n, n, diverging, -d, d, SCALE);
    legend(this.diffLegend, 'diverging', -d, d, 'x − x̂');
    const x = Array.from({ length: this.s.digits }, (_, j) => j);
    const { m_plus: mp, m_minus: mm, lambda } = r.constants;
    const data = [
      { type: 'bar', x, y: m.present, name: `T_k max(0, ${mp} − |v_k|)²`, marker: { color: '#4e79a7' },
        hovertemplate: `digit %{x}: present term %{y:.5f}<extra></extra>` },
      { type: 'bar', x, y: m.absent, name: `${lambda} (1 − T_k) max(0, |v_k| − ${mm})²`, marker: { color: '#e15759' },
        hovertemplate: `digit %{x}: absent term %{y:.5f}<extra></extra>` },
    ];
    const layout = baseLayout({
      height: 240, barmode: 'stack', margin: { l: 52, r: 8, t: 8, b: 40 },
      legend: { orientation: 'h', x: 0, y: 1, yanchor: 'bottom', font: { size: 11 } },
      xaxis: { title: { text: `digit k (label ${k})` }, dtick: 1, fixedrange: true },
      yaxis: { title: { text: 'margin loss' }, rangemode: 'tozero', fixedrange: true },
    });
    await plot($('#loss-margin', this.root), data, layout);
    return true;
  }

  // x = x̂ + (x − x̂): the input the loss compared, from the two images the server sent.
  input(r) {
    const a = r.reconstruction.image.data, b = r.reconstruction.difference.data;
    return a.map((v, i) => v + b[i]);
  }
}
