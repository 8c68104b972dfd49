"""Export to ONNX and TorchScript with a parity check, and the onnx backend serving the same answers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from neuralab.errors import UserError
from neuralab.serve.export import _export_onnx, export_run, sample_batch
from neuralab.serve.inputs import InputLimits, text_to_tensor
from neuralab.serve.predictor import Predictor
from tests.conftest import needs_fortunes, run_cli
from tests.serve.conftest import png_bytes, start_server, stop_server


def test_export_onnx_cli_prints_parity_and_backend_agrees(digits_run: Path, tmp_path: Path, digit_images) -> None:
    result = run_cli("export", str(digits_run), "--format", "onnx")
    assert result.returncode == 0, result.stderr
    assert "max abs difference" in result.stdout
    assert (digits_run / "model.onnx").is_file()

    torch_predictor, onnx_predictor = Predictor(digits_run), Predictor(digits_run, "onnx")
    assert list(sample_batch(torch_predictor.preprocess, 1).shape) == [1, 1, 8, 8]
    inputs = [torch_predictor.preprocess.image_to_uint8(Image.fromarray(img)) for img, _ in digit_images]
    np.testing.assert_allclose(onnx_predictor.predict_proba(inputs), torch_predictor.predict_proba(inputs), atol=1e-5)

    server = start_server(digits_run, tmp_path / "onnx.log", "--backend", "onnx")
    try:
        assert server.client.get("/health").json()["backend"] == "onnx"
        for img, _ in digit_images[:10]:
            got = server.client.post("/predict", files={"file": ("d.png", png_bytes(img), "image/png")}).json()
            expected = torch_predictor.predict_proba([torch_predictor.preprocess.image_to_uint8(Image.fromarray(img))])
            assert got["index"] == int(np.argmax(expected[0]))
    finally:
        stop_server(server)


def test_export_torchscript(digits_run: Path, tmp_path: Path) -> None:
    result = export_run(digits_run, "torchscript", tmp_path / "m.pt")
    assert result.path.is_file() and result.max_abs_diff < 1e-4
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary file left behind


def test_export_errors(digits_run: Path, tmp_path: Path) -> None:
    with pytest.raises(UserError, match="unknown export format"):
        export_run(digits_run, "tflite", tmp_path / "x")  # type: ignore[arg-type]
    with pytest.raises(UserError, match="does not exist"):
        export_run(tmp_path / "nope", "onnx")
    missing = tmp_path / "run"
    missing.mkdir()
    for name in ("model.json", "model.safetensors"):
        (missing / name).write_bytes((digits_run / name).read_bytes())
    with pytest.raises(UserError, match="export it first"):
        Predictor(missing, "onnx")


@needs_fortunes
@pytest.mark.parametrize(
    "model_args",
    [
        [],  # the recipe's TF-IDF text_bag: token ids in, term counts computed in the graph
        ["--model", "text_rnn", "--set", "model.args.hidden=16"],  # left-aligning scatter, bi-LSTM, reversal
        ["--model", "text_transformer", "--set", "model.args.layers=1"],  # padding mask
    ],
    ids=["text_bag", "text_rnn", "text_transformer"],
)
def test_text_model_exports_to_onnx_and_serves_the_same_probabilities(tmp_path: Path, model_args: list[str]) -> None:
    """Each text model through ONNX gives the probabilities PyTorch gives, padding and all."""
    result = run_cli("train", "--dataset", "fortunes-zh", "--epochs", "1", *model_args, "--out", str(tmp_path),
                     "--name", "zh")  # fmt: skip
    assert result.returncode == 0, result.stderr
    run = tmp_path / "zh"
    result = run_cli("export", str(run), "--format", "onnx")
    assert result.returncode == 0, result.stderr
    torch_predictor, onnx_predictor = Predictor(run), Predictor(run, "onnx")
    texts = ["学而时习之，不亦说乎", "有钱能使鬼推磨", "花开花落花满天", "x"]
    inputs = [text_to_tensor(t, torch_predictor.preprocess, torch_predictor.tokenizer, InputLimits()) for t in texts]
    np.testing.assert_allclose(onnx_predictor.predict_proba(inputs), torch_predictor.predict_proba(inputs), atol=1e-5)


def test_a_model_no_onnx_exporter_can_convert_is_named_with_what_to_do(tmp_path: Path) -> None:
    class Eigen(torch.nn.Module):  # eigh has no ONNX operator in either exporter
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.linalg.eigh(x @ x.transpose(-1, -2)).eigenvalues

    with pytest.raises(UserError, match="neither ONNX exporter could convert this model") as info:
        _export_onnx(Eigen(), torch.randn(2, 3, 3), tmp_path / "m.onnx")
    assert "torchscript" in (info.value.hint or "")
