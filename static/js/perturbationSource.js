// Where the reconstruction section's Fig. 4 grid comes from: a worker (perturbationWorker.js) that asks
// the server and paints the tiles off the main thread, or, when no worker can run, api.perturbations
// here. Either answer is what ReconstructionView draws: {bitmap, steps} (tiles painted, unscaled) or
// {images, steps} (the values).

import * as api from './api.js';

// gap: white pixels between the unscaled tiles. Returns fn(digit, vector, {signal}) -> Promise of an answer.
export function perturbationSource(shapes, gap) {
  let worker; // started with the first grid asked for: a page never scrolled there never loads it
  const waiting = new Map(); // id -> {resolve, reject, digit, vector}
  let next = 0;
  const inPage = ({ digit, vector, resolve, reject }) => api.perturbations(digit, vector).then(resolve, reject);
  function start() {
    try {
      worker = new Worker(new URL('./perturbationWorker.js', import.meta.url), { type: 'module' });
    } catch {
      worker = null;
      return;
    }
    worker.onmessage = ({ data }) => {
      const call = waiting.get(data.id);
      if (!call) return;
      waiting.delete(data.id);
      if (data.error !== undefined) call.reject(new api.ApiError(data.error, data.status));
      else call.resolve({ bitmap: data.bitmap, steps: data.steps });
    };
    // It could not start (or broke): what it was asked goes to the server from here, as does all that follows.
    worker.onerror = (e) => {
      e.preventDefault();
      worker.terminate();
      worker = null;
      for (const call of waiting.values()) inPage(call);
      waiting.clear();
    };
  }
  return (digit, vector, { signal } = {}) => {
    if (worker === undefined) start();
    if (!worker) return api.perturbations(digit, vector, { signal });
    return new Promise((resolve, reject) => {
      const id = next++;
      waiting.set(id, { resolve, reject, digit, vector });
      worker.postMessage({ id, model: api.currentModel(), digit, vector, shapes, gap });
    });
  };
}
