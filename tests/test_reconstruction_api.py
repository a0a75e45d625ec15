"""What the reconstruction section needs from the server: /api/model says whether capsule statistics ship with the
weights, so the page never asks for (and logs the 404 of) statistics that are not there."""
from __future__ import annotations

import json
import shutil

from app import create_app


def test_model_says_no_capsule_stats_for_bare_weights(client):
    assert client.get("/api/model").json["capsule_stats"] is False
    assert client.get("/api/capsule_stats").status_code == 404


def test_model_says_capsule_stats_when_they_ship(random_weights, tmp_path):
    for f in random_weights.parent.iterdir():
        shutil.copy(f, tmp_path / f.name)
    stats = {"source": "test", "bins": 2, "classes": [
        {"digit": d, "n": 1, "dims": [{"mean": 0.0, "std": 0.1, "hist_range": [-0.4, 0.4], "hist": [1, 0]}] * 16}
        for d in range(10)]}
    (tmp_path / "capsule_stats.json").write_text(json.dumps(stats))
    app = create_app({"WEIGHTS": str(tmp_path / random_weights.name), "GALLERY": str(tmp_path / "gallery.json"),
                      "DEVICE": "cpu"})
    client = app.test_client()
    assert client.get("/api/model").json["capsule_stats"] is True
    assert client.get("/api/capsule_stats").json == stats
