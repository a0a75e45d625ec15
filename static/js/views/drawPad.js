// The drawing canvas. Feels like a marker: pointer events (mouse, touch, pen), round caps and joins, a
// stroke 1/12 of the canvas wide so the preprocessed digit looks like MNIST's, white ink on black like
// MNIST itself. Keeps the stroke history for undo. Can show a backdrop (an upload or a sample) until the
// next stroke starts a fresh drawing.

const SIZE = 280;
const INK = '#ffffff';
const PAPER = '#000000';

export class DrawPad {
  constructor(canvas, { onStrokeStart, onStrokeEnd }) {
    this.canvas = canvas;
    this.ctx = canvas.getContext('2d');
    canvas.width = SIZE;
    canvas.height = SIZE;
    this.lineWidth = SIZE / 12;
    this.strokes = [];
    this.current = null;
    this.backdrop = null; // function(ctx, size) drawing an image given by other means
    this.onStrokeStart = onStrokeStart;
    this.onStrokeEnd = onStrokeEnd;
    canvas.addEventListener('pointerdown', (e) => this.#down(e));
    canvas.addEventListener('pointermove', (e) => this.#move(e));
    canvas.addEventListener('pointerup', (e) => this.#up(e));
    canvas.addEventListener('pointercancel', (e) => this.#up(e));
    this.redraw();
  }

  get isEmpty() {
    return this.strokes.length === 0 && !this.backdrop;
  }

  get hasStrokes() {
    return this.strokes.length > 0;
  }

  clear() {
    this.strokes = [];
    this.backdrop = null;
    this.redraw();
  }

  undo() {
    this.strokes.pop();
    this.redraw();
  }

  showBackdrop(drawFn) {
    this.strokes = [];
    this.backdrop = drawFn;
    this.redraw();
  }

  toDataURL() {
    return this.canvas.toDataURL('image/png');
  }

  redraw() {
    const ctx = this.ctx;
    ctx.fillStyle = PAPER;
    ctx.fillRect(0, 0, SIZE, SIZE);
    if (this.backdrop) this.backdrop(ctx, SIZE);
    for (const stroke of this.strokes) this.#drawStroke(stroke);
  }

  #point(e) {
    const rect = this.canvas.getBoundingClientRect();
    return [((e.clientX - rect.left) * SIZE) / rect.width, ((e.clientY - rect.top) * SIZE) / rect.height];
  }

  #down(e) {
    if (e.button !== 0 && e.pointerType === 'mouse') return;
    e.preventDefault();
    this.canvas.setPointerCapture(e.pointerId);
    if (this.backdrop) {
      this.backdrop = null;
      this.redraw();
    }
    this.current = { id: e.pointerId, points: [this.#point(e)] };
    this.strokes.push(this.current.points);
    this.#drawStroke(this.current.points);
    this.onStrokeStart?.();
  }

  #move(e) {
    if (!this.current || e.pointerId !== this.current.id) return;
    const events = e.getCoalescedEvents ? e.getCoalescedEvents() : [e];
    const points = this.current.points;
    for (const ev of events.length ? events : [e]) {
      const p = this.#point(ev);
      const last = points[points.length - 1];
      if (Math.hypot(p[0] - last[0], p[1] - last[1]) < 0.5) continue;
      points.push(p);
      this.#segment(last, p);
    }
  }

  #up(e) {
    if (!this.current || e.pointerId !== this.current.id) return;
    this.current = null;
    this.onStrokeEnd?.();
  }

  #style() {
    const ctx = this.ctx;
    ctx.strokeStyle = INK;
    ctx.fillStyle = INK;
    ctx.lineWidth = this.lineWidth;
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
  }

  #segment(a, b) {
    this.#style();
    this.ctx.beginPath();
    this.ctx.moveTo(a[0], a[1]);
    this.ctx.lineTo(b[0], b[1]);
    this.ctx.stroke();
  }

  #drawStroke(points) {
    this.#style();
    const ctx = this.ctx;
    if (points.length === 1) {
      ctx.beginPath();
      ctx.arc(points[0][0], points[0][1], this.lineWidth / 2, 0, 2 * Math.PI);
      ctx.fill();
      return;
    }
    ctx.beginPath();
    ctx.moveTo(points[0][0], points[0][1]);
    for (const p of points.slice(1)) ctx.lineTo(p[0], p[1]);
    ctx.stroke();
  }
}
