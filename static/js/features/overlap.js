// Section "overlap": two digits overlaid the MultiMNIST way (the walk's input or a gallery digit, and a
// gallery digit shifted by a few px), asked for (/api/overlap) when the section comes near. With a
// MultiMNIST model the same pair also goes to the first single-digit model the server has (its
// "compare" result): what the model that never saw two digits at once makes of it.

import * as api from '../api.js';
import { latest } from '../latest.js';
import { whenNear } from '../nearby.js';
import { OverlapView, WALK } from '../views/overlap.js';

export const name = 'overlap';

// The default pair: an MNIST 0 (the single-digit walk's first digit) and this 3, shifted 4 px up.
const DEFAULT_FIRST = 'test-00003';
const DEFAULT_SECOND = 'test-00090';

const isSingle = (sample) => sample !== undefined && !Array.isArray(sample.labels);

export function create({ section, store, shapes, walk, model, models }) {
  const multi = model.dataset === 'multimnist';
  store.define(name, { first: WALK, second: null, shift: [0, -4], result: null, busy: false, error: null,
    compare: { wanted: multi, result: null, busy: false, error: null } });
  const get = () => store.get(name);
  const run = latest(api.overlap);
  // The single-digit model to compare with, once /api/models has answered (null: none served).
  const single = multi ? models.then((m) => m?.models.find((x) => x.dataset === 'mnist')?.name ?? null) : Promise.resolve(null);
  let runSingle = null;
  const setCompare = (patch) => store.set(name, { compare: { ...get().compare, ...patch } });

  // The same pair for the single-digit model: only gallery digits (their ids mean the same digits in every
  // model's gallery); a drawing or a MultiMNIST pair has no counterpart on its smaller canvas.
  async function compare(first, second, shift, iterations) {
    const other = await single;
    if (other === null) return setCompare({ wanted: false });
    const byId = new Map((store.get('input').samples ?? []).map((s) => [s.id, s]));
    if (typeof first !== 'string' || !isSingle(byId.get(first)) || !isSingle(byId.get(second))) {
      runSingle?.cancel();
      return setCompare({ busy: false, result: null, error: 'The single-digit model is shown two gallery digits only: choose a digit as the first too.' });
    }
    runSingle ??= latest(api.forModel(other, api.overlap));
    setCompare({ busy: true, error: null });
    try {
      const result = await runSingle(first, second, shift, { iterations });
      if (result === null) return undefined;
      setCompare({ busy: false, result, error: null });
      store.count('overlapCompares');
    } catch (e) {
      setCompare({ busy: false, error: `Could not ask the single-digit model: ${e.message}` });
    }
    return undefined;
  }

  async function load() {
    const o = get();
    const input = walk.source();
    if (!o.second || (o.first === WALK && !input)) return;
    const first = o.first === WALK ? (input.sample ?? input.pixels) : o.first;
    if (first === o.second) { // e.g. the walk shows the gallery digit chosen second: the server would refuse it
      run.cancel();
      store.set(name, { busy: false, error: `Both digits are ${first}: choose two different digits.` });
      return;
    }
    store.set(name, { busy: true, error: null });
    const iterations = store.get('analysis').iterations;
    if (multi) compare(first, o.second, o.shift.slice(), iterations);
    try {
      const result = await run(first, o.second, o.shift.slice(), { iterations });
      if (result === null) return; // a newer pair or shift is on its way
      store.set(name, { busy: false, result });
      store.count('overlaps');
    } catch (e) {
      store.set(name, { busy: false, error: `Could not overlay the digits: ${e.message}` });
    }
  }
  const want = whenNear(section, load);

  // Two gallery digits of different classes, each one the model gets right alone (misclassified digits
  // are over-represented in the gallery, not in MultiMNIST), and a random shift, like a MultiMNIST pair.
  function randomPair() {
    const pool = (store.get('input').samples ?? []).filter((s) => isSingle(s) && s.label === s.predicted);
    if (pool.length < 2) return;
    const pick = (list) => list[Math.floor(Math.random() * list.length)];
    const a = pick(pool);
    const b = pick(pool.filter((s) => s.label !== a.label));
    const shift = [0, 0].map(() => Math.floor(Math.random() * 9) - 4);
    store.set(name, { first: a.id, second: b.id, shift });
    load();
  }

  const view = new OverlapView(section, {
    first: (first) => { store.set(name, { first }); load(); },
    second: (second) => { store.set(name, { second }); load(); },
    shift: (axis, value) => {
      const shift = get().shift.slice();
      shift[axis] = value;
      store.set(name, { shift });
      load();
    },
    random: randomPair,
  }, shapes);
  const draw = whenNear(section, () => view.render({
    ...get(), samples: store.get('input').samples, walkReady: Boolean(store.get('analysis').result),
  }));
  store.subscribe(name, draw);
  store.subscribe('input', (s, old) => {
    if (s.samples === old.samples || !s.samples) return;
    const singles = s.samples.filter(isSingle);
    const second = singles.find((x) => x.id === DEFAULT_SECOND) ?? singles.find((x) => x.label !== singles[0]?.label);
    // The MultiMNIST walk starts on a pair: the first digit is then a gallery digit, not the walk's input.
    const first = multi ? (singles.find((x) => x.id === DEFAULT_FIRST) ?? singles.find((x) => x !== second)) : null;
    store.set(name, { second: second?.id ?? null, ...(first ? { first: first.id } : {}) });
    want();
  });
  store.subscribe('analysis', (a, old) => {
    if (a.result === old.result || !a.result) return;
    draw();
    if (get().first === WALK || get().result?.iterations !== a.iterations) want();
  });
}
