"""The patch-whitening stem: fitted on real training images, frozen, saved with the run, refused unfitted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from sklearn.datasets import load_digits

from neuralab.errors import UserError
from neuralab.models import create_model
from neuralab.models.whitening import PatchWhitening
from neuralab.runs import load_model
from tests.conftest import run_cli


def digit_images() -> torch.Tensor:
    """sklearn's 1,797 real 8x8 digits as uint8 [N, 1, 8, 8] (0-16 scaled to 0-255)."""
    return torch.from_numpy(load_digits().images * (255 / 16)).round().to(torch.uint8).unsqueeze(1)


def test_adapted_filters_decorrelate_real_patches_to_unit_variance() -> None:
    images = digit_images()
    stem = PatchWhitening(1, kernel_size=2)
    stem.adapt(images)
    with torch.no_grad():
        maps = stem(images.double().div(255).float())  # the scale adapt fitted on (the sample's maximum is 255)
    half = maps[:, :4].permute(0, 2, 3, 1).reshape(-1, 4).double()
    covariance = torch.cov(half.T)
    assert torch.allclose(covariance.diagonal(), torch.ones(4, dtype=torch.float64), atol=0.1)  # eps shrinks a little
    assert (covariance - torch.diag(covariance.diagonal())).abs().max() < 0.02
    torch.testing.assert_close(maps[:, 4:], -maps[:, :4])  # each filter beside its negation: ReLU loses nothing


def test_an_unfitted_stem_refuses_to_train_and_a_loaded_one_does_not() -> None:
    model = create_model("fast_cnn", (1, 8, 8), 10, whiten=2).train()
    batch = torch.randn(4, 1, 8, 8)
    with pytest.raises(UserError, match="never fitted") as caught:
        model(batch)
    assert "model.adapt" in str(caught.value)
    model.adapt(digit_images())
    model(batch)
    reloaded = create_model("fast_cnn", (1, 8, 8), 10, whiten=2)
    reloaded.load_state_dict(model.state_dict())
    reloaded.train()(batch)  # fitted travels with the weights


def test_negative_kernel_size_is_refused() -> None:
    with pytest.raises(UserError, match="whiten is a kernel size"):
        create_model("fast_cnn", (1, 28, 28), 10, whiten=-1)


def test_the_cli_fits_it_on_the_training_split_keeps_it_frozen_and_saves_it(tmp_path: Path) -> None:
    result = run_cli(
        "train", "--dataset", "digits", "--out", str(tmp_path), "--name", "whiten",
        "--set", "model.name=fast_cnn", "--set", "model.args.whiten=2", "--set", "train.epochs=3",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    run_dir = tmp_path / "whiten"
    model, card = load_model(run_dir)
    assert card["args"]["whiten"] == 2
    weight = model.features[0].conv.weight
    torch.testing.assert_close(weight[4:], -weight[:4])  # three epochs of SGD would have broken the pairs
    assert weight.abs().sum() > 0 and bool(model.features[0].fitted)
    summary = json.loads((run_dir / "summary.json").read_text())
    evaluated = run_cli("evaluate", str(run_dir), "--json")
    assert evaluated.returncode == 0, evaluated.stderr
    assert json.loads(evaluated.stdout)["accuracy"] == pytest.approx(summary["test"]["accuracy"], abs=1e-9)


def test_the_sklearn_estimator_fits_it_on_its_training_inputs() -> None:
    from neuralab.sklearn import NeuralNetClassifier

    images, labels = digit_images()[:600], load_digits().target[:600]
    clf = NeuralNetClassifier("fast_cnn", model_args={"whiten": 2}, epochs=2, batch_size=64).fit(images.numpy(), labels)
    stem = clf.module_.features[0]
    assert bool(stem.fitted)
    torch.testing.assert_close(stem.conv.weight[4:], -stem.conv.weight[:4])
