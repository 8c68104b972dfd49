"""Inference speed and parity: fp32 PyTorch against bf16 (native CPUs only), ONNX fp32 and ONNX int8. One JSON line.

The model is a Fashion-MNIST run (`--run RUN_DIR`, or a fresh default-recipe run of `--epochs`).
Speed: images/s through each backend's forward at batch 1 and 32 on this process's threads (the
serving path's Predictor, preprocessing excluded). Parity: each candidate against fp32 PyTorch on
the whole test split (accuracy, top-1 agreement, largest probability difference).

Usage: python benchmarks/inference_precision.py [--run RUN_DIR] [--epochs 4]
"""

from __future__ import annotations

import argparse
import io
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from rich.console import Console

from neuralab.hardware import cpu_bf16_units
from neuralab.pipeline import resolve_config, run_config
from neuralab.pipeline.parity import parity_on_test_split
from neuralab.serve.export import INT8_FILE, export_run, quantize_onnx
from neuralab.serve.predictor import Predictor


def images_per_s(predictor: Predictor, batch: int, seconds: float = 2.0) -> float:
    raw = [torch.randint(0, 256, predictor.preprocess.input_shape, dtype=torch.uint8) for _ in range(batch)]
    predictor.predict_proba(raw)
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        predictor.predict_proba(raw)
        done += batch
    return done / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path)
    parser.add_argument("--epochs", type=int, default=4)
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = opts.run
        if run_dir is None:
            cfg = resolve_config({"data": {"name": "fashion-mnist"}, "train": {"epochs": opts.epochs},
                                  "out_dir": tmp, "name": "fm"})  # fmt: skip
            run_dir = run_config(cfg, Console(file=io.StringIO())).run_dir
        export_run(run_dir, "onnx")
        quantize_onnx(Path(run_dir) / "model.onnx", Path(run_dir) / INT8_FILE)
        candidates = ["onnx", "onnx-int8", *(["bf16"] if cpu_bf16_units() else [])]
        parity = parity_on_test_split(run_dir, candidates)
        backends: dict[str, Predictor] = {
            "torch fp32": Predictor(run_dir),
            "onnx fp32": Predictor(run_dir, "onnx"),
            "onnx int8": Predictor(run_dir, "onnx-int8"),
        }
        if cpu_bf16_units():
            backends["torch bf16"] = Predictor(run_dir, precision="bf16")
        speed: dict[str, Any] = {name: {f"batch_{b}": round(images_per_s(p, b)) for b in (1, 32)}
                                 for name, p in backends.items()}  # fmt: skip
    print(json.dumps({"benchmark": "inference_precision", "threads": torch.get_num_threads(),
                      "cpu_bf16": cpu_bf16_units(), "images_per_s": speed, "parity": parity}))  # fmt: skip


if __name__ == "__main__":
    main()
