// The walk's one analysis: a new input (or new routing options) sends exactly one /api/analyze, whose
// decoded answer lands in the store slice "analysis" for every feature to read. Nothing else here: each
// section asks for its own extra data, when it is near the viewport (static/js/features/README.md).

import * as api from './api.js';
import { latest } from './latest.js';

export function createWalk(store, shapes) {
  const run = latest(api.analyze);
  store.define('analysis', { source: null, iterations: shapes.iterationsDefault, uniform: false, result: null, busy: false, error: null });

  async function analyze(source, options = {}) {
    const a = store.set('analysis', { ...options, source, busy: true, error: null });
    let result;
    try {
      result = await run(source, { iterations: a.iterations, uniformRouting: a.uniform });
    } catch (e) {
      store.set('analysis', { busy: false, error: `Could not analyze: ${e.message}` });
      return null;
    }
    if (result === null) return null; // a newer input is on its way
    store.set('analysis', { busy: false, result });
    store.count('analyses', { source: result.source, renderedAt: () => performance.now() });
    return result;
  }

  return {
    analyze,
    reanalyze: (options) => {
      const a = store.get('analysis');
      if (a.source) analyze(a.source, options);
      else store.set('analysis', options);
    },
    // The input of the analysis on screen, as JSON: a gallery sample by id, anything else (drawing,
    // upload, paste) as the pixels the model saw, since the other endpoints take JSON.
    source() {
      const r = store.get('analysis').result;
      if (!r) return null;
      if (r.source === 'sample') return { sample: r.sample };
      const rows = [];
      for (let y = 0; y < shapes.image; y++) {
        rows.push(Array.from(r.input.data.subarray(y * shapes.image, (y + 1) * shapes.image), (v) => Math.min(1, Math.max(0, v))));
      }
      return { pixels: rows };
    },
  };
}
