// Section "conv1": the learned kernels (/api/kernels, asked for when the section comes near) and the ReLU
// feature maps of the analysis; one channel enlarged.

import * as api from '../api.js';
import { latest } from '../latest.js';
import { whenNear } from '../nearby.js';
import { Conv1View } from '../views/conv1.js';

export const name = 'conv1';

export function create({ section, store, shapes }) {
  store.define(name, { kernels: null, channel: 0, error: null });
  const view = new Conv1View(section, {
    select: (channel) => store.set(name, { channel }),
  }, shapes);
  const draw = whenNear(section, () => {
    const { kernels, channel } = store.get(name);
    view.render({ kernels, maps: store.get('analysis').result?.layers.conv1.maps ?? null, channel });
  });
  const run = latest(api.getKernels);
  const loadKernels = whenNear(section, async () => {
    try {
      const kernels = await run();
      if (kernels) store.set(name, { kernels });
    } catch (e) {
      store.set(name, { error: `Could not load the kernels: ${e.message}` });
    }
  });
  loadKernels();
  store.subscribe(name, draw);
  store.subscribe('analysis', (a, old) => { if (a.result !== old.result) draw(); });
}
