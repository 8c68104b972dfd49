"""A model with test-time flip averaging is one model everywhere: training's test figure, evaluate, ONNX."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from rich.console import Console

from neuralab.pipeline import resolve_config, run_config
from neuralab.pipeline.inference import evaluate_run
from neuralab.serve.export import export_run
from neuralab.serve.predictor import Predictor


@pytest.mark.parametrize("tta", ["flip", "flip_shift"])
def test_tta_run_evaluates_and_exports_as_it_trained(tmp_path: Path, digit_images, tta: str) -> None:
    # digits are not mirror-invariant: this checks the plumbing, not the accuracy gain
    cfg = resolve_config({
        "data": {"name": "digits"}, "model": {"name": "fast_cnn", "args": {"tta": tta}},
        "train": {"epochs": 3, "grad_monitor_every": 0}, "out_dir": str(tmp_path), "name": "tta",
    })  # fmt: skip
    result = run_config(cfg, Console(file=io.StringIO()))
    run = result.run_dir
    assert result.summary["test"]["accuracy"] == evaluate_run(run)["accuracy"]

    exported = export_run(run, "onnx")
    assert exported.max_abs_diff < 1e-4  # the view averaging is in the exported graph too
    torch_predictor, onnx_predictor = Predictor(run), Predictor(run, "onnx")
    inputs = [torch_predictor.preprocess.image_to_uint8(Image.fromarray(img)) for img, _ in digit_images[:16]]
    np.testing.assert_allclose(onnx_predictor.predict_proba(inputs), torch_predictor.predict_proba(inputs), atol=1e-5)
    if tta == "flip_shift":
        return  # its shifted views are not mirror images of each other: only "flip" is mirror-invariant
    mirrored = [image.flip(-1) for image in inputs]
    np.testing.assert_allclose(torch_predictor.predict_proba(mirrored), torch_predictor.predict_proba(inputs),
                               atol=1e-5)  # fmt: skip
    assert torch.is_tensor(inputs[0])
