// The report's charts, drawn as plain SVG: a line chart, a bar chart and a grid of labelled cells. They
// replace plotly.js on /report, whose 1.3 MB of script took one long main-thread task on every load
// (Lighthouse: 307 ms of blocking time) for three small charts. Each chart fills its container's width,
// takes its height from the CSS (so the page does not shift when it draws) and redraws when the width
// changes. Values show on hover and focus through <title> elements. Presentation attributes only: the
// page's Content-Security-Policy forbids inline styles.

const NS = 'http://www.w3.org/2000/svg';
export const MARGIN = { l: 60, r: 12, t: 30, b: 44 };

export function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) node.setAttribute(k, String(v));
  for (const c of children) if (c !== null && c !== undefined) node.append(c);
  return node;
}

const title = (text) => svg('title', {}, text);

export function linearScale([d0, d1], [r0, r1]) {
  const k = d1 === d0 ? 0 : (r1 - r0) / (d1 - d0);
  return (v) => r0 + (v - d0) * k;
}

export function logScale([d0, d1], range) {
  const s = linearScale([Math.log10(d0), Math.log10(d1)], range);
  return (v) => s(Math.log10(v));
}

// About `count` round ticks (1, 2 or 5 times a power of ten apart) within [lo, hi].
export function niceTicks(lo, hi, count = 5) {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw);
  const ticks = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

// Draws into `container` whenever its width changes; draw(width, height) returns the <svg>'s children.
export function responsive(container, label, draw) {
  let width = 0;
  const paint = () => {
    const w = Math.round(container.clientWidth);
    if (w === 0 || w === width) return;
    width = w;
    const h = Math.round(container.clientHeight) || Math.round(w * 0.6);
    container.replaceChildren(svg('svg', { width: w, height: h, viewBox: `0 0 ${w} ${h}`, role: 'img', 'aria-label': label,
      class: 'chart' }, ...draw(w, h)));
  };
  // The latest draw wins: the observer, made once per container, calls whichever paint is current.
  container._paint = paint;
  container._redraw = () => { width = 0; paint(); };
  if (!container._observer) {
    container._observer = new ResizeObserver(() => container._paint());
    container._observer.observe(container);
  }
  paint();
}

function axisX(ticks, x, y0, label, fmt) {
  return svg('g', { class: 'axis axis-x' },
    ...ticks.map((t) => svg('g', {},
      svg('line', { x1: x(t), x2: x(t), y1: y0, y2: y0 + 5, stroke: '#57606a' }),
      svg('text', { x: x(t), y: y0 + 18, 'text-anchor': 'middle' }, fmt(t)))),
    svg('text', { class: 'axis-title', x: (x(ticks[0]) + x(ticks[ticks.length - 1])) / 2, y: y0 + 36, 'text-anchor': 'middle' }, label));
}

function axisY(ticks, y, x0, x1, label, fmt) {
  const mid = (y(ticks[0]) + y(ticks[ticks.length - 1])) / 2;
  return svg('g', { class: 'axis axis-y' },
    ...ticks.map((t) => svg('g', {},
      svg('line', { x1: x0, x2: x1, y1: y(t), y2: y(t), stroke: '#e6e9ed' }),
      svg('text', { x: x0 - 6, y: y(t) + 4, 'text-anchor': 'end' }, fmt(t)))),
    svg('text', { class: 'axis-title', x: 14, y: mid, 'text-anchor': 'middle', transform: `rotate(-90 14 ${mid})` }, label));
}

// Legend entries left to right, wrapping onto a new row where the chart is too narrow; returns the
// drawing and the height it takes.
function legend(series, x0, width) {
  let [x, row] = [x0, 0];
  const items = series.map((s) => {
    const w = 40 + s.name.length * 6.6;
    if (x > x0 && x + w > width) [x, row] = [x0, row + 1];
    const y = 12 + row * 18;
    const g = svg('g', {}, svg('line', { x1: x, x2: x + 22, y1: y, y2: y, stroke: s.color, 'stroke-width': 2,
      'stroke-dasharray': s.dash }), svg('text', { x: x + 28, y: y + 4 }, s.name));
    x += w;
    return g;
  });
  return [svg('g', { class: 'legend' }, ...items), (row + 1) * 18];
}

// series: [{name, color, dash, x: [...], y: [...]}] (null y = no point); yAxis: {title, log, suffix, ticks}.
export function lineChart(container, { label, series, xTitle, yAxis, showLegend = false }) {
  responsive(container, label, (w, h) => {
    const [key, keyHeight] = showLegend ? legend(series, MARGIN.l, w) : [null, 0];
    const m = { ...MARGIN, t: MARGIN.t + Math.max(0, keyHeight - 18) };
    const xs = series.flatMap((s) => s.x);
    const ys = series.flatMap((s) => s.y).filter((v) => Number.isFinite(v) && (!yAxis.log || v > 0));
    let [lo, hi] = [Math.min(...ys), Math.max(...ys)];
    if (lo === hi) [lo, hi] = yAxis.log ? [lo / 2, hi * 2] : [lo - 1, hi + 1];
    const pad = yAxis.log ? 1 : (hi - lo) * 0.06;
    const yDomain = yAxis.log ? [lo / 1.15, hi * 1.15] : [lo - pad, hi + pad];
    const y = (yAxis.log ? logScale : linearScale)(yDomain, [h - m.b, m.t]);
    const x = linearScale([Math.min(...xs) - 0.3, Math.max(...xs) + 0.3], [m.l, w - m.r]);
    const yTicks = (yAxis.ticks?.(lo, hi) ?? niceTicks(lo, hi)).filter((t) => t >= yDomain[0] && t <= yDomain[1]);
    const xTicks = niceTicks(Math.min(...xs), Math.max(...xs), Math.min(10, Math.floor((w - m.l) / 50))).filter(Number.isInteger);
    const suffix = yAxis.suffix ?? '';
    return [
      axisY(yTicks, y, m.l, w - m.r, yAxis.title, (t) => `${t}${suffix}`),
      axisX(xTicks, x, h - m.b, xTitle, String),
      ...series.map((s) => {
        const pts = s.x.map((xv, i) => [xv, s.y[i]]).filter(([, yv]) => Number.isFinite(yv) && (!yAxis.log || yv > 0));
        return svg('g', { class: 'series', 'data-name': s.name },
          svg('polyline', { points: pts.map(([a, b]) => `${x(a).toFixed(1)},${y(b).toFixed(1)}`).join(' '),
            fill: 'none', stroke: s.color, 'stroke-width': 2, 'stroke-dasharray': s.dash }),
          ...pts.map(([a, b]) => svg('circle', { cx: x(a).toFixed(1), cy: y(b).toFixed(1), r: 3.5, fill: s.color },
            title(`${s.name}, epoch ${a}: ${yAxis.format ? yAxis.format(b) : b}${suffix}`))));
      }),
      key,
    ];
  });
}

// bars: [{label, value, text, hover}]; yAxis: {title, min, max, suffix}.
export function barChart(container, { label, bars, xTitle, yAxis, color }) {
  responsive(container, label, (w, h) => {
    const m = { ...MARGIN, t: 24 };
    const y = linearScale([yAxis.min, yAxis.max], [h - m.b, m.t]);
    const band = (w - m.l - m.r) / bars.length;
    const x = (i) => m.l + band * (i + 0.5);
    return [
      axisY(niceTicks(yAxis.min, yAxis.max), y, m.l, w - m.r, yAxis.title, (t) => `${t}${yAxis.suffix ?? ''}`),
      svg('g', { class: 'axis axis-x' }, ...bars.map((b, i) => svg('text', { x: x(i), y: h - m.b + 18, 'text-anchor': 'middle' }, b.label)),
        svg('text', { class: 'axis-title', x: (w + m.l - m.r) / 2, y: h - m.b + 36, 'text-anchor': 'middle' }, xTitle)),
      svg('g', { class: 'bars' }, ...bars.map((b, i) => {
        const top = y(Math.min(Math.max(b.value, yAxis.min), yAxis.max));
        return svg('g', { class: 'bar' },
          svg('rect', { x: x(i) - band * 0.4, y: top, width: band * 0.8, height: Math.max(0, h - m.b - top), fill: color },
            title(b.hover)),
          svg('text', { x: x(i), y: top - 5, 'text-anchor': 'middle', class: 'bar-value' }, b.text));
      })),
    ];
  });
}
