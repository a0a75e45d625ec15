// Section "evidence": where the evidence for the prediction and a second digit (the runner-up unless the
// user picks one) came from. Uses the analysis's own "evidence" when the server sends it; otherwise, and
// for another second digit, asks /api/evidence when the section comes near.

import * as api from '../api.js';
import { latest } from '../latest.js';
import { whenNear } from '../nearby.js';
import { EvidenceView } from '../views/evidence.js';

export const name = 'evidence';

export function create({ section, store, model, shapes, walk }) {
  // pick: the second digit the user chose (null: the runner-up); mode: 'map' | 'routed';
  // capsule: the primary capsule shown.
  store.define(name, { pick: null, mode: 'map', result: null, capsule: null, busy: false, error: null });
  const get = () => store.get(name);
  const run = latest(api.evidence);

  // The digit compared with the prediction: the user's pick, else the runner-up.
  function second() {
    const a = store.get('analysis').result;
    if (!a) return null;
    if (get().pick !== null && get().pick !== a.prediction) return get().pick;
    let best = null;
    a.lengths.forEach((v, j) => { if (j !== a.prediction && (best === null || v > a.lengths[best])) best = j; });
    return best;
  }

  function show(result) {
    // Keep the capsule shown if it is still listed, else show the predicted digit's strongest one.
    const capsule = result.capsules.has(get().capsule) ? get().capsule : result.digits[0].top[0]?.capsule ?? null;
    store.set(name, { busy: false, result, capsule });
    store.count('evidence');
  }

  async function load() {
    const source = walk.source();
    if (!source) return;
    const a = store.get('analysis');
    const sent = a.result.evidence;
    const wanted = [a.result.prediction, second()];
    if (sent && sent.digits.map((d) => d.digit).join() === wanted.join()) {
      show({ ...sent, lengths: a.result.lengths, prediction: a.result.prediction });
      return;
    }
    store.set(name, { busy: true, error: null });
    try {
      const result = await run(source, wanted, { iterations: a.iterations, uniformRouting: a.uniform });
      if (result !== null) show(result); // else a newer input or second digit is on its way
    } catch (e) {
      store.set(name, { busy: false, error: `Could not find the evidence: ${e.message}` });
    }
  }
  const want = whenNear(section, load);

  const view = new EvidenceView(section, {
    second: (pick) => { store.set(name, { pick }); load(); },
    mode: (mode) => store.set(name, { mode }),
    select: (capsule) => store.set(name, { capsule }),
  }, shapes);
  const draw = whenNear(section, () => {
    const a = store.get('analysis').result;
    view.render({
      ...get(), input: a?.input ?? null, prediction: a?.prediction, second: second(), field: model.receptive_field ?? null,
    });
  });
  store.subscribe(name, draw);
  store.subscribe('analysis', (a, old) => {
    if (a.result === old.result || !a.result) return;
    run.cancel();
    store.set(name, { result: null }); // the old evidence belongs to the old input
    want();
  });
}
