"""What the server loads once at start-up and shares read-only between requests: the model, its
manifest, the sample gallery and the (static) Conv1 kernels JSON."""
from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass

import torch
from flask import Flask, current_app

from model.capsnet import CapsNet, CapsNetConfig, parameter_counts
from model.device import pick_device
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
        "routing_iterations_max": 10,
        "primary_capsules": cfg.primary_count,
        "manifest": manifest,
    }
    return Resources(model, manifest, bool(config["ALLOW_UNTRAINED"]), Gallery(config["GALLERY"]),
                     kernels, hashlib.sha256(kernels).hexdigest()[:32], info)


def init_app(app: Flask) -> None:
    app.extensions["capsnet"] = load(app.config)


def get() -> Resources:
    return current_app.extensions["capsnet"]
