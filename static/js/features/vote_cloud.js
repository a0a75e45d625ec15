// Section "vote_cloud": the predictions u_hat_j|i of every primary capsule for the predicted digit and the
// runner-up, as two point clouds whose weights c_ij change from iteration to iteration (POST
// /api/routing/vote_cloud, asked when the section comes near). Clicking a point opens that capsule in
// "capsule_steps". Test hook: data-vote-clouds counts clouds drawn.

import * as api from '../api.js';
import { fetchInto, latest } from '../latest.js';
import { whenNear } from '../nearby.js';
import { VoteCloudView } from '../views/voteCloud.js';

export const name = 'vote_cloud';

export function create({ section, store, model, shapes, walk }) {
  store.define(name, { step: null, result: null, busy: false, error: null });
  const run = latest(api.voteCloud);
  const view = new VoteCloudView(section, shapes, model.receptive_field, {
    step: (step) => store.set(name, { step }),
    pick: (capsule, digit) => store.set('capsule_steps', { capsule, digit, pickedAt: performance.now() }),
  });
  const draw = async (s) => {
    if (await view.render(s)) store.count('voteClouds');
  };
  store.subscribe(name, draw);
  const want = whenNear(section, async () => {
    const source = walk.source();
    if (!source) return;
    const a = store.get('analysis');
    await fetchInto(store, name, () => run(source, null, { iterations: a.iterations, uniformRouting: a.uniform }),
      'the vote cloud', (result) => ({ result, step: result.iterations - 1 }));
  });
  store.subscribe('analysis', (a, old) => { if (a.result && a.result !== old.result) want(); });
}
