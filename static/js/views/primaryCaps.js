// Section "primary_caps": the lengths of the 1152 primary capsules (32 types x 6x6) on a canvas grid.
// Hovering (or arrow keys on the focused grid) picks one capsule: its 8-D vector as bars and numbers,
// and its 17x17 receptive field outlined on the input image.

import { grayscale, sequential } from '../colormap.js';
import { $, el, fmt, setText } from '../dom.js';
import { drawImage, drawVectorBars, TileGrid } from '../draw.js';
import { fieldBox, fieldText, outlineFields } from '../receptiveField.js';

const TYPES = 32;
const GRID = 6;
const DIM = 8;

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

  // data: {input: decoded (28,28), lengths: decoded (32,6,6), vectors: decoded (32,6,6,8)} or nulls,
  // field: the receptive field geometry {size, stride} from /api/model, or null while unknown
  render({ input, lengths, vectors, field }) {
    if (lengths === this.last.lengths && input === this.last.input && field === this.last.field) return;
    this.last = { input, lengths, vectors, field };
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
    const { lengths, vectors, field } = this.last;
    if (!lengths) return;
    const cell = tile * GRID * GRID + y * GRID + x;
    const u = vectors.data.subarray(cell * DIM, (cell + 1) * DIM);
    const box = field ? fieldBox(field, y, x) : null;
    setText(this.readout, `Capsule type ${tile}, grid row ${y}, column ${x}${box ? ` (${fieldText(box)})` : ''}: `
      + `length ${fmt(lengths.data[cell], 3)}.`);
    outlineFields(this.field, box ? [box] : []);
    drawVectorBars(this.bars, u);
    this.numbers.replaceChildren(...Array.from(u, (v, i) => el('li', { text: `u${i + 1} = ${fmt(v, 3)}` })));
  }
}
