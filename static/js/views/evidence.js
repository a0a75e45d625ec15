// Section "evidence": where the evidence for the predicted digit and a second digit came from. For each, the
// server's 28x28 map (sum of c_ij |u_i| over each primary capsule's receptive field, or what routing added
// compared with uniform coupling) over the grey input, and its top capsules as a list of buttons; choosing
// one outlines its receptive field and shows its 8-D vector and its votes u_hat_j|i for every digit.
// Reports the second digit, the map shown and the chosen capsule through callbacks.

import { diverging, grayscale, sequential } from '../colormap.js';
import { $, el, fmt, setText } from '../dom.js';
import { drawImage, drawOverlay, drawVectorBars } from '../draw.js';
import { legend } from '../legend.js';
import { fieldBox, fieldText, outlineFields } from '../receptiveField.js';
import { maxAbs, max } from '../tensor.js';

const ALPHA = 0.62; // enough colour to read the scale, enough grey to see the strokes beneath
const MODES = {
  map: { label: 'evidence c·|u|', key: 'map' },
  routed: { label: 'what routing added', key: 'routed' },
};

function radio(group, name, value, text, onChange) {
  const input = el('input', { type: 'radio', name, value, id: `${name}-${value}` });
  input.addEventListener('change', () => onChange(value));
  group.append(el('span', { class: 'digit-option' }, input, el('label', { for: input.id, text })));
  return input;
}

export class EvidenceView {
  constructor(root, actions, shapes) {
    this.s = shapes;
    this.actions = actions;
    this.readout = $('#evidence-readout', root);
    this.legend = $('#evidence-legend', root);
    this.scale = $('#evidence-scale', root);
    this.panels = [0, 1].map((n) => ({
      root: $(`#evidence-map-${n}`, root).closest('.ev-digit'),
      map: $(`#evidence-map-${n}`, root),
      rf: $(`#evidence-rf-${n}`, root),
      caption: $(`#evidence-caption-${n}`, root),
      list: $(`#evidence-top-${n}`, root),
    }));
    this.detail = $('#evidence-detail', root);
    this.capsuleText = $('#evidence-capsule', root);
    this.bars = $('#evidence-vector', root);
    this.numbers = $('#evidence-numbers', root);
    this.votes = $('#evidence-votes', root);
    this.votesLegend = $('#evidence-votes-legend', root);
    const modes = $('#evidence-mode', root);
    this.modeInputs = Object.fromEntries(Object.entries(MODES).map(([m, { label }]) =>
      [m, radio(modes, 'evidence-mode', m, label, (v) => actions.mode(v))]));
    const picker = $('#evidence-second', root);
    this.secondInputs = Array.from({ length: shapes.digits }, (_, j) =>
      radio(picker, 'evidence-second', j, String(j), (v) => actions.second(Number(v))));
    this.last = {};
  }

  // data: {input: decoded (S,S) | null, prediction, second, field: {size, stride} | null, mode: 'map' | 'routed',
  // result: {digits: [{digit, total, map, routed, top}], capsules: Map index -> votes, lengths} | null,
  // capsule: chosen index | null, busy, error}
  render(data) {
    const { input, prediction, second, mode, result, capsule, busy, error } = data;
    this.modeInputs[mode].checked = true;
    this.secondInputs.forEach((box, j) => {
      box.disabled = !input || j === prediction;
      box.checked = j === second;
    });
    setText(this.readout, error ?? this.#readout(input, result, busy));
    this.readout.classList.toggle('is-error', Boolean(error));
    const fresh = result !== this.last.result;
    if (result && (fresh || mode !== this.last.mode || input !== this.last.input)) this.#maps(input, result, mode);
    if (fresh && result) this.#lists(result);
    if (result && (fresh || capsule !== this.last.capsule)) this.#choose(result, capsule, data.field, prediction, second);
    if (!result && (fresh || input !== this.last.input)) this.#clear(input);
    this.last = data;
  }

  #clear(input) {
    this.detail.hidden = true;
    for (const panel of this.panels) {
      panel.list.replaceChildren();
      outlineFields(panel.rf, [], this.s.image);
      if (input) drawImage(panel.map, input.data, this.s.image, this.s.image, grayscale, 0, 1);
    }
  }

  #readout(input, result, busy) {
    if (!input) return 'Analyze a digit first.';
    if (busy || !result) return 'finding where the evidence came from…';
    const [a, b] = result.digits;
    const part = (d) => `digit ${d.digit} Σ c·|u| = ${fmt(d.total, 1)}`;
    return `Evidence received from the ${this.s.primary} primary capsules: ${part(a)}${b ? `; ${part(b)}` : ''}.`;
  }

  // Both pictures on one scale, so the colours compare between the two digits.
  #maps(input, result, mode) {
    const key = MODES[mode].key;
    const signed = mode === 'routed';
    let top = 0;
    for (const d of result.digits) top = Math.max(top, signed ? maxAbs(d[key].data) : max(d[key].data));
    top = top || 1;
    const [map, lo] = signed ? [diverging, -top] : [sequential, 0];
    legend(this.legend, signed ? 'diverging' : 'sequential', lo, top);
    setText(this.scale, signed
      ? 'Σ (c_ij − 0.1) |u_i| over the capsules that see a pixel: blue less than uniform coupling, red more'
      : 'Σ c_ij |u_i| over the capsules that see a pixel');
    this.panels.forEach((panel, n) => {
      const d = result.digits[n];
      panel.root.hidden = !d;
      if (!d) return;
      drawOverlay(panel.map, input.data, d[key].data, this.s.image, this.s.image, map, lo, top, ALPHA);
      const role = d.digit === result.prediction ? 'predicted' : 'second digit';
      setText(panel.caption, `Digit ${d.digit} (${role}): |v| = ${fmt(result.lengths[d.digit], 3)}, Σ c·|u| = ${fmt(d.total, 2)}.`);
      panel.map.setAttribute('aria-label', `${MODES[mode].label} for digit ${d.digit}, over the input`);
    });
  }

  #lists(result) {
    this.panels.forEach((panel, n) => {
      const d = result.digits[n];
      if (!d) {
        panel.list.replaceChildren();
        return;
      }
      panel.list.replaceChildren(...d.top.map((t) => {
        // The accessible name is the visible text (with a hidden "capsule n" before it), never a different label.
        const button = el('button', { type: 'button', 'aria-pressed': 'false', dataset: { capsule: t.capsule } },
          el('span', { class: 'visually-hidden', text: `capsule ${t.capsule}: ` }),
          el('span', { text: `type ${t.type} (${t.row}, ${t.col}) · c ${fmt(t.c, 3)} · |u| ${fmt(t.length, 2)}` }),
          el('span', { class: 'ev-weight', text: fmt(t.weight, 3) }));
        button.addEventListener('click', () => this.actions.select(t.capsule));
        return el('li', {}, button);
      }));
    });
  }

  #choose(result, capsule, field, prediction, second) {
    for (const panel of this.panels) {
      for (const b of panel.list.querySelectorAll('button')) b.setAttribute('aria-pressed', String(Number(b.dataset.capsule) === capsule));
    }
    const votes = result.capsules.get(capsule);
    const entry = result.digits.flatMap((d) => d.top).find((t) => t.capsule === capsule);
    this.detail.hidden = !votes || !entry;
    const box = entry && field ? fieldBox(field, entry.row, entry.col) : null;
    for (const panel of this.panels) outlineFields(panel.rf, box ? [box] : [], this.s.image);
    if (!votes || !entry) return;
    setText(this.capsuleText, `Capsule ${capsule}: type ${entry.type}, grid row ${entry.row}, column ${entry.col}`
      + `${box ? ` (${fieldText(box)})` : ''}, |u| = ${fmt(entry.length, 3)}.`);
    const u = votes.vector.data;
    drawVectorBars(this.bars, u);
    this.numbers.replaceChildren(...Array.from(u, (v, i) => el('li', { text: `u${i + 1} = ${fmt(v, 3)}` })));
    const m = maxAbs(votes.u_hat.data) || 1;
    legend(this.votesLegend, 'diverging', -m, m);
    const c = votes.c[votes.c.length - 1];
    this.votes.replaceChildren(...Array.from({ length: this.s.digits }, (_, j) => {
      const strip = el('canvas', { class: 'pixelated', width: this.s.dim, height: 1, role: 'img', 'aria-label': `the ${this.s.dim} numbers of û for digit ${j}` });
      drawImage(strip, votes.u_hat.data.subarray(j * this.s.dim, (j + 1) * this.s.dim), this.s.dim, 1, diverging, -m, m);
      return el('tr', { class: j === prediction || j === second ? 'is-chosen' : null },
        el('th', { scope: 'row', text: String(j) }), el('td', {}, strip),
        el('td', { text: fmt(votes.u_hat_lengths[j], 3) }), el('td', { text: fmt(c[j], 3) }));
    }));
  }
}
