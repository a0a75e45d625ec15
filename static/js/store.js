// The page's state, one slice per feature (static/js/features/README.md), and the one place that writes
// the test hooks on <body> (data-analyses, data-reconstructions, ...). set() notifies only the slice's own
// subscribers, so a slider event redraws the views that depend on it and nothing else.

export function createStore() {
  const slices = new Map();
  const listeners = new Map();
  const counters = new Map();

  function define(name, initial) {
    if (slices.has(name)) throw new Error(`store slice "${name}" is defined twice`);
    slices.set(name, initial);
    listeners.set(name, []);
  }

  const get = (name) => slices.get(name);

  // Shallow-merges patch into the slice (a new object, so views can compare by identity) and calls its
  // subscribers with the new slice and the old one.
  function set(name, patch) {
    const old = slices.get(name);
    if (old === undefined) throw new Error(`unknown store slice "${name}"`);
    const next = { ...old, ...patch };
    slices.set(name, next);
    for (const fn of listeners.get(name)) fn(next, old);
    return next;
  }

  function subscribe(name, fn) {
    if (!listeners.has(name)) throw new Error(`unknown store slice "${name}"`);
    listeners.get(name).push(fn);
  }

  // Writes <body data-name="value"> at once.
  function hook(name, value) {
    document.body.dataset[name] = String(value);
  }

  // Counts one more thing drawn; the hook is written after the next paint, so a test that sees the
  // number sees the pixels too. extra: other hooks written with it ({renderedAt, source}).
  function count(name, extra = null) {
    const n = (counters.get(name) ?? 0) + 1;
    counters.set(name, n);
    requestAnimationFrame(() => setTimeout(() => {
      if (extra) for (const [k, v] of Object.entries(extra)) hook(k, typeof v === 'function' ? v() : v);
      hook(name, n);
    }, 0));
    return n;
  }

  return { define, get, set, subscribe, hook, count };
}
