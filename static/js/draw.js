// Canvas drawing: single value images and TileGrid, many same-size small images on one <canvas>
// with hover, click and arrow-key navigation. Drawing 256 small maps this way takes a few ms;
// plotly is kept for the few charts that need axes and hover values.

import { index } from './colormap.js';

// values (h*w, row-major) -> pixels on `canvas` (canvas.width = w * scale), through colour map `map`.
export function drawImage(canvas, values, w, h, map, lo, hi, scale = 1) {
  if (canvas.width !== w * scale || canvas.height !== h * scale) {
    canvas.width = w * scale;
    canvas.height = h * scale;
  }
  const ctx = canvas.getContext('2d');
  const img = ctx.createImageData(w * scale, h * scale);
  fillTile(img, values, 0, w, h, scale, 0, 0, map, lo, hi);
  ctx.putImageData(img, 0, 0);
}

// One w x h image of `values` (from `offset`), scaled, into ImageData `img` at (left, top).
export function fillTile(img, values, offset, w, h, scale, left, top, map, lo, hi) {
  const out = img.data;
  const stride = img.width * 4;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const k = index(values[offset + y * w + x], lo, hi) * 3;
      const r = map.lut[k], g = map.lut[k + 1], b = map.lut[k + 2];
      for (let dy = 0; dy < scale; dy++) {
        let p = (top + y * scale + dy) * stride + (left + x * scale) * 4;
        for (let dx = 0; dx < scale; dx++, p += 4) {
          out[p] = r; out[p + 1] = g; out[p + 2] = b; out[p + 3] = 255;
        }
      }
    }
  }
}

const KEYS = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };

export class TileGrid {
  // cellMode: the pointer and arrow keys address single cells (tile, x, y), not whole tiles.
  constructor(canvas, { count, tileW, tileH, cols, scale = 2, gap = 2, cellMode = false, onHover, onSelect }) {
    Object.assign(this, { canvas, count, tileW, tileH, cols, scale, gap, cellMode, onHover, onSelect });
    this.rows = Math.ceil(count / cols);
    this.pitchX = tileW * scale + gap;
    this.pitchY = tileH * scale + gap;
    canvas.width = cols * this.pitchX - gap;
    canvas.height = this.rows * this.pitchY - gap;
    canvas.tabIndex = 0;
    this.image = null;
    this.selected = null; // {tile, x, y}
    this.cursor = null;
    canvas.addEventListener('pointermove', (e) => this.#hover(this.#at(e)));
    canvas.addEventListener('pointerleave', () => this.#hover(null));
    canvas.addEventListener('click', (e) => {
      const at = this.#at(e);
      if (at) this.#select(at);
    });
    canvas.addEventListener('keydown', (e) => this.#key(e));
  }

  // values: count * tileH * tileW numbers, tile after tile.
  draw(values, map, lo, hi) {
    const ctx = this.canvas.getContext('2d');
    const img = ctx.createImageData(this.canvas.width, this.canvas.height);
    const size = this.tileW * this.tileH;
    for (let t = 0; t < this.count; t++) {
      const left = (t % this.cols) * this.pitchX;
      const top = Math.floor(t / this.cols) * this.pitchY;
      fillTile(img, values, t * size, this.tileW, this.tileH, this.scale, left, top, map, lo, hi);
    }
    this.image = img;
    this.paint();
  }

  setSelected(at) {
    this.selected = at;
    this.paint();
  }

  paint() {
    if (!this.image) return;
    const ctx = this.canvas.getContext('2d');
    ctx.putImageData(this.image, 0, 0);
    this.#outline(ctx, this.cursor, '#ffb000');
    this.#outline(ctx, this.selected, '#ff3d8b');
  }

  #outline(ctx, at, color) {
    if (!at) return;
    const left = (at.tile % this.cols) * this.pitchX;
    const top = Math.floor(at.tile / this.cols) * this.pitchY;
    ctx.strokeStyle = color;
    ctx.lineWidth = 2;
    if (this.cellMode) ctx.strokeRect(left + at.x * this.scale - 1, top + at.y * this.scale - 1, this.scale + 2, this.scale + 2);
    else ctx.strokeRect(left - 1, top - 1, this.tileW * this.scale + 2, this.tileH * this.scale + 2);
  }

  #at(event) {
    const rect = this.canvas.getBoundingClientRect();
    const px = ((event.clientX - rect.left) * this.canvas.width) / rect.width;
    const py = ((event.clientY - rect.top) * this.canvas.height) / rect.height;
    const col = Math.floor(px / this.pitchX);
    const row = Math.floor(py / this.pitchY);
    const x = Math.floor((px - col * this.pitchX) / this.scale);
    const y = Math.floor((py - row * this.pitchY) / this.scale);
    const tile = row * this.cols + col;
    if (col < 0 || col >= this.cols || tile < 0 || tile >= this.count || x >= this.tileW || y >= this.tileH) return null;
    return { tile, x: Math.max(0, x), y: Math.max(0, y) };
  }

  #hover(at) {
    this.cursor = at;
    this.paint();
    this.onHover?.(at);
  }

  #select(at) {
    this.cursor = at;
    this.selected = at;
    this.paint();
    this.onSelect?.(at);
  }

  #key(e) {
    if (e.key === 'Enter' || e.key === ' ') {
      if (this.cursor) this.#select(this.cursor);
      e.preventDefault();
      return;
    }
    const move = KEYS[e.key];
    if (!move) return;
    e.preventDefault();
    const at = this.cursor ?? this.selected ?? { tile: 0, x: 0, y: 0 };
    this.#hover(this.cellMode ? this.#moveCell(at, move) : this.#moveTile(at, move));
  }

  #moveTile(at, [dx, dy]) {
    const tile = Math.min(this.count - 1, Math.max(0, at.tile + dx + dy * this.cols));
    return { tile, x: 0, y: 0 };
  }

  // Moves one cell as if all tiles were one big image, stepping into the neighbouring tile at an edge.
  #moveCell(at, [dx, dy]) {
    const gx = (at.tile % this.cols) * this.tileW + at.x + dx;
    const gy = Math.floor(at.tile / this.cols) * this.tileH + at.y + dy;
    const maxX = this.cols * this.tileW - 1;
    const maxY = this.rows * this.tileH - 1;
    const cx = Math.min(maxX, Math.max(0, gx));
    const cy = Math.min(maxY, Math.max(0, gy));
    const tile = Math.floor(cy / this.tileH) * this.cols + Math.floor(cx / this.tileW);
    if (tile >= this.count) return at;
    return { tile, x: cx % this.tileW, y: cy % this.tileH };
  }
}

// A capsule's components as bars on a fixed [-1, 1] axis (a squashed capsule's components always lie
// inside it), numbered from 1; red positive, blue negative.
export function drawVectorBars(canvas, u) {
  const ctx = canvas.getContext('2d');
  const { width, height } = canvas;
  const mid = height / 2;
  const slot = width / u.length;
  ctx.clearRect(0, 0, width, height);
  ctx.strokeStyle = '#8a8f98';
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.moveTo(0, mid + 0.5);
  ctx.lineTo(width, mid + 0.5);
  ctx.stroke();
  ctx.font = '11px system-ui, sans-serif';
  ctx.textAlign = 'center';
  for (let i = 0; i < u.length; i++) {
    const h = Math.max(-1, Math.min(1, u[i])) * (mid - 14);
    ctx.fillStyle = u[i] >= 0 ? '#b2182b' : '#2166ac';
    ctx.fillRect(i * slot + slot * 0.2, mid - Math.max(h, 0), slot * 0.6, Math.abs(h));
    ctx.fillStyle = '#1f2328';
    ctx.fillText(String(i + 1), i * slot + slot / 2, u[i] >= 0 ? mid + 12 : mid - 4);
  }
}

// values (w*h) through colour map `map` laid with opacity `alpha` over the grey image `base` (w*h, 0..1),
// one canvas pixel per value.
export function drawOverlay(canvas, base, values, w, h, map, lo, hi, alpha) {
  if (canvas.width !== w || canvas.height !== h) {
    canvas.width = w;
    canvas.height = h;
  }
  const ctx = canvas.getContext('2d');
  const img = ctx.createImageData(w, h);
  const out = img.data;
  for (let p = 0; p < w * h; p++) {
    const grey = Math.max(0, Math.min(1, base[p])) * 255 * (1 - alpha);
    const k = index(values[p], lo, hi) * 3;
    out[p * 4] = grey + alpha * map.lut[k];
    out[p * 4 + 1] = grey + alpha * map.lut[k + 1];
    out[p * 4 + 2] = grey + alpha * map.lut[k + 2];
    out[p * 4 + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}
