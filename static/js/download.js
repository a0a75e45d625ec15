// Saving what the page shows as a file: a canvas as PNG (upscaled without smoothing, so pixels stay
// square) or JSON text, through a temporary <a download> on a blob URL. No server round trip.

export function downloadBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  // The download has started by the time the click returns; the URL may go after a moment.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function downloadJson(obj, name) {
  downloadBlob(new Blob([`${JSON.stringify(obj, null, 2)}\n`], { type: 'application/json' }), name);
}

// canvas drawn `scale` times larger with nearest-neighbour sampling -> PNG download.
export function downloadCanvas(canvas, name, scale = 1) {
  const out = document.createElement('canvas');
  out.width = canvas.width * scale;
  out.height = canvas.height * scale;
  const ctx = out.getContext('2d');
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(canvas, 0, 0, out.width, out.height);
  return new Promise((resolve, reject) => {
    out.toBlob((blob) => {
      if (!blob) {
        reject(new Error('the browser could not encode the PNG'));
        return;
      }
      downloadBlob(blob, name);
      resolve();
    }, 'image/png');
  });
}
