// The model picker in the header (GET /api/models) and what follows from the page's model: choosing one
// reloads the page with ?model=<name>, keeping the hash (the shared reconstruction state); links to the
// report and back carry the same ?model=; the page's literal sizes (canvases marked data-size, numbers
// marked data-shape) and the per-dataset notes (data-dataset) follow the model's shapes (shapes.js).

import * as api from './api.js';
import { el, setText } from './dom.js';

const percent = (x) => `${(100 * x).toFixed(2)} %`;

// "mnist — MNIST, 99.63 % test accuracy" / "multimnist — MultiMNIST, 78.09 % both digits right".
function describe(m) {
  const dataset = { mnist: 'MNIST', multimnist: 'MultiMNIST' }[m.dataset] ?? m.dataset;
  const measure = m.dataset === 'multimnist' ? 'both digits right' : 'test accuracy';
  const accuracy = Number.isFinite(m.accuracy) ? `, ${percent(m.accuracy)} ${measure}` : '';
  return `${m.name} — ${dataset}, ${m.input_size}×${m.input_size}${accuracy}`;
}

// url (a same-origin path such as "/report") with the page's ?model=, if it names one.
export function withModel(url) {
  const model = api.currentModel();
  if (model === null) return url;
  const u = new URL(url, window.location.href);
  u.searchParams.set('model', model);
  return u.pathname + u.search + u.hash;
}

// Fills the <select>; resolves to the /api/models answer (null when it could not be loaded: the page
// still works with its one model).
export async function createPicker(select, current) {
  let listed;
  try {
    listed = await api.getModels();
  } catch {
    select.replaceChildren(el('option', { text: current }));
    return null;
  }
  select.replaceChildren(...listed.models.map((m) => el('option', { value: m.name, text: describe(m) })));
  select.value = current;
  select.disabled = listed.models.length < 2;
  select.addEventListener('change', () => {
    const url = new URL(window.location.href);
    url.searchParams.set('model', select.value);
    window.location.assign(url.pathname + url.search + url.hash);
  });
  return listed;
}

// The page's fixed text and canvas sizes for this model.
export function applyShapes(root, shapes, dataset) {
  for (const canvas of root.querySelectorAll('canvas[data-size="image"]')) {
    canvas.width = shapes.image;
    canvas.height = shapes.image;
  }
  for (const span of root.querySelectorAll('[data-shape]')) {
    const v = shapes[span.dataset.shape];
    setText(span, span.hasAttribute('data-shape-square') ? `${v}×${v}` : String(v));
  }
  for (const node of root.querySelectorAll('[data-dataset]')) node.hidden = node.dataset.dataset !== dataset;
  for (const link of root.querySelectorAll('a[data-model-link]')) link.setAttribute('href', withModel(link.getAttribute('href')));
}
