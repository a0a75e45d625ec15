// Section "equivariance": six labelled transform sliders (rotate, shift, scale, shear, thickness) whose
// re-analysis shows beside the untransformed input, with two bar charts of how the capsules responded (the 10
// lengths and the 16 dimensions of the predicted capsule, untransformed in grey beside transformed), and a
// sweep of one transform across its range drawn as two plotly charts (the 10 capsule lengths; the 16
// dimensions of the predicted digit's capsule) over a strip of the transformed inputs. Reports slider moves,
// reset and sweep through callbacks.

import { grayscale } from '../colormap.js';
import { $, el, fmt, setText } from '../dom.js';
import { drawImage } from '../draw.js';
import { baseLayout, plot } from '../plots.js';
import { DIGIT_COLORS } from './routing.js';

// name -> slider range and how a value reads; the identity is where the sweep's prediction is taken.
export const TRANSFORMS = {
  rotate: { label: 'Rotate', min: -45, max: 45, step: 1, identity: 0, show: (v) => `${fmt(v, 0)}°` },
  shift_x: { label: 'Shift x', min: -6, max: 6, step: 1, identity: 0, show: (v) => `${fmt(v, 0)} px` },
  shift_y: { label: 'Shift y', min: -6, max: 6, step: 1, identity: 0, show: (v) => `${fmt(v, 0)} px` },
  scale: { label: 'Scale', min: 0.7, max: 1.3, step: 0.01, identity: 1, show: (v) => `×${fmt(v, 2)}` },
  shear: { label: 'Shear', min: -0.5, max: 0.5, step: 0.01, identity: 0, show: (v) => fmt(v, 2) },
  thickness: { label: 'Thickness', min: -1, max: 1, step: 0.1, identity: 0, show: (v) => `${fmt(v, 1)} px` },
};

export const identityTransform = () =>
  Object.fromEntries(Object.entries(TRANSFORMS).map(([name, t]) => [name, t.identity]));

export const isIdentity = (transform) => Object.entries(TRANSFORMS).every(([name, t]) => transform[name] === t.identity);

const MARGIN_LINE = { color: '#57606a', dash: 'dash', width: 1 };
const BEFORE = '#afb8c1'; // the untransformed bars: grey, so the transformed colour reads as "now"
const AFTER = '#0969da';
// Dimensions are numbered 1..16 everywhere on the page.
const dimLabels = (n) => [...Array(n).keys()].map((k) => `d${k + 1}`);

export class EquivarianceView {
  constructor(root, actions, shapes) {
    this.s = shapes;
    this.digitLabels = [...Array(shapes.digits).keys()].map(String);
    this.dimLabels = dimLabels(shapes.dim);
    this.original = $('#equivariance-original', root);
    this.transformed = $('#equivariance-transformed', root);
    this.readout = $('#equivariance-readout', root);
    this.parameter = $('#equivariance-parameter', root);
    this.sweepButton = $('#equivariance-sweep', root);
    this.resetButton = $('#equivariance-reset', root);
    this.sweepStatus = $('#equivariance-sweep-status', root);
    this.lengthsPlot = $('#equivariance-lengths', root);
    this.dimsPlot = $('#equivariance-dims', root);
    this.dimsCaption = $('#equivariance-dims-caption', root);
    this.strip = $('#equivariance-strip', root);
    this.results = $('#equivariance-results', root);
    this.responseLengths = $('#equivariance-response-lengths', root);
    this.responseDims = $('#equivariance-response-dims', root);
    this.responseLengthsCaption = $('#equivariance-response-lengths-caption', root);
    this.responseDimsCaption = $('#equivariance-response-dims-caption', root);
    const box = $('#equivariance-sliders', root);
    this.sliders = {};
    this.outputs = {};
    for (const [name, t] of Object.entries(TRANSFORMS)) {
      const id = `equivariance-${name.replace('_', '-')}`;
      const slider = el('input', { type: 'range', id, min: t.min, max: t.max, step: t.step, value: t.identity });
      const output = el('output', { for: id, class: 'slider-value' });
      slider.addEventListener('input', () => actions.change(name, Number(slider.value)));
      box.append(el('div', { class: 'slider' }, el('label', { for: id, text: t.label }), slider, output));
      this.sliders[name] = slider;
      this.outputs[name] = output;
      this.parameter.append(el('option', { value: name, text: t.label.toLowerCase() }));
    }
    this.resetButton.addEventListener('click', () => actions.reset());
    this.sweepButton.addEventListener('click', () => actions.sweep(this.parameter.value));
    this.last = {};
  }

  // data: {original: decoded (S,S) input (S: the model's input side) | null, reference: the walk's untransformed {lengths, vectors
  // (10,16), prediction} | null, transform: {name: value}, result: {input, lengths, vectors, prediction} | null,
  // sweep: {parameter, values, images, lengths, vectors, digit} | null, busy, sweeping, error}
  render(data) {
    const { original, reference, transform, result, sweep, busy, sweeping, error } = data;
    const ready = Boolean(original);
    for (const [name, t] of Object.entries(TRANSFORMS)) {
      const slider = this.sliders[name];
      slider.disabled = !ready;
      if (Number(slider.value) !== transform[name]) slider.value = String(transform[name]);
      setText(this.outputs[name], t.show(transform[name]));
    }
    this.sweepButton.disabled = !ready || sweeping;
    this.resetButton.disabled = !ready;
    if (original !== this.last.original && original) drawImage(this.original, original.data, this.s.image, this.s.image, grayscale, 0, 1);
    if (result !== this.last.result || original !== this.last.original) {
      const image = result?.input ?? original;
      if (image) drawImage(this.transformed, image.data, this.s.image, this.s.image, grayscale, 0, 1);
    }
    setText(this.readout, error ?? this.#readout(ready, result, busy));
    this.readout.classList.toggle('is-error', Boolean(error));
    setText(this.sweepStatus, sweeping ? 'sweeping…' : sweep ? '' : 'Choose a transform and press Sweep.');
    this.results.hidden = !sweep; // before plotting, so plotly measures the visible width
    const pending = [];
    // The untransformed input is its own transformed result. A non-identity transform with no result yet (the
    // walk's input just changed) shows only grey; a newer transform in flight keeps the last blue bars.
    const now = result ?? (isIdentity(transform) ? reference : null);
    // main.js builds `reference` anew each render; its decoded arrays are what change with a new analysis.
    const changed = reference?.vectors !== this.last.reference?.vectors || now?.vectors !== this.last.now?.vectors;
    if (reference && changed) pending.push(...this.#response(reference, now));
    data = { ...data, now };
    if (sweep !== this.last.sweep && sweep) pending.push(this.#lengths(sweep), this.#dims(sweep), this.#strip(sweep));
    this.last = data;
    return Promise.all(pending);
  }

  #readout(ready, result, busy) {
    if (!ready) return 'Analyze a digit first.';
    if (busy) return 'analyzing the transformed input…';
    if (!result) return 'Move a slider to transform the input.';
    const p = result.prediction;
    return `Transformed input: prediction ${p}, |v_${p}| = ${fmt(result.lengths[p], 3)}.`;
  }

  // How the capsules of the transformed input differ from the untransformed ones: every length, and the 16
  // dimensions of the capsule predicted for the untransformed input (the one equivariance is claimed for).
  #response(reference, now) {
    const d = reference.prediction;
    const before = Array.from(reference.lengths);
    const dimsBefore = Array.from(reference.vectors.data.subarray(d * this.s.dim, (d + 1) * this.s.dim));
    const bars = (name, x, y, color, what) => ({
      type: 'bar', name, x, y, marker: { color }, hovertemplate: `${what} %{x}, ${name}: %{y:.4f}<extra></extra>`,
    });
    const lengths = [bars('untransformed', this.digitLabels, before, BEFORE, 'digit')];
    const dims = [bars('untransformed', this.dimLabels, dimsBefore, BEFORE, 'dimension')];
    if (now) {
      const after = Array.from(now.lengths);
      const dimsAfter = Array.from(now.vectors.data.subarray(d * this.s.dim, (d + 1) * this.s.dim));
      lengths.push(bars('transformed', this.digitLabels, after, AFTER, 'digit'));
      dims.push(bars('transformed', this.dimLabels, dimsAfter, AFTER, 'dimension'));
      const moved = Math.hypot(...dimsAfter.map((v, k) => v - dimsBefore[k]));
      const p = now.prediction;
      setText(this.responseLengthsCaption, `|v_${d}| ${fmt(before[d], 3)} untransformed (grey), ${fmt(after[d], 3)} transformed `
        + `(blue); the transformed input is read as ${p}${p === d ? '' : `, not ${d}`}.`);
      setText(this.responseDimsCaption, `The ${this.s.dim} dimensions of v_${d}, untransformed (grey) and transformed (blue): `
        + `they moved by ${fmt(moved, 3)} in all (the distance between the two vectors).`);
    } else {
      setText(this.responseLengthsCaption, `The ${this.s.digits} capsule lengths of the untransformed input (grey); the transformed ones follow.`);
      setText(this.responseDimsCaption, `The ${this.s.dim} dimensions of v_${d} for the untransformed input (grey); the transformed ones follow.`);
    }
    const layout = (title, extra) => baseLayout({
      height: 220, barmode: 'group', bargap: 0.25, showlegend: false,
      margin: { l: 48, r: 12, t: 8, b: 40 },
      xaxis: { title: { text: title }, type: 'category', fixedrange: true },
      ...extra,
    });
    const line = (y) => ({ type: 'line', xref: 'paper', x0: 0, x1: 1, y0: y, y1: y, line: MARGIN_LINE });
    return [
      plot(this.responseLengths, lengths, layout('digit capsule j', {
        yaxis: { title: { text: '|v_j|' }, range: [0, 1], fixedrange: true }, shapes: [line(0.9), line(0.1)],
      })),
      plot(this.responseDims, dims, layout(`dimension of v_${d}`, { yaxis: { title: { text: 'value' }, fixedrange: true } })),
    ];
  }

  #lengths({ parameter, values, lengths, digit }) {
    const traces = [];
    for (let j = 0; j < this.s.digits; j++) {
      traces.push({
        type: 'scatter', mode: 'lines', name: String(j), x: values,
        y: values.map((_, i) => lengths.data[i * this.s.digits + j]),
        line: { color: DIGIT_COLORS[j], width: j === digit ? 4 : 1.2 },
        hovertemplate: `digit ${j}, ${parameter} %{x}: |v| = %{y:.3f}<extra></extra>`,
      });
    }
    const line = (y) => ({ type: 'line', xref: 'paper', x0: 0, x1: 1, y0: y, y1: y, line: MARGIN_LINE });
    return plot(this.lengthsPlot, traces, baseLayout({
      height: 300,
      margin: { l: 44, r: 12, t: 30, b: 40 },
      xaxis: { title: { text: parameter }, fixedrange: true },
      yaxis: { title: { text: '|v_j|' }, range: [0, 1], fixedrange: true },
      legend: { orientation: 'h', x: 0, y: 1, yanchor: 'bottom', font: { size: 11 } },
      shapes: [line(0.9), line(0.1)],
    }));
  }

  #dims({ parameter, values, vectors, digit }) {
    setText(this.dimsCaption, `The ${this.s.dim} dimensions of digit capsule ${digit} (the prediction at the untransformed input) across the sweep.`);
    const traces = [];
    for (let k = 0; k < this.s.dim; k++) {
      traces.push({
        type: 'scatter', mode: 'lines', name: `d${k + 1}`, x: values,
        y: values.map((_, i) => vectors.data[(i * this.s.digits + digit) * this.s.dim + k]),
        line: { width: 1.2 },
        hovertemplate: `d${k + 1}, ${parameter} %{x}: %{y:.3f}<extra></extra>`,
      });
    }
    return plot(this.dimsPlot, traces, baseLayout({
      height: 300,
      margin: { l: 64, r: 12, t: 30, b: 40 },
      showlegend: false,
      xaxis: { title: { text: parameter }, fixedrange: true },
      yaxis: { title: { text: `v_${digit} components` }, fixedrange: true },
    }));
  }

  #strip({ parameter, values, images }) {
    const show = TRANSFORMS[parameter].show;
    const figures = values.map((v, i) => {
      const canvas = el('canvas', { class: 'pixelated', width: this.s.image, height: this.s.image, role: 'img', 'aria-label': `${parameter} ${show(v)}` });
      drawImage(canvas, images.data.subarray(i * this.s.pixels, (i + 1) * this.s.pixels), this.s.image, this.s.image, grayscale, 0, 1);
      return el('figure', {}, canvas, el('figcaption', { text: show(v) }));
    });
    this.strip.replaceChildren(...figures);
  }
}
