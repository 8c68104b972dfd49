"""`explain`: one entry point over every method, from raw inputs to heatmaps and files."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from neuralab.data.images import decode_image_file
from neuralab.data.transforms import Preprocess
from neuralab.errors import UserError
from neuralab.explain import attributions
from neuralab.explain.cam import class_activation_map
from neuralab.explain.overlay import feature_bars_png, overlay_png
from neuralab.explain.target_layer import find_target_layer
from neuralab.model_contract import embedding_of, single_view
from neuralab.runs import atomic_write_bytes, load_model

METHODS = {
    "gradcam": "Grad-CAM: class gradients averaged over a conv layer's channels (fast; coarse)",
    "gradcam++": "Grad-CAM++: higher-order gradient weights; better with several objects",
    "integrated-gradients": "integrated gradients from a black image (complete: sums to f(x) - f(black))",
    "saliency": "absolute input gradient (fast; noisy)",
    "occlusion": "score drop when a sliding patch is blacked out (model-agnostic; slower)",
    "lime": "LIME on a grid of patches (Captum; model-agnostic; sampled)",
    "shap": "Kernel SHAP on a grid of patches (Captum; model-agnostic; sampled)",
}
CAM_METHODS = {"gradcam", "gradcam++"}


@dataclass
class Explanation:
    method: str
    predicted: int
    predicted_label: str
    probability: float
    target: int
    target_label: str
    attributions: np.ndarray  # like one input: [C, H, W] or [F]
    heat: np.ndarray  # [H, W] in [0, 1] for images; [F] signed for vectors
    layer: str | None = None
    completeness_gap: float | None = None


def _heat(attr: torch.Tensor, method: str) -> torch.Tensor:
    """Per-pixel evidence for the class, scaled to [0, 1] per input (what the overlay shows)."""
    if attr.ndim == 2:
        return attr
    per_pixel = attr.abs().amax(dim=1) if method == "saliency" else attr.sum(dim=1).clamp_min(0)
    peak = per_pixel.flatten(1).max(dim=1).values.view(-1, 1, 1)
    return per_pixel / torch.where(peak > 0, peak, torch.ones_like(peak))


def resolve_target(target: str | None, classes: list[str]) -> int | None:
    if target is None:
        return None
    if target in classes:
        return classes.index(target)
    if target.isdigit() and int(target) < len(classes):
        return int(target)
    raise UserError(f"unknown target class {target!r}", hint=f"classes: {classes}")


def explain_batch(
    model: nn.Module,
    preprocess: Preprocess,
    raw: torch.Tensor,
    classes: list[str],
    method: str,
    target: int | None = None,
    layer: str | None = None,
) -> list[Explanation]:
    """Explain raw inputs (uint8 images or float features) for `target` (default: the predicted class)."""
    if method not in METHODS:
        raise UserError(f"unknown explain method {method!r}", hint=f"choose one of: {', '.join(METHODS)}")
    model = model.eval().float()
    x = preprocess.normalize(raw).contiguous()
    with torch.no_grad():
        probs = torch.softmax(model(x).float(), dim=1)
    predicted = probs.argmax(dim=1)
    targets = predicted if target is None else torch.full_like(predicted, target)
    # The answer above is the served model's (test-time augmentation included); the attribution is
    # of one forward pass of the image as given, which is what a heat map over that image can show.
    with single_view(model):
        attr, heat, layer_name, gap = _attribute(model, x, raw, preprocess, targets, method, layer)
    return [
        Explanation(
            method=method,
            predicted=int(predicted[i]),
            predicted_label=classes[int(predicted[i])],
            probability=float(probs[i, predicted[i]]),
            target=int(targets[i]),
            target_label=classes[int(targets[i])],
            attributions=attr[i].numpy(),
            heat=heat[i].detach().numpy(),
            layer=layer_name,
            completeness_gap=None if gap is None else float(gap[i]),
        )
        for i in range(len(raw))
    ]


def _attribute(
    model: nn.Module, x: torch.Tensor, raw: torch.Tensor, preprocess: Preprocess, targets: torch.Tensor,
    method: str, layer: str | None,
) -> tuple[torch.Tensor, torch.Tensor, str | None, torch.Tensor | None]:  # fmt: skip
    baseline = preprocess.normalize(torch.zeros_like(raw))
    layer_name, gap = None, None
    if method in CAM_METHODS:
        if x.ndim != 4:
            raise UserError(f"{method} needs an image model", hint="use integrated-gradients, occlusion, lime or shap")
        layer_name, module = find_target_layer(model, tuple(x.shape[1:]), layer)
        heat = class_activation_map(model, x, targets, module, plus_plus=method == "gradcam++")
        attr = heat[:, None]
    else:
        fn: Callable[..., torch.Tensor] = {
            "saliency": attributions.saliency,
            "occlusion": attributions.occlusion,
            "lime": attributions.lime,
            "shap": attributions.kernel_shap,
        }.get(method, attributions.saliency)
        if method == "integrated-gradients":
            attr, delta = attributions.integrated_gradients(model, x, targets, baseline)
            gap = delta.detach().abs()
        else:
            attr = fn(model, x, targets, baseline)
        attr = attr.detach().float()
        heat = _heat(attr, method)
    return attr, heat, layer_name, gap


def caption(exp: Explanation) -> str:
    return (f"predicted {exp.predicted_label} ({100 * exp.probability:.1f}%)\n"
            f"{exp.method} for {exp.target_label}")  # fmt: skip


def read_image(path: Path, preprocess: Preprocess) -> torch.Tensor:
    with decode_image_file(path) as image:
        return preprocess.image_to_uint8(image)


def explain_files(
    run_dir: Path, files: list[Path], method: str = "gradcam", target: str | None = None,
    layer: str | None = None, out_dir: Path | None = None, trust_code: bool = False,
) -> list[tuple[Path, Explanation]]:  # fmt: skip
    """Write `<out_dir>/<image stem>.<method>.png` for each image: the input, its heatmap, both classes."""
    model, card = load_model(run_dir, trust_code=trust_code)
    preprocess = Preprocess.from_dict(card["preprocess"])
    if preprocess.kind != "image":
        raise UserError("explain takes image files; this run's model takes feature vectors")
    raw = torch.stack([read_image(Path(f), preprocess) for f in files])
    results = explain_batch(
        model, preprocess, raw, card["classes"], method, resolve_target(target, card["classes"]), layer
    )
    out_dir = Path(out_dir) if out_dir else Path(run_dir) / "explain"
    written = []
    safe_method = re.sub(r"[^a-z0-9-]+", "", method.replace("++", "pp"))
    for path, image, exp in zip(files, raw, results, strict=True):
        target_png = out_dir / f"{Path(path).stem}.{safe_method}.png"
        atomic_write_bytes(target_png, overlay_png(image.numpy(), exp.heat, caption(exp)))
        written.append((target_png, exp))
    return written


@dataclass
class TextExplanation:
    text: str
    tokens: list[str]
    scores: list[float]  # one per token: integrated gradients through the embedding layer
    predicted_label: str
    probability: float
    target_label: str


def explain_texts(
    run_dir: Path, texts: list[str], target: str | None = None, trust_code: bool = False
) -> list[TextExplanation]:
    """Per-token attributions of a text model: integrated gradients on the embedding output, from zero vectors."""
    from captum.attr import LayerIntegratedGradients

    from neuralab.data.text import Tokenizer, encode

    model, card = load_model(run_dir, trust_code=trust_code)
    preprocess = Preprocess.from_dict(card["preprocess"])
    embedding = embedding_of(model)
    if preprocess.kind != "text" or embedding is None:
        raise UserError("--text explanations need a text model (text_bag, text_rnn, text_transformer)")
    classes = card["classes"]
    tokenizer = Tokenizer.from_dict(preprocess.extra["tokenizer"])
    maxlen = preprocess.input_shape[0]
    ids = encode(tokenizer, texts, maxlen)
    with torch.no_grad():
        probs = torch.softmax(model(ids), dim=1)
    chosen = resolve_target(target, classes)
    targets = probs.argmax(dim=1) if chosen is None else torch.full((len(texts),), chosen)
    with torch.backends.cudnn.flags(enabled=False):  # RNN backward needs training-mode kernels off cuDNN
        attributions = LayerIntegratedGradients(model, embedding).attribute(
            ids, baselines=torch.zeros_like(ids), target=targets, n_steps=64
        )
    scores = attributions.sum(dim=-1).detach()
    out = []
    for i, text in enumerate(texts):
        tokens = tokenizer.tokens(text)[:maxlen]
        out.append(TextExplanation(text, tokens, scores[i, : len(tokens)].tolist(), classes[int(probs[i].argmax())],
                                   float(probs[i].max()), classes[int(targets[i])]))  # fmt: skip
    return out


def write_text_explanations(explanations: list[TextExplanation], path: Path) -> Path:
    """One self-contained HTML page: each text with its tokens coloured by attribution."""
    import html as html_lib

    from neuralab.explain.overlay import tokens_html

    figures = "".join(
        tokens_html(
            e.tokens,
            e.scores,
            f"predicted {e.predicted_label} ({100 * e.probability:.1f}%); attributions for {e.target_label}",
        )
        for e in explanations
    )
    page = (
        "<!doctype html><html lang='zh'><head><meta charset='utf-8'><title>neuralab: token attributions</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:900px;margin:2em auto}"
        ".tokens span{padding:1px 3px;border-radius:3px;line-height:2}</style></head><body>"
        f"<h1>Token attributions</h1><p>{html_lib.escape('red: evidence for the class; blue: against it')}</p>"
        f"{figures}</body></html>\n"
    )
    atomic_write_bytes(path, page.encode("utf-8"))
    return path


def feature_explanation_png(exp: Explanation, names: list[str]) -> bytes:
    return feature_bars_png(exp.heat, names, caption(exp))
