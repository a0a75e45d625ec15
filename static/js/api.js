// Talks to the JSON API on this server (README "API") and decodes every tensor on arrival, so features
// and views only ever see typed arrays. Every failure becomes an ApiError whose message is fit to show
// the user: the server's own {"error": ...} text when there is one. Every call takes {signal} last, for
// latest() (static/js/latest.js) to abort it.
//
// The server may serve several models (GET /api/models); the page works with the one named by ?model= in its
// own URL (none: the server's default), and every request here names it: a `model` field in JSON and form
// bodies, ?model= on GETs. forModel(name) gives the same calls for another model (section 8's comparison).

import { decode } from './tensor.js';

// The page's model, from its URL; null leaves the choice to the server (its first model).
export const currentModel = () => new URLSearchParams(window.location.search).get('model');

export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
  }
}

async function request(path, options = {}) {
  let response;
  try {
    response = await fetch(path, { headers: { Accept: 'application/json' }, ...options });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError('Cannot reach the server. Is run_visualization.py still running?', 0);
  }
  let body = null;
  try {
    body = await response.json();
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    body = null;
  }
  if (!response.ok) {
    const message = body && typeof body.error === 'string' ? body.error : `the server answered ${response.status}`;
    throw new ApiError(message, response.status);
  }
  if (body === null) throw new ApiError('the server sent an answer that is not JSON', response.status);
  return body;
}

// The model a call names: the page's, unless a forModel() binding says otherwise.
let boundModel;
const modelOf = () => (boundModel === undefined ? currentModel() : boundModel);

function postJson(path, body, signal) {
  const model = modelOf();
  return request(path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify(model === null ? body : { ...body, model }),
    signal,
  });
}

function get(path, options = {}) {
  const model = modelOf();
  return request(model === null ? path : `${path}?model=${encodeURIComponent(model)}`, options);
}

// ---- decoding, one function per answer --------------------------------------------------------------

// /api/evidence's "digits" (also the analysis's optional "evidence").
const decodeDigits = (digits) => digits.map((d) => ({ ...d, map: decode(d.map), routed: decode(d.routed) }));

// The analysis's optional "evidence": the digits list itself, or an object holding it (and perhaps the
// capsules' details); null when the server did not send it.
function decodeEmbeddedEvidence(e) {
  if (!e) return null;
  const digits = Array.isArray(e) ? e : e.digits;
  if (!Array.isArray(digits)) return null;
  const capsules = Array.isArray(e.capsules) ? e.capsules : [];
  return {
    digits: decodeDigits(digits),
    capsules: new Map(capsules.map((v) => [v.capsule, { ...v, vector: decode(v.vector), u_hat: decode(v.u_hat) }])),
  };
}

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
    evidence: decodeEmbeddedEvidence(body.evidence),
  };
}

function decodeAblation(body) {
  // The per-step Δc maps come separately quantised; one (steps, types, grid, grid) array for the view.
  const maps = body.delta_c.map((d) => decode(d.map));
  const inner = maps.length ? maps[0].data.length : 0;
  const data = new Float32Array(maps.length * inner);
  maps.forEach((m, k) => data.set(m.data, k * inner));
  return {
    ...body,
    lengths: decode(body.lengths),
    uniform: { ...body.uniform, lengths: decode(body.uniform.lengths) },
    deltaC: { shape: [maps.length, ...(maps[0]?.shape ?? [])], data },
    meanAbs: decode(body.delta_c_mean_abs),
  };
}

// ---- the endpoints ----------------------------------------------------------------------------------

export const getModels = () => request('/api/models');
export const getModel = () => get('/api/model');
export const getReport = () => get('/api/report');
export const getKernels = async () => {
  const body = await get('/api/kernels');
  return { kernels: decode(body.kernels), bias: decode(body.bias) };
};
export const getSamples = async () => (await get('/api/samples')).samples.map((s) => ({ ...s, image: decode(s.image) }));
export const getCapsuleStats = () => get('/api/capsule_stats');
export const getDecoder = async ({ signal } = {}) => {
  const body = await get('/api/decoder', { signal });
  return { ...body, layers: body.layers.map((l) => ({ ...l, weight: decode(l.weight), bias: decode(l.bias) })) };
};

// source: {image: dataUrl} | {sample: id} | {pixels: rows in [0, 1]} | {file: File};
// options: {iterations, uniformRouting}
export async function analyze(source, { iterations, uniformRouting = false }, { signal } = {}) {
  if (source.file) {
    const form = new FormData();
    form.append('image', source.file, source.file.name || 'upload');
    form.append('iterations', String(iterations));
    form.append('uniform_routing', String(uniformRouting));
    if (modelOf() !== null) form.append('model', modelOf());
    return decodeAnalysis(await request('/api/analyze', { method: 'POST', body: form, signal }));
  }
  const body = source.sample ? { sample: source.sample }
    : source.pixels ? { pixels: source.pixels } : { image: source.image };
  return decodeAnalysis(await postJson('/api/analyze', { ...body, iterations, uniform_routing: uniformRouting }, signal));
}

// The equivariance section (README "Transforms, sweeps, votes, evidence and overlap"). source: {image} | {sample} | {pixels}
// (JSON only: a file source is sent as the pixels the model saw); transform: {rotate, shift_x, ...}.
export async function analyzeTransformed(source, transform, { iterations, uniformRouting = false }, { signal } = {}) {
  const body = await postJson('/api/analyze', { ...source, transform, iterations, uniform_routing: uniformRouting }, signal);
  return {
    input: decode(body.input), lengths: body.lengths, prediction: body.prediction,
    vectors: decode(body.layers.digit_caps.vectors),
  };
}

export async function sweep(source, parameter, { iterations }, { signal } = {}) {
  const body = await postJson('/api/sweep', { ...source, parameter, iterations }, signal);
  return { ...body, images: decode(body.images), lengths: decode(body.lengths), vectors: decode(body.vectors) };
}

// The routing ablation: source {sample} | {pixels} | {image}; digit: whose Δc maps to send, or null for
// the server's default (the prediction).
export async function ablation(source, digit = null, { signal } = {}) {
  return decodeAblation(await postJson('/api/ablation', digit === null ? source : { ...source, digit }, signal));
}

// Two digits overlaid: first / second are gallery ids or pixel rows.
export async function overlap(first, second, shift, { iterations }, { signal } = {}) {
  const body = await postJson('/api/overlap', { first, second, shift, iterations }, signal);
  return { ...body, input: decode(body.input), parts: decode(body.parts), reconstructions: decode(body.reconstructions) };
}

// fn (one of the calls above) made to name `model` instead of the page's. The binding holds only while
// the request is built (postJson and get read it synchronously), so concurrent calls never see each other's.
export function forModel(model, fn) {
  return (...args) => {
    const saved = boundModel;
    boundModel = model;
    try {
      return fn(...args);
    } finally {
      boundModel = saved;
    }
  };
}

// Where the evidence for `digits` (1 or 2) came from; source as for analyzeTransformed.
export async function evidence(source, digits, { iterations, uniformRouting = false, top = 10 }, { signal } = {}) {
  const body = await postJson('/api/evidence', { ...source, digits, top, iterations, uniform_routing: uniformRouting }, signal);
  return {
    ...body,
    digits: decodeDigits(body.digits),
    capsules: new Map(body.capsules.map((v) => [v.capsule, { ...v, vector: decode(v.vector), u_hat: decode(v.u_hat) }])),
  };
}

export async function reconstruct(digit, vector, { signal } = {}) {
  return decode((await postJson('/api/reconstruct', { digit, vector }, signal)).image).data;
}

export async function perturbations(digit, vector, { signal } = {}) {
  const body = await postJson('/api/perturbations', { digit, vector }, signal);
  return { images: decode(body.images), steps: body.steps };
}

// ---- routing by agreement made visible (/api/routing/*) ---------------------------------------------

const routingBody = (source, { iterations, uniformRouting = false }) => ({ ...source, iterations, uniform_routing: uniformRouting });

export async function voteCloud(source, digits, options, { signal } = {}) {
  const body = await postJson('/api/routing/vote_cloud', { ...routingBody(source, options), ...(digits ? { digits } : {}) }, signal);
  return {
    ...body,
    primary_lengths: decode(body.primary_lengths),
    digits: body.digits.map((d) => ({ ...d, coords: decode(d.coords), c: decode(d.c), agreement: decode(d.agreement) })),
  };
}

export async function capsuleSteps(source, capsule, digit, options, { signal } = {}) {
  const body = await postJson('/api/routing/capsule_steps', { ...routingBody(source, options), capsule, digit }, signal);
  const tensors = ['u_raw', 'u', 'W', 'u_hat', 'contribution', 's', 'v'];
  return { ...body, ...Object.fromEntries(tensors.map((k) => [k, decode(body[k])])) };
}

export async function loss(source, label, options, { signal } = {}) {
  const body = await postJson('/api/routing/loss', { ...routingBody(source, options), ...(label === null ? {} : { label }) }, signal);
  const r = body.reconstruction;
  return { ...body, reconstruction: { ...r, image: decode(r.image), difference: decode(r.difference) } };
}
