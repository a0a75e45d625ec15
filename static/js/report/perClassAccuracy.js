// Section "per_class_accuracy": the test accuracy of each digit as an SVG bar chart, zoomed to the
// range the values span so that differences between 99 % and 100 % stay visible.

import { barChart } from './svgChart.js';
import { percent, setText } from '../dom.js';

export function renderPerClassAccuracy({ chart, summary, caption }, report) {
  const acc = report.per_class_accuracy.map((a) => a * 100);
  const counts = report.confusion.map((row) => row.reduce((a, b) => a + b, 0));
  const worst = acc.indexOf(Math.min(...acc));
  const best = acc.indexOf(Math.max(...acc));
  const unit = report.unit === 'pairs' ? 'test pairs with both digits right' : 'test digits';
  setText(summary, `Overall ${percent(report.accuracy)} of ${report.n.toLocaleString('en')} ${unit}. `
    + `Hardest: ${worst} (${percent(acc[worst] / 100)}); easiest: ${best} (${percent(acc[best] / 100)}).`);
  // Bars start at a round floor below the worst class (never below 0), said in the caption.
  const floor = Math.max(0, Math.floor(Math.min(...acc) - Math.max(0.5, (100 - Math.min(...acc)) * 0.25)));
  setText(caption, `Share of each digit's test images classified correctly${floor > 0 ? `; the axis starts at ${floor} %` : ''}.`);
  barChart(chart, {
    label: `Test accuracy per digit: ${acc.map((a, d) => `${d}: ${a.toFixed(2)} %`).join(', ')}.`,
    bars: acc.map((a, d) => ({ label: String(d), value: a, text: a.toFixed(a >= 99.95 ? 1 : 2),
      hover: `digit ${d}: ${a.toFixed(2)} % of ${counts[d]} test images` })),
    xTitle: 'digit', yAxis: { title: 'accuracy (%)', min: floor, max: 100, suffix: ' %' }, color: '#0b5cad',
  });
}
