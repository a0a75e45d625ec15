// Section "model": what network answers (size, device) and how well it was trained (the weights'
// manifest), plus the loud banner when the server runs an untrained model.

import { $, duration, el, factText as text, percent, setText } from '../dom.js';

// What a model's headline number measures, by its dataset (/api/model's "dataset").
const MEASURES = {
  mnist: { on: 'MNIST test images', paper: '99.75 %', label: 'Test accuracy', what: '' },
  multimnist: { on: 'MultiMNIST test pairs', paper: 'about 95 %', label: 'Both digits right', what: 'both digits right ' },
};

export class ModelPanelView {
  constructor(root) {
    this.summary = $('#model-summary', root);
    this.facts = $('#model-facts', root);
    this.classes = $('#model-classes', root);
    this.classList = $('#model-class-list', root);
    this.banner = $('#untrained-banner');
    this.last = null;
  }

  // data: {model: /api/model answer or null, untrained: bool, error}
  render({ model, untrained }) {
    this.banner.hidden = !untrained;
    if (model === this.last) return;
    this.last = model;
    if (!model) return;
    const m = model.manifest;
    const params = model.parameters?.total;
    // One compact line on the first screen; the rest waits behind "How it was trained".
    const measure = MEASURES[model.dataset] ?? MEASURES.mnist;
    const accuracy = Number.isFinite(m?.test_accuracy)
      ? `${measure.what}${percent(m.test_accuracy)} on ${m.test_n ? m.test_n.toLocaleString('en') : 'the'} ${measure.on} `
        + `(paper: ${measure.paper}), ` : '';
    const weights = model.untrained ? 'weights randomly initialised (--allow-untrained), '
      : m ? '' : 'trained weights without a manifest.json, ';
    setText(this.summary, `${model.name}: ${weights}${params ? `${(params / 1e6).toFixed(2)} M parameters, ` : ''}${accuracy}`
      + `${model.primary_capsules} primary capsules, ${model.routing_iterations_default} routing iterations by default, `
      + `running on ${model.device}.`);
    const facts = [];
    if (model.untrained) facts.push(['Weights', 'none: randomly initialised (--allow-untrained)']);
    else if (!m) facts.push(['Weights', 'trained, but no manifest.json describes them']);
    if (m) {
      if (Number.isFinite(m.test_accuracy)) {
        const n = m.test_n ? ` of ${m.test_n.toLocaleString('en')} ${measure.on}` : '';
        facts.push([measure.label, `${percent(m.test_accuracy)}${n} (paper: ${measure.paper})`]);
      }
      facts.push(['Epochs', text(m.epochs)], ['Training time', duration(m.train_seconds_all_epochs ?? m.wall_time_seconds)],
        ['Trained on', text(m.device)], ['Precision', text(m.precision)], ['Optimizer', text(m.optimizer)],
        ['Augmentation', text(m.augmentation)], ['Note', text(m.note)]);
    }
    this.facts.replaceChildren();
    for (const [name, value] of facts) {
      if (value) this.facts.append(el('div', {}, el('dt', { text: name }), el('dd', { text: value })));
    }
    const perClass = m?.per_class_accuracy;
    const values = Array.isArray(perClass) ? perClass : perClass ? Object.values(perClass) : [];
    this.classes.hidden = values.length !== model.config.digit_count;
    this.classList.replaceChildren(...values.map((v, j) => el('li', { text: `${j}: ${percent(v, 1)}` })));
  }
}
