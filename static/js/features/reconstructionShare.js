// The reconstruction section's shareable state (static/js/reconstructionState.js; README "Sharing the reconstruction"):
// the address bar always holds what is on screen; a link, or an exported file, restores it.

import { debounce } from '../dom.js';
import { downloadJson } from '../download.js';
import { StateError, bytesToRows, fromHash, fromJson, pixelsToBytes, toHash, toJson } from '../reconstructionState.js';

const MAX_STATE_FILE = 1_000_000; // an exported state is about 2 KB

export function createShare({ store, walk, input, model, setPending }) {
  const expect = { side: model.config.image_size }; // a shared `pixels` must be this model's input size
  const say = (text, isError = false) => store.set('reconstruction', { message: { text, isError } });

  // What is on screen, in reconstructionState's terms, or null before the first analysis.
  function current() {
    const a = store.get('analysis').result;
    const r = store.get('reconstruction');
    if (!a || !r.vector || r.restoring) return null;
    const given = a.source === 'sample' ? { sample: a.sample, pixels: null } : { sample: null, pixels: pixelsToBytes(a.input.data) };
    return { ...given, iterations: a.iterations, uniformRouting: a.uniform_routing, digit: r.digit, vector: r.vector };
  }

  // replaceState keeps the back button for real navigation; the debounce keeps a drag from writing
  // hundreds of entries.
  function writeHash() {
    const shared = current();
    if (!shared) return;
    const hash = `#${toHash(shared)}`;
    if (window.location.hash === hash) return;
    history.replaceState(null, '', hash);
    store.count('shares');
  }
  const writeHashSoon = debounce(writeHash, 250);

  // Re-analyzes the shared input with its routing options, then decodes the shared digit with the shared
  // vector. Throws StateError when the state names something this server does not have.
  function restore(shared, from) {
    const maxIterations = model.routing_iterations_max;
    if (shared.iterations > maxIterations) throw new StateError(`"iterations" must be at most ${maxIterations}`);
    let sample = null;
    if (shared.sample !== null) {
      const samples = store.get('input').samples;
      if (!samples) throw new StateError('the sample gallery could not be loaded');
      sample = samples.find((s) => s.id === shared.sample);
      if (!sample) throw new StateError(`there is no gallery sample "${shared.sample}"`);
    }
    writeHashSoon.cancel();
    store.set('analysis', { iterations: shared.iterations, uniform: shared.uniformRouting });
    say(`Restoring the shared state from ${from}…`);
    setPending({ digit: shared.digit, vector: shared.vector, from });
    if (sample) input.pickSample(sample);
    else walk.analyze({ pixels: bytesToRows(shared.pixels) });
  }

  async function importState(file) {
    const fail = (why) => say(`Could not import ${file.name}: ${why}. The reconstruction is unchanged.`, true);
    if (file.size > MAX_STATE_FILE) return fail('it is too large to be an exported reconstruction state');
    let obj;
    try {
      obj = JSON.parse(await file.text());
    } catch {
      return fail('it is not a JSON file');
    }
    try {
      restore(fromJson(obj, expect), `the file ${file.name}`);
    } catch (e) {
      if (!(e instanceof StateError)) throw e;
      return fail(e.message);
    }
    return undefined;
  }

  function exportState() {
    const shared = current();
    if (shared) downloadJson(toJson(shared), `reconstruction-digit${shared.digit}.json`);
  }

  async function copyLink() {
    writeHashSoon.cancel();
    writeHash();
    try {
      await navigator.clipboard.writeText(window.location.href);
      say('Link copied: it opens this input, digit and slider vector.');
    } catch {
      say('The browser did not allow copying: copy the address bar instead, it holds the same link.');
    }
  }

  // A shared link: true when its state is being restored (the section is scrolled to once drawn); a bad
  // or tampered one says why on the page and leaves the default start to run.
  function restoreFromLink(section) {
    let done = false;
    store.subscribe('analysis', (a, old) => {
      if (done || !a.result || a.result === old.result) return;
      done = true;
      requestAnimationFrame(() => setTimeout(() => section.scrollIntoView(), 0));
    });
    try {
      restore(fromHash(window.location.hash, expect), 'the link');
      return true;
    } catch (e) {
      if (!(e instanceof StateError)) throw e;
      say(`The link's reconstruction state could not be used: ${e.message}. Showing the default start instead.`, true);
      return false;
    }
  }

  return { writeHashSoon, importState, exportState, copyLink, restoreFromLink };
}
