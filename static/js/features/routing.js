// Section "routing": coupling coefficients, routing mass and agreement per iteration, and the walk's
// routing options (iterations, uniform coupling), which re-analyze the input.

import { whenNear } from '../nearby.js';
import { RoutingView } from '../views/routing.js';

export const name = 'routing';

export function create({ section, store, shapes, walk }) {
  store.define(name, { step: 0, digit: 0 });
  const view = new RoutingView(section, {
    iterations: (iterations) => walk.reanalyze({ iterations }),
    uniform: (uniform) => walk.reanalyze({ uniform }),
    step: (step) => store.set(name, { step }),
    digit: (digit) => store.set(name, { digit }),
  }, shapes);
  const draw = whenNear(section, () => {
    const a = store.get('analysis');
    const { step, digit } = store.get(name);
    view.render({
      routing: a.result?.layers.routing.iterations ?? null, step, digit, iterations: a.iterations, uniform: a.uniform,
    });
  });
  store.subscribe(name, draw);
  store.subscribe('analysis', (a, old) => {
    if (a.result === old.result) return;
    if (a.result) store.set(name, { step: a.result.layers.routing.iterations.length - 1, digit: a.result.prediction });
    else draw();
  });
}
