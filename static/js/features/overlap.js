// Section "overlap": two digits overlaid the MultiMNIST way (the walk's input or a gallery digit, and a
// gallery digit shifted by a few px), asked for (/api/overlap) when the section comes near.

import * as api from '../api.js';
import { latest } from '../latest.js';
import { whenNear } from '../nearby.js';
import { OverlapView, WALK } from '../views/overlap.js';

export const name = 'overlap';

// The default pair: the walk's first digit (an MNIST 0) and this 3, shifted 4 px up.
const DEFAULT_SECOND = 'test-00090';

export function create({ section, store, shapes, walk }) {
  store.define(name, { first: WALK, second: null, shift: [0, -4], result: null, busy: false, error: null });
  const get = () => store.get(name);
  const run = latest(api.overlap);

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
    try {
      const result = await run(first, o.second, o.shift.slice(), { iterations: store.get('analysis').iterations });
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
    const pool = (store.get('input').samples ?? []).filter((s) => s.label === s.predicted);
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
    const second = s.samples.find((x) => x.id === DEFAULT_SECOND) ?? s.samples.find((x) => x.label !== s.samples[0].label);
    store.set(name, { second: second?.id ?? null });
    want();
  });
  store.subscribe('analysis', (a, old) => {
    if (a.result === old.result || !a.result) return;
    draw();
    if (get().first === WALK || get().result?.iterations !== a.iterations) want();
  });
}
