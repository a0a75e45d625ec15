// Section "loss": the loss for this input and a label the user picks (default the prediction), what
// training would push on this digit (POST /api/routing/loss): the margin loss per digit split into its
// two terms, the reconstruction loss with the difference image, the total. Test hook: data-losses.

import * as api from '../api.js';
import { fetchInto, latest } from '../latest.js';
import { whenNear } from '../nearby.js';
import { LossView } from '../views/loss.js';

export const name = 'loss';

export function create({ section, store, shapes, walk }) {
  store.define(name, { label: null, result: null, busy: false, error: null });
  const run = latest(api.loss);
  const view = new LossView(section, shapes, { label: (label) => { store.set(name, { label }); want(); } });
  store.subscribe(name, async (s) => { if (await view.render(s)) store.count('losses'); });
  const want = whenNear(section, async () => {
    const source = walk.source();
    if (!source) return;
    const a = store.get('analysis');
    await fetchInto(store, name,
      () => run(source, store.get(name).label, { iterations: a.iterations, uniformRouting: a.uniform }), 'the loss');
  });
  // A new input starts again from its prediction.
  store.subscribe('analysis', (a, old) => {
    if (!a.result || a.result === old.result) return;
    store.set(name, { label: null, result: null });
    want();
  });
}
