// CapsNet Visualizer page: holds the state, asks the API, and redraws every view with one render().
// Views only draw what they are given and report user actions back through the callbacks below.
// When a new analysis is on screen, <body data-analyses="n" data-rendered-at="ms"> tells tests and
// bench/ui_latency.py so; data-reconstructions counts reconstruction images drawn; data-transforms and
// data-sweeps count the equivariance explorer's transformed analyses and sweeps drawn; data-evidence counts
// the evidence section's answers drawn.

import * as api from './api.js';
import { $, debounce, fmt, setText } from './dom.js';
import { takeOpenDigit } from './report/openDigit.js';
import { decode } from './tensor.js';
import { Conv1View } from './views/conv1.js';
import { DigitCapsView } from './views/digitCaps.js';
import { EquivarianceView, identityTransform } from './views/equivariance.js';
import { EvidenceView } from './views/evidence.js';
import { InputView } from './views/input.js';
import { ModelPanelView } from './views/modelPanel.js';
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
  recon: {}, // {digit, base, vector, image, perturbations}
  // The equivariance explorer's own state: it transforms the walk's input but never changes the walk.
  // result: {input, lengths, prediction}; sweep: /api/sweep decoded, plus the digit predicted untransformed.
  explorer: { transform: identityTransform(), result: null, sweep: null, busy: false, sweeping: false, error: null },
  // Where the evidence came from, for the walk's input. pick: the second digit the user chose (null: the
  // runner-up); mode: 'map' | 'routed'; result: /api/evidence decoded; capsule: the primary capsule shown.
  evidence: { pick: null, mode: 'map', result: null, capsule: null, busy: false, error: null },
};

const counters = { analyses: 0, reconstructions: 0, transforms: 0, sweeps: 0, evidence: 0 };

// ---- the API, at most one request of each kind in flight -------------------------------------------

const runAnalyze = api.latestOnly(api.analyze);
const runReconstruct = api.latestOnly(api.reconstruct);
const runTransformed = api.latestOnly(api.analyzeTransformed);
let analyzeSeq = 0;

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
  state.source = source;
  const seq = ++analyzeSeq;
  Object.assign(state, { busy: true, error: null });
  render();
  let body;
  try {
    body = await runAnalyze(source, { iterations: state.iterations, uniformRouting: state.uniform });
  } catch (e) {
    if (seq === analyzeSeq) Object.assign(state, { busy: false, error: `Could not analyze: ${e.message}` });
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
  setRecon(recon.digit, digitCaps, recon.image.data);
  resetExplorer();
  state.evidence = { ...state.evidence, result: null }; // the old evidence belongs to the old input
  loadEvidence();
  counters.analyses += 1;
  const done = counters.analyses;
  await render();
  requestAnimationFrame(() => setTimeout(() => {
    document.body.dataset.analyses = String(done);
    document.body.dataset.source = analysis.source;
    document.body.dataset.renderedAt = String(performance.now());
  }, 0));
}

// Decodes digit capsule `digit`; `image` is its known reconstruction, if any.
function setRecon(digit, vectors, image = null) {
  const base = Array.from(vectors.data.subarray(digit * 16, digit * 16 + 16));
  state.recon = { digit, base, vector: base.slice(), image, perturbations: null };
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
  state.recon = { ...state.recon, image: decode(body.image).data };
  render();
  counters.reconstructions += 1;
  document.body.dataset.reconstructions = String(counters.reconstructions);
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

const isIdentity = (transform) => Object.entries(identityTransform()).every(([k, v]) => transform[k] === v);

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
  const result = { input: decode(body.input), lengths: body.lengths, prediction: body.prediction };
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
      vector[k] = value;
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
    views.reconstruction.render({ ...state.recon, prediction: a?.prediction }),
    views.equivariance.render({ ...state.explorer, original: a?.input ?? null }),
    views.evidence.render({
      ...state.evidence, input: a?.input ?? null, prediction: a?.prediction, second: secondDigit(),
      field: state.model?.receptive_field ?? null,
    }),
  ];
  renderNav(a);
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
  }
  if (kernels.status === 'fulfilled') {
    state.kernels = { kernels: decode(kernels.value.kernels), bias: decode(kernels.value.bias) };
  }
  if (samples.status === 'fulfilled') {
    state.samples = samples.value.samples.map((s) => ({ ...s, image: decode(s.image) }));
  }
  const failed = [model, kernels, samples].find((r) => r.status === 'rejected');
  if (failed) state.error = `Could not load the page's data: ${failed.reason.message}`;
  render();
  // A test digit opened from the model report (/report) comes first; otherwise start the walk with a
  // real MNIST digit so every section has something to show.
  const opened = window.location.hash === '#open' ? takeOpenDigit() : null;
  if (opened) {
    history.replaceState(null, '', window.location.pathname);
    analyze({ pixels: opened.pixels });
  } else if (state.samples?.length && !state.source) {
    views.input.pickSample(state.samples[0]);
  }
}

start();
