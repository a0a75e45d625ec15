// Section "digit_caps": the capsule lengths with the margins, the capsule vectors, the prediction.

import { whenNear } from '../nearby.js';
import { DigitCapsView } from '../views/digitCaps.js';

export const name = 'digit_caps';

export function create({ section, store, shapes }) {
  const view = new DigitCapsView(section, shapes);
  const draw = whenNear(section, () => {
    const r = store.get('analysis').result;
    view.render({ digitCaps: r?.layers.digit_caps ?? null, prediction: r?.prediction });
  });
  store.subscribe('analysis', (a, old) => { if (a.result !== old.result) draw(); });
}
