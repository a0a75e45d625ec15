"""What the server loads once at start-up and shares read-only between requests: the model, its
manifest, the sample gallery and the (static) Conv1 kernels JSON."""
from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import torch
from flask import Flask, current_app

from model.capsnet import CapsNet, CapsNetConfig, parameter_counts
from model.device import pick_device
from model import limits
from model.evidence import receptive_field
from model.inference import PERTURBATION_STEPS
from model.transforms import RANGES
from model.weights import load_weights, read_manifest

from .encoding import encode_float
from .samples import Gallery

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Resources:
    model: CapsNet
    manifest: dict | None
    untrained: bool
    gallery: Gallery
    kernels_json: bytes
    kernels_etag: str
    model_info: dict
    report: dict | None  # weights/report.json, from model.evaluate --report
    capsule_stats: dict | None  # weights/capsule_stats.json, from model.capsule_stats


def _kernels(model: CapsNet) -> bytes:
    w = model.conv1.weight.detach()[:, 0]  # (256, 9, 9)
    body = {"kernels": encode_float(w), "bias": encode_float(model.conv1.bias.detach())}
    return json.dumps(body, separators=(",", ":")).encode()


def load(config: dict) -> Resources:
    device = pick_device(config["DEVICE"])
    if config["ALLOW_UNTRAINED"]:
        torch.manual_seed(0)
        model, manifest = CapsNet(CapsNetConfig()).to(device).eval(), None
        log.warning("serving an UNTRAINED model (--allow-untrained): predictions are meaningless")
    else:
        model, manifest = load_weights(config["WEIGHTS"], device), read_manifest(config["WEIGHTS"])
    for p in model.parameters():
        p.requires_grad_(False)
    kernels = _kernels(model)
    cfg = model.config
    info = {
        "name": "CapsNet (Sabour, Frosst & Hinton 2017)",
        "untrained": bool(config["ALLOW_UNTRAINED"]),
        "device": str(device),
        "config": cfg.to_dict(),
        "parameters": parameter_counts(model),
        "routing_iterations_default": cfg.routing_iterations,
        "routing_iterations_max": limits.ROUTING_ITERATIONS_MAX,
        "primary_capsules": cfg.primary_count,
        "receptive_field": receptive_field(cfg)._asdict(),  # of a primary capsule, in input pixels
        "manifest": manifest,
        "limits": limits_info(config),
    }
    shipped = None if config["ALLOW_UNTRAINED"] else Path(config["WEIGHTS"])
    capsule_stats = _optional_json(shipped, "capsule_stats.json")
    # The page asks for the statistics only when they exist: a 404 would be a console error in the browser.
    info["capsule_stats"] = capsule_stats is not None
    return Resources(model, manifest, bool(config["ALLOW_UNTRAINED"]), Gallery(config["GALLERY"]),
                     kernels, hashlib.sha256(kernels).hexdigest()[:32], info,
                     _optional_json(shipped, "report.json"), capsule_stats)


def limits_info(config: dict) -> dict:
    """Every bound the API checks, for the page to read rather than repeat (README.md, GET /api/model)."""
    return {
        "routing_iterations": {"min": limits.ROUTING_ITERATIONS_MIN, "max": limits.ROUTING_ITERATIONS_MAX},
        "vector": limits.VECTOR_LIMIT,  # every component of a /api/reconstruct vector within ±this
        "transform": {k: {"min": lo, "max": hi, "steps": n} for k, (lo, hi, n) in RANGES.items()},
        "perturbation_steps": list(PERTURBATION_STEPS),
        "evidence_digits": limits.EVIDENCE_DIGITS_MAX,
        "evidence_top": {"min": 1, "max": limits.EVIDENCE_TOP_MAX, "default": limits.EVIDENCE_TOP_DEFAULT},
        "overlap_shift": limits.OVERLAP_SHIFT_LIMIT,
        "image_pixels": limits.IMAGE_PIXELS_MAX,
        "request_bytes": config["MAX_CONTENT_LENGTH"],
    }


def _optional_json(weights: Path | None, name: str) -> dict | None:
    """A file shipped beside the weights, or None when absent (its endpoint then answers 404)."""
    if weights is None:
        return None
    try:
        return json.loads(weights.with_name(name).read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:
        raise ValueError(f"{weights.with_name(name)} is unreadable ({e})") from None


def init_app(app: Flask) -> None:
    app.extensions["capsnet"] = load(app.config)


def get() -> Resources:
    return current_app.extensions["capsnet"]
