"""What a model knows before its first step: pretrained weights, pretrained word vectors, data statistics.

Every source is data, never code: safetensors, `.pth` read with `weights_only=True`, run folders,
text-format vectors.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from rich.console import Console

from neuralab.config import RunConfig
from neuralab.data import TensorSamples
from neuralab.data.embeddings import align_vectors
from neuralab.data.text import Tokenizer
from neuralab.data.transforms import Preprocess
from neuralab.errors import UserError
from neuralab.model_contract import HasImagenetWeights, adaptable, embedding_of, input_normalization_of
from neuralab.models.backbones import BACKBONES, load_matching
from neuralab.pipeline.prepare import PreparedData
from neuralab.records import read_json
from neuralab.runs import check_run_dir, load_tensors


@dataclass
class WarmStart:
    """What was loaded, for summary.json."""

    pretrained: dict[str, Any] | None
    embeddings: dict[str, Any] | None


def warm_start(cfg: RunConfig, model: torch.nn.Module, prepared: PreparedData, console: Console,
               resuming: bool) -> WarmStart:  # fmt: skip
    """Load what `cfg` asks for into `model` and set the input normalisation its features expect.

    On resume the checkpoint holds all of it, so only the normalisation is recomputed.
    """
    data = prepared.data
    embeddings = None if resuming else load_pretrained_embeddings(cfg, model, data.preprocess, console)
    if not resuming and isinstance(prepared.train, TensorSamples) and (model_adapt := adaptable(model)):
        model_adapt.adapt(prepared.train.x)  # statistics of the training split (a text model's idf)
    pretrained = None if resuming else load_pretrained(cfg, model, console)
    normalization = input_normalization_of(model)
    if resuming and cfg.model.pretrained and Path(cfg.model.pretrained).expanduser().is_dir():
        normalization = run_normalization(Path(cfg.model.pretrained).expanduser()) or normalization
    if pretrained and "normalization" in pretrained:  # the features were learned on inputs scaled this way
        normalization = pretrained.pop("normalization")
    if normalization is not None and len(normalization[0]) == len(data.preprocess.mean):
        data.preprocess = dataclasses.replace(data.preprocess, mean=normalization[0], std=normalization[1])
    return WarmStart(pretrained, embeddings)


def run_normalization(run_dir: Path) -> tuple[tuple[float, ...], tuple[float, ...]] | None:
    """The mean/std a run's model was trained with (a pretrained run's features expect them)."""
    stored = read_json(check_run_dir(run_dir).model_json).get("preprocess", {})
    return (tuple(stored["mean"]), tuple(stored["std"])) if stored.get("mean") else None


def load_pretrained(cfg: RunConfig, model: torch.nn.Module, console: Console) -> dict[str, Any] | None:
    """model.pretrained: torchvision's ImageNet weights, a weights file, or one of our run folders.

    Tensors are copied where name and shape match; a run's `head` is never copied (its classes differ).
    """
    source = cfg.model.pretrained
    if source is None:
        return None
    info: dict[str, Any] = {"source": source}
    if source == "imagenet":
        if not isinstance(model, HasImagenetWeights):
            raise UserError(f"pretrained: imagenet needs a torchvision backbone, not {cfg.model.name}",
                            hint=f"backbones: {', '.join(BACKBONES)}")  # fmt: skip
        model.load_imagenet()
        copied, skipped = len(model.features.state_dict()), 0
    else:
        path = Path(source).expanduser()
        if path.is_dir():
            state = {k: v for k, v in load_tensors(check_run_dir(path).weights).items() if not k.startswith("head.")}
            target: torch.nn.Module = model
            if normalization := run_normalization(path):
                info["normalization"] = normalization
        elif path.is_file():
            state = read_weights_file(path)
            backbone = model if isinstance(model, HasImagenetWeights) else None
            into_features = backbone is not None and not any(k.startswith("features.") for k in state)
            target = backbone.features if backbone is not None and into_features else model
        else:
            raise UserError(f"model.pretrained={source!r} is neither 'imagenet', a weights file nor a run folder")
        copied, skipped = load_matching(target, state)
        if copied == 0:
            raise UserError(f"no tensor of {source} fits {cfg.model.name} (names or shapes differ)",
                            hint="pretrain the same architecture, or check model.args")  # fmt: skip
    console.print(f"pretrained weights from {source}: {copied} tensors copied, {skipped} left as initialised",
                  highlight=False)  # fmt: skip
    return info | {"copied": copied, "skipped": skipped}


def read_weights_file(path: Path) -> dict[str, torch.Tensor]:
    """A state dict from safetensors, or from a .pth/.pt read with weights_only=True (no code runs)."""
    if path.suffix == ".safetensors":
        return load_tensors(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises UnpicklingError, RuntimeError, EOFError... for bad files
        raise UserError(f"{path}: not a readable weights file ({type(err).__name__}: {str(err)[:200]})") from None
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise UserError(f"{path}: expected a state dict of tensors")
    return state


def load_pretrained_embeddings(cfg: RunConfig, model: torch.nn.Module, preprocess: Preprocess,
                               console: Console) -> dict[str, Any] | None:  # fmt: skip
    if cfg.data.embeddings_file is None:
        return None
    embedding = embedding_of(model)
    if preprocess.kind != "text" or embedding is None:
        raise UserError("data.embeddings_file needs a text dataset and a text model (text_bag, text_rnn, ...)")
    vectors = align_vectors(
        cfg.data.embeddings_file, Tokenizer.from_dict(preprocess.extra["tokenizer"]), cfg.train.seed
    )
    if vectors.matrix.shape[1] != embedding.embedding_dim:
        raise UserError(
            f"{cfg.data.embeddings_file} has {vectors.matrix.shape[1]}-d vectors; the model's embedding is "
            f"{embedding.embedding_dim}-d",
            hint=f"--set model.args.dim={vectors.matrix.shape[1]}",
        )
    with torch.no_grad():
        embedding.weight.copy_(vectors.matrix)
    embedding.weight.requires_grad_(not cfg.data.freeze_embeddings)
    state = "frozen" if cfg.data.freeze_embeddings else "fine-tuned"
    found = f"{vectors.found:,} of {vectors.vocab:,} vocabulary words ({100 * vectors.coverage:.1f}%)"
    console.print(f"pretrained vectors: {found} found in {cfg.data.embeddings_file}; {state}", highlight=False)
    return {"file": str(cfg.data.embeddings_file), "found": vectors.found, "vocab": vectors.vocab,
            "coverage": vectors.coverage, "frozen": cfg.data.freeze_embeddings}  # fmt: skip
