"""The read side of a run: evaluate it on a split, predict images or texts with it, diagnose it,
and the LR range test that comes before a run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from neuralab.config import ForecastRunConfig, RegressRunConfig, RunConfig
from neuralab.data.images import decode_image_file
from neuralab.data.text import Tokenizer, encode
from neuralab.data.transforms import Preprocess
from neuralab.diagnose import Finding, LRFindResult, analyze_history, lr_range_test
from neuralab.errors import UserError
from neuralab.models import create_model
from neuralab.pipeline.prepare import classification_config, make_loader, prepare_data
from neuralab.pipeline.table_inference import evaluate_table_run
from neuralab.records import read_findings, read_json, read_metric_rows
from neuralab.runs import RunPaths, load_model, read_config
from neuralab.train import Device, Trainer, build_optimizer
from neuralab.train.losses import cross_entropy
from neuralab.train.metrics import classification_metrics
from neuralab.train.seed import seed_everything


def evaluate_run(run_dir: Path, split: str = "test", trust_code: bool = False) -> dict[str, Any]:
    """Metrics of the saved model on `split` (test or val), recomputed from the data."""
    model, card = load_model(run_dir, trust_code=trust_code)
    if card.get("dataset") is None:
        raise UserError(
            f"{run_dir} was saved from Python with no dataset, so there is no data to evaluate on",
            hint="evaluate it in Python (model.evaluate(x, y)), or save it with dataset='<name>'",
        )
    stored_cfg = read_config(run_dir)
    if isinstance(stored_cfg, RegressRunConfig | ForecastRunConfig):
        return evaluate_table_run(run_dir, stored_cfg, split, trust_code)
    cfg = classification_config(stored_cfg, "evaluate")
    stored = Preprocess.from_dict(card["preprocess"])
    prepared = prepare_data(cfg, stored if stored.kind == "text" else None)
    samples = {"test": prepared.test, "val": prepared.val, "train": prepared.train}.get(split)
    if samples is None:
        raise UserError(f"split {split!r} is not available", hint="choose test, val or train")
    device = Device.create("cpu", "32", "auto", model)
    preprocess = Preprocess.from_dict(card["preprocess"])
    trainer = Trainer(model, torch.optim.SGD(model.parameters(), lr=0.0), cross_entropy(), device=device)
    result = trainer.evaluate(make_loader(samples, cfg, preprocess, device, train=False))
    return {
        "split": split,
        "loss": result.loss,
        **classification_metrics(result.y_true, result.y_pred, card["classes"]),
    }


def predict_images(run_dir: Path, files: list[Path], top_k: int = 1, trust_code: bool = False) -> list[dict[str, Any]]:
    """Class and probability for each image file, preprocessed exactly as in training."""
    model, card = load_model(run_dir, trust_code=trust_code)
    preprocess = Preprocess.from_dict(card["preprocess"])
    if preprocess.kind != "image":
        raise UserError("this run's model takes feature vectors, not images")
    batch = []
    for path in files:
        with decode_image_file(path) as image:
            batch.append(preprocess.image_to_uint8(image))
    with torch.inference_mode():
        probs = torch.softmax(model(preprocess.normalize(torch.stack(batch))), 1)
    return [{"file": str(path), "top": top} for path, top in zip(files, top_classes(probs, card["classes"], top_k),
                                                                  strict=True)]  # fmt: skip


def predict_texts(run_dir: Path, texts: list[str], top_k: int = 1, trust_code: bool = False) -> list[dict[str, Any]]:
    """Class and probability for each text, tokenised with the run's own tokenizer."""
    model, card = load_model(run_dir, trust_code=trust_code)
    preprocess = Preprocess.from_dict(card["preprocess"])
    if preprocess.kind != "text":
        raise UserError(f"this run's model takes {preprocess.kind}s, not text", hint="give image files instead")
    tokenizer = Tokenizer.from_dict(preprocess.extra["tokenizer"])
    with torch.inference_mode():
        probs = torch.softmax(model(encode(tokenizer, texts, preprocess.input_shape[0])), 1)
    return [{"text": text, "top": top} for text, top in zip(texts, top_classes(probs, card["classes"], top_k),
                                                                strict=True)]  # fmt: skip


def top_classes(probs: torch.Tensor, classes: list[str], k: int) -> list[list[dict[str, Any]]]:
    """The `k` most probable classes of each row, with their probabilities."""
    top = probs.topk(min(k, probs.shape[1]), dim=1)
    return [
        [{"class": classes[int(i)], "probability": float(p)} for p, i in zip(values, indices, strict=True)]
        for values, indices in zip(top.values, top.indices, strict=True)
    ]


def diagnose_run(run_dir: Path) -> list[Finding]:
    """Findings stored with the run, with overfitting recomputed from metrics.csv."""
    paths = RunPaths(Path(run_dir))
    if not paths.root.is_dir():
        raise UserError(f"run folder {run_dir} does not exist")
    stored = paths.root / "findings.json"
    findings = [Finding.from_dict(raw) for raw in read_findings(stored)] if stored.exists() else []
    findings = [f for f in findings if f.kind != "overfitting"]
    if paths.metrics.exists():
        rows = read_metric_rows(paths.metrics)
        kind = _input_kind(paths.model_json)
        findings += analyze_history(rows, kind)
    return findings


def _input_kind(model_json: Path) -> str:
    """What the model reads (image, text, table...), which decides how its curves are judged."""
    if not model_json.exists():
        return "image"
    card = read_json(model_json)
    preprocess = card.get("preprocess") if isinstance(card, dict) else None
    kind = preprocess.get("kind") if isinstance(preprocess, dict) else None
    if not isinstance(kind, str):
        raise UserError(f"{model_json} is malformed: `preprocess.kind` must name the input kind")
    return kind


def find_lr(cfg: RunConfig, steps: int = 100, start: float = 1e-7, end: float = 10.0) -> LRFindResult:
    """The LR range test on the training split of `cfg`'s data and model."""
    seed_everything(cfg.train.seed, cfg.train.threads, cfg.train.deterministic)
    prepared = prepare_data(cfg)
    data = prepared.data
    model = create_model(cfg.model.name, data.preprocess.input_shape, len(data.classes), **cfg.model.args)
    device = Device.create(cfg.train.device, cfg.train.precision, cfg.train.channels_last, model)
    model = device.setup(model)
    optimizer = build_optimizer(model, cfg.optim, lr=start)
    trainer = Trainer(model, optimizer, cross_entropy(cfg.train.label_smoothing), device=device)
    loader = make_loader(prepared.train, cfg, data.preprocess, device, train=True)
    return lr_range_test(trainer, loader, start, end, steps)
