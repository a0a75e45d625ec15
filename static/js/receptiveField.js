// Where a primary capsule looks on the 28x28 input. The geometry ({size, stride}: capsule (row, col) sees
// rows stride*row .. stride*row + size - 1) comes from the server (GET /api/model "receptive_field",
// computed from the model's config in model/evidence.py); this is the one place the page turns it into
// boxes, for the PrimaryCaps and the evidence sections.

// field: {size, stride} -> {top, left, size} in input pixels.
export function fieldBox(field, row, col) {
  return { top: field.stride * row, left: field.stride * col, size: field.size };
}

// "input rows 4–20, columns 8–24"
export function fieldText(box) {
  const last = box.size - 1;
  return `input rows ${box.top}–${box.top + last}, columns ${box.left}–${box.left + last}`;
}

// Outlines `boxes` on an overlay canvas laid over an imageSize x imageSize image (clears it first; no boxes: just clears).
export function outlineFields(canvas, boxes, imageSize, color = '#ffb000') {
  const ctx = canvas.getContext('2d');
  const s = canvas.width / imageSize;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.strokeStyle = color;
  ctx.lineWidth = 3;
  for (const b of boxes) ctx.strokeRect(b.left * s + 1.5, b.top * s + 1.5, b.size * s - 3, b.size * s - 3);
}
