// Tiny DOM helpers. Text always goes in through textContent, never as HTML.

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = value;
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

export const $ = (selector, root = document) => root.querySelector(selector);

export function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

// Fixed decimals, without a "-0.00" for values that round to zero.
export function fmt(value, digits = 3) {
  if (!Number.isFinite(value)) return '–';
  return (Math.abs(value) < 0.5 * 10 ** -digits ? 0 : value).toFixed(digits);
}

// Two significant digits, for scale ends that can be tiny (an untrained network) or large.
export function sig(value) {
  return Number.isFinite(value) ? String(Number(value.toPrecision(2))) : '–';
}

export function percent(value, digits = 2) {
  return Number.isFinite(value) ? `${(value * 100).toFixed(digits)} %` : '–';
}

// Calls fn at most once per `wait` ms after the last call.
export function debounce(fn, wait) {
  let timer = null;
  const debounced = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), wait);
  };
  debounced.cancel = () => clearTimeout(timer);
  return debounced;
}

// Seconds as "2 h 10 min" / "12 min", or null when unknown.
export function duration(seconds) {
  if (!Number.isFinite(seconds)) return null;
  const h = Math.floor(seconds / 3600);
  const m = Math.round((seconds % 3600) / 60);
  return h ? `${h} h ${m} min` : `${m} min`;
}

// A manifest value as one line of text (objects as "key: value, ..."), or null when empty.
export function factText(value) {
  if (value === null || value === undefined || value === '') return null;
  if (typeof value === 'object') return Object.entries(value).map(([k, v]) => `${k}: ${v}`).join(', ');
  return String(value);
}
