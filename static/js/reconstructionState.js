// The reconstruction section's shareable state: what the URL hash and the exported JSON file hold, written and read
// through ONE declarative table (FIELDS), so the two forms cannot drift apart. Pure functions, no DOM.
//
// Hash:  #version=1&sample=test-00003&iterations=3&uniform_routing=0&digit=3&vector=0.0123,-0.2,...
// JSON:  {"version": 1, "sample": "test-00003", "iterations": 3, "uniform_routing": false, "digit": 3,
//         "vector": [16 numbers]}
// The input is either `sample` (a gallery id) or `pixels` (the side × side image the model saw, side² uint8
// values row-major, base64url without padding; the server checks the side against its model), never both. README "Sharing the reconstruction" documents this.

export const VERSION = 1;
const DIM = 16;
const SIDE_MAX = 64; // pixels per side a shared image may hold (the models' inputs are far smaller)
const VECTOR_LIMIT = 2; // /api/reconstruct accepts components within ±2
const MAX_ITERATIONS = 10; // app/validation.py MAX_ITERATIONS

export class StateError extends Error {}

// ---- value kinds: how one field is written as hash text, read back, and checked ------------------------

const integer = (lo, hi) => ({
  toText: (x) => String(x),
  fromText: (t) => (/^-?\d{1,6}$/.test(t) ? Number(t) : NaN),
  check(x, key) {
    if (!Number.isInteger(x)) throw new StateError(`"${key}" must be a whole number in ${lo}..${hi}`);
    if (x < lo || x > hi) throw new StateError(`"${key}" must be in ${lo}..${hi}, got ${x}`);
    return x;
  },
});

const flag = {
  toText: (x) => (x ? '1' : '0'),
  fromText: (t) => (t === '1' ? true : t === '0' ? false : t),
  check(x, key) {
    if (typeof x !== 'boolean') throw new StateError(`"${key}" must be true or false (1 or 0 in a link)`);
    return x;
  },
};

const sampleId = {
  toText: (x) => x,
  fromText: (t) => t,
  check(x, key) {
    if (typeof x !== 'string' || !/^[a-z0-9-]{1,40}$/.test(x)) throw new StateError(`"${key}" is not a gallery sample id`);
    return x;
  },
};

// side² bytes as base64url (both forms hold the same string); in the state a Uint8Array.
const pixelBytes = {
  toText: (bytes) => toBase64url(bytes),
  fromText: (t) => t,
  toJson: (bytes) => toBase64url(bytes),
  check(x, key, { side } = {}) {
    if (typeof x !== 'string' || !/^[A-Za-z0-9_-]*$/.test(x)) throw new StateError(`"${key}" is not base64url text`);
    const bytes = fromBase64url(x);
    if (bytes === null) throw new StateError(`"${key}" is not valid base64url`);
    if (side !== undefined && bytes.length !== side * side) {
      throw new StateError(`"${key}" must hold ${side * side} values (${side}×${side}, this model's input), got ${bytes.length}`);
    }
    const root = Math.round(Math.sqrt(bytes.length));
    if (root < 1 || root > SIDE_MAX || root * root !== bytes.length) {
      throw new StateError(`"${key}" must hold a square image (side × side values, side up to ${SIDE_MAX}), got ${bytes.length}`);
    }
    return bytes;
  },
};

// DIM finite numbers within ±VECTOR_LIMIT; kept as float32 values, written in the fewest digits that
// give back the same float32, so a shared vector is exactly the one the decoder saw.
const capsuleVector = {
  toText: (v) => v.map(float32Text).join(','),
  fromText: (t) => t.split(',').map((s) => (s.trim() === '' ? NaN : Number(s))),
  toJson: (v) => v.map((x) => Number(float32Text(x))),
  check(x, key) {
    if (!Array.isArray(x) || x.length !== DIM) throw new StateError(`"${key}" must hold ${DIM} numbers, got ${Array.isArray(x) ? x.length : typeof x}`);
    x.forEach((v, k) => {
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new StateError(`"${key}" component ${k + 1} is not a finite number`);
      if (Math.abs(v) > VECTOR_LIMIT) throw new StateError(`"${key}" component ${k + 1} is ${v}, outside ±${VECTOR_LIMIT}`);
    });
    return x.map(Math.fround);
  },
};

// ---- the table: key (same in the hash and the JSON file), property in the page's state, kind -----------

export const FIELDS = [
  { key: 'version', prop: 'version', kind: integer(0, 1e6), required: true },
  { key: 'sample', prop: 'sample', kind: sampleId },
  { key: 'pixels', prop: 'pixels', kind: pixelBytes },
  { key: 'iterations', prop: 'iterations', kind: integer(1, MAX_ITERATIONS), required: true },
  { key: 'uniform_routing', prop: 'uniformRouting', kind: flag, default: false },
  { key: 'digit', prop: 'digit', kind: integer(0, 9), required: true },
  { key: 'vector', prop: 'vector', kind: capsuleVector, required: true },
];

// A hash this section wrote (or one meant to be read as such): key=value pairs. "#open" (report → page) and
// section anchors like "#reconstruction" are not.
export const isStateHash = (hash) => hash.replace(/^#/, '').includes('=');

// state: {sample | pixels, iterations, uniformRouting, digit, vector} -> "version=1&..."
export function toHash(state) {
  const parts = [];
  for (const f of FIELDS) {
    const value = f.prop === 'version' ? VERSION : state[f.prop];
    if (value === undefined || value === null) continue;
    parts.push(`${f.key}=${encodeURIComponent(f.kind.toText(value)).replace(/%2C/g, ',')}`); // commas stay readable
  }
  return parts.join('&');
}

export function toJson(state) {
  const out = {};
  for (const f of FIELDS) {
    const value = f.prop === 'version' ? VERSION : state[f.prop];
    if (value === undefined || value === null) continue;
    out[f.key] = f.kind.toJson ? f.kind.toJson(value) : value;
  }
  return out;
}

// "#version=1&..." -> state, or throws StateError saying what is wrong. expect: {side} of the model's
// input, which `pixels` must match (without it any square image passes here and the server decides).
export function fromHash(hash, expect = {}) {
  const raw = {};
  for (const pair of hash.replace(/^#/, '').split('&')) {
    if (pair === '') continue;
    const at = pair.indexOf('=');
    if (at < 0) throw new StateError(`"${pair.slice(0, 40)}" is not key=value`);
    let key, text;
    try {
      key = decodeURIComponent(pair.slice(0, at));
      text = decodeURIComponent(pair.slice(at + 1));
    } catch {
      throw new StateError('the link is not properly encoded');
    }
    const field = FIELDS.find((f) => f.key === key);
    if (!field) throw new StateError(`unknown field "${key.slice(0, 40)}"`);
    if (key in raw) throw new StateError(`"${key}" is given twice`);
    raw[key] = field.kind.fromText(text);
  }
  return check(raw, expect);
}

// A parsed JSON object (an exported file) -> state, or throws StateError.
export function fromJson(obj, expect = {}) {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) throw new StateError('the file does not hold a JSON object');
  return check(obj, expect);
}

function check(raw, expect) {
  for (const key of Object.keys(raw)) {
    if (!FIELDS.some((f) => f.key === key)) throw new StateError(`unknown field "${key.slice(0, 40)}"`);
  }
  if (raw.version !== VERSION) {
    throw new StateError(raw.version === undefined ? 'no "version": this is not a reconstruction state'
      : `version ${String(raw.version).slice(0, 20)} is not one this page reads (version ${VERSION})`);
  }
  const state = {};
  for (const f of FIELDS) {
    const value = raw[f.key];
    if (value === undefined) {
      if (f.required) throw new StateError(`"${f.key}" is missing`);
      state[f.prop] = f.default ?? null;
      continue;
    }
    state[f.prop] = f.kind.check(value, f.key, expect);
  }
  if ((state.sample === null) === (state.pixels === null)) throw new StateError('give exactly one input: "sample" or "pixels"');
  return state;
}

// ---- encodings --------------------------------------------------------------------------------------

// The shortest decimal that reads back as the same float32.
export function float32Text(x) {
  const f = Math.fround(x);
  for (let p = 1; p < 10; p++) {
    const text = String(Number(f.toPrecision(p)));
    if (Math.fround(Number(text)) === f) return text;
  }
  return String(f);
}

export function toBase64url(bytes) {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

// base64url (no padding) -> Uint8Array, or null when it is not valid.
export function fromBase64url(text) {
  if (text.length % 4 === 1) return null;
  try {
    const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
    return Uint8Array.from(binary, (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
}

// The model's input (values in [0, 1]) <-> bytes, and bytes -> the rows /api/analyze takes.
export const pixelsToBytes = (values) => Uint8Array.from(values, (v) => Math.round(Math.min(1, Math.max(0, v)) * 255));

export function bytesToRows(bytes) {
  const rows = [];
  const side = Math.round(Math.sqrt(bytes.length));
  for (let r = 0; r < side; r++) rows.push(Array.from(bytes.subarray(r * side, r * side + side), (v) => v / 255));
  return rows;
}
