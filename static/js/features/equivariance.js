// Section "equivariance": the walk's input transformed (rotate, shift, scale, ...) and re-analyzed, beside
// the untransformed capsules, and a sweep of one transform across its range. It transforms the walk's
// input but never changes the walk.

import * as api from '../api.js';
import { latest } from '../latest.js';
import { whenNear } from '../nearby.js';
import { EquivarianceView, identityTransform, isIdentity } from '../views/equivariance.js';

export const name = 'equivariance';

export function create({ section, store, shapes, walk }) {
  store.define(name, { transform: identityTransform(), result: null, sweep: null, busy: false, sweeping: false, error: null });
  const get = () => store.get(name);
  const runTransformed = latest(api.analyzeTransformed);
  const runSweep = latest(api.sweep);
  const options = () => {
    const a = store.get('analysis');
    return { iterations: a.iterations, uniformRouting: a.uniform };
  };

  async function transformed() {
    const source = walk.source();
    if (!source) return;
    store.set(name, { busy: true, error: null });
    try {
      const result = await runTransformed(source, { ...get().transform }, options());
      if (result === null) return; // a newer transform or a new input is on its way
      store.set(name, { busy: false, result });
      store.count('transforms');
    } catch (e) {
      store.set(name, { busy: false, error: `Could not analyze the transformed input: ${e.message}` });
    }
  }

  async function sweep(parameter) {
    const source = walk.source();
    if (!source || get().sweeping) return;
    store.set(name, { sweeping: true, error: null });
    try {
      const body = await runSweep(source, parameter, options());
      if (body === null) return;
      // The digit predicted at the identity value (0, or 1 for scale): the capsule whose dimensions are shown.
      const identity = identityTransform()[parameter];
      let at = 0;
      body.values.forEach((v, i) => { if (Math.abs(v - identity) < Math.abs(body.values[at] - identity)) at = i; });
      const row = Array.from(body.lengths.data.subarray(at * shapes.digits, (at + 1) * shapes.digits));
      store.set(name, { sweeping: false, sweep: { parameter, ...body, digit: row.indexOf(Math.max(...row)) } });
      store.count('sweeps');
    } catch (e) {
      store.set(name, { sweeping: false, error: `Could not sweep: ${e.message}` });
    }
  }

  const view = new EquivarianceView(section, {
    change: (key, value) => {
      store.set(name, { transform: { ...get().transform, [key]: value } });
      transformed();
    },
    reset: () => {
      store.set(name, { transform: identityTransform() });
      transformed();
    },
    sweep,
  }, shapes);
  const draw = whenNear(section, () => {
    const a = store.get('analysis').result;
    view.render({
      ...get(),
      original: a?.input ?? null,
      reference: a ? { lengths: a.layers.digit_caps.lengths, vectors: a.layers.digit_caps.vectors, prediction: a.prediction } : null,
    });
  });
  const wantTransformed = whenNear(section, transformed);
  store.subscribe(name, draw);
  store.subscribe('analysis', (a, old) => {
    if (a.result === old.result) return;
    // A new walk input (or routing options): the old results belong to the old one; abandon them.
    runTransformed.cancel();
    runSweep.cancel();
    store.set(name, { result: null, sweep: null, error: null, busy: false, sweeping: false });
    if (a.result && !isIdentity(get().transform)) wantTransformed();
  });
}
