// The Fig. 4 grid's tiles, unscaled: shapes.dim rows x n steps of image x image decodes, `gap` white
// pixels apart, in one ImageData that the view scales up. No DOM: the grid's worker
// (perturbationWorker.js) runs it, and the page too when there is no worker.

import { grayscale } from './colormap.js';
import { fillTile } from './draw.js';

// {pitch, width, height} of the unscaled tiles for n steps.
export function tilesLayout(shapes, n, gap) {
  const pitch = shapes.image + gap;
  return { pitch, width: n * pitch, height: shapes.dim * pitch };
}

// images: dim * n decodes, row after row (as /api/perturbations sends them), values in [0, 1].
export function tilesImage(shapes, images, n, gap) {
  const { pitch, width, height } = tilesLayout(shapes, n, gap);
  const img = new ImageData(width, height);
  img.data.fill(255); // the gaps stay white
  for (let k = 0; k < shapes.dim; k++) {
    for (let s = 0; s < n; s++) {
      fillTile(img, images, (k * n + s) * shapes.pixels, shapes.image, shapes.image, 1, s * pitch, k * pitch, grayscale, 0, 1);
    }
  }
  return img;
}
