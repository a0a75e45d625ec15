"""What the server loads once at start-up and shares read-only between requests: every served model
(Models), each with its own Resources: the network, its manifest, its sample gallery, the (static) Conv1
kernels JSON, its report and capsule statistics.

`--weights` (config WEIGHTS) names one weights file or a folder. A folder holding a *.pt file is one model;
a folder of such folders is several, named by their folder names (weights/mnist, weights/multimnist) and
served in alphabetical order: the first is the default, the model a request gets when it names none.
A request names its model with the `model` field of its JSON or form body, or `?model=` on a GET."""
from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import torch
from flask import Flask, current_app, has_request_context, request

from model import limits, multimnist
from model.capsnet import CapsNet, CapsNetConfig, parameter_counts
from model.device import pick_device
from model.evidence import receptive_field
from model.inference import PERTURBATION_STEPS
from model.transforms import RANGES
from model.weights import DEFAULT_WEIGHTS, WeightsError, load_weights, read_manifest

from .encoding import encode_float
from .samples import Gallery
from .validation import MODEL_NAME_MAX, ApiError, model_name

log = logging.getLogger(__name__)

# A model's name is its folder's: it travels in URLs (?model=) and JSON, so plain characters only.
NAME = re.compile(rf"[A-Za-z0-9][A-Za-z0-9_.-]{{0,{MODEL_NAME_MAX - 1}}}", re.ASCII)
# The gallery a model without its own gets (single digits, fitted to its input size).
SHIPPED_GALLERY = DEFAULT_WEIGHTS.with_name("gallery.json")


@dataclass(frozen=True)
class Resources:
    name: str  # the model's folder name: what the `model` field says
    dataset: str  # "mnist" or "multimnist"
    model: CapsNet
    manifest: dict | None
    untrained: bool
    gallery: Gallery
    kernels_json: bytes
    kernels_etag: str
    model_info: dict
    report: dict | None  # report.json beside the weights, from model.evaluate --report
    capsule_stats: dict | None  # capsule_stats.json beside the weights, from model.capsule_stats

    def summary(self) -> dict:
        """This model's line in GET /api/models."""
        cfg, m = self.model.config, self.manifest or {}
        grid = cfg.primary_grid
        return {"name": self.name, "dataset": self.dataset, "input_size": cfg.image_size,
                "capsule_grid": [grid, grid], "primary_capsules": cfg.primary_count,
                "accuracy": None if m.get("test_accuracy") is None else round(float(m["test_accuracy"]), 6),
                "accuracy_metric": _metric(self.dataset, m)}


class Models:
    """The served models in order; the first is the default."""

    def __init__(self, items: list[Resources]):
        if not items:
            raise ValueError("no models to serve")
        self._by_name = {r.name: r for r in items}
        self.names = tuple(self._by_name)
        self.default = items[0]

    def __iter__(self):
        return iter(self._by_name.values())

    def get(self, name: str) -> Resources:
        return self._by_name[name]

    def first_of(self, dataset: str) -> Resources | None:
        return next((r for r in self if r.dataset == dataset), None)


def _metric(dataset: str, manifest: dict) -> str | None:
    if "test_accuracy" not in manifest:
        return None
    return manifest.get("test_metric") or ("both digits right on the fixed MultiMNIST test pairs"
                                           if dataset == "multimnist" else "accuracy on the 10,000 MNIST test digits")


def _kernels(model: CapsNet) -> bytes:
    w = model.conv1.weight.detach()[:, 0]  # (256, 9, 9)
    body = {"kernels": encode_float(w), "bias": encode_float(model.conv1.bias.detach())}
    return json.dumps(body, separators=(",", ":")).encode()


def discover(weights: Path | str) -> list[tuple[str, Path]]:
    """(name, weights file) of every model `weights` names: a file (named by its folder), a folder holding
    one *.pt, or a folder of such folders (alphabetical; folders with no *.pt are not models). A lone model
    in a folder whose name is not a model name is called "model"; in a folder of folders it is refused. Raises
    WeightsError naming the path when there is nothing to serve or a folder is ambiguous."""
    path = Path(weights)
    hint = "give a weights file, a model folder or a folder of model folders (the shipped one is weights/)"

    def one(folder: Path) -> str:  # a lone model's name: its folder's, when that is a name at all
        return folder.name if NAME.fullmatch(folder.name) else "model"

    if path.suffix == ".pt" or path.is_file():
        return [(one(path.resolve().parent), path)]  # load_weights says what is wrong with the file
    if not path.is_dir():
        raise WeightsError(f"weights folder {path} not found; {hint}")

    def only_pt(folder: Path) -> Path | None:
        files = sorted(folder.glob("*.pt"))
        if len(files) > 1:
            raise WeightsError(f"model folder {folder} holds {len(files)} weights files "
                               f"({', '.join(f.name for f in files)}); keep one *.pt per model folder")
        return files[0] if files else None

    own = only_pt(path)
    if own is not None:
        return [(one(path.resolve()), own)]
    found = [(d.name, pt) for d in sorted(path.iterdir(), key=lambda d: d.name) if d.is_dir()
             and (pt := only_pt(d)) is not None]
    if not found:
        raise WeightsError(f"weights folder {path} holds no model folder (a folder with one *.pt file); {hint}")
    for name, _ in found:
        if not NAME.fullmatch(name):
            raise WeightsError(f"model folder name {name[:80]!r} in {path} is not a model name (letters, digits, "
                               f"'_', '.', '-', at most {MODEL_NAME_MAX} characters); rename the folder")
    return found


def _load_one(name: str, weights: Path | None, config: dict, device) -> Resources:
    untrained = weights is None
    if untrained:
        torch.manual_seed(0)
        model, manifest = CapsNet(CapsNetConfig()).to(device).eval(), None
        log.warning("serving an UNTRAINED model (--allow-untrained): predictions are meaningless")
    else:
        model, manifest = load_weights(weights, device), read_manifest(weights)
    for p in model.parameters():
        p.requires_grad_(False)
    kernels = _kernels(model)
    cfg = model.config
    dataset = (manifest or {}).get("dataset") or ("multimnist" if cfg.image_size == multimnist.CANVAS else "mnist")
    info = {
        "name": "CapsNet (Sabour, Frosst & Hinton 2017)",
        "model": name,
        "dataset": dataset,
        "untrained": untrained,
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
    capsule_stats = _optional_json(weights, "capsule_stats.json")
    # The page asks for the statistics only when they exist: a 404 would be a console error in the browser.
    info["capsule_stats"] = capsule_stats is not None
    gallery = config.get("GALLERY") or (weights.with_name("gallery.json") if weights is not None
                                        and weights.with_name("gallery.json").is_file() else SHIPPED_GALLERY)
    return Resources(name, dataset, model, manifest, untrained, Gallery(gallery, cfg.image_size), kernels,
                     hashlib.sha256(kernels).hexdigest()[:32], info, _optional_json(weights, "report.json"),
                     capsule_stats)


def load(config: dict) -> Models:
    device = pick_device(config["DEVICE"])
    if config["ALLOW_UNTRAINED"]:
        return Models([_load_one("untrained", None, config, device)])
    return Models([_load_one(name, Path(w), config, device) for name, w in discover(config["WEIGHTS"])])


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
    models = load(app.config)
    app.extensions["capsnet_models"] = models
    app.extensions["capsnet"] = models.default  # the default model's Resources, for code that needs only it


def models() -> Models:
    return current_app.extensions["capsnet_models"]


def get(body: dict | None = None) -> Resources:
    """The model a request names: `model` in its parsed body (JSON or form) when given one, else
    ?model= in the URL; the default model when it names none. Unknown names are a 404 listing the names."""
    served = models()
    if body is not None:
        if "model" not in body:
            return served.default
        return served.get(model_name(body["model"], served.names))
    if not has_request_context() or "model" not in request.args:
        return served.default
    given = request.args.getlist("model")
    if len(given) != 1:
        raise ApiError("'model' is given more than once")
    return served.get(model_name(given[0], served.names))
