// The Fig. 4 grid off the main thread: asks /api/perturbations (through api.js, so the same errors),
// decodes the answer and paints its tiles into an ImageBitmap, which it hands to the page. While a
// slider moves, about 14 grids a second cost the main thread ~8 ms each this way saved, time the
// frames that draw the reconstruction need.
// Message in: {id, model, digit, vector, shapes, gap} (model: the page's, which a worker cannot read from
// its own address); out: {id, bitmap, steps} or {id, error, status}.

import * as api from './api.js';
import { tilesImage } from './perturbationTiles.js';

self.onmessage = async ({ data: { id, model, digit, vector, shapes, gap } }) => {
  try {
    const { images, steps } = await api.forModel(model, api.perturbations)(digit, vector);
    const bitmap = await createImageBitmap(tilesImage(shapes, images.data, steps.length, gap));
    self.postMessage({ id, bitmap, steps }, [bitmap]);
  } catch (e) {
    self.postMessage({ id, error: e.message, status: e.status ?? 0 });
  }
};
