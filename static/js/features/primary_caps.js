// Section "primary_caps": the capsule lengths of every type and position, a capsule's vector and its
// receptive field on hover.

import { whenNear } from '../nearby.js';
import { PrimaryCapsView } from '../views/primaryCaps.js';

export const name = 'primary_caps';

export function create({ section, store, model, shapes }) {
  const view = new PrimaryCapsView(section, shapes);
  const draw = whenNear(section, () => {
    const r = store.get('analysis').result;
    view.render({
      input: r?.input ?? null, lengths: r?.layers.primary_caps.lengths ?? null,
      vectors: r?.layers.primary_caps.vectors ?? null, field: model.receptive_field ?? null,
    });
  });
  store.subscribe('analysis', (a, old) => { if (a.result !== old.result) draw(); });
}
