// Section "input": what the user gives (drawing pad, upload, drop, paste, the model's gallery) beside the
// image the model saw (its input size), plus the busy / error status line. Reports what the user does through callbacks;
// never calls the API itself.

import { grayscale } from '../colormap.js';
import { $, el, setText } from '../dom.js';
import { drawImage } from '../draw.js';
import { DrawPad } from './drawPad.js';

// Draws a w x h grey image (values 0..1 or 0..255) scaled into the pad, pixelated like the model's input.
function grayBackdrop(values, w, h, top) {
  const canvas = document.createElement('canvas');
  drawImage(canvas, values, w, h, grayscale, 0, top);
  return (ctx, size) => {
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(canvas, 0, 0, size, size);
  };
}

// Fits an uploaded bitmap into the pad keeping its aspect; returns the backdrop and the transform used.
function bitmapBackdrop(bitmap) {
  return (ctx, size) => {
    const s = Math.min(size / bitmap.width, size / bitmap.height);
    const w = bitmap.width * s;
    const h = bitmap.height * s;
    ctx.fillStyle = '#808080';
    ctx.fillRect(0, 0, size, size);
    ctx.imageSmoothingEnabled = true;
    ctx.drawImage(bitmap, (size - w) / 2, (size - h) / 2, w, h);
  };
}

// How a gallery entry is named: one MNIST test digit, or a MultiMNIST test pair (entries with "labels").
function describe(sample) {
  const wrong = sample.note === 'misclassified';
  if (Array.isArray(sample.labels)) {
    return `MultiMNIST test pair #${sample.index}, a ${sample.labels[0]} and a ${sample.labels[1]}`
      + (wrong ? `, read as ${sample.predicted.join(' and ')}` : '');
  }
  return `MNIST test #${sample.index}, a ${sample.label}` + (wrong ? `, misclassified as ${sample.predicted}` : '');
}

export class InputView {
  constructor(root, actions, shapes) {
    this.actions = actions;
    this.side = shapes.image;
    this.padCanvas = $('#pad', root);
    this.overlay = $('#pad-overlay', root);
    this.overlay.width = this.padCanvas.width = 280;
    this.overlay.height = 280;
    this.pad = new DrawPad(this.padCanvas, {
      onStrokeStart: () => {
        this.#clearOverlay();
        this.given = { kind: 'drawing' };
        setText(this.caption, 'What you give: your drawing.');
        actions.strokeStart();
      },
      onStrokeEnd: () => actions.drawing(this.pad.toDataURL()),
    });
    this.caption = $('#given-caption', root);
    this.seen = $('#input-seen', root);
    this.facts = $('#preprocessing', root);
    this.status = $('#status', root);
    this.error = $('#error', root);
    this.gallery = $('#gallery', root);
    this.given = { kind: 'drawing' }; // or {kind: 'upload', width, height} or {kind: 'sample', id}
    this.last = {};

    $('#undo', root).addEventListener('click', () => {
      this.pad.undo();
      this.#clearOverlay();
      if (this.pad.hasStrokes) actions.drawing(this.pad.toDataURL());
    });
    $('#clear', root).addEventListener('click', () => {
      this.pad.clear();
      this.#clearOverlay();
      this.given = { kind: 'drawing' };
      setText(this.caption, 'What you give: draw here (white ink on black, like MNIST).');
      actions.cleared();
    });
    $('#analyze-drawing', root).addEventListener('click', () => actions.drawing(this.pad.toDataURL(), true));
    const upload = $('#upload', root);
    upload.addEventListener('change', () => {
      if (upload.files.length) this.#file(upload.files[0]);
      upload.value = '';
    });
    this.#dropAndPaste($('#dropzone', root));
  }

  #dropAndPaste(zone) {
    // A file dropped anywhere else must not make the browser navigate away from the page.
    for (const type of ['dragover', 'drop']) window.addEventListener(type, (e) => e.preventDefault());
    zone.addEventListener('dragover', (e) => {
      e.preventDefault();
      zone.classList.add('dragging');
    });
    zone.addEventListener('dragleave', () => zone.classList.remove('dragging'));
    zone.addEventListener('drop', (e) => {
      e.preventDefault();
      zone.classList.remove('dragging');
      const file = [...(e.dataTransfer?.files ?? [])][0];
      if (file) this.#file(file);
    });
    document.addEventListener('paste', (e) => {
      const file = [...(e.clipboardData?.files ?? [])].find((f) => f.type.startsWith('image/'));
      if (!file) return;
      e.preventDefault();
      this.#file(file);
    });
  }

  async #file(file) {
    this.#clearOverlay();
    this.given = { kind: 'upload' };
    setText(this.caption, `What you give: ${file.name || 'a pasted image'}.`);
    this.actions.file(file);
    try {
      const bitmap = await createImageBitmap(file);
      this.given = { kind: 'upload', width: bitmap.width, height: bitmap.height };
      this.pad.showBackdrop(bitmapBackdrop(bitmap));
    } catch {
      this.pad.showBackdrop(null); // not decodable here; the server's answer says why
    }
  }

  // Shows an MNIST sample as what the user gave and asks for its analysis.
  pickSample(sample) {
    this.#clearOverlay();
    this.given = { kind: 'sample', id: sample.id };
    this.pad.showBackdrop(grayBackdrop(sample.image.data, this.side, this.side, 1));
    this.#markSelected(sample.id);
    setText(this.caption, Array.isArray(sample.labels)
      ? `What you give: MultiMNIST test pair #${sample.index}, labelled ${sample.labels.join(' and ')}.`
      : `What you give: MNIST test image #${sample.index}, labelled ${sample.label}.`);
    this.actions.sample(sample.id);
  }

  // data: {analysis, samples, busy, error}
  render({ analysis, samples, busy, error }) {
    if (samples !== this.last.samples) this.#gallery(samples);
    if (analysis !== this.last.analysis) this.#analysis(analysis);
    setText(this.status, busy ? 'Analyzing…' : analysis ? this.#timing(analysis) : 'Draw a digit to begin.');
    this.status.classList.toggle('is-busy', busy);
    this.error.hidden = !error;
    setText(this.error, error ?? '');
    this.last = { analysis, samples };
  }

  #timing(analysis) {
    const t = analysis.timing_ms;
    return t ? `Analyzed on the server in ${t.total.toFixed(0)} ms (forward pass ${t.forward.toFixed(0)} ms).` : '';
  }

  #analysis(analysis) {
    if (!analysis) return;
    drawImage(this.seen, analysis.input.data, this.side, this.side, grayscale, 0, 1);
    if (analysis.source !== 'sample') this.#markSelected(null);
    this.facts.replaceChildren();
    const fact = (name, value) => this.facts.append(el('dt', { text: name }), el('dd', { text: value }));
    fact('Prediction', `${analysis.prediction} (length ${analysis.lengths[analysis.prediction].toFixed(2)})`);
    fact('Source', { image: 'drawing', upload: 'upload', sample: 'MNIST sample', pixels: 'pixels' }[analysis.source] ?? analysis.source);
    const p = analysis.preprocessing;
    if (p) {
      fact('Given size', `${p.source_size[0]} × ${p.source_size[1]} px`);
      fact('Ink', p.ink_from_alpha ? 'read from transparency' : p.inverted ? 'dark on light (inverted)' : 'light on dark');
      const [l, t, r, b] = p.ink_box;
      fact('Ink box', `${r - l} × ${b - t} px at (${l}, ${t})`);
      this.#inkBox(p);
    } else {
      fact('Preprocessing', `none: already a ${this.side}×${this.side} image`);
    }
  }

  // Outlines the crop the server made, on what the user gave.
  #inkBox(p) {
    const ctx = this.overlay.getContext('2d');
    ctx.clearRect(0, 0, 280, 280);
    const [w, h] = p.source_size;
    const s = Math.min(280 / w, 280 / h);
    const dx = (280 - w * s) / 2;
    const dy = (280 - h * s) / 2;
    const [l, t, r, b] = p.ink_box;
    ctx.setLineDash([6, 4]);
    ctx.strokeStyle = '#ffb000';
    ctx.lineWidth = 2;
    ctx.strokeRect(dx + l * s, dy + t * s, (r - l) * s, (b - t) * s);
  }

  #clearOverlay() {
    this.overlay.getContext('2d').clearRect(0, 0, 280, 280);
  }

  // One tab stop (roving tabindex): arrow keys move through the thumbnails, Home / End jump, Enter or
  // Space picks; the picked digit is aria-selected and outlined.
  #gallery(samples) {
    this.gallery.replaceChildren();
    this.thumbs = [];
    for (const sample of samples ?? []) {
      const thumb = el('canvas', { class: 'pixelated', width: this.side, height: this.side });
      drawImage(thumb, sample.image.data, this.side, this.side, grayscale, 0, 1);
      const wrong = sample.note === 'misclassified';
      const label = describe(sample);
      const button = el('button', {
        type: 'button', role: 'option', class: wrong ? 'thumb wrong' : 'thumb', 'aria-label': label, title: label,
        'aria-selected': 'false', tabindex: this.thumbs.length ? '-1' : '0', dataset: { id: sample.id },
      }, thumb);
      button.addEventListener('click', () => this.pickSample(sample));
      this.gallery.append(button);
      this.thumbs.push(button);
    }
    if (this.galleryKeys) return;
    this.galleryKeys = true;
    this.gallery.addEventListener('keydown', (e) => this.#galleryKey(e));
  }

  #galleryKey(e) {
    const at = this.thumbs.indexOf(document.activeElement);
    if (at < 0) return;
    const first = this.thumbs[0].offsetTop;
    const cols = Math.max(1, this.thumbs.filter((t) => t.offsetTop === first).length);
    const moves = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -cols, ArrowDown: cols, Home: -at, End: this.thumbs.length - 1 - at };
    if (e.key in moves) {
      e.preventDefault();
      this.#focusThumb(Math.min(this.thumbs.length - 1, Math.max(0, at + moves[e.key])));
    }
  }

  #focusThumb(i) {
    this.thumbs.forEach((t, k) => t.setAttribute('tabindex', k === i ? '0' : '-1'));
    this.thumbs[i].focus();
  }

  #markSelected(id) {
    for (const t of this.thumbs ?? []) {
      const on = t.dataset.id === id;
      t.setAttribute('aria-selected', String(on));
      if (on) this.thumbs.forEach((u) => u.setAttribute('tabindex', u === t ? '0' : '-1'));
    }
  }
}
