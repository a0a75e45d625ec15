// Thin wrappers around plotly.js with the settings every chart here shares. plotly.js is loaded lazily,
// once, the first time a chart is about to be drawn, from <body data-plotly-src>: 4.8 MB of script that
// the canvases and the first analysis must not wait for. If it cannot load, charts say so and the rest
// of the page works on. Chosen to work under the page's strict Content-Security-Policy:
// no mode bar and no colour bars (both write inline styles), heat maps with zsmooth 'fast' (pixelated by
// static/css/main.css instead of an inline style attribute).

const CONFIG = { displayModeBar: false, responsive: true, scrollZoom: false };
const FONT = { family: 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif', size: 12, color: '#1f2328' };

export function baseLayout(extra = {}) {
  return {
    font: FONT,
    margin: { l: 44, r: 12, t: 8, b: 36 },
    paper_bgcolor: 'rgba(0,0,0,0)',
    plot_bgcolor: 'rgba(0,0,0,0)',
    hoverlabel: { font: { family: FONT.family } },
    dragmode: false,
    ...extra,
  };
}

export function heatmap(z, { colorscale, zmin, zmax, x, y, hovertemplate }) {
  return {
    type: 'heatmap', z, x, y, colorscale, zmin, zmax, showscale: false, zsmooth: 'fast', hovertemplate,
  };
}

let loading = null;

// Resolves to the Plotly global, inserting its <script> once; rejects if it cannot be loaded.
export function loadPlotly() {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  if (!loading) {
    loading = new Promise((resolve, reject) => {
      const script = document.createElement('script');
      script.src = document.body.dataset.plotlySrc; // the template's versioned URL (app/static_files.py)
      script.async = true;
      script.onload = () => (window.Plotly ? resolve(window.Plotly) : reject(new Error('plotly.js did not define Plotly')));
      script.onerror = () => reject(new Error(`could not load ${script.src}`));
      document.head.append(script);
    });
    loading.catch(() => { loading = null; }); // a later chart may try again
  }
  return loading;
}

// Draws or updates a chart; resolves once it is on screen (or once the chart said it cannot be drawn).
export async function plot(container, data, layout) {
  let Plotly;
  try {
    Plotly = await loadPlotly();
  } catch (e) {
    container.dataset.chartError = e.message;
    container.textContent = `The chart library could not be loaded (${e.message}).`;
    return;
  }
  await Plotly.react(container, data, withAutomargin(layout), CONFIG);
}

// Every axis makes room for its own tick labels and title (at 390 px rotated tick labels ran into the
// axis title), unless a chart sets automargin itself.
function withAutomargin(layout) {
  const out = { ...layout };
  for (const key of Object.keys(out)) {
    if (/^[xy]axis\d*$/.test(key) && out[key].automargin === undefined) out[key] = { automargin: true, ...out[key] };
  }
  if (out.xaxis === undefined) out.xaxis = { automargin: true };
  if (out.yaxis === undefined) out.yaxis = { automargin: true };
  return out;
}
