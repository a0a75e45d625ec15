// Section "manifest": the facts about the shipped weights from /api/model (its manifest: accuracy,
// epochs, wall time, device, precision, optimizer) next to what the report itself measured.

import { duration, el, factText as text, percent, setText } from '../dom.js';

// model: the /api/model answer (or null); report: the /api/report answer (or null).
export function renderManifest({ summary, facts }, model, report) {
  const m = model?.manifest ?? null;
  const rows = [];
  if (report) {
    const n = report.n.toLocaleString('en');
    rows.push(['Report accuracy', report.dataset === 'multimnist'
      ? `both digits right on ${percent(report.accuracy)} of ${n} MultiMNIST test pairs (paper: about 95 %)`
      : `${percent(report.accuracy)} of ${n} MNIST test digits (paper: 99.75 %)`]);
  }
  if (m) {
    if (Number.isFinite(m.test_accuracy) && (!report || m.test_n !== report.n)) {
      const n = m.test_n ? ` of ${m.test_n.toLocaleString('en')}` : '';
      rows.push(['Manifest accuracy', `${percent(m.test_accuracy)}${n}`]);
    }
    const epochs = m.epochs_planned && m.epochs_planned !== m.epochs ? `${m.epochs} of ${m.epochs_planned} planned` : text(m.epochs);
    // Training resumed over several sessions: the epochs' summed time, not the last run's wall time.
    rows.push(['Epochs', epochs], ['Training time', duration(m.train_seconds_all_epochs ?? m.wall_time_seconds)], ['Trained on', text(m.device)],
      ['Host', text(m.host)], ['Precision', text(m.precision)], ['Optimizer', text(m.optimizer)],
      ['Batch size', text(m.batch_size)], ['Augmentation', text(m.augmentation)], ['Note', text(m.note)]);
  } else if (model) {
    rows.push(['Weights', model.untrained ? 'none: randomly initialised' : 'no manifest.json describes them']);
  }
  if (model) {
    const params = model.parameters?.total;
    setText(summary, `${model.name}${params ? `, ${(params / 1e6).toFixed(2)} M parameters` : ''}, `
      + `${model.routing_iterations_default} routing iterations; the server runs it on ${model.device}.`);
  } else {
    setText(summary, 'The server did not describe its model.');
  }
  // Short facts in bold, sentences (the optimizer's schedule, the note) in plain text: a wall of bold
  // prose is hard to read.
  facts.replaceChildren(...rows.filter(([, v]) => v).map(([name, value]) => el('div', { class: value.length > 60 ? 'prose' : null },
    el('dt', { text: name }), el('dd', { text: value }))));
}
