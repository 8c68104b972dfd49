"""The run folder: every file a run writes, written atomically, and the way back from it to a model.

A run is rebuilt from `model.json` (architecture, arguments, classes, preprocessing) and
`model.safetensors` (weights only): no pickle is ever read from a user's file.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from neuralab.config import AnyRunConfig, SupervisedRunConfig, load_yaml, validate
from neuralab.data.series import SeriesScaler
from neuralab.data.table import TableEncoder, TargetScaler, shown
from neuralab.data.text import Tokenizer
from neuralab.data.transforms import Preprocess
from neuralab.errors import UserError
from neuralab.files import (
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_text,
    default_file_mode,
    load_tensors,
    load_weights,
    save_tensors,
    save_weights,
    stored_values,
)
from neuralab.model_contract import token_vocabulary
from neuralab.models.sources import build_architecture
from neuralab.records import read_json

MODEL_FORMAT = 1
GAN_FORMAT = "neuralab-gan/1"  # model.json of a `task: gan` run: a generator, not a classifier


@dataclass(frozen=True)
class RunPaths:
    root: Path

    @property
    def config(self) -> Path:
        return self.root / "config.yaml"

    @property
    def weights(self) -> Path:
        return self.root / "model.safetensors"

    @property
    def model_json(self) -> Path:
        return self.root / "model.json"

    @property
    def metrics(self) -> Path:
        return self.root / "metrics.csv"

    @property
    def summary(self) -> Path:
        return self.root / "summary.json"

    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    @property
    def errors(self) -> Path:
        """The most confident test mistakes (inputs, labels, predictions) for the report's gallery."""
        return self.root / "errors.safetensors"

    @property
    def test_predictions(self) -> Path:
        """Every test example's true and predicted class: what `neuralab compare` pairs between runs."""
        return self.root / "test_predictions.safetensors"

    @property
    def best_weights(self) -> Path:
        return self.checkpoints / "best.safetensors"


def new_run_dir(out_dir: Path, name: str) -> Path:
    """A fresh folder `out_dir/name`, suffixed -2, -3, ... rather than mixing two runs."""
    out_dir.mkdir(parents=True, exist_ok=True)
    candidate, n = out_dir / name, 1
    while True:
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            n += 1
            candidate = out_dir / f"{name}-{n}"


def default_run_name(cfg: SupervisedRunConfig) -> str:
    return f"{cfg.data.name}-{cfg.model.name}-{time.strftime('%Y%m%d-%H%M%S')}"


def model_card(
    cfg: SupervisedRunConfig,
    input_shape: tuple[int, ...],
    classes: list[str],
    preprocess: Preprocess,
    args: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """model.json: everything needed to rebuild the model and feed it, without the training code."""
    return {
        "format": MODEL_FORMAT,
        "architecture": cfg.model.name,
        "args": cfg.model.args if args is None else args,
        "input_shape": list(input_shape),
        "num_classes": len(classes),
        "classes": classes,
        "preprocess": preprocess.to_dict(),
        "dataset": cfg.data.name,
    }


def save_model(run_dir: Path, model: nn.Module, card: dict[str, Any]) -> None:
    paths = RunPaths(run_dir)
    save_weights(model, paths.weights)
    atomic_write_json(paths.model_json, card)


def check_run_dir(run_dir: Path) -> RunPaths:
    paths = RunPaths(Path(run_dir))
    if not paths.root.is_dir():
        raise UserError(f"run folder {paths.root} does not exist")
    for required in (paths.model_json, paths.weights):
        if not required.is_file():
            raise UserError(f"{paths.root} is not a finished run: {required.name} is missing")
    return paths


def load_model(
    run_dir: Path, weights: Path | None = None, trust_code: bool = False
) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild the trained model from its description and safetensors weights (eval mode, CPU).

    A builder named by import path runs only with `trust_code` (see `neuralab.models.sources`).
    """
    paths = check_run_dir(run_dir)
    card = read_json(paths.model_json)
    if not isinstance(card, dict):
        raise UserError(f"{paths.model_json} must hold a JSON object, not a {type(card).__name__}")
    if card.get("format") == GAN_FORMAT:
        raise UserError(f"{run_dir} is a GAN run, not a classifier", hint=f"generate images: neuralab sample {run_dir}")
    if card.get("task") == "ssl":
        raise UserError(
            f"{run_dir} is a self-supervised encoder: its class layer was never trained",
            hint=f"fine-tune it on labels: neuralab train ... --set model.pretrained={run_dir}",
        )
    weights = weights or paths.weights
    try:
        preprocess = Preprocess.from_dict(card["preprocess"])

        def build() -> nn.Module:
            return build_architecture(
                card["architecture"], card["args"], tuple(card["input_shape"]), card["num_classes"],
                preprocess.kind, trust_code,
            )  # fmt: skip

        refuse_larger_than_weights(build, weights, paths.model_json)
        _check_classes(card)
        _check_task(card, preprocess)
        model = build()
        _check_tokens(model, preprocess)
    except ValueError as err:
        raise UserError(f"{paths.model_json} is malformed: {err}") from None
    except (KeyError, TypeError) as err:
        raise UserError(f"{paths.model_json} lacks or mangles field {err}") from None
    load_weights(model, weights)
    model.eval()
    return model, card


def _check_classes(card: dict[str, Any]) -> None:
    """One name per output: predict, serve and the report index `classes` by the model's answer."""
    classes, outputs = card["classes"], card["num_classes"]
    if type(outputs) is not int or outputs < 1:
        raise ValueError(f"`num_classes` must be a positive whole number, not {str(outputs)[:40]}")
    if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes) or len(classes) != outputs:
        raise ValueError(f"`classes` must be a list of {outputs} names, one per output of the model")
    repeated = [name for name, count in Counter(classes).items() if count > 1]
    if repeated:
        raise ValueError(f"`classes` holds {shown(repeated[0])} more than once: each output needs its own name")


def _check_task(card: dict[str, Any], preprocess: Preprocess) -> None:
    """The task, and the scalers a regression or a forecast answers through, parsed once here so that
    predict and serve cannot meet a malformed one later, inside a request."""
    task = card.get("task", "classify")
    if task not in ("classify", "regress", "forecast"):
        raise ValueError(f"`task` must be classify, regress or forecast, not {str(task)[:40]!r}")
    extra = preprocess.extra
    if task == "regress":
        encoder = TableEncoder.from_dict(extra["table"])
        if encoder.width != preprocess.input_shape[0]:
            raise ValueError(f"the table encodes {encoder.width} features; the model reads {preprocess.input_shape[0]}")
        if len(TargetScaler.from_dict(extra["target"]).names) != card["num_classes"]:
            raise ValueError("the target scaler needs one name per output of the model")
    if task == "forecast":
        SeriesScaler.from_dict(extra["series"])
        TargetScaler.from_dict(extra["target"])


def _check_tokens(model: nn.Module, preprocess: Preprocess) -> None:
    """A text model's tokenizer may only produce ids its embedding has rows for (else every request fails)."""
    if preprocess.kind != "text":
        return
    tokenizer = Tokenizer.from_dict(preprocess.extra["tokenizer"])
    rows = token_vocabulary(model)
    if rows is not None and tokenizer.largest_id >= rows:
        raise ValueError(f"the tokenizer gives ids up to {tokenizer.largest_id}; the model embeds {rows}")


def refuse_larger_than_weights(build: Callable[[], nn.Module], weights: Path, model_json: Path) -> None:
    """Refuse, before allocating it, a model that model.json makes larger than its weights file.

    A run folder may come from someone else, and widths of 10**9 in model.json would allocate
    gigabytes before the weights could be found not to fit. The model is first built on the meta
    device (shapes only, no memory); a builder that cannot run there is left to the real build.
    """
    try:
        with torch.device("meta"):
            skeleton = build()
    except UserError:
        raise
    except Exception:  # the real build that follows fails (or succeeds) on its own terms
        return
    needed = sum(tensor.numel() for tensor in skeleton.state_dict().values())
    held = stored_values(weights)
    if needed > held:
        raise UserError(
            f"{model_json} describes a model of {needed:,} values, but {weights.name} holds {held:,}: "
            "the two do not belong together"
        )


def read_config(run_dir: Path) -> AnyRunConfig:
    return validate(load_yaml(RunPaths(Path(run_dir)).config))


def torch_versions() -> dict[str, str]:
    import platform

    import numpy
    import torchvision

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "numpy": numpy.__version__,
    }


__all__ = [
    "GAN_FORMAT",
    "MODEL_FORMAT",
    "RunPaths",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
    "check_run_dir",
    "default_file_mode",
    "default_run_name",
    "load_model",
    "load_tensors",
    "load_weights",
    "model_card",
    "new_run_dir",
    "read_config",
    "read_json",
    "save_model",
    "save_tensors",
    "save_weights",
    "torch_versions",
]
