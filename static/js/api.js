// Talks to the JSON API on this server (README "API"). Every failure becomes an ApiError whose message
// is fit to show the user: the server's own {"error": ...} text when there is one.

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
  } catch {
    throw new ApiError('Cannot reach the server. Is run_visualization.py still running?', 0);
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (!response.ok) {
    const message = body && typeof body.error === 'string' ? body.error : `the server answered ${response.status}`;
    throw new ApiError(message, response.status);
  }
  if (body === null) throw new ApiError('the server sent an answer that is not JSON', response.status);
  return body;
}

function postJson(path, body) {
  return request(path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify(body),
  });
}

export const getModel = () => request('/api/model');
export const getKernels = () => request('/api/kernels');
export const getSamples = () => request('/api/samples');
export const getCapsuleStats = () => request('/api/capsule_stats');

// source: {image: dataUrl} | {sample: id} | {pixels: 28×28 rows in [0, 1]} | {file: File};
// options: {iterations, uniformRouting}
export function analyze(source, { iterations, uniformRouting = false }) {
  if (source.file) {
    const form = new FormData();
    form.append('image', source.file, source.file.name || 'upload');
    form.append('iterations', String(iterations));
    form.append('uniform_routing', String(uniformRouting));
    return request('/api/analyze', { method: 'POST', body: form });
  }
  const body = source.sample ? { sample: source.sample }
    : source.pixels ? { pixels: source.pixels } : { image: source.image };
  return postJson('/api/analyze', { ...body, iterations, uniform_routing: uniformRouting });
}

// The equivariance explorer (README "Explorer endpoints and options"). source: {image} | {sample} | {pixels}
// (JSON only: a file source is sent as the pixels the model saw); transform: {rotate, shift_x, ...}.
export function analyzeTransformed(source, transform, { iterations, uniformRouting = false }) {
  return postJson('/api/analyze', { ...source, transform, iterations, uniform_routing: uniformRouting });
}

export const sweep = (source, parameter, { iterations }) => postJson('/api/sweep', { ...source, parameter, iterations });

// The routing ablation (README "Explorer endpoints and options"): source {sample} | {pixels} | {image};
// digit: whose Δc maps to send, or null for the server's default (the prediction).
export const ablation = (source, digit = null) => postJson('/api/ablation', digit === null ? source : { ...source, digit });
// Two digits overlaid (README "Explorer endpoints and options"): first / second are gallery ids or 28×28 pixels.
export const overlap = (first, second, shift, { iterations }) => postJson('/api/overlap', { first, second, shift, iterations });
// Where the evidence for `digits` (1 or 2) came from; source as for analyzeTransformed.
export function evidence(source, digits, { iterations, uniformRouting = false, top = 10 }) {
  return postJson('/api/evidence', { ...source, digits, top, iterations, uniform_routing: uniformRouting });
}

export const reconstruct = (digit, vector) => postJson('/api/reconstruct', { digit, vector });
export const perturbations = (digit, vector) => postJson('/api/perturbations', { digit, vector });

// Wraps an async function so that at most one call is in flight; calls made meanwhile collapse into
// one: the latest arguments run when the current call returns. Older pending calls resolve to null.
export function latestOnly(fn) {
  let running = false;
  let pending = null; // {args, resolve, reject}
  async function run(args, resolve, reject) {
    running = true;
    try {
      resolve(await fn(...args));
    } catch (e) {
      reject(e);
    } finally {
      running = false;
      if (pending) {
        const next = pending;
        pending = null;
        run(next.args, next.resolve, next.reject);
      }
    }
  }
  return (...args) =>
    new Promise((resolve, reject) => {
      if (!running) {
        run(args, resolve, reject);
        return;
      }
      if (pending) pending.resolve(null);
      pending = { args, resolve, reject };
    });
}
