// Section "reconstruction": the decoder's image from one digit capsule, a slider per dimension that
// redraws it while dragging, reset, another digit's capsule, the Fig. 4 perturbation grid (following the
// slider vector live, throttled), and the shared state (features/reconstructionShare.js).
// A slider event redraws this section only: the store notifies this slice's subscriber, nothing else.
//
// The decoder runs in the page (static/js/decoder.js, weights from GET /api/decoder, fetched once the
// section is near or a reconstruction is asked for): slider events only update the state, and each
// animation frame decodes the newest vector once and draws it. If the weights cannot be had, each vector
// goes to POST /api/reconstruct instead. The grid (176 decodes, about 110 ms in the page against 8 ms in
// torch on this 2-core machine) stays a server request, at most every GRID_INTERVAL_MS, asked and
// painted by a worker (perturbationSource.js).

import * as api from '../api.js';
import { createDecoder } from '../decoder.js';
import { coalesce } from '../latest.js';
import { whenNear } from '../nearby.js';
import { perturbationSource } from '../perturbationSource.js';
import { sliderRanges } from '../sliderRanges.js';
import { GRID_TILE_GAP, ReconstructionView } from '../views/reconstruction.js';
import { createShare } from './reconstructionShare.js';

export const name = 'reconstruction';

// The grid is 16 x 11 decodes: asked for at most this often while a slider moves (≥ 10 updates/s). Each
// update costs the main thread ~10 ms (JSON, tiles, the canvas upload), taken from the frames that draw
// the reconstruction: 70 ms leaves the grid at ~13/s when a round trip takes ~60 ms (load 6 here).
const GRID_INTERVAL_MS = 70;

export function create({ section, store, model, shapes, walk, input }) {
  store.define(name, {
    digit: null, base: null, vector: null, ranges: null, image: null, perturbations: null,
    restoring: null, message: null, stats: null, eventAt: null,
  });
  const get = () => store.get(name);
  const runReconstruct = coalesce(api.reconstruct);
  const runGrid = coalesce(perturbationSource(shapes, GRID_TILE_GAP));
  let pending = null; // a shared state {digit, vector, from} for the next analysis

  // The in-page decoder: loaded once, on first need; null when its weights could not be had (then the
  // server decodes). The hook says which one draws (tests, bench/ui_latency.py).
  let decoder;
  let decoderLoad = null;
  const loadDecoder = () => {
    decoderLoad ??= api.getDecoder().then((body) => createDecoder(body, shapes)).catch(() => null).then((d) => {
      decoder = d;
      store.hook('reconstructionDecoder', d ? 'page' : 'server');
      return d;
    });
    return decoderLoad;
  };

  function drawn(r, image) {
    if (get().base !== r.base) return; // another capsule by now
    const restoring = get().restoring;
    store.set(name, {
      image, restoring: null,
      ...(restoring ? { message: { text: `Restored the shared state from ${restoring.from}.`, isError: false } } : {}),
    });
    store.count('reconstructions', { reconstructedFrom: r.eventAt ?? performance.now() });
    if (restoring) store.count('restores');
  }

  // One decode of the newest vector per frame, however many slider events came since the last.
  let frame = 0;
  const decodeFrame = () => {
    frame = 0;
    const r = get();
    drawn(r, decoder.decode(r.digit, r.vector));
  };

  // While the weights are on their way, a vector waits for them (once, about a second) rather than go to the
  // server: its float16 image can differ from the page's by a grey level, and a shared link must restore
  // exactly what its sender saw.
  async function reconstruct() {
    if (decoder === undefined) await loadDecoder();
    if (decoder) {
      frame ||= requestAnimationFrame(decodeFrame);
      return;
    }
    const r = get();
    let image;
    try {
      image = await runReconstruct(r.digit, r.vector.slice());
    } catch (e) {
      store.set(name, { message: { text: `Could not reconstruct: ${e.message}`, isError: true } });
      return;
    }
    if (image !== null) drawn(r, image); // null: superseded
  }

  let gridTimer = null;
  let gridAsked = 0;
  async function loadGrid() {
    clearTimeout(gridTimer);
    const wait = gridAsked + GRID_INTERVAL_MS - performance.now();
    if (wait > 0) {
      gridTimer = setTimeout(loadGrid, wait);
      return;
    }
    gridAsked = performance.now();
    const r = get();
    try {
      const perturbations = await runGrid(r.digit, r.vector.slice());
      if (perturbations && get().base === r.base) {
        store.set(name, { perturbations });
        store.count('perturbations', { perturbationsPainter: perturbations.bitmap ? 'worker' : 'page' });
      }
    } catch (e) {
      store.set(name, { message: { text: `Could not compute the perturbation grid: ${e.message}`, isError: true } });
    }
  }
  const wantGrid = whenNear(section, loadGrid);
  whenNear(section, loadDecoder)(); // fetched ahead of the first slider event

  // Decodes digit capsule `digit` of the analysis on screen; `image`: its known reconstruction, if any;
  // `restoring`: a shared state whose vector replaces the capsule's own (Reset goes back to the capsule).
  function choose(digit, image = null, restoring = null) {
    const vectors = store.get('analysis').result.layers.digit_caps.vectors;
    const base = Array.from(vectors.data.subarray(digit * shapes.dim, (digit + 1) * shapes.dim));
    const vector = restoring ? restoring.vector.slice() : base.slice();
    const ranges = sliderRanges(get().stats, digit, base, vector);
    store.set(name, { digit, base, vector, ranges, image, perturbations: null, restoring, eventAt: null });
    // With the decoder here, even a known image is decoded again (a millisecond): what a shared link
    // restores is then drawn by the same code, to the same pixels.
    if (!image || decoder) reconstruct();
    wantGrid();
  }

  function slid(vector, eventAt) {
    store.set(name, { vector, eventAt });
    reconstruct();
    wantGrid();
  }

  const share = createShare({ store, walk, input, model, shapes, setPending: (p) => { pending = p; } });
  const view = new ReconstructionView(section, {
    slide: (k, value, eventAt) => {
      const vector = get().vector.slice();
      vector[k] = Math.fround(value); // the decoder computes in float32; a shared vector is exact
      slid(vector, eventAt);
    },
    reset: () => { if (get().base) slid(get().base.slice(), performance.now()); },
    digit: (d) => { if (store.get('analysis').result) choose(d); },
    copyLink: () => share.copyLink(),
    exportState: () => share.exportState(),
    importState: (file) => share.importState(file),
  }, shapes);

  // Drawn at once, near the viewport or not: a restored link or an imported file must show, and the
  // section's own work (the grid's request) still waits until it is near.
  const draw = () => view.render({ ...get(), prediction: store.get('analysis').result?.prediction });
  store.subscribe(name, (r, old) => {
    draw();
    // A restored state is written once drawn too: while restoring, the hash is not rewritten (current() is
    // null), and the drawing can come after the debounce (a decoder still loading).
    if (r.vector !== old.vector || r.digit !== old.digit || (old.restoring && !r.restoring)) share.writeHashSoon();
  });
  store.subscribe('analysis', (a, old) => {
    if (a.error && a.error !== old.error && pending) {
      store.set(name, { message: { text: `Could not restore the shared state: ${a.error}`, isError: true } });
      pending = null;
    }
    if (!a.result || a.result === old.result) return;
    const restoring = pending;
    pending = null;
    const decoded = a.result.layers.reconstruction;
    if (restoring) choose(restoring.digit, null, restoring);
    else choose(decoded.digit, decoded.image.data);
  });

  const statsLoaded = model.capsule_stats
    ? api.getCapsuleStats().then((stats) => store.set(name, { stats }), (e) => store.set(name, {
      message: { text: `Could not load the capsule statistics (${e.message}): sliders span ±0.25.`, isError: true },
    }))
    : Promise.resolve();
  return { statsLoaded, restoreFromLink: share.restoreFromLink };
}
