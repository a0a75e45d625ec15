// Section "primary_caps": the lengths of the primary capsules (32 types x G x G: 6x6 or 10x10) on a canvas grid.
// Hovering (or arrow keys on the focused grid) picks one capsule: its 8-D vector as bars and numbers,
// and its 17x17 receptive field outlined on the input image.

import { grayscale, sequential } from '../colormap.js';
import { $, el, fmt, setText } from '../dom.js';
import { drawImage, drawVectorBars, TileGrid } from '../draw.js';
import { fieldBox, fieldText, outlineFields } from '../receptiveField.js';


export class PrimaryCapsView {
  constructor(root, shapes) {
    this.s = shapes;
    this.grid = new TileGrid($('#primary-lengths', root), {
      count: shapes.types, tileW: shapes.grid, tileH: shapes.grid, cols: 8, scale: 12, gap: 6, cellMode: true,
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

  // data: {input: decoded (S,S), lengths: decoded (32,G,G), vectors: decoded (32,G,G,8)} or nulls,
  // field: the receptive field geometry {size, stride} from /api/model, or null while unknown
  render({ input, lengths, vectors, field }) {
    if (lengths === this.last.lengths && input === this.last.input && field === this.last.field) return;
    this.last = { input, lengths, vectors, field };
    if (!lengths) return;
    drawImage(this.input, input.data, this.s.image, this.s.image, grayscale, 0, 1);
    this.grid.draw(lengths.data, sequential, 0, 1);
    const at = this.grid.selected ?? this.#longest(lengths.data);
    this.grid.setSelected(at);
    this.#show(at);
  }

  #longest(values) {
    let best = 0;
    for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
    const tile = Math.floor(best / this.s.cells);
    const cell = best % this.s.cells;
    return { tile, x: cell % this.s.grid, y: Math.floor(cell / this.s.grid) };
  }

  #show({ tile, x, y }) {
    const { lengths, vectors, field } = this.last;
    if (!lengths) return;
    const cell = tile * this.s.cells + y * this.s.grid + x;
    const u = vectors.data.subarray(cell * this.s.primaryDim, (cell + 1) * this.s.primaryDim);
    const box = field ? fieldBox(field, y, x) : null;
    setText(this.readout, `Capsule type ${tile}, grid row ${y}, column ${x}${box ? ` (${fieldText(box)})` : ''}: `
      + `length ${fmt(lengths.data[cell], 3)}.`);
    outlineFields(this.field, box ? [box] : [], this.s.image);
    drawVectorBars(this.bars, u);
    this.numbers.replaceChildren(...Array.from(u, (v, i) => el('li', { text: `u${i + 1} = ${fmt(v, 3)}` })));
  }
}
