// The reconstruction section's slider ranges, one per capsule dimension, from the shipped training-set statistics
// (GET /api/capsule_stats): mean ± 3σ of that dimension over the training digits of that class, widened to
// include the capsule's own value and the slider vector. Without statistics: ±0.25 around the capsule's own
// value, the paper's Fig. 4 range. Pure functions, no DOM.

const SIGMAS = 3;
const FALLBACK = 0.25;
const LIMIT = 2; // /api/reconstruct accepts components within ±2

// A hundredth of the range: 100 arrow presses cross a slider, PageUp / PageDown (the browser's range/10)
// 10.
export function stepFor(lo, hi) {
  return (hi - lo) / 100;
}

// stats: the /api/capsule_stats body or null; base, vector: 16 numbers.
// -> {fromData, n, dims: [{min, max, step, mean, std, hist, histRange} (the last four null without stats)]}
export function sliderRanges(stats, digit, base, vector) {
  const cls = stats?.classes?.find((c) => c.digit === digit) ?? null;
  const dims = base.map((b, k) => {
    const d = cls?.dims?.[k] ?? null;
    let lo = d ? d.mean - SIGMAS * d.std : b - FALLBACK;
    let hi = d ? d.mean + SIGMAS * d.std : b + FALLBACK;
    lo = Math.max(-LIMIT, Math.min(lo, b, vector[k]));
    hi = Math.min(LIMIT, Math.max(hi, b, vector[k]));
    if (hi - lo < 1e-3) [lo, hi] = [lo - 5e-4, hi + 5e-4]; // a dimension that never varies still gets a slider
    // float32 ends: a slider pushed to its end holds exactly the value the (float32) vector stores, so a
    // shared vector restores the same range and the same slider positions.
    [lo, hi] = [Math.fround(lo), Math.fround(hi)];
    return {
      min: lo, max: hi, step: stepFor(lo, hi),
      mean: d?.mean ?? null, std: d?.std ?? null, hist: d?.hist ?? null, histRange: d?.hist_range ?? null,
    };
  });
  return { fromData: Boolean(cls), n: cls?.n ?? null, dims };
}
