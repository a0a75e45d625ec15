// Section "input": the drawing pad, upload / drop / paste, the MNIST gallery, and the 28x28 image the
// model saw. Every input it is given goes to the walk's one analysis; the gallery's samples are its slice
// (other features, e.g. overlap, read them from here).

import * as api from '../api.js';
import { debounce } from '../dom.js';
import { InputView } from '../views/input.js';

export const name = 'input';

// Short: a new stroke cancels a pending analysis anyway, so multi-stroke digits are not analyzed half-drawn.
const STROKE_DEBOUNCE_MS = 80;

export function create({ section, store, shapes, walk }) {
  store.define(name, { samples: null, error: null });
  const analyzeSoon = debounce((dataUrl) => walk.analyze({ image: dataUrl }), STROKE_DEBOUNCE_MS);
  const view = new InputView(section, {
    strokeStart: () => analyzeSoon.cancel(),
    drawing: (dataUrl, now = false) => {
      analyzeSoon.cancel();
      if (now) walk.analyze({ image: dataUrl });
      else analyzeSoon(dataUrl);
    },
    cleared: () => {
      analyzeSoon.cancel();
      store.set('analysis', { error: null });
    },
    file: (file) => walk.analyze({ file }),
    sample: (id) => walk.analyze({ sample: id }),
  }, shapes);
  const draw = () => {
    const a = store.get('analysis');
    const { samples, error } = store.get(name);
    view.render({ analysis: a.result, samples, busy: a.busy, error: a.error ?? error });
  };
  store.subscribe('analysis', draw);
  store.subscribe(name, draw);
  draw();

  const loaded = api.getSamples().then(
    (samples) => store.set(name, { samples }),
    (e) => store.set(name, { error: `Could not load the MNIST samples: ${e.message}` }),
  );
  return {
    loaded, // resolves once the gallery has loaded (or failed to)
    pickSample: (sample) => view.pickSample(sample),
  };
}
