// Section "reconstruction": the decoder's image (canvas), 16 labelled sliders (±0.25 around the capsule's
// value, step 0.01, as in the paper's Fig. 4) that redraw it while dragging, reset, a chooser for which
// digit capsule to decode, and the 16 x 11 perturbation grid.

import { grayscale } from '../colormap.js';
import { $, el, fmt, setText } from '../dom.js';
import { drawImage } from '../draw.js';

const DIM = 16;
const RANGE = 0.25;
const LIMIT = 2; // the API accepts components within ±2

// Perturbation grid layout, in canvas pixels.
const SCALE = 2;
const GAP = 2;
const PITCH = 28 * SCALE + GAP;
const LEFT = 44;
const TOP = 24;

export class ReconstructionView {
  constructor(root, actions) {
    this.image = $('#reconstruction-image', root);
    this.caption = $('#reconstruction-caption', root);
    this.digitSelect = $('#reconstruction-digit', root);
    this.grid = $('#perturbations', root);
    for (let j = 0; j < 10; j++) this.digitSelect.append(el('option', { value: j, text: `digit ${j}` }));
    this.digitSelect.addEventListener('change', () => actions.digit(Number(this.digitSelect.value)));
    $('#reconstruction-reset', root).addEventListener('click', () => actions.reset());
    const box = $('#reconstruction-sliders', root);
    this.sliders = [];
    this.outputs = [];
    for (let k = 0; k < DIM; k++) {
      const id = `reconstruction-dim-${k + 1}`;
      const slider = el('input', { type: 'range', id, step: 0.01, min: -RANGE, max: RANGE, value: 0 });
      const output = el('output', { for: id, class: 'slider-value' });
      slider.addEventListener('input', () => actions.slide(k, Number(slider.value)));
      box.append(el('div', { class: 'slider' }, el('label', { for: id, text: `Dimension ${k + 1}` }), slider, output));
      this.sliders.push(slider);
      this.outputs.push(output);
    }
    this.last = {};
  }

  // data: {digit, base: 16 numbers, vector: 16 numbers, image: 784 values, perturbations: {images, steps}, prediction}
  render(data) {
    const { digit, base, vector, image, perturbations, prediction } = data;
    if (base === undefined || base === null) return;
    if (base !== this.last.base) {
      this.sliders.forEach((slider, k) => {
        slider.min = String(Math.max(-LIMIT, base[k] - RANGE));
        slider.max = String(Math.min(LIMIT, base[k] + RANGE));
      });
    }
    if (vector !== this.last.vector || base !== this.last.base) {
      this.sliders.forEach((slider, k) => {
        if (Number(slider.value) !== vector[k]) slider.value = String(vector[k]);
        const delta = Number(fmt(vector[k] - base[k], 2));
        setText(this.outputs[k], `${fmt(vector[k], 2)} (${delta < 0 ? '−' : '+'}${fmt(Math.abs(delta), 2)})`);
      });
    }
    if (this.digitSelect.value !== String(digit)) this.digitSelect.value = String(digit);
    if (image && image !== this.last.image) {
      drawImage(this.image, image, 28, 28, grayscale, 0, 1);
      const moved = vector.some((v, k) => Math.abs(v - base[k]) > 1e-9);
      setText(this.caption, `Decoded from digit capsule ${digit}${digit === prediction ? ' (the prediction)' : ''}`
        + (moved ? ', sliders moved.' : '.'));
    }
    if (perturbations !== this.last.perturbations) this.#grid(perturbations);
    this.last = data;
  }

  #grid(perturbations) {
    if (!perturbations) return;
    const { images, steps } = perturbations;
    const n = steps.length;
    const canvas = this.grid;
    canvas.width = LEFT + n * PITCH;
    canvas.height = TOP + DIM * PITCH;
    const ctx = canvas.getContext('2d');
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    const tile = document.createElement('canvas');
    ctx.imageSmoothingEnabled = false;
    for (let k = 0; k < DIM; k++) {
      for (let s = 0; s < n; s++) {
        const offset = (k * n + s) * 784;
        drawImage(tile, images.data.subarray(offset, offset + 784), 28, 28, grayscale, 0, 1, SCALE);
        ctx.drawImage(tile, LEFT + s * PITCH, TOP + k * PITCH);
      }
    }
    ctx.fillStyle = '#1f2328';
    ctx.font = '15px system-ui, sans-serif';
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    for (let k = 0; k < DIM; k++) ctx.fillText(`d${k + 1}`, LEFT - 6, TOP + k * PITCH + PITCH / 2);
    ctx.textAlign = 'center';
    ctx.textBaseline = 'alphabetic';
    for (let s = 0; s < n; s++) {
      const v = steps[s];
      ctx.fillText(v === 0 ? '0' : `${v > 0 ? '+' : '−'}${Math.abs(v).toFixed(2)}`, LEFT + s * PITCH + PITCH / 2, TOP - 7);
    }
  }
}
