// CapsNet Visualizer page: holds the state, asks the API, and redraws every view with one render().
// Views only draw what they are given and report user actions back through the callbacks below.
// When a new analysis is on screen, <body data-analyses="n" data-rendered-at="ms"> tells tests and
// bench/ui_latency.py so; data-reconstructions counts reconstruction images drawn; data-transforms and
// data-sweeps count the equivariance explorer's transformed analyses and sweeps drawn; data-ablations counts
// routing ablations drawn; data-restores counts decoder lab states restored (from a link or a file) and
// drawn, data-shares the times the URL hash was written; data-overlaps counts overlapping-digit pairs drawn;
// data-evidence counts the evidence section's answers drawn.

import * as api from './api.js';
import { $, debounce, fmt, setText } from './dom.js';
import { downloadJson } from './download.js';
import { StateError, bytesToRows, fromHash, fromJson, isStateHash, pixelsToBytes, toHash, toJson } from './labState.js';
import { sliderRanges } from './sliderRanges.js';
import { takeOpenDigit } from './report/openDigit.js';
import { decode } from './tensor.js';
import { AblationView } from './views/ablation.js';
import { Conv1View } from './views/conv1.js';
import { DigitCapsView } from './views/digitCaps.js';
import { EquivarianceView, identityTransform, isIdentity } from './views/equivariance.js';
import { EvidenceView } from './views/evidence.js';
import { InputView } from './views/input.js';
import { ModelPanelView } from './views/modelPanel.js';
import { OverlapView, WALK } from './views/overlap.js';
import { PrimaryCapsView } from './views/primaryCaps.js';
import { ReconstructionView } from './views/reconstruction.js';
import { RoutingView } from './views/routing.js';

// Short: a new stroke cancels a pending analysis anyway, so multi-stroke digits are not analyzed half-drawn.
const STROKE_DEBOUNCE_MS = 80;

const state = {
  model: null, // GET /api/model
  kernels: null, // GET /api/kernels, decoded
  samples: null, // GET /api/samples, images decoded
  source: null, // what was last analyzed: {image: dataUrl} | {sample: id} | {file: File}
  iterations: 3,
  uniform: false,
  analysis: null, // POST /api/analyze, tensors decoded
  busy: false,
  error: null,
  channel: 0, // Conv1 channel enlarged
  routingStep: 0,
  routingDigit: 0,
  recon: {}, // {digit, base, vector, ranges, image, perturbations, restoring}
  capsuleStats: null, // GET /api/capsule_stats when the weights ship it: the decoder lab's slider ranges
  labMessage: null, // {text, isError}: what happened to a shared link, an import, a copy
  // The equivariance explorer's own state: it transforms the walk's input but never changes the walk.
  // result: {input, lengths, prediction}; sweep: /api/sweep decoded, plus the digit predicted untransformed.
  explorer: { transform: identityTransform(), result: null, sweep: null, busy: false, sweeping: false, error: null },
  // The routing ablation of the walk's input (/api/ablation, decoded); n, step and digit are its own controls.
  ablation: { result: null, n: 3, step: 2, digit: 0, busy: false, error: null },
  // Overlapping digits: first is WALK (the walk's input) or a gallery id, second a gallery id; result is
  // /api/overlap decoded.
  overlap: { first: WALK, second: null, shift: [0, -4], result: null, busy: false, error: null },
  // Where the evidence came from, for the walk's input. pick: the second digit the user chose (null: the
  // runner-up); mode: 'map' | 'routed'; result: /api/evidence decoded; capsule: the primary capsule shown.
  evidence: { pick: null, mode: 'map', result: null, capsule: null, busy: false, error: null },
};

const counters = {
  analyses: 0, reconstructions: 0, transforms: 0, sweeps: 0, ablations: 0, restores: 0, shares: 0, overlaps: 0,
  evidence: 0,
};

// ---- the API, at most one request of each kind in flight -------------------------------------------

const runAnalyze = api.latestOnly(api.analyze);
const runReconstruct = api.latestOnly(api.reconstruct);
const runTransformed = api.latestOnly(api.analyzeTransformed);
const runAblation = api.latestOnly(api.ablation);
let analyzeSeq = 0;
let pendingRecon = null; // {digit, vector, from}: a shared decoder lab state for the next analysis
let scrollToLab = false; // after a shared link (good or bad), show the decoder lab once the page is drawn

function decodeAnalysis(body) {
  const L = body.layers;
  return {
    ...body,
    input: decode(body.input),
    layers: {
      conv1: { maps: decode(L.conv1.maps) },
      primary_caps: { lengths: decode(L.primary_caps.lengths), vectors: decode(L.primary_caps.vectors) },
      routing: {
        iterations: L.routing.iterations.map((it) => ({
          c: decode(it.c), agreement: decode(it.agreement), mass: it.mass, lengths: it.lengths,
        })),
      },
      digit_caps: { vectors: decode(L.digit_caps.vectors), lengths: L.digit_caps.lengths },
      reconstruction: { digit: L.reconstruction.digit, image: decode(L.reconstruction.image) },
    },
  };
}

async function analyze(source) {
  const restoring = pendingRecon;
  pendingRecon = null;
  state.source = source;
  const seq = ++analyzeSeq;
  Object.assign(state, { busy: true, error: null });
  render();
  let body;
  try {
    body = await runAnalyze(source, { iterations: state.iterations, uniformRouting: state.uniform });
  } catch (e) {
    if (seq === analyzeSeq) Object.assign(state, { busy: false, error: `Could not analyze: ${e.message}` });
    if (restoring) state.labMessage = { text: `Could not restore the shared state: ${e.message}`, isError: true };
    render();
    return;
  }
  if (seq !== analyzeSeq || body === null) return; // a newer request is on its way
  const analysis = decodeAnalysis(body);
  const digitCaps = analysis.layers.digit_caps.vectors;
  const recon = analysis.layers.reconstruction;
  Object.assign(state, {
    busy: false,
    analysis,
    routingStep: analysis.layers.routing.iterations.length - 1,
    routingDigit: analysis.prediction,
  });
  if (restoring) setRecon(restoring.digit, digitCaps, null, restoring);
  else setRecon(recon.digit, digitCaps, recon.image.data);
  resetExplorer();
  if (source !== ablationFor) loadAblation(source); // not when only the walk's routing options changed
  if (state.overlap.first === WALK || state.overlap.result?.iterations !== state.iterations) requestOverlap();
  state.evidence = { ...state.evidence, result: null }; // the old evidence belongs to the old input
  loadEvidence();
  counters.analyses += 1;
  const done = counters.analyses;
  await render();
  requestAnimationFrame(() => setTimeout(() => {
    document.body.dataset.analyses = String(done);
    document.body.dataset.source = analysis.source;
    document.body.dataset.renderedAt = String(performance.now());
    if (scrollToLab) $('#reconstruction').scrollIntoView();
    scrollToLab = false;
  }, 0));
}

// Decodes digit capsule `digit`; `image` is its known reconstruction, if any; `restoring` a shared state
// whose slider vector replaces the capsule's own (which Reset goes back to).
function setRecon(digit, vectors, image = null, restoring = null) {
  const base = Array.from(vectors.data.subarray(digit * 16, digit * 16 + 16));
  const vector = restoring ? restoring.vector.slice() : base.slice();
  const ranges = sliderRanges(state.capsuleStats, digit, base, vector);
  state.recon = { digit, base, vector, ranges, image, perturbations: null, restoring };
  if (!image) reconstruct();
  loadPerturbations(state.recon);
}

async function reconstruct() {
  const recon = state.recon;
  let body;
  try {
    body = await runReconstruct(recon.digit, recon.vector.slice());
  } catch (e) {
    state.error = `Could not reconstruct: ${e.message}`;
    render();
    return;
  }
  if (body === null || state.recon.base !== recon.base) return; // superseded or another capsule by now
  const restoring = state.recon.restoring;
  state.recon = { ...state.recon, image: decode(body.image).data, restoring: null };
  if (restoring) state.labMessage = { text: `Restored the shared state from ${restoring.from}.`, isError: false };
  render();
  counters.reconstructions += 1;
  document.body.dataset.reconstructions = String(counters.reconstructions);
  if (restoring) {
    counters.restores += 1;
    document.body.dataset.restores = String(counters.restores);
  }
}

// ---- the decoder lab's shareable state (static/js/labState.js; README "Sharing the decoder lab") -------

// What is on screen, in labState's terms, or null before the first analysis.
function labState() {
  const a = state.analysis;
  const r = state.recon;
  if (!a || !r.vector || r.restoring) return null;
  const input = a.source === 'sample' ? { sample: a.sample, pixels: null } : { sample: null, pixels: pixelsToBytes(a.input.data) };
  return { ...input, iterations: a.iterations, uniformRouting: a.uniform_routing, digit: r.digit, vector: r.vector };
}

// The address bar always holds the state, so copying it shares what is on screen; replaceState keeps the
// back button for real navigation, and the debounce keeps a drag from writing hundreds of entries.
function writeHash() {
  const shared = labState();
  if (!shared) return;
  const hash = `#${toHash(shared)}`;
  if (window.location.hash === hash) return;
  history.replaceState(null, '', hash);
  counters.shares += 1;
  document.body.dataset.shares = String(counters.shares);
}
const writeHashSoon = debounce(writeHash, 250);

// Re-analyzes the shared input with its routing options, then decodes the shared digit with the shared
// vector. Throws StateError when the state names something this server does not have.
function restore(shared, from) {
  const maxIterations = state.model?.routing_iterations_max ?? 10;
  if (shared.iterations > maxIterations) throw new StateError(`"iterations" must be at most ${maxIterations}`);
  let sample = null;
  if (shared.sample !== null) {
    if (!state.samples) throw new StateError('the sample gallery could not be loaded');
    sample = state.samples.find((s) => s.id === shared.sample);
    if (!sample) throw new StateError(`there is no gallery sample "${shared.sample}"`);
  }
  writeHashSoon.cancel();
  state.iterations = shared.iterations;
  state.uniform = shared.uniformRouting;
  state.labMessage = { text: `Restoring the shared state from ${from}…`, isError: false };
  pendingRecon = { digit: shared.digit, vector: shared.vector, from };
  if (sample) views.input.pickSample(sample);
  else analyze({ pixels: bytesToRows(shared.pixels) });
}

const MAX_STATE_FILE = 1_000_000; // an exported state is about 2 KB

async function importState(file) {
  const fail = (why) => {
    state.labMessage = { text: `Could not import ${file.name}: ${why}. The lab is unchanged.`, isError: true };
    render();
  };
  if (file.size > MAX_STATE_FILE) return fail('it is too large to be an exported decoder lab state');
  let obj;
  try {
    obj = JSON.parse(await file.text());
  } catch {
    return fail('it is not a JSON file');
  }
  try {
    restore(fromJson(obj), `the file ${file.name}`);
  } catch (e) {
    if (!(e instanceof StateError)) throw e;
    return fail(e.message);
  }
  return undefined;
}

function exportState() {
  const shared = labState();
  if (!shared) return;
  downloadJson(toJson(shared), `decoder-lab-digit${shared.digit}.json`);
}

async function copyLink() {
  writeHashSoon.cancel();
  writeHash();
  try {
    await navigator.clipboard.writeText(window.location.href);
    state.labMessage = { text: 'Link copied: it opens this input, digit and slider vector.', isError: false };
  } catch {
    state.labMessage = { text: 'The browser did not allow copying: copy the address bar instead, it holds the same link.', isError: false };
  }
  render();
}

async function loadPerturbations(recon) {
  try {
    const body = await api.perturbations(recon.digit, recon.base);
    if (state.recon.base !== recon.base) return;
    state.recon = { ...state.recon, perturbations: { images: decode(body.images), steps: body.steps } };
    render();
  } catch (e) {
    state.error = `Could not compute the perturbation grid: ${e.message}`;
    render();
  }
}

// ---- the equivariance explorer ------------------------------------------------------------------------

let explorerSeq = 0; // bumped when the walk's input changes: older explorer answers are dropped

// The input of the analysis on screen, as JSON: a gallery sample by id, anything else (drawing, upload,
// paste) as the 28x28 pixels the model saw, since /api/sweep and a transform need JSON.
function explorerSource() {
  const a = state.analysis;
  if (!a) return null;
  if (a.source === 'sample') return { sample: a.sample };
  const rows = [];
  for (let r = 0; r < 28; r++) rows.push(Array.from(a.input.data.subarray(r * 28, r * 28 + 28), (v) => Math.min(1, Math.max(0, v))));
  return { pixels: rows };
}


// A new walk input (or new routing options): the explorer's results belong to the old one.
function resetExplorer() {
  const transform = state.explorer.transform;
  explorerSeq += 1;
  state.explorer = { ...state.explorer, result: null, sweep: null, error: null, busy: false, sweeping: false };
  if (!isIdentity(transform)) analyzeTransformed();
}

async function analyzeTransformed() {
  const source = explorerSource();
  if (!source) return;
  const transform = { ...state.explorer.transform };
  const seq = explorerSeq;
  state.explorer = { ...state.explorer, busy: true, error: null };
  render();
  let body;
  try {
    body = await runTransformed(source, transform, { iterations: state.iterations, uniformRouting: state.uniform });
  } catch (e) {
    if (seq !== explorerSeq) return;
    state.explorer = { ...state.explorer, busy: false, error: `Could not analyze the transformed input: ${e.message}` };
    render();
    return;
  }
  if (body === null || seq !== explorerSeq) return; // a newer transform or a new input is on its way
  const result = {
    input: decode(body.input), lengths: body.lengths, prediction: body.prediction,
    vectors: decode(body.layers.digit_caps.vectors),
  };
  state.explorer = { ...state.explorer, busy: false, result };
  counters.transforms += 1;
  const done = counters.transforms;
  await render();
  document.body.dataset.transforms = String(done);
}

async function runSweep(parameter) {
  const source = explorerSource();
  if (!source || state.explorer.sweeping) return;
  const seq = explorerSeq;
  state.explorer = { ...state.explorer, sweeping: true, error: null };
  render();
  let body;
  try {
    body = await api.sweep(source, parameter, { iterations: state.iterations });
  } catch (e) {
    if (seq !== explorerSeq) return;
    state.explorer = { ...state.explorer, sweeping: false, error: `Could not sweep: ${e.message}` };
    render();
    return;
  }
  if (seq !== explorerSeq) return;
  const lengths = decode(body.lengths);
  // The digit predicted at the identity value (0, or 1 for scale): the capsule whose dimensions are shown.
  const identity = identityTransform()[parameter];
  let at = 0;
  body.values.forEach((v, i) => { if (Math.abs(v - identity) < Math.abs(body.values[at] - identity)) at = i; });
  const row = Array.from(lengths.data.subarray(at * 10, at * 10 + 10));
  const digit = row.indexOf(Math.max(...row));
  const sweep = { parameter, values: body.values, images: decode(body.images), lengths, vectors: decode(body.vectors), digit };
  state.explorer = { ...state.explorer, sweeping: false, sweep };
  counters.sweeps += 1;
  const done = counters.sweeps;
  await render();
  document.body.dataset.sweeps = String(done);
}

// ---- the routing ablation -----------------------------------------------------------------------------

let ablationFor = null; // the walk input the ablation on screen (or on its way) belongs to
let ablationSeq = 0;

function decodeAblation(body) {
  // The per-step Δc maps come separately quantised; one (steps, 32, 6, 6) array of values for the view.
  const maps = body.delta_c.map((d) => decode(d.map));
  const data = new Float32Array(maps.length * 1152);
  maps.forEach((m, k) => data.set(m.data, k * 1152));
  return {
    ...body,
    lengths: decode(body.lengths),
    uniform: { ...body.uniform, lengths: decode(body.uniform.lengths) },
    deltaC: { shape: [maps.length, 32, 6, 6], data },
    meanAbs: decode(body.delta_c_mean_abs),
  };
}

// Fetched when the walk's input changes (the ablation does not depend on the walk's routing options) and
// when another digit's Δc map is picked; digit null: the server's default, the prediction.
async function loadAblation(source, digit = null) {
  ablationFor = source;
  const input = explorerSource();
  if (!input) return;
  const seq = ++ablationSeq;
  state.ablation = { ...state.ablation, busy: true, error: null, ...(digit === null ? { result: null } : {}) };
  render();
  let body;
  try {
    body = await runAblation(input, digit);
  } catch (e) {
    if (seq !== ablationSeq) return;
    state.ablation = { ...state.ablation, busy: false, error: `Could not compare routing iterations: ${e.message}` };
    render();
    return;
  }
  if (body === null || seq !== ablationSeq) return; // a newer input or digit is on its way
  state.ablation = { ...state.ablation, busy: false, result: decodeAblation(body), digit: body.digit };
  counters.ablations += 1;
  const done = counters.ablations;
  await render();
  document.body.dataset.ablations = String(done);
}

// ---- overlapping digits ------------------------------------------------------------------------------

const runOverlap = api.latestOnly(api.overlap);
let overlapSeq = 0; // latestOnly still resolves the call in flight; its answer is stale once a newer one is asked

// The default pair: the walk's first digit (an MNIST 0) and this 3, shifted 4 px up.
const DEFAULT_SECOND = 'test-00090';

async function requestOverlap() {
  const o = state.overlap;
  const walk = explorerSource();
  if (!o.second || (o.first === WALK && !walk)) return;
  const first = o.first === WALK ? (walk.sample ?? walk.pixels) : o.first;
  const seq = ++overlapSeq;
  if (first === o.second) { // e.g. the walk shows the gallery digit chosen second: the server would refuse it
    state.overlap = { ...o, busy: false, error: `Both digits are ${first}: choose two different digits.` };
    render();
    return;
  }
  state.overlap = { ...o, busy: true, error: null };
  render();
  let body;
  try {
    body = await runOverlap(first, o.second, o.shift.slice(), { iterations: state.iterations });
  } catch (e) {
    if (seq !== overlapSeq) return;
    state.overlap = { ...state.overlap, busy: false, error: `Could not overlay the digits: ${e.message}` };
    render();
    return;
  }
  if (body === null || seq !== overlapSeq) return; // a newer pair or shift is on its way
  const result = { ...body, input: decode(body.input), parts: decode(body.parts), reconstructions: decode(body.reconstructions) };
  state.overlap = { ...state.overlap, busy: false, result };
  counters.overlaps += 1;
  const done = counters.overlaps;
  await render();
  document.body.dataset.overlaps = String(done);
}

// Two gallery digits of different classes, each one the model gets right alone (misclassified digits are
// over-represented in the gallery, not in MultiMNIST), and a random shift, like a MultiMNIST pair.
function randomPair() {
  const pool = (state.samples ?? []).filter((s) => s.label === s.predicted);
  if (pool.length < 2) return;
  const pick = (list) => list[Math.floor(Math.random() * list.length)];
  const a = pick(pool);
  const b = pick(pool.filter((s) => s.label !== a.label));
  const shift = [0, 0].map(() => Math.floor(Math.random() * 9) - 4);
  state.overlap = { ...state.overlap, first: a.id, second: b.id, shift };
  requestOverlap();
}

// ---- where the evidence came from ----------------------------------------------------------------------

const runEvidence = api.latestOnly(api.evidence);
let evidenceSeq = 0;

// The digit compared with the prediction: the user's pick, else the runner-up.
function secondDigit() {
  const a = state.analysis;
  if (!a) return null;
  if (state.evidence.pick !== null && state.evidence.pick !== a.prediction) return state.evidence.pick;
  let best = null;
  a.lengths.forEach((v, j) => { if (j !== a.prediction && (best === null || v > a.lengths[best])) best = j; });
  return best;
}

function decodeEvidence(body) {
  return {
    ...body,
    digits: body.digits.map((d) => ({ ...d, map: decode(d.map), routed: decode(d.routed) })),
    capsules: new Map(body.capsules.map((v) => [v.capsule, { ...v, vector: decode(v.vector), u_hat: decode(v.u_hat) }])),
  };
}

// Asks for the evidence of the walk's input (its routing options too) for the prediction and second digit.
async function loadEvidence() {
  const source = explorerSource();
  if (!source) return;
  const seq = ++evidenceSeq;
  state.evidence = { ...state.evidence, busy: true, error: null };
  let body;
  try {
    body = await runEvidence(source, [state.analysis.prediction, secondDigit()],
      { iterations: state.iterations, uniformRouting: state.uniform });
  } catch (e) {
    if (seq !== evidenceSeq) return;
    state.evidence = { ...state.evidence, busy: false, error: `Could not find the evidence: ${e.message}` };
    render();
    return;
  }
  if (body === null || seq !== evidenceSeq) return; // a newer input or second digit is on its way
  const result = decodeEvidence(body);
  // Keep the capsule shown if it is still listed, else show the predicted digit's strongest one.
  const capsule = result.capsules.has(state.evidence.capsule) ? state.evidence.capsule : result.digits[0].top[0]?.capsule ?? null;
  state.evidence = { ...state.evidence, busy: false, result, capsule };
  counters.evidence += 1;
  const done = counters.evidence;
  await render();
  document.body.dataset.evidence = String(done);
}

// ---- user actions ------------------------------------------------------------------------------------

const analyzeDrawingSoon = debounce((dataUrl) => analyze({ image: dataUrl }), STROKE_DEBOUNCE_MS);

function reanalyze() {
  if (state.source) analyze(state.source);
  else render();
}

const views = {
  model: new ModelPanelView($('#model')),
  input: new InputView($('#input'), {
    strokeStart: () => analyzeDrawingSoon.cancel(),
    drawing: (dataUrl, now = false) => {
      analyzeDrawingSoon.cancel();
      if (now) analyze({ image: dataUrl });
      else analyzeDrawingSoon(dataUrl);
    },
    cleared: () => {
      analyzeDrawingSoon.cancel();
      state.error = null;
      render();
    },
    file: (file) => analyze({ file }),
    sample: (id) => analyze({ sample: id }),
  }),
  conv1: new Conv1View($('#conv1'), {
    select: (k) => {
      state.channel = k;
      render();
    },
  }),
  primaryCaps: new PrimaryCapsView($('#primary_caps')),
  routing: new RoutingView($('#routing'), {
    iterations: (n) => {
      state.iterations = n;
      reanalyze();
    },
    uniform: (on) => {
      state.uniform = on;
      reanalyze();
    },
    step: (i) => {
      state.routingStep = i;
      render();
    },
    digit: (j) => {
      state.routingDigit = j;
      render();
    },
  }),
  digitCaps: new DigitCapsView($('#digit_caps')),
  reconstruction: new ReconstructionView($('#reconstruction'), {
    slide: (k, value) => {
      const vector = state.recon.vector.slice();
      vector[k] = Math.fround(value); // the decoder computes in float32; a shared vector is exact
      state.recon = { ...state.recon, vector };
      render();
      reconstruct();
    },
    reset: () => {
      if (!state.recon.base) return;
      state.recon = { ...state.recon, vector: state.recon.base.slice() };
      render();
      reconstruct();
    },
    digit: (d) => {
      if (!state.analysis) return;
      setRecon(d, state.analysis.layers.digit_caps.vectors);
      render();
    },
    copyLink: () => copyLink(),
    exportState: () => exportState(),
    importState: (file) => importState(file),
  }),
  equivariance: new EquivarianceView($('#equivariance'), {
    change: (name, value) => {
      state.explorer = { ...state.explorer, transform: { ...state.explorer.transform, [name]: value } };
      analyzeTransformed();
    },
    reset: () => {
      state.explorer = { ...state.explorer, transform: identityTransform() };
      analyzeTransformed();
    },
    sweep: (parameter) => runSweep(parameter),
  }),
  ablation: new AblationView($('#ablation'), {
    iterations: (n) => {
      state.ablation = { ...state.ablation, n };
      render();
    },
    step: (step) => {
      state.ablation = { ...state.ablation, step };
      render();
    },
    digit: (digit) => {
      state.ablation = { ...state.ablation, digit };
      if (state.ablation.result && ablationFor) loadAblation(ablationFor, digit);
      else render();
    },
  }),
  overlap: new OverlapView($('#overlap'), {
    first: (value) => {
      state.overlap = { ...state.overlap, first: value };
      requestOverlap();
    },
    second: (id) => {
      state.overlap = { ...state.overlap, second: id };
      requestOverlap();
    },
    shift: (axis, value) => {
      const shift = state.overlap.shift.slice();
      shift[axis] = value;
      state.overlap = { ...state.overlap, shift };
      requestOverlap();
    },
    random: () => randomPair(),
  }),
  evidence: new EvidenceView($('#evidence'), {
    second: (j) => {
      state.evidence = { ...state.evidence, pick: j };
      loadEvidence();
      render();
    },
    mode: (mode) => {
      state.evidence = { ...state.evidence, mode };
      render();
    },
    select: (capsule) => {
      state.evidence = { ...state.evidence, capsule };
      render();
    },
  }),
};

// ---- one render for every view -----------------------------------------------------------------------

function render() {
  const a = state.analysis;
  const layers = a?.layers;
  const pending = [
    views.model.render({ model: state.model, untrained: Boolean(state.model?.untrained || a?.untrained) }),
    views.input.render({ analysis: a, samples: state.samples, busy: state.busy, error: state.error }),
    views.conv1.render({ kernels: state.kernels, maps: layers?.conv1.maps ?? null, channel: state.channel }),
    views.primaryCaps.render({
      input: a?.input ?? null, lengths: layers?.primary_caps.lengths ?? null, vectors: layers?.primary_caps.vectors ?? null,
      field: state.model?.receptive_field ?? null,
    }),
    views.routing.render({
      routing: layers?.routing.iterations ?? null, step: state.routingStep, digit: state.routingDigit,
      iterations: state.iterations, uniform: state.uniform,
    }),
    views.digitCaps.render({ digitCaps: layers?.digit_caps ?? null, prediction: a?.prediction }),
    views.reconstruction.render({ ...state.recon, prediction: a?.prediction, message: state.labMessage }),
    views.equivariance.render({
      ...state.explorer,
      original: a?.input ?? null,
      reference: a ? { lengths: a.layers.digit_caps.lengths, vectors: a.layers.digit_caps.vectors, prediction: a.prediction } : null,
    }),
    views.ablation.render(state.ablation),
    views.overlap.render({ ...state.overlap, samples: state.samples, walkReady: Boolean(a) }),
    views.evidence.render({
      ...state.evidence, input: a?.input ?? null, prediction: a?.prediction, second: secondDigit(),
      field: state.model?.receptive_field ?? null,
    }),
  ];
  renderNav(a);
  writeHashSoon();
  return Promise.all(pending);
}

function renderNav(a) {
  const prediction = a ? `prediction ${a.prediction} (|v| ${fmt(a.lengths[a.prediction], 2)})` : 'no input yet';
  setText($('#nav-prediction'), state.error ?? prediction);
  $('#nav-prediction').classList.toggle('is-error', Boolean(state.error));
  $('#busy').hidden = !state.busy;
  document.body.classList.toggle('is-busy', state.busy);
}

// ---- start -------------------------------------------------------------------------------------------

async function start() {
  render();
  const [model, kernels, samples] = await Promise.allSettled([api.getModel(), api.getKernels(), api.getSamples()]);
  if (model.status === 'fulfilled') {
    state.model = model.value;
    state.iterations = model.value.routing_iterations_default;
    state.ablation.n = model.value.routing_iterations_default;
  }
  if (kernels.status === 'fulfilled') {
    state.kernels = { kernels: decode(kernels.value.kernels), bias: decode(kernels.value.bias) };
  }
  if (samples.status === 'fulfilled') {
    state.samples = samples.value.samples.map((s) => ({ ...s, image: decode(s.image) }));
    const second = state.samples.find((s) => s.id === DEFAULT_SECOND) ?? state.samples.find((s) => s.label !== state.samples[0].label);
    state.overlap = { ...state.overlap, second: second?.id ?? null };
  }
  const failed = [model, kernels, samples].find((r) => r.status === 'rejected');
  if (failed) state.error = `Could not load the page's data: ${failed.reason.message}`;
  if (state.model?.capsule_stats) {
    try {
      state.capsuleStats = await api.getCapsuleStats();
    } catch (e) {
      state.labMessage = { text: `Could not load the capsule statistics (${e.message}): sliders span ±0.25.`, isError: true };
    }
  }
  render();
  // A test digit opened from the model report (/report) comes first; otherwise start the walk with a
  // real MNIST digit so every section has something to show.
  const opened = window.location.hash === '#open' ? takeOpenDigit() : null;
  if (opened) {
    history.replaceState(null, '', window.location.pathname);
    analyze({ pixels: opened.pixels });
  } else if (isStateHash(window.location.hash) && restoreFromLink()) {
    // the shared decoder lab state is being analyzed
  } else if (state.samples?.length && !state.source) {
    views.input.pickSample(state.samples[0]);
  }
}

// A shared link (README "Sharing the decoder lab"): true when its state is being restored; a bad or
// tampered one says why on the page and leaves the default start to run.
function restoreFromLink() {
  scrollToLab = true;
  try {
    restore(fromHash(window.location.hash), 'the link');
    return true;
  } catch (e) {
    if (!(e instanceof StateError)) throw e;
    state.labMessage = { text: `The link's decoder lab state could not be used: ${e.message}. Showing the default start instead.`, isError: true };
    return false;
  }
}

start();
