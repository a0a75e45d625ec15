// Thin wrappers around plotly.js (loaded from /vendor/plotly.min.js as the global Plotly) with the
// settings every chart here shares. Chosen to work under the page's strict Content-Security-Policy:
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

// Draws or updates a chart; returns plotly's promise so the caller knows when it is on screen.
export function plot(container, data, layout) {
  return window.Plotly.react(container, data, layout, CONFIG);
}
