"""`neuralab explain` through a subprocess, every zoo model, and torchvision's layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image

from neuralab.data.transforms import Preprocess
from neuralab.errors import UserError
from neuralab.explain import METHODS, explain_batch
from neuralab.explain.target_layer import find_target_layer
from neuralab.models import create_model
from neuralab.models.registry import MODELS
from tests.conftest import run_cli


@pytest.fixture()
def digit_files(tmp_path: Path) -> list[Path]:
    from sklearn.datasets import load_digits

    digits = load_digits()
    files = []
    for i in range(3):
        path = tmp_path / f"digit{i}.png"
        Image.fromarray(np.clip(digits.images[i] * 16, 0, 255).astype(np.uint8)).save(path)
        files.append(path)
    return files


def test_cli_writes_one_overlay_per_image(digits_run: Path, digit_files: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "overlays"
    result = run_cli("explain", str(digits_run), *map(str, digit_files), "--method", "gradcam++", "--out", str(out))
    assert result.returncode == 0, result.stderr
    for path in digit_files:
        png = out / f"{path.stem}.gradcampp.png"
        assert png.is_file() and Image.open(png).size[0] > 100
    assert "predicted" in result.stdout and "layer" in result.stdout

    result = run_cli(
        "explain", str(digits_run), str(digit_files[0]), "--method", "integrated-gradients", "--target", "3"
    )
    assert result.returncode == 0, result.stderr
    assert "for 3" in result.stdout and "completeness gap" in result.stdout
    assert (digits_run / "explain" / "digit0.integrated-gradients.png").is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--method", "magic"], "unknown explain method"),
        (["--target", "cat"], "unknown target class"),
        (["--layer", "nope"], "has no layer"),
    ],
)
def test_cli_errors_name_the_problem(digits_run: Path, digit_files: list[Path], args: list[str], message: str) -> None:
    result = run_cli("explain", str(digits_run), str(digit_files[0]), *args)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr


def test_cli_refuses_a_non_image(digits_run: Path, tmp_path: Path) -> None:
    bad = tmp_path / "notes.png"
    bad.write_text("not an image")
    result = run_cli("explain", str(digits_run), str(bad))
    assert result.returncode == 2 and "not an image" in result.stderr


@pytest.mark.parametrize("name", [n for n in MODELS.names() if "image" in MODELS.get(n).inputs])
def test_every_image_model_in_the_zoo_gets_a_cam(name: str) -> None:
    shape = (3, 32, 32) if name in ("cifar10_net", "resnet") else (1, 28, 28)
    torch.manual_seed(0)
    model = create_model(name, shape, 10).eval()
    pre = Preprocess("image", shape, (0.5,) * shape[0], (0.25,) * shape[0])
    raw = torch.randint(0, 256, (2, *shape), dtype=torch.uint8)
    classes = [str(i) for i in range(10)]
    if name in ("mlp", "mnist_mlp", "regularized_mlp"):  # no convolution: CAM must refuse, not switch method
        with pytest.raises(UserError, match="no convolutional"):
            explain_batch(model, pre, raw, classes, "gradcam")
        return
    for exp in explain_batch(model, pre, raw, classes, "gradcam"):
        assert exp.method == "gradcam" and exp.layer
        assert exp.heat.shape == shape[1:] and np.isfinite(exp.heat).all()  # an untrained CAM may be all 0


def test_torchvision_backbones_get_their_last_block() -> None:
    resnet = torchvision.models.resnet18(num_classes=5).eval()
    assert find_target_layer(resnet, (3, 64, 64))[0] == "layer4"
    mobilenet = torchvision.models.mobilenet_v3_small(num_classes=5).eval()
    name, _ = find_target_layer(mobilenet, (3, 64, 64))
    assert name.startswith("features")


def test_every_method_is_listed_and_runs_on_a_run(digits_run: Path, digit_files: list[Path]) -> None:
    from neuralab.runs import load_model

    model, card = load_model(digits_run)
    pre = Preprocess.from_dict(card["preprocess"])
    raw = torch.stack([pre.image_to_uint8(Image.open(p)) for p in digit_files])
    cli_help = run_cli("explain", "--help").stdout
    assert all(method in cli_help for method in METHODS)  # every method is offered by the CLI
    for method in METHODS:
        for exp in explain_batch(model, pre, raw, card["classes"], method):
            assert exp.heat.shape == (8, 8) and exp.heat.min() >= 0 and exp.heat.max() <= 1
