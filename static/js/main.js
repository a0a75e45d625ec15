// CapsNet Visualizer page: the composition root. It loads /api/model, builds the store and the walk's
// analysis, creates one feature per section (static/js/features/README.md is their contract) and starts
// the walk. It holds no state of its own.
//
// Test hooks on <body>, all written by store.js after the next paint: data-analyses (+ data-rendered-at,
// data-source) counts analyses drawn; data-reconstructions reconstruction images drawn (+
// data-reconstructed-from: the timestamp of the slider event whose vector was drawn); data-perturbations
// perturbation grids; data-transforms and
// data-sweeps the equivariance section's transformed analyses and sweeps; data-ablations routing
// ablations; data-restores shared reconstruction states restored and drawn; data-shares the times the URL
// hash was written; data-overlaps overlapping-digit pairs; data-evidence the evidence section's answers;
// data-vote-clouds, data-capsule-steps and data-losses the vote clouds, capsule steps and losses drawn.
// data-overlap-compares: section 8's answers from the single-digit model, when a MultiMNIST model is shown.

import * as api from './api.js';
import { $, fmt, setText } from './dom.js';
import * as ablation from './features/ablation.js';
import * as conv1 from './features/conv1.js';
import * as digitCaps from './features/digit_caps.js';
import * as equivariance from './features/equivariance.js';
import * as evidence from './features/evidence.js';
import * as input from './features/input.js';
import * as modelPanel from './features/model.js';
import * as overlap from './features/overlap.js';
import * as primaryCaps from './features/primary_caps.js';
import * as reconstruction from './features/reconstruction.js';
import * as routing from './features/routing.js';
import * as voteCloud from './features/vote_cloud.js';
import * as capsuleSteps from './features/capsule_steps.js';
import * as loss from './features/loss.js';
import { isStateHash } from './reconstructionState.js';
import { applyShapes, createPicker } from './modelPicker.js';
import { keepHash } from './navLinks.js';
import { takeOpenDigit } from './report/openDigit.js';
import { shapesOf } from './shapes.js';
import { createStore } from './store.js';
import { createWalk } from './walk.js';

// Every section after the input, in page order; each needs only ctx (input and reconstruction are made
// first because start() uses them).
const FEATURES = [modelPanel, conv1, primaryCaps, routing, voteCloud, capsuleSteps, loss, digitCaps, equivariance, ablation, overlap, evidence];

// A MultiMNIST model's answer is two digits: its two longest capsules.
function predicted(r, pairs) {
  if (!pairs) return `prediction ${r.prediction} (|v| ${fmt(r.lengths[r.prediction], 2)})`;
  const [a, b] = r.lengths.map((v, d) => [v, d]).sort((x, y) => y[0] - x[0]);
  return `digits ${a[1]} and ${b[1]} (|v| ${fmt(a[0], 2)}, ${fmt(b[0], 2)})`;
}

function showStatus(store, pairs) {
  const a = store.get('analysis');
  const r = a.result;
  const text = a.error ?? (r ? predicted(r, pairs) : 'no input yet');
  setText($('#nav-prediction'), text);
  $('#nav-prediction').classList.toggle('is-error', Boolean(a.error));
  $('#busy').hidden = !a.busy;
  document.body.classList.toggle('is-busy', a.busy);
}

function fail(message) {
  setText($('#nav-prediction'), message);
  $('#nav-prediction').classList.add('is-error');
  const error = $('#error');
  error.hidden = false;
  setText(error, message);
}

async function start() {
  keepHash();
  let model;
  try {
    model = await api.getModel();
  } catch (e) {
    fail(`Could not load the page's data: ${e.message}`);
    return;
  }
  const store = createStore();
  const shapes = shapesOf(model);
  applyShapes(document, shapes, model.dataset);
  // A promise of the /api/models list (the picker's; section 8 finds the single-digit model in it), not
  // awaited here: the walk starts without it.
  const models = createPicker($('#model-picker'), model.model);
  const walk = createWalk(store, shapes);
  store.subscribe('analysis', () => showStatus(store, model.dataset === 'multimnist'));
  const ctx = (feature, extra = {}) => ({ section: $(`#${feature.name}`), store, model, models, shapes, walk, ...extra });
  const inputFeature = input.create(ctx(input));
  const reconstructionFeature = reconstruction.create(ctx(reconstruction, { input: inputFeature }));
  for (const feature of FEATURES) feature.create(ctx(feature));
  await Promise.all([inputFeature.loaded, reconstructionFeature.statsLoaded]);

  // A test digit opened from the model report (/report) comes first, then a shared link; otherwise the
  // walk starts with a real MNIST digit so every section has something to show.
  const opened = window.location.hash === '#open' ? takeOpenDigit(shapes.image) : null;
  const samples = store.get('input').samples;
  if (opened) {
    history.replaceState(null, '', window.location.pathname + window.location.search); // keeps ?model=
    walk.analyze({ pixels: opened.pixels });
  } else if (isStateHash(window.location.hash) && reconstructionFeature.restoreFromLink($('#reconstruction'))) {
    // the shared state is being analyzed
  } else if (samples?.length && !store.get('analysis').source) {
    inputFeature.pickSample(samples[0]);
  }
}

start();
