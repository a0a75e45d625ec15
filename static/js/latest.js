// The one request cycle every feature uses: latest(fn) wraps an async fn(...args, {signal}); each call
// aborts the call before it (its fetch is cancelled through its AbortController) and resolves to null
// once superseded, so only the answer to the newest call ever reaches a view. Errors other than the
// abort reject as usual.

export function latest(fn) {
  let current = null; // the AbortController of the newest call
  const call = async (...args) => {
    current?.abort();
    const controller = new AbortController();
    current = controller;
    try {
      const result = await fn(...args, { signal: controller.signal });
      return controller.signal.aborted ? null : result;
    } catch (e) {
      if (controller.signal.aborted) return null;
      throw e;
    } finally {
      if (current === controller) current = null;
    }
  };
  // Abandons the call in flight (it resolves to null): its answer belongs to an input no longer shown.
  call.cancel = () => current?.abort();
  return call;
}

// Like latest(), but a call made while one is in flight waits for it instead of aborting it, and calls
// made meanwhile collapse into the newest: for a slider, whose every answer is worth drawing while it
// keeps the display busy, and aborting would starve it when the server is slower than the events.
export function coalesce(fn) {
  let running = null;
  let pending = null; // {args, resolve, reject}
  const start = (args, resolve, reject) => {
    running = fn(...args, { signal: undefined }).then(resolve, reject).finally(() => {
      running = null;
      if (pending) {
        const next = pending;
        pending = null;
        start(next.args, next.resolve, next.reject);
      }
    });
  };
  return (...args) => new Promise((resolve, reject) => {
    if (!running) return start(args, resolve, reject);
    pending?.resolve(null);
    pending = { args, resolve, reject };
    return undefined;
  });
}

// A feature slice's busy / result / error cycle around one latest() call: `fields(result)` gives the
// slice's new fields; a superseded call (null) leaves the slice to the newer one.
export async function fetchInto(store, name, call, what, fields = (result) => ({ result })) {
  store.set(name, { busy: true, error: null });
  try {
    const result = await call();
    if (result) store.set(name, { busy: false, ...fields(result) });
  } catch (e) {
    store.set(name, { busy: false, error: `Could not compute ${what}: ${e.message}` });
  }
}
