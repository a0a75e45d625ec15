// Entry point of the model report page (/report): loads /api/model and /api/report once and draws every
// section; when no report is shipped (404) it says how to make one instead.

import { $, setText } from '../dom.js';
import { ApiError, getModel, getReport } from '../api.js';
import { withModel } from '../modelPicker.js';
import { renderManifest } from './manifest.js';
import { renderHistory } from './history.js';
import { renderPerClassAccuracy } from './perClassAccuracy.js';
import { ConfusionView, describeCell } from './confusion.js';
import { renderDigits } from './digits.js';

// Shown at once; more behind a "Show all" button (an untrained model can get thousands wrong).
const GALLERY_LIMIT = 120;

function showMissing(error) {
  $('#report-missing').hidden = false;
  for (const link of document.querySelectorAll('.report-link')) link.hidden = true;
  setText($('#missing-reason'), `The server answered: “${error.message}”.`);
  setText($('#report-status'), 'no report');
}

function showError(message) {
  const box = $('#report-error');
  box.hidden = false;
  setText(box, message);
  setText($('#report-status'), 'error');
}

function renderGallery(name, digits, summary) {
  setText($(`#${name}-summary`), summary);
  renderDigits($(`#${name}-digits`), digits, { limit: GALLERY_LIMIT, more: $(`#${name}-more`) });
}

function renderReport(report) {
  $('#report-body').hidden = false;
  const wrong = report.misclassified;
  const n = report.n.toLocaleString('en');
  // A MultiMNIST report lists the first of its (many) wrong pairs; a single-digit one every wrong digit.
  const listed = report.unit === 'pairs'
    ? `${report.wrong_total.toLocaleString('en')} of ${n} test pairs have a digit missed; the first ${wrong.length} `
      + 'are shown, each with the digit missed, what took its place and the two longest digit capsules. '
    : `${wrong.length} of ${n} test digits, each with the two longest digit capsules (the network's answer first). `;
  renderGallery('misclassified', wrong, wrong.length ? `${listed}Click one to open it in the visualizer.`
    : 'None: the network reads every test digit correctly.');
  renderGallery('lowest_margin', report.lowest_margin, 'Correct answers with the smallest gap between the two '
    + 'longest capsules: the digits the network nearly got wrong. Click one to open it in the visualizer.');

  const detail = { title: $('#confusion-detail-title'), text: $('#confusion-detail-text'), digits: $('#confusion-digits') };
  const confusion = new ConfusionView(
    { chart: $('#confusion-plot'), legend: $('#confusion-legend'), cells: $('#confusion-cells'), correct: $('#confusion-correct') },
    (label, predicted, count) => {
      const cell = describeCell(report, label, predicted, count);
      setText(detail.title, cell.title);
      setText(detail.text, cell.text);
      renderDigits(detail.digits, cell.digits);
    },
  );
  // Charts last: they take their width from the sections, which must be visible to have one.
  renderHistory({ loss: $('#history-loss'), accuracy: $('#history-accuracy'), empty: $('#history-empty') }, report.history);
  renderPerClassAccuracy({ chart: $('#per-class-plot'), summary: $('#per-class-summary'), caption: $('#per-class-caption') }, report);
  confusion.render(report.confusion);
}

async function start() {
  for (const link of document.querySelectorAll('a[data-model-link]')) link.setAttribute('href', withModel(link.getAttribute('href')));
  const [model, report] = await Promise.allSettled([getModel(), getReport()]);
  const modelInfo = model.status === 'fulfilled' ? model.value : null;
  const reportData = report.status === 'fulfilled' ? report.value : null;
  $('#untrained-banner').hidden = !modelInfo?.untrained;
  renderManifest({ summary: $('#manifest-summary'), facts: $('#manifest-facts') }, modelInfo, reportData);
  if (report.status === 'rejected') {
    if (report.reason instanceof ApiError && report.reason.status === 404) showMissing(report.reason);
    else showError(`Could not load the report: ${report.reason.message}`);
  } else {
    renderReport(reportData);
    setText($('#report-status'), `${reportData.n.toLocaleString('en')} test ${reportData.unit === 'pairs' ? 'pairs' : 'digits'}`);
  }
  document.body.dataset.ready = 'true';
}

start().catch((e) => {
  showError(`The report could not be drawn: ${e.message}`);
  document.body.dataset.ready = 'true';
});
