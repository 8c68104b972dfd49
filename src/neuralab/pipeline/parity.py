"""How far a faster copy of a model strays from it, measured on the run's whole test split.

A quantised or lower-precision model is only worth serving if it answers like the original: this
runs the fp32 PyTorch model and each candidate (the ONNX export, its int8 quantisation, PyTorch
under bf16 autocast) over every test image and reports each one's accuracy, its top-1 agreement
with fp32 and the largest difference in any class probability.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from neuralab.data.transforms import Preprocess
from neuralab.errors import UserError
from neuralab.pipeline.prepare import classification_config, make_loader, prepare_data
from neuralab.runs import load_model, read_config
from neuralab.train import Device

CANDIDATES = {"onnx": "model.onnx", "onnx-int8": "model.int8.onnx", "bf16": None}


def _softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _onnx_runner(path: Path) -> Any:
    import onnxruntime as ort

    if not path.is_file():
        raise UserError(f"{path} does not exist", hint="export it first: neuralab export RUN_DIR --format onnx")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda x: np.asarray(session.run(None, {name: x.numpy()})[0], np.float64)


def parity_on_test_split(run_dir: Path, candidates: list[str]) -> dict[str, Any]:
    """fp32 accuracy, and for each candidate: accuracy, top-1 agreement with fp32, max |Δprobability|."""
    unknown = [c for c in candidates if c not in CANDIDATES]
    if unknown:
        raise UserError(f"unknown candidate(s) {', '.join(unknown)}", hint=f"choose from {', '.join(CANDIDATES)}")
    model, card = load_model(run_dir)
    if card.get("task", "classify") != "classify" or card.get("dataset") is None:
        raise UserError("the parity report needs a classification run trained on a named dataset")
    cfg = classification_config(read_config(run_dir), "parity")
    preprocess = Preprocess.from_dict(card["preprocess"])
    prepared = prepare_data(cfg, preprocess if preprocess.kind == "text" else None)
    loader = make_loader(prepared.test, cfg, preprocess, Device.create("cpu", "32", "off"), train=False)

    def torch_logits(x: torch.Tensor, bf16: bool = False) -> np.ndarray:
        with torch.inference_mode(), torch.autocast("cpu", torch.bfloat16, enabled=bf16):
            return model(x).double().numpy()

    runners = {name: (_onnx_runner(Path(run_dir) / file) if file else (lambda x: torch_logits(x, True)))
               for name, file in ((c, CANDIDATES[c]) for c in candidates)}  # fmt: skip
    reference, labels = [], []
    outputs: dict[str, list[np.ndarray]] = {name: [] for name in runners}
    for x, y in loader:
        reference.append(_softmax(torch_logits(x)))
        labels.append(y.numpy())
        for name, run in runners.items():
            outputs[name].append(_softmax(run(x)))
    ref, truth = np.concatenate(reference), np.concatenate(labels)
    report: dict[str, Any] = {"test_images": len(truth), "fp32_accuracy": float((ref.argmax(1) == truth).mean())}
    for name, chunks in outputs.items():
        probs = np.concatenate(chunks)
        report[name] = {
            "accuracy": float((probs.argmax(1) == truth).mean()),
            "top1_agreement": float((probs.argmax(1) == ref.argmax(1)).mean()),
            "max_probability_difference": float(np.abs(probs - ref).max()),
        }
    return report
