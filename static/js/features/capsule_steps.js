// Section "capsule_steps": one primary capsule i and one digit j, step by step with the real numbers
// (POST /api/routing/capsule_steps): u_i and its own squash, W_ij, u_hat_j|i = W_ij u_i, c_ij and
// c_ij u_hat_j|i per iteration, s_j and v_j = squash(s_j) on the squash curve. The capsule is picked here,
// or by clicking a vote in "vote_cloud"; it starts as the predicted digit's strongest capsule (largest
// c_ij |u_i|). Test hook: data-capsule-steps counts answers drawn.

import * as api from '../api.js';
import { latest } from '../latest.js';
import { whenNear } from '../nearby.js';
import { slice } from '../tensor.js';
import { CapsuleStepsView } from '../views/capsuleSteps.js';

export const name = 'capsule_steps';

// The predicted digit's primary capsule with the largest c_ij |u_i| after the last iteration.
function strongest(result, shapes) {
  const j = result.prediction;
  const its = result.layers.routing.iterations;
  const c = slice(its[its.length - 1].c, j);
  const u = result.layers.primary_caps.lengths.data;
  let best = 0;
  for (let i = 1; i < shapes.primary; i++) if (c[i] * u[i] > c[best] * u[best]) best = i;
  return best;
}

export function create({ section, store, shapes, walk }) {
  store.define(name, { capsule: null, digit: null, step: null, result: null, busy: false, error: null });
  const run = latest(api.capsuleSteps);
  const view = new CapsuleStepsView(section, shapes, {
    capsule: (capsule) => store.set(name, { capsule }),
    digit: (digit) => store.set(name, { digit }),
    step: (step) => store.set(name, { step }),
  });
  let asked = null; // the (input, capsule, digit) of the answer shown or on its way
  let input = 0; // counts analyses, so the same capsule of a new input is asked again
  let picked = null;
  const load = async () => {
    const source = walk.source();
    const { capsule, digit } = store.get(name);
    if (!source || capsule === null) return;
    const a = store.get('analysis');
    store.set(name, { busy: true, error: null });
    try {
      const result = await run(source, capsule, digit, { iterations: a.iterations, uniformRouting: a.uniform });
      if (result) store.set(name, { busy: false, result, step: result.iterations - 1 });
    } catch (e) {
      store.set(name, { busy: false, error: `Could not compute the capsule's steps: ${e.message}` });
    }
  };
  const want = whenNear(section, load);
  store.subscribe(name, async (s) => {
    const key = `${input}|${s.capsule}|${s.digit}`;
    if (s.capsule !== null && key !== asked) {
      asked = key;
      want();
    }
    if (s.pickedAt && s.pickedAt !== picked) { // a vote clicked in the cloud: show where it went
      picked = s.pickedAt;
      section.scrollIntoView({ block: 'start' });
    }
    if (await view.render(s)) store.count('capsuleSteps');
  });
  store.subscribe('analysis', (a, old) => {
    if (!a.result || a.result === old.result) return;
    input += 1;
    store.set(name, { capsule: strongest(a.result, shapes), digit: a.result.prediction, result: null });
  });
}
