"""The bundled MNIST sample gallery (weights/gallery.json), loaded once at start-up."""
from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np


class Gallery:
    def __init__(self, path: Path | str):
        try:
            entries = json.loads(Path(path).read_text())["samples"]
        except (OSError, ValueError, KeyError) as e:
            raise ValueError(f"sample gallery {path} is missing or unreadable ({e})") from None
        self._pixels = {
            e["id"]: np.frombuffer(base64.b64decode(e["pixels"]), dtype=np.uint8).reshape(28, 28) for e in entries
        }
        self.entries = [{k: v for k, v in e.items() if k != "pixels"} for e in entries]

    def __contains__(self, sample_id: str) -> bool:
        return sample_id in self._pixels

    def image(self, sample_id: str) -> np.ndarray:
        """(28, 28) float32 in [0, 1], exactly the MNIST digit."""
        return self._pixels[sample_id].astype(np.float32) / 255.0
