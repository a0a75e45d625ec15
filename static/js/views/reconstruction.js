// Section "reconstruction": the decoder's image (canvas), 16 labelled sliders that
// redraw it while dragging (ranges from the training set's mean ± 3σ when statistics ship with the
// weights, else ±0.25 around the capsule's value as in the paper's Fig. 4; each with a histogram of that
// dimension behind it), reset, a chooser for which digit capsule to decode, the 16 x 11 perturbation grid,
// PNG downloads of both, and the share controls (copy link, export / import the state as JSON).

import { grayscale } from '../colormap.js';
import { $, el, fmt, setText } from '../dom.js';
import { downloadCanvas } from '../download.js';
import { drawImage } from '../draw.js';
import { tilesImage } from '../perturbationTiles.js';
import { drawHistogram } from './sliderHistogram.js';

const PNG_SCALE = 10; // the reconstruction is saved 10x (280×280 for MNIST)

// Perturbation grid layout, in canvas pixels.
const SCALE = 2;
const GAP = 2; // a multiple of SCALE: the tiles are painted unscaled, GRID_TILE_GAP apart, then scaled up
export const GRID_TILE_GAP = GAP / SCALE;
const LEFT = 44;
const TOP = 24;

export class ReconstructionView {
  constructor(root, actions, shapes) {
    this.s = shapes;
    this.image = $('#reconstruction-image', root);
    this.caption = $('#reconstruction-caption', root);
    this.digitSelect = $('#reconstruction-digit', root);
    this.grid = $('#perturbations', root);
    this.rangesNote = $('#reconstruction-ranges-note', root);
    this.message = $('#reconstruction-message', root);
    for (let j = 0; j < shapes.digits; j++) this.digitSelect.append(el('option', { value: j, text: `digit ${j}` }));
    this.digitSelect.addEventListener('change', () => actions.digit(Number(this.digitSelect.value)));
    $('#reconstruction-reset', root).addEventListener('click', () => actions.reset());
    $('#reconstruction-copy-link', root).addEventListener('click', () => actions.copyLink());
    $('#reconstruction-export', root).addEventListener('click', () => actions.exportState());
    const importInput = $('#reconstruction-import', root);
    importInput.addEventListener('change', () => {
      const file = importInput.files?.[0];
      importInput.value = ''; // the same file may be imported again
      if (file) actions.importState(file);
    });
    $('#reconstruction-download', root).addEventListener('click', () => this.#save(this.image, 'reconstruction', PNG_SCALE));
    $('#perturbations-download', root).addEventListener('click', () => this.#save(this.grid, 'perturbations', 1));
    const box = $('#reconstruction-sliders', root);
    this.sliders = [];
    this.outputs = [];
    this.histograms = [];
    for (let k = 0; k < this.s.dim; k++) {
      const id = `reconstruction-dim-${k + 1}`;
      const slider = el('input', { type: 'range', id, step: 0.01, min: -0.25, max: 0.25, value: 0 });
      const output = el('output', { for: id, class: 'slider-value' });
      const histogram = el('canvas', { class: 'slider-hist', width: 240, height: 20, 'aria-hidden': 'true' });
      slider.addEventListener('input', (e) => actions.slide(k, Number(slider.value), e.timeStamp));
      box.append(el('div', { class: 'slider' }, el('label', { for: id, text: `Dimension ${k + 1}` }),
        el('div', { class: 'slider-track' }, histogram, slider), output));
      this.sliders.push(slider);
      this.outputs.push(output);
      this.histograms.push(histogram);
    }
    this.last = {};
    this.drawn = 0; // histograms drawn, for tests (data-histograms on the section)
  }

  // data: {digit, base: 16 numbers, vector: 16 numbers, ranges: sliderRanges(...), image: 784 values,
  //        perturbations: {images, steps}, prediction, message: {text, isError} | null}
  render(data) {
    const { digit, base, vector, ranges, image, perturbations, prediction, message } = data;
    setText(this.message, message?.text ?? '');
    this.message.classList.toggle('is-error', Boolean(message?.isError));
    if (base === undefined || base === null) return;
    if (ranges !== this.last.ranges) this.#ranges(ranges, digit);
    if (vector !== this.last.vector || ranges !== this.last.ranges) {
      this.sliders.forEach((slider, k) => {
        if (Number(slider.value) !== vector[k]) slider.value = String(vector[k]);
        // Three decimals: a data-driven range can be as narrow as ±0.05.
        const delta = Number(fmt(vector[k] - base[k], 3));
        setText(this.outputs[k], `${fmt(vector[k], 3)} (${delta < 0 ? '−' : '+'}${fmt(Math.abs(delta), 3)})`);
        if (ranges !== this.last.ranges || vector[k] !== this.last.vector?.[k]) drawHistogram(this.histograms[k], ranges.dims[k], vector[k]);
      });
      if (ranges.fromData) this.drawn += 1;
      this.grid.closest('section').dataset.histograms = String(this.drawn);
    }
    if (this.digitSelect.value !== String(digit)) this.digitSelect.value = String(digit);
    if (image && image !== this.last.image) {
      drawImage(this.image, image, this.s.image, this.s.image, grayscale, 0, 1);
      const moved = vector.some((v, k) => Math.abs(v - base[k]) > 1e-9);
      setText(this.caption, `Decoded from digit capsule ${digit}${digit === prediction ? ' (the prediction)' : ''}`
        + (moved ? ', sliders moved.' : '.'));
    }
    if (perturbations !== this.last.perturbations) this.#grid(perturbations);
    this.last = data;
  }

  #ranges(ranges, digit) {
    this.sliders.forEach((slider, k) => {
      const r = ranges.dims[k];
      slider.min = String(r.min);
      slider.max = String(r.max);
      slider.step = 'any'; // no snapping of a shared value; Chromium steps "any" by range/100, PageUp by range/10
      this.histograms[k].hidden = !r.hist;
    });
    setText(this.rangesNote, ranges.fromData
      ? `Each slider spans the mean ± 3σ of that dimension over the ${ranges.n.toLocaleString('en')} training ${digit}s `
        + '(widened to reach the capsule\'s own value); behind it, their histogram with the mean (dark line) '
        + 'and the slider\'s value (orange line).'
      : 'No training-set statistics ship with these weights (python -m model.capsule_stats), so each slider '
        + 'spans ±0.25 around the capsule\'s own value, the range of the paper\'s Fig. 4.');
  }

  #save(canvas, what, scale) {
    const digit = this.last.digit;
    if (digit === undefined || !canvas.width) return;
    const name = what === 'reconstruction' ? `reconstruction-digit${digit}-280px.png`
      : `perturbations-digit${digit}-rows-dimension1-${this.s.dim}-columns-shift-0.25-to+0.25.png`;
    downloadCanvas(canvas, name, scale);
  }

  // perturbations: {bitmap, steps} (the unscaled tiles, painted by the grid's worker) or {images, steps}.
  #grid(perturbations) {
    if (!perturbations) return;
    const { steps } = perturbations;
    const PITCH = this.s.image * SCALE + GAP;
    const canvas = this.grid;
    const ctx = canvas.getContext('2d');
    // The frame (size, labels) is drawn once per layout; an update only replaces the tiles, painted
    // unscaled (a quarter of the pixels) and scaled up in one drawImage.
    const layout = steps.join(',');
    if (this.gridLayout !== layout) {
      this.gridLayout = layout;
      canvas.width = LEFT + steps.length * PITCH;
      canvas.height = TOP + this.s.dim * PITCH;
      this.#gridFrame(ctx, steps, PITCH);
    }
    let tiles = perturbations.bitmap;
    if (!tiles) {
      const img = tilesImage(this.s, perturbations.images.data, steps.length, GRID_TILE_GAP);
      this.tiles ??= document.createElement('canvas');
      [this.tiles.width, this.tiles.height] = [img.width, img.height];
      this.tiles.getContext('2d').putImageData(img, 0, 0);
      tiles = this.tiles;
    }
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(tiles, LEFT, TOP, tiles.width * SCALE, tiles.height * SCALE);
    perturbations.bitmap?.close(); // drawn once: this answer is never drawn again
  }

  #gridFrame(ctx, steps, PITCH) {
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(0, 0, ctx.canvas.width, ctx.canvas.height);
    ctx.fillStyle = '#1f2328';
    ctx.font = '15px system-ui, sans-serif';
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    for (let k = 0; k < this.s.dim; k++) ctx.fillText(`d${k + 1}`, LEFT - 6, TOP + k * PITCH + PITCH / 2);
    ctx.textAlign = 'center';
    ctx.textBaseline = 'alphabetic';
    steps.forEach((v, s) => {
      ctx.fillText(v === 0 ? '0' : `${v > 0 ? '+' : '−'}${Math.abs(v).toFixed(2)}`, LEFT + s * PITCH + PITCH / 2, TOP - 7);
    });
  }
}
