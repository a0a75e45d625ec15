// The small histogram behind one reconstruction slider: how this capsule dimension is spread over the
// training digits of this class (GET /api/capsule_stats), drawn on the slider's own scale (min..max),
// with the class mean (dark line) and the slider's current value (orange line) marked.

const BAR = '#9cc3e6';
const MEAN = '#1f2328';
const VALUE = '#d55e00'; // Okabe-Ito vermillion: apart from the blue bars for every colour vision

// range: one entry of sliderRanges(...).dims; value: the slider's current value.
export function drawHistogram(canvas, range, value) {
  const ctx = canvas.getContext('2d');
  const { width: w, height: h } = canvas;
  ctx.clearRect(0, 0, w, h);
  if (!range.hist) return;
  const x = (v) => ((v - range.min) / (range.max - range.min)) * w;
  const [lo, hi] = range.histRange;
  const n = range.hist.length;
  const top = Math.max(1, ...range.hist);
  ctx.fillStyle = BAR;
  range.hist.forEach((count, i) => {
    if (!count) return;
    const left = x(lo + ((hi - lo) * i) / n);
    const right = x(lo + ((hi - lo) * (i + 1)) / n);
    const barH = Math.max(1, (count / top) * (h - 3));
    ctx.fillRect(left, h - barH, Math.max(1, right - left - 0.5), barH);
  });
  // The mean on top: where the two meet, the thumb still shows the value.
  line(ctx, x(value), h, VALUE, 2);
  line(ctx, x(range.mean), h, MEAN, 2);
}

function line(ctx, at, h, color, width) {
  ctx.fillStyle = color;
  ctx.fillRect(Math.round(at - width / 2), 0, width, h);
}
