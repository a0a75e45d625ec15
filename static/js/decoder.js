// The model's decoder, run in the page (GET /api/decoder serves its weights once): a capsule vector placed
// in digit capsule `digit`, every other capsule zero, through Linear + activation layers -> pixels in
// [0, 1], as CapsNet.decode computes it. Pure math on typed arrays, no DOM.
//
// Fast without approximating: each output is a dot product over the layer's non-zero inputs only. The
// masked capsules and the ReLU's zeros (about 35 % and 57 % of the two hidden layers with the shipped
// weights) add exactly 0, so skipping them changes nothing. Sums run in float64, at least as close to
// the exact value as torch's float32. One decode takes about 1-2 ms on this 2-core machine.

const ACTIVATIONS = {
  relu: (x) => (x > 0 ? x : 0),
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
};

// Samples decoded together by decodeMany: each weight is read once for all of them.
const GROUP = 4;

// body: /api/decoder's answer with its tensors decoded (api.getDecoder): {layers: [{weight: {shape:
// [out, in], data}, bias: {data}, activation}]}; shapes: static/js/shapes.js's.
export function createDecoder(body, shapes) {
  const layers = body.layers.map((layer, k) => {
    const [outs, ins] = layer.weight.shape;
    const activation = ACTIVATIONS[layer.activation];
    if (!activation) throw new Error(`decoder layer ${k + 1}: unknown activation ${layer.activation}`);
    if (layer.bias.data.length !== outs) throw new Error(`decoder layer ${k + 1}: ${layer.bias.data.length} biases for ${outs} outputs`);
    if (k > 0 && ins !== body.layers[k - 1].weight.shape[0]) throw new Error(`decoder layer ${k + 1} takes ${ins} inputs, layer ${k} gives ${body.layers[k - 1].weight.shape[0]}`);
    return { ins, outs, weight: layer.weight.data, bias: layer.bias.data, activation };
  });
  const first = layers[0];
  const last = layers[layers.length - 1];
  if (first.ins !== shapes.digits * shapes.dim) throw new Error(`the decoder takes ${first.ins} inputs, the capsules have ${shapes.digits * shapes.dim}`);
  if (last.outs !== shapes.pixels) throw new Error(`the decoder draws ${last.outs} pixels, the image has ${shapes.pixels}`);

  // Only capsule d's columns of the first weight matrix ever meet a non-zero input (the mask), so each
  // digit gets its own (outs, dim) first layer.
  const masked = Array.from({ length: shapes.digits }, (_, d) => {
    const w = new Float32Array(first.outs * shapes.dim);
    for (let o = 0; o < first.outs; o++) {
      w.set(first.weight.subarray(o * first.ins + d * shapes.dim, o * first.ins + (d + 1) * shapes.dim), o * shapes.dim);
    }
    return { ...first, ins: shapes.dim, weight: w };
  });
  const widest = Math.max(...layers.map((l) => Math.max(l.ins, l.outs)));
  const index = new Int32Array(widest); // the non-zero inputs of the samples in hand
  const cols = new Float64Array(GROUP * widest); // their values, one dense column per sample
  const hidden = [new Float32Array(GROUP * widest), new Float32Array(GROUP * widest)];

  // One layer for m (<= GROUP) samples: x holds sample q's inputs at q * ins; out gets q's outputs at q * outs.
  function layer(l, x, m, out) {
    const { ins, outs, weight, bias, activation } = l;
    let used = 0;
    for (let i = 0; i < ins; i++) {
      let any = false;
      for (let q = 0; q < m; q++) if (x[q * ins + i] !== 0) any = true;
      if (!any) continue;
      index[used] = i;
      for (let q = 0; q < GROUP; q++) cols[q * widest + used] = q < m ? x[q * ins + i] : 0;
      used += 1;
    }
    if (m === 1) {
      for (let o = 0; o < outs; o++) {
        const row = o * ins;
        let s = bias[o];
        for (let u = 0; u < used; u++) s += cols[u] * weight[row + index[u]];
        out[o] = activation(s);
      }
      return;
    }
    const c1 = widest, c2 = 2 * widest, c3 = 3 * widest;
    for (let o = 0; o < outs; o++) {
      const row = o * ins;
      let s0 = bias[o], s1 = s0, s2 = s0, s3 = s0;
      for (let u = 0; u < used; u++) {
        const w = weight[row + index[u]];
        s0 += cols[u] * w;
        s1 += cols[c1 + u] * w;
        s2 += cols[c2 + u] * w;
        s3 += cols[c3 + u] * w;
      }
      out[o] = activation(s0);
      if (m > 1) out[outs + o] = activation(s1);
      if (m > 2) out[2 * outs + o] = activation(s2);
      if (m > 3) out[3 * outs + o] = activation(s3);
    }
  }

  // vectors: count * dim values, sample after sample, each placed in capsule `digit` -> count * pixels values.
  function decodeMany(digit, vectors, count, out = new Float32Array(count * shapes.pixels)) {
    if (!Number.isInteger(digit) || digit < 0 || digit >= shapes.digits) throw new Error(`no digit capsule ${digit}`);
    if (vectors.length < count * shapes.dim) throw new Error(`${count} vectors need ${count * shapes.dim} values, got ${vectors.length}`);
    for (let start = 0; start < count; start += GROUP) {
      const m = Math.min(GROUP, count - start);
      let x = vectors.subarray(start * shapes.dim, (start + m) * shapes.dim);
      layers.forEach((l, k) => {
        const target = k === layers.length - 1 ? out.subarray(start * shapes.pixels, (start + m) * shapes.pixels) : hidden[k % 2];
        layer(k === 0 ? masked[digit] : l, x, m, target);
        x = target;
      });
    }
    return out;
  }

  return {
    // One image (pixels values) from one vector (dim numbers) in capsule `digit`.
    decode: (digit, vector, out) => decodeMany(digit, Float32Array.from(vector), 1, out),
    decodeMany,
  };
}
