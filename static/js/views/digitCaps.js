// Section "digit_caps": the prediction shown big, the 10 capsule lengths as a plotly bar chart with the
// margin-loss lines at 0.9 and 0.1, and the 10x16 capsule vectors as a heat map.

import { diverging } from '../colormap.js';
import { $, fmt, setText } from '../dom.js';
import { legend } from '../legend.js';
import { baseLayout, heatmap, plot } from '../plots.js';
import { maxAbs, toRows } from '../tensor.js';


export class DigitCapsView {
  constructor(root, shapes) {
    this.s = shapes;
    this.digits = [...Array(shapes.digits).keys()];
    this.prediction = $('#prediction', root);
    this.detail = $('#prediction-detail', root);
    this.lengthsPlot = $('#digit-lengths', root);
    this.vectorsPlot = $('#digit-vectors', root);
    this.vectorsLegend = $('#digit-vectors-legend', root);
    this.last = null;
  }

  // data: {digitCaps: {vectors decoded (10,16), lengths[10]}, prediction} or nulls
  render({ digitCaps, prediction }) {
    if (digitCaps === this.last) return undefined;
    this.last = digitCaps;
    if (!digitCaps) return undefined;
    const { lengths, vectors } = digitCaps;
    const sorted = [...lengths].sort((a, b) => b - a);
    setText(this.prediction, String(prediction));
    setText(this.detail, `|v_${prediction}| = ${fmt(lengths[prediction], 3)}; runner-up ${fmt(sorted[1], 3)}.`
      + (lengths[prediction] < 0.5 ? ' The network is not sure.' : ''));
    return Promise.all([this.#lengths(lengths, prediction), this.#vectors(vectors)]);
  }

  #lengths(lengths, prediction) {
    const margin = (y, text) => [
      { type: 'line', xref: 'paper', x0: 0, x1: 1, y0: y, y1: y, line: { color: '#57606a', dash: 'dash', width: 1 } },
      { xref: 'paper', x: 1, y, text, showarrow: false, xanchor: 'right', yanchor: 'bottom', font: { size: 10, color: '#57606a' } },
    ];
    const [l9, a9] = margin(0.9, 'm⁺ = 0.9');
    const [l1, a1] = margin(0.1, 'm⁻ = 0.1');
    return plot(this.lengthsPlot, [{
      type: 'bar', x: this.digits.map(String), y: lengths,
      marker: { color: this.digits.map((j) => (j === prediction ? '#b2182b' : '#8a9bb5')) },
      hovertemplate: 'digit %{x}: |v| = %{y:.3f}<extra></extra>',
    }], baseLayout({
      height: 260,
      xaxis: { title: { text: 'digit capsule j' }, type: 'category', fixedrange: true },
      yaxis: { title: { text: '|v_j|' }, range: [0, 1], fixedrange: true },
      shapes: [l9, l1],
      annotations: [a9, a1],
    }));
  }

  #vectors(vectors) {
    const s = maxAbs(vectors.data) || 1;
    legend(this.vectorsLegend, 'diverging', -s, s, 'component');
    return plot(this.vectorsPlot, [heatmap(toRows(vectors.data, this.s.digits, this.s.dim), {
      colorscale: diverging.plotly, zmin: -s, zmax: s,
      x: [...Array(this.s.dim).keys()].map((d) => d + 1), y: this.digits,
      hovertemplate: 'digit %{y}, dimension %{x}: %{z:.3f}<extra></extra>',
    })], baseLayout({
      height: 300,
      margin: { l: 44, r: 12, t: 8, b: 40 },
      xaxis: { title: { text: 'dimension' }, dtick: 1, fixedrange: true, showgrid: false },
      yaxis: { title: { text: 'digit' }, dtick: 1, autorange: 'reversed', fixedrange: true, showgrid: false },
    }));
  }
}
