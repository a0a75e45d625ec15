// Section "primary_caps": the lengths of the 1152 primary capsules (32 types x 6x6) on a canvas grid.
// Hovering (or arrow keys on the focused grid) picks one capsule: its 8-D vector as bars and numbers,
// and its 17x17 receptive field outlined on the input image.

import { grayscale, sequential } from '../colormap.js';
import { $, el, fmt, setText } from '../dom.js';
import { drawImage, TileGrid } from '../draw.js';

const TYPES = 32;
const GRID = 6;
const DIM = 8;
// Conv1 (9x9, stride 1) then PrimaryCaps (9x9, stride 2): capsule (r, c) sees input rows 2r..2r+16.
const FIELD = 17;
const STRIDE = 2;

export class PrimaryCapsView {
  constructor(root) {
    this.grid = new TileGrid($('#primary-lengths', root), {
      count: TYPES, tileW: GRID, tileH: GRID, cols: 8, scale: 12, gap: 6, cellMode: true,
      onHover: (at) => at && this.#show(at),
      onSelect: (at) => this.#show(at),
    });
    this.input = $('#primary-input', root);
    this.field = $('#primary-rf', root);
    this.bars = $('#primary-vector', root);
    this.numbers = $('#primary-numbers', root);
    this.readout = $('#primary-readout', root);
    this.last = {};
  }

  // data: {input: decoded (28,28), lengths: decoded (32,6,6), vectors: decoded (32,6,6,8)} or nulls
  render({ input, lengths, vectors }) {
    if (lengths === this.last.lengths && input === this.last.input) return;
    this.last = { input, lengths, vectors };
    if (!lengths) return;
    drawImage(this.input, input.data, 28, 28, grayscale, 0, 1);
    this.grid.draw(lengths.data, sequential, 0, 1);
    const at = this.grid.selected ?? this.#longest(lengths.data);
    this.grid.setSelected(at);
    this.#show(at);
  }

  #longest(values) {
    let best = 0;
    for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
    const tile = Math.floor(best / (GRID * GRID));
    const cell = best % (GRID * GRID);
    return { tile, x: cell % GRID, y: Math.floor(cell / GRID) };
  }

  #show({ tile, x, y }) {
    const { lengths, vectors } = this.last;
    if (!lengths) return;
    const cell = tile * GRID * GRID + y * GRID + x;
    const u = vectors.data.subarray(cell * DIM, (cell + 1) * DIM);
    setText(this.readout, `Capsule type ${tile}, grid row ${y}, column ${x} (input rows ${STRIDE * y}–${STRIDE * y + FIELD - 1}, `
      + `columns ${STRIDE * x}–${STRIDE * x + FIELD - 1}): length ${fmt(lengths.data[cell], 3)}.`);
    this.#field(x, y);
    this.#bars(u);
    this.numbers.replaceChildren(...Array.from(u, (v, i) => el('li', { text: `u${i + 1} = ${fmt(v, 3)}` })));
  }

  #field(x, y) {
    const ctx = this.field.getContext('2d');
    const s = this.field.width / 28;
    ctx.clearRect(0, 0, this.field.width, this.field.height);
    ctx.strokeStyle = '#ffb000';
    ctx.lineWidth = 3;
    ctx.strokeRect(STRIDE * x * s + 1.5, STRIDE * y * s + 1.5, FIELD * s - 3, FIELD * s - 3);
  }

  // Eight bars on a fixed [-1, 1] axis: a squashed capsule's components always lie inside it.
  #bars(u) {
    const ctx = this.bars.getContext('2d');
    const { width, height } = this.bars;
    const mid = height / 2;
    const slot = width / DIM;
    ctx.clearRect(0, 0, width, height);
    ctx.strokeStyle = '#8a8f98';
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(0, mid + 0.5);
    ctx.lineTo(width, mid + 0.5);
    ctx.stroke();
    ctx.font = '11px system-ui, sans-serif';
    ctx.textAlign = 'center';
    for (let i = 0; i < DIM; i++) {
      const h = Math.max(-1, Math.min(1, u[i])) * (mid - 14);
      ctx.fillStyle = u[i] >= 0 ? '#b2182b' : '#2166ac';
      ctx.fillRect(i * slot + slot * 0.2, mid - Math.max(h, 0), slot * 0.6, Math.abs(h));
      ctx.fillStyle = '#1f2328';
      ctx.fillText(String(i + 1), i * slot + slot / 2, u[i] >= 0 ? mid + 12 : mid - 4);
    }
  }
}
