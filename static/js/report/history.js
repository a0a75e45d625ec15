// Section "history": the training curves from the report's per-epoch metrics (loss; train and test
// accuracy, and the weights' moving average where training kept one), as two SVG line charts.

import { lineChart } from './svgChart.js';

const TRAIN = '#0b5cad';
const TEST = '#c1440e';
const AVERAGE = '#5e3c99'; // purple: apart from the blue and orange for colour-blind readers too

// Log-axis ticks at 1, 2 and 5 times each power of ten within [lo, hi], labelled as plain numbers.
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

// history: [{epoch, train_loss, train_accuracy, test_accuracy, ...}] or null.
export function renderHistory({ loss, accuracy, empty }, history) {
  const rows = Array.isArray(history) ? history : [];
  empty.hidden = rows.length > 0;
  loss.closest('.pair').hidden = rows.length === 0;
  if (rows.length === 0) return;
  const epochs = rows.map((r) => r.epoch);
  const pct = (key) => rows.map((r) => (Number.isFinite(r[key]) ? r[key] * 100 : null));
  const series = (name, color, y, dash) => ({ name, color, dash, x: epochs, y });
  lineChart(loss, {
    label: `Training loss per epoch, log scale, from ${rows[0].train_loss} to ${rows[rows.length - 1].train_loss}.`,
    series: [series('training loss', TRAIN, rows.map((r) => r.train_loss))], xTitle: 'epoch',
    yAxis: { title: 'loss', log: true, ticks: logTicks, format: (v) => v.toPrecision(4) },
  });
  const accuracySeries = [
    series('training', TRAIN, pct('train_accuracy')),
    series('test', TEST, pct('test_accuracy'), '6 4'),
    // Epochs trained with --ema-decay also scored the weights' moving average, which is what ships then.
    ...(rows.some((r) => Number.isFinite(r.test_accuracy_ema))
      ? [series('test, averaged weights', AVERAGE, pct('test_accuracy_ema'), '2 3')] : []),
  ];
  const last = accuracySeries.map((s) => `${s.name} ${s.y[s.y.length - 1]?.toFixed(2)} %`).join(', ');
  lineChart(accuracy, {
    label: `Accuracy per epoch; after the last epoch: ${last}.`, series: accuracySeries, xTitle: 'epoch',
    yAxis: { title: 'accuracy (%)', suffix: ' %', format: (v) => v.toFixed(2) }, showLegend: true,
  });
}
