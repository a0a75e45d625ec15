// Section "ablation" ("Does routing matter?"): the capsule lengths with uniform coupling beside those
// after n iterations, and how the coupling coefficients move per step (/api/ablation, asked for when the
// section comes near; it depends on the walk's input, not on its routing options).

import * as api from '../api.js';
import { latest } from '../latest.js';
import { whenNear } from '../nearby.js';
import { AblationView } from '../views/ablation.js';

export const name = 'ablation';

export function create({ section, store, shapes, walk }) {
  store.define(name, { result: null, n: shapes.iterationsDefault, step: 2, digit: 0, busy: false, error: null });
  const run = latest(api.ablation);
  let forInput = null; // the walk input (as JSON text) the ablation on screen or on its way belongs to

  // digit null: the server's default, the prediction.
  async function load(digit = null) {
    const source = walk.source();
    if (!source) return;
    forInput = JSON.stringify(source);
    store.set(name, { busy: true, error: null, ...(digit === null ? { result: null } : {}) });
    try {
      const result = await run(source, digit);
      if (result === null) return; // a newer input or digit is on its way
      store.set(name, { busy: false, result, digit: result.digit });
      store.count('ablations');
    } catch (e) {
      store.set(name, { busy: false, error: `Could not compare routing iterations: ${e.message}` });
    }
  }

  const view = new AblationView(section, {
    iterations: (n) => store.set(name, { n }),
    step: (step) => store.set(name, { step }),
    digit: (digit) => {
      store.set(name, { digit });
      if (store.get(name).result) load(digit);
    },
  }, shapes);
  const draw = whenNear(section, () => view.render(store.get(name)));
  const want = whenNear(section, () => load());
  store.subscribe(name, draw);
  store.subscribe('analysis', (a, old) => {
    if (a.result === old.result || !a.result) return;
    if (JSON.stringify(walk.source()) !== forInput) run.cancel();
    if (JSON.stringify(walk.source()) !== forInput) want(); // not when only the routing options changed
  });
}
