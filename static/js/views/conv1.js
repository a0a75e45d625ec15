// Section "conv1": the 256 learned 9x9 kernels and the 256 ReLU feature maps as canvas grids, and one
// chosen channel enlarged as plotly heat maps with values on hover.

import { diverging, sequential } from '../colormap.js';
import { $, fmt, setText } from '../dom.js';
import { TileGrid } from '../draw.js';
import { legend } from '../legend.js';
import { baseLayout, heatmap, plot } from '../plots.js';
import { maxAbs, slice, toRows } from '../tensor.js';

const COLS = 16;

export class Conv1View {
  constructor(root, { select }, shapes) {
    this.s = shapes;
    const onSelect = (at) => select(at.tile);
    const onHover = (at) => this.#hover(at);
    this.kernelGrid = new TileGrid($('#conv1-kernels', root), {
      count: shapes.conv1Channels, tileW: shapes.kernel, tileH: shapes.kernel, cols: COLS, scale: 4, gap: 3, onHover, onSelect,
    });
    this.mapGrid = new TileGrid($('#conv1-maps', root), {
      count: shapes.conv1Channels, tileW: shapes.conv1Size, tileH: shapes.conv1Size, cols: COLS, scale: 2, gap: 3, onHover, onSelect,
    });
    this.channelInput = $('#conv1-channel', root);
    this.channelInput.addEventListener('change', () => {
      const k = Number(this.channelInput.value);
      if (Number.isInteger(k) && k >= 0 && k < shapes.conv1Channels) select(k);
    });
    this.readout = $('#conv1-readout', root);
    this.kernelLegend = $('#conv1-kernel-legend', root);
    this.mapLegend = $('#conv1-map-legend', root);
    this.kernelPlotLegend = $('#conv1-kernel-plot-legend', root);
    this.mapPlotLegend = $('#conv1-map-plot-legend', root);
    this.kernelPlot = $('#conv1-kernel-plot', root);
    this.mapPlot = $('#conv1-map-plot', root);
    this.kernelCaption = $('#conv1-kernel-caption', root);
    this.mapCaption = $('#conv1-map-caption', root);
    this.last = {};
  }

  #hover(at) {
    if (!at || !this.last.kernels) return;
    const k = at.tile;
    const bias = this.last.kernels.bias.data[k];
    const peak = this.last.maps ? ` · strongest response ${fmt(this.#peak(k), 3)}` : '';
    setText(this.readout, `Channel ${k}: bias ${fmt(bias, 3)}${peak}. Click to enlarge.`);
  }

  #peak(k) {
    return Math.max(...slice(this.last.maps, k));
  }

  // data: {kernels: {kernels, bias} decoded, maps: decoded (256,20,20) or null, channel}
  render({ kernels, maps, channel }) {
    const pending = [];
    if (kernels && kernels !== this.last.kernels) {
      this.kernelScale = maxAbs(kernels.kernels.data);
      this.kernelGrid.draw(kernels.kernels.data, diverging, -this.kernelScale, this.kernelScale);
      legend(this.kernelLegend, 'diverging', -this.kernelScale, this.kernelScale, 'weight');
    }
    if (maps && maps !== this.last.maps) {
      this.mapScale = maps.scale * 255 || 1; // uint8 encoding: the largest value is 255 steps
      this.mapGrid.draw(maps.data, sequential, 0, this.mapScale);
      legend(this.mapLegend, 'sequential', 0, this.mapScale, 'activation');
    }
    const kernelChanged = kernels !== this.last.kernels || channel !== this.last.channel;
    const mapChanged = maps !== this.last.maps || channel !== this.last.channel;
    this.last = { kernels, maps, channel };
    if (!kernels) return Promise.all(pending);
    if (kernelChanged || mapChanged) {
      const at = { tile: channel, x: 0, y: 0 };
      this.kernelGrid.setSelected(at);
      this.mapGrid.setSelected(at);
      if (Number(this.channelInput.value) !== channel) this.channelInput.value = String(channel);
    }
    if (kernelChanged) {
      const s = this.kernelScale;
      setText(this.kernelCaption, `Kernel ${channel} (${this.s.kernel}×${this.s.kernel}), bias ${fmt(kernels.bias.data[channel], 3)}`);
      legend(this.kernelPlotLegend, 'diverging', -s, s, 'weight');
      pending.push(plot(this.kernelPlot, [heatmap(toRows(slice(kernels.kernels, channel), this.s.kernel, this.s.kernel), {
        colorscale: diverging.plotly, zmin: -s, zmax: s,
        hovertemplate: 'row %{y}, col %{x}<br>weight %{z:.4f}<extra></extra>',
      })], squareLayout()));
    }
    if (maps && mapChanged) {
      // Enlarged, a map is scaled to its own maximum so that weak responses still show their shape.
      const top = this.#peak(channel);
      setText(this.mapCaption, `Feature map ${channel} (${this.s.conv1Size}×${this.s.conv1Size}) after ReLU, scaled to its own maximum.`);
      legend(this.mapPlotLegend, 'sequential', 0, top || 1, 'activation');
      pending.push(plot(this.mapPlot, [heatmap(toRows(slice(maps, channel), this.s.conv1Size, this.s.conv1Size), {
        colorscale: sequential.plotly, zmin: 0, zmax: top || 1,
        hovertemplate: 'row %{y}, col %{x}<br>activation %{z:.3f}<extra></extra>',
      })], squareLayout()));
    }
    return Promise.all(pending);
  }
}

function squareLayout() {
  return baseLayout({
    height: 300,
    margin: { l: 34, r: 8, t: 8, b: 30 },
    yaxis: { autorange: 'reversed', scaleanchor: 'x', constrain: 'domain', showgrid: false, zeroline: false },
    xaxis: { constrain: 'domain', showgrid: false, zeroline: false, side: 'bottom' },
  });
}
