"""Error analysis for the report: the most-confused class pairs and a gallery of explained mistakes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from neuralab.data.transforms import Preprocess
from neuralab.errors import UserError
from neuralab.explain import explain_batch
from neuralab.explain.explainer import caption
from neuralab.explain.overlay import overlay_png
from neuralab.model_contract import has_conv
from neuralab.runs import RunPaths, load_model, load_tensors


@dataclass(frozen=True)
class ConfusedPair:
    true: str
    predicted: str
    count: int
    share_of_true: float


def most_confused(matrix: list[list[int]], classes: list[str], top: int = 5) -> list[ConfusedPair]:
    data = np.asarray(matrix)
    off = [(int(data[i, j]), i, j) for i in range(len(data)) for j in range(len(data)) if i != j and data[i, j] > 0]
    off.sort(key=lambda t: (-t[0], t[1], t[2]))
    return [ConfusedPair(classes[i], classes[j], n, n / max(int(data[i].sum()), 1)) for n, i, j in off[:top]]


@dataclass
class GalleryItem:
    png: bytes
    true: str
    predicted: str
    confidence: float
    test_index: int


def _stored_errors(paths: RunPaths) -> dict[str, torch.Tensor] | None:
    return load_tensors(paths.errors) if paths.errors.exists() else None


def explained_errors(run_dir: Path, limit: int = 24, trust_code: bool = False) -> tuple[list[GalleryItem], str | None]:
    """Overlays of the most confident test mistakes (Grad-CAM; integrated gradients for non-conv models)."""
    paths = RunPaths(Path(run_dir))
    stored = _stored_errors(paths)
    if stored is None or len(stored["index"]) == 0:
        return [], None
    model, card = load_model(paths.root, trust_code=trust_code)
    preprocess = Preprocess.from_dict(card["preprocess"])
    if preprocess.kind != "image":
        return [], None
    classes = card["classes"]
    raw = stored["inputs"][:limit]
    method = "gradcam" if has_conv(model) else "integrated-gradients"
    try:
        explanations = explain_batch(model, preprocess, raw, classes, method)
    except UserError:
        return [], None
    items = []
    for i, exp in enumerate(explanations):
        true = classes[int(stored["y_true"][i])]
        items.append(GalleryItem(
            png=overlay_png(raw[i].numpy(), exp.heat, f"true {true}\n" + caption(exp), size_in=2.0),
            true=true, predicted=classes[int(stored["y_pred"][i])], confidence=float(stored["confidence"][i]),
            test_index=int(stored["index"][i]),
        ))  # fmt: skip
    return items, method


def pair_examples(run_dir: Path, pairs: list[ConfusedPair], classes: list[str], per_pair: int = 6) -> dict[Any, Any]:
    """For each confused pair, the stored mistakes of that kind (uint8 images), most confident first."""
    stored = _stored_errors(RunPaths(Path(run_dir)))
    if stored is None or len(stored["index"]) == 0 or stored["inputs"].dtype != torch.uint8:
        return {}
    out = {}
    for pair in pairs:
        t, p = classes.index(pair.true), classes.index(pair.predicted)
        chosen = ((stored["y_true"] == t) & (stored["y_pred"] == p)).nonzero().flatten()[:per_pair]
        if len(chosen):
            out[(pair.true, pair.predicted)] = stored["inputs"][chosen].numpy()
    return out
