"""int8 quantisation (`export --quantize int8`) and bf16, judged on the run's whole test split."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from neuralab.errors import UserError
from neuralab.hardware import cpu_bf16_units
from neuralab.pipeline.parity import parity_on_test_split
from neuralab.serve.predictor import Predictor
from tests.conftest import run_cli
from tests.serve.conftest import png_bytes, start_server, stop_server


@pytest.fixture
def run_copy(digits_run: Path, tmp_path: Path) -> Path:
    """The shared digits run, copied: these tests write model files into it."""
    return Path(shutil.copytree(digits_run, tmp_path / "run"))


def test_int8_export_reports_its_accuracy_on_the_test_split_and_serves(run_copy: Path, tmp_path: Path,
                                                                      digit_images) -> None:  # fmt: skip
    done = run_cli("export", str(run_copy), "--format", "onnx", "--quantize", "int8")
    assert done.returncode == 0, done.stderr
    assert "top-1 agreement with fp32" in done.stdout
    int8 = run_copy / "model.int8.onnx"
    assert 0 < int8.stat().st_size < (run_copy / "model.onnx").stat().st_size  # int8 weights are smaller
    report = json.loads((run_copy / "model.int8.parity.json").read_text())
    assert report["test_images"] == 360  # digits' whole test split
    # Deterministic (a fixed run, deterministic quantisation): dynamic int8 keeps the answers of this model.
    assert report["onnx"]["top1_agreement"] == 1.0
    assert report["onnx-int8"]["top1_agreement"] >= 0.98
    assert abs(report["onnx-int8"]["accuracy"] - report["fp32_accuracy"]) <= 0.02

    torch_predictor, int8_predictor = Predictor(run_copy), Predictor(run_copy, "onnx-int8")
    inputs = [torch_predictor.preprocess.image_to_uint8(Image.fromarray(img)) for img, _ in digit_images]
    agree = (int8_predictor.predict_proba(inputs).argmax(1) == torch_predictor.predict_proba(inputs).argmax(1)).mean()
    assert agree >= 0.9
    server = start_server(run_copy, tmp_path / "int8.log", "--backend", "onnx-int8")
    try:
        assert server.client.get("/health").json()["backend"] == "onnx-int8"
        image = digit_images[0][0]
        answer = server.client.post("/predict", files={"file": ("d.png", png_bytes(image), "image/png")})
        assert answer.status_code == 200
        assert answer.json()["index"] == int(np.argmax(int8_predictor.predict_proba(inputs[:1])[0]))
    finally:
        stop_server(server)


def test_bf16_parity_is_measured_on_every_test_image(digits_run: Path) -> None:
    done = run_cli("evaluate", str(digits_run), "--precision", "bf16", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["test_images"] == 360
    assert report["bf16"]["top1_agreement"] >= 0.97  # bf16 keeps 8 bits of mantissa: a few borderline images may flip
    assert 0 < report["bf16"]["max_probability_difference"] < 0.5


def test_bf16_is_served_only_where_the_cpu_computes_it(digits_run: Path, tmp_path: Path, digit_images) -> None:
    if cpu_bf16_units() is None:  # detected, never assumed: CI may run on another CPU
        refused = run_cli("serve", str(digits_run), "--precision", "bf16")
        assert refused.returncode == 2 and "no native bf16" in refused.stderr
        return
    bf16 = Predictor(digits_run, precision="bf16")
    server = start_server(digits_run, tmp_path / "bf16.log", "--precision", "bf16")
    try:
        image = digit_images[0][0]
        answer = server.client.post("/predict", files={"file": ("d.png", png_bytes(image), "image/png")}).json()
        expected = bf16.predict_proba([bf16.preprocess.image_to_uint8(Image.fromarray(image))])[0]
        assert answer["index"] == int(np.argmax(expected))
        assert abs(answer["probability"] - float(expected.max())) < 1e-6
    finally:
        stop_server(server)


def test_quantize_errors_are_named(run_copy: Path) -> None:
    bad = run_cli("export", str(run_copy), "--format", "onnx", "--quantize", "int4")
    assert bad.returncode == 2 and "--quantize int8" in bad.stderr
    missing = run_cli("serve", str(run_copy), "--backend", "onnx-int8")
    assert missing.returncode == 2 and "--quantize int8" in missing.stderr and "Traceback" not in missing.stderr
    with pytest.raises(UserError, match="unknown candidate"):
        parity_on_test_split(run_copy, ["fp8"])


def test_bf16_is_refused_where_the_cpu_would_emulate_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import neuralab.serve.predictor as predictor

    monkeypatch.setattr(predictor, "cpu_bf16_units", lambda: None)  # the hardware probe: a true system boundary
    with pytest.raises(UserError, match="no native bf16"):
        predictor.check_precision("bf16", "torch")
    monkeypatch.setattr(predictor, "cpu_bf16_units", lambda: "avx512_bf16")
    assert predictor.check_precision("bf16", "torch") is True
    assert predictor.check_precision("32", "onnx") is False
    with pytest.raises(UserError, match="onnx backends run their own graph"):
        predictor.check_precision("bf16", "onnx-int8")
    with pytest.raises(UserError, match="unknown precision"):
        predictor.check_precision("fp8", "torch")
