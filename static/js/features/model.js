// Section "model": the compact model facts (/api/model as served) and the untrained banner.

import { ModelPanelView } from '../views/modelPanel.js';

export const name = 'model';

export function create({ section, store, model }) {
  const view = new ModelPanelView(section);
  const draw = (untrained) => view.render({ model, untrained: Boolean(model.untrained || untrained) });
  draw(false);
  store.subscribe('analysis', (a, old) => {
    if (a.result !== old.result && a.result?.untrained) draw(true);
  });
}
