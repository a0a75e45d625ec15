// Section "history": the training curves from the report's per-epoch metrics (loss; train and test
// accuracy, and the weights' moving average where training kept one), as two plotly line charts.

import { baseLayout, plot } from '../plots.js';

const TRAIN = '#0b5cad';
const TEST = '#c1440e';
const AVERAGE = '#5e3c99'; // purple: apart from the blue and orange for colour-blind readers too

function line(x, y, name, color, dash = 'solid') {
  return { type: 'scatter', mode: 'lines+markers', x, y, name, line: { color, width: 2, dash },
    marker: { size: 6, color }, hovertemplate: `${name}, epoch %{x}: %{y}<extra></extra>` };
}

// Log-axis ticks at 1, 2 and 5 times each power of ten within [lo, hi], labelled as plain numbers (plotly's
// own 10⁻¹ labels are superscripts written with inline styles, which the page's CSP blocks).
export function logTicks(lo, hi) {
  const ticks = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      if (v >= lo / 1.2 && v <= hi * 1.2) ticks.push(Number(v.toPrecision(1)));
    }
  }
  return ticks;
}

function epochAxis(count) {
  return { title: { text: 'epoch' }, dtick: count > 20 ? undefined : 1, zeroline: false, gridcolor: '#e6e9ed' };
}

// history: [{epoch, train_loss, train_accuracy, test_accuracy, ...}] or null.
export function renderHistory({ loss, accuracy, empty }, history) {
  const rows = Array.isArray(history) ? history : [];
  empty.hidden = rows.length > 0;
  loss.closest('.pair').hidden = rows.length === 0;
  if (rows.length === 0) return Promise.resolve();
  const epochs = rows.map((r) => r.epoch);
  const pct = (key) => rows.map((r) => (Number.isFinite(r[key]) ? r[key] * 100 : null));
  const losses = rows.map((r) => r.train_loss).filter((v) => v > 0);
  const tickvals = losses.length ? logTicks(Math.min(...losses), Math.max(...losses)) : undefined;
  const legend = { orientation: 'h', x: 0, y: 1.02, yanchor: 'bottom' };
  return Promise.all([
    plot(loss, [line(epochs, rows.map((r) => r.train_loss), 'training loss', TRAIN)], baseLayout({
      height: 280, margin: { l: 60, r: 12, t: 12, b: 44 }, xaxis: epochAxis(rows.length),
      yaxis: { type: 'log', title: { text: 'loss' }, gridcolor: '#e6e9ed', tickvals,
        ticktext: tickvals?.map(String) },
    })),
    plot(accuracy, [
      line(epochs, pct('train_accuracy'), 'training', TRAIN),
      line(epochs, pct('test_accuracy'), 'test', TEST, 'dash'),
      // Epochs trained with --ema-decay also scored the weights' moving average, which is what ships then.
      ...(rows.some((r) => Number.isFinite(r.test_accuracy_ema))
        ? [line(epochs, pct('test_accuracy_ema'), 'test, averaged weights', AVERAGE, 'dot')] : []),
    ], baseLayout({
      height: 280, margin: { l: 60, r: 12, t: 30, b: 44 }, legend, showlegend: true,
      xaxis: epochAxis(rows.length),
      yaxis: { title: { text: 'accuracy (%)' }, ticksuffix: ' %', gridcolor: '#e6e9ed', hoverformat: '.2f' },
    })),
  ]);
}
