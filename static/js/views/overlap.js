// Section "overlap": two gallery digits (or the walk's input) overlaid the MultiMNIST way, the second shifted
// by up to 4 px; the composite the model saw, the two longest capsules' reconstructions drawn in two
// colours over it and each alone, the 10 lengths as small bars, and one sentence on whether both digits
// were found; with a MultiMNIST model also the single-digit model's composite, overlay and sentence for the
// same pair. Reports choices, shifts and "random pair" through callbacks; the server computes everything.

import { grayscale } from '../colormap.js';
import { $, el, fmt, setText } from '../dom.js';
import { drawImage } from '../draw.js';

export const WALK = 'walk'; // the first chooser's value for "the walk's current input"

// Okabe–Ito orange and blue: told apart with every common colour-vision deficiency. Where both
// reconstructions have ink the colours add up (light mint), so the overlap shows as a third colour.
const COLORS = [[230, 159, 0], [0, 114, 178]];
const BOTH = COLORS[0].map((c, i) => Math.min(255, c + COLORS[1][i]));
const rgb = (c) => `rgb(${c.join(', ')})`;
// A length is the probability that the digit is present: below one half the capsule says "rather not".
const PRESENT = 0.5;
// The input stays visible under the colours but dimmer than any reconstruction.
const BASE_GREY = 120;

// Black -> colour, for one reconstruction alone.
function ramp(color) {
  const lut = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) for (let c = 0; c < 3; c++) lut[i * 3 + c] = Math.round((color[c] * i) / 255);
  return { lut };
}
const RAMPS = COLORS.map(ramp);

// input, a, b: side × side values in [0, 1]. Each pixel: the dimmed grey input, covered by the reconstructions'
// colours in proportion to the stronger one; the colour is the a/b-weighted sum of the two.
function drawOverlay(canvas, input, a, b, side) {
  if (canvas.width !== side || canvas.height !== side) {
    canvas.width = side;
    canvas.height = side;
  }
  const ctx = canvas.getContext('2d');
  const img = ctx.createImageData(side, side);
  const out = img.data;
  for (let i = 0; i < side * side; i++) {
    const wa = Math.min(1, Math.max(0, a[i]));
    const wb = Math.min(1, Math.max(0, b[i]));
    const alpha = Math.max(wa, wb);
    const grey = BASE_GREY * Math.min(1, Math.max(0, input[i]));
    for (let c = 0; c < 3; c++) {
      const mix = alpha > 0 ? Math.min(255, (wa * COLORS[0][c] + wb * COLORS[1][c]) / alpha) : 0;
      out[i * 4 + c] = Math.round(grey * (1 - alpha) + mix * alpha);
    }
    out[i * 4 + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

export class OverlapView {
  constructor(root, actions, shapes) {
    this.s = shapes;
    this.root = root;
    this.first = $('#overlap-first', root);
    this.second = $('#overlap-second', root);
    this.firstPart = $('#overlap-first-part', root);
    this.secondPart = $('#overlap-second-part', root);
    this.shift = [$('#overlap-dx', root), $('#overlap-dy', root)];
    this.random = $('#overlap-random', root);
    this.verdict = $('#overlap-verdict', root);
    this.input = $('#overlap-input', root);
    this.overlay = $('#overlap-overlay', root);
    this.recons = [$('#overlap-reconstruction-0', root), $('#overlap-reconstruction-1', root)];
    this.reconCaptions = [$('#overlap-reconstruction-0-caption', root), $('#overlap-reconstruction-1-caption', root)];
    this.legend = $('#overlap-legend', root);
    this.bars = $('#overlap-lengths', root);
    this.compare = {
      box: $('#overlap-compare', root), verdict: $('#overlap-compare-verdict', root),
      input: $('#overlap-compare-input', root), overlay: $('#overlap-compare-overlay', root),
      legend: $('#overlap-compare-legend', root),
    };
    this.first.addEventListener('change', () => actions.first(this.first.value));
    this.second.addEventListener('change', () => actions.second(this.second.value));
    this.shift.forEach((slider, axis) => slider.addEventListener('input', () => actions.shift(axis, Number(slider.value))));
    this.random.addEventListener('click', () => actions.random());
    this.#bars();
    this.last = {};
  }

  // data: {samples, walkReady, first: WALK | sample id, second: sample id, shift: [dx, dy], result: the
  // decoded /api/overlap answer | null, busy, error}
  render(data) {
    const { samples, walkReady, first, second, shift, result, busy, error } = data;
    if (samples !== this.last.samples) this.#options(samples);
    if (this.first.value !== first) this.first.value = first ?? '';
    if (this.second.value !== second) this.second.value = second ?? '';
    const ready = Boolean(samples?.length);
    for (const control of [this.first, this.second, this.random, ...this.shift]) control.disabled = !ready;
    this.first.querySelector(`option[value="${WALK}"]`)?.toggleAttribute('disabled', !walkReady);
    this.shift.forEach((slider, axis) => {
      if (Number(slider.value) !== shift[axis]) slider.value = String(shift[axis]);
      setText(slider.nextElementSibling, `${shift[axis]} px`);
    });
    setText(this.verdict, error ?? (busy && !result ? 'analyzing the pair…' : verdict(result)));
    this.verdict.classList.toggle('is-error', Boolean(error));
    // The verdict keeps the last pair's words while a new one is computed; aria-busy says it is coming.
    this.root.setAttribute('aria-busy', String(Boolean(busy)));
    if (result && result !== this.last.result) this.#draw(result);
    this.#compare(data.compare);
    this.last = data;
  }

  // compare: {wanted, result, busy, error}: the single-digit model on the same pair, at its own input size.
  #compare(c) {
    const box = this.compare;
    box.box.hidden = !c?.wanted;
    if (!c?.wanted) return;
    setText(box.verdict, c.error ?? (c.busy && !c.result ? 'asking the single-digit model…'
      : c.result ? `The single-digit model: ${lowerFirst(verdict(c.result))}` : 'The same pair, on the single-digit model.'));
    box.verdict.classList.toggle('is-error', Boolean(c.error));
    box.box.setAttribute('aria-busy', String(Boolean(c.busy)));
    if (!c.result || c.result === this.last.compare?.result) return;
    const r = c.result;
    const [side] = r.input.shape; // its own canvas, not this model's
    const pixels = side * side;
    drawImage(box.input, r.input.data, side, side, grayscale, 0, 1);
    drawOverlay(box.overlay, r.input.data, r.reconstructions.data.subarray(0, pixels),
      r.reconstructions.data.subarray(pixels), side);
    this.#legend(box.legend, r);
  }

  #legend(node, r) {
    const swatch = (color, text) => el('span', { class: 'ov-key' }, this.#swatch(color), text);
    node.replaceChildren(
      swatch(COLORS[0], `capsule ${r.top2[0].digit}`),
      swatch(COLORS[1], `capsule ${r.top2[1].digit}`),
      swatch(BOTH, 'both'),
    );
  }

  #options(samples) {
    const walk = el('option', { value: WALK, text: 'the walk’s current input' });
    const groups = [];
    for (let d = 0; d < this.s.digits; d++) {
      const group = el('optgroup', { label: `digit ${d}` });
      for (const s of samples ?? []) {
        if (s.label !== d) continue;
        const wrong = s.predicted !== s.label ? ` (misclassified alone as ${s.predicted})` : '';
        group.append(el('option', { value: s.id, text: `a ${s.label}, test #${s.index}${wrong}` }));
      }
      groups.push(group);
    }
    this.first.replaceChildren(walk, ...groups);
    this.second.replaceChildren(...groups.map((g) => g.cloneNode(true)));
  }

  #draw(r) {
    drawImage(this.input, r.input.data, this.s.image, this.s.image, grayscale, 0, 1);
    drawImage(this.firstPart, r.parts.data.subarray(0, this.s.pixels), this.s.image, this.s.image, grayscale, 0, 1);
    drawImage(this.secondPart, r.parts.data.subarray(this.s.pixels), this.s.image, this.s.image, grayscale, 0, 1);
    const images = [r.reconstructions.data.subarray(0, this.s.pixels), r.reconstructions.data.subarray(this.s.pixels)];
    drawOverlay(this.overlay, r.input.data, images[0], images[1], this.s.image);
    r.top2.forEach((t, k) => {
      drawImage(this.recons[k], images[k], this.s.image, this.s.image, RAMPS[k], 0, 1);
      const which = k === 0 ? 'Longest' : 'Second-longest';
      setText(this.reconCaptions[k], `${which} capsule: ${t.digit} (|v| ${fmt(t.length, 2)}), decoded alone.`);
    });
    this.#legend(this.legend, r);
    this.#updateBars(r);
  }

  #swatch(color) {
    const s = el('span', { class: 'ov-swatch', 'aria-hidden': 'true' });
    s.style.background = rgb(color);
    return s;
  }

  #bars() {
    this.barRows = [];
    for (let d = 0; d < this.s.digits; d++) {
      const fill = el('span', { class: 'ov-fill' });
      const value = el('span', { class: 'ov-value', text: '–' });
      const tag = el('span', { class: 'ov-tag' });
      const row = el('li', {}, el('span', { class: 'ov-digit', text: String(d) }),
        el('span', { class: 'ov-track' }, fill), value, tag);
      this.bars.append(row);
      this.barRows.push({ row, fill, value, tag });
    }
  }

  #updateBars(r) {
    const top = r.top2.map((t) => t.digit);
    this.barRows.forEach(({ fill, value, tag }, d) => {
      const length = r.lengths[d];
      fill.style.width = `${(100 * Math.min(1, Math.max(0, length))).toFixed(1)}%`;
      const k = top.indexOf(d);
      fill.style.background = k >= 0 ? rgb(COLORS[k]) : '#8a9bb5';
      setText(value, fmt(length, 3));
      setText(tag, r.labels.includes(d) ? 'in the input' : '');
    });
  }
}

// One plain sentence: did the two longest capsules name the two digits put in?
function verdict(r) {
  if (!r) return 'Choose two digits.';
  const [a, b] = r.top2.map((t) => t.digit);
  const longest = `The two longest capsules are ${a} and ${b}`;
  const known = r.labels.filter((l) => l !== null);
  if (known.length === 0) return `${longest}; neither input has a known label.`;
  if (known.length === 2 && known[0] === known[1]) {
    return `${longest}. Both inputs are ${known[0]}s, and there is one capsule per class, so they can count as one digit at most.`;
  }
  const found = known.filter((l) => l === a || l === b);
  const missed = known.filter((l) => l !== a && l !== b);
  const len = (d) => `|v_${d}| = ${fmt(r.lengths[d], 2)}`;
  if (known.length === 1) {
    return found.length ? `${longest}: it found the ${known[0]} (the other input is the walk’s, with no known label).`
      : `${longest}: it missed the ${known[0]} (${len(known[0])}); the other input is the walk’s, with no known label.`;
  }
  if (found.length === 2) {
    const weak = known.find((d) => r.lengths[d] < PRESENT);
    return weak === undefined ? `${longest}: the model found both digits, ${known[0]} and ${known[1]}.`
      : `${longest}, the two digits put in, but the ${weak}'s capsule is short (${len(weak)}): the model is far from sure it is there.`;
  }
  if (found.length === 1) return `${longest}: the model found the ${found[0]} but missed the ${missed[0]} (${len(missed[0])}).`;
  return `${longest}: the model found neither the ${known[0]} nor the ${known[1]}.`;
}

const lowerFirst = (s) => s.charAt(0).toLowerCase() + s.slice(1);
