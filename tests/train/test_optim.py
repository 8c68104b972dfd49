"""Parameter groups: no decay on biases and norms, and their own learning-rate multiplier."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from torch import nn

from neuralab.train import LRController, build_optimizer, make_schedule
from tests.conftest import run_cli


def small_net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))


def test_biases_and_norms_get_the_scaled_rate_through_the_whole_schedule() -> None:
    net = small_net()
    optimizer = build_optimizer(net, "sgd", lr=0.1, momentum=0.0, weight_decay=1e-3, bias_lr_scale=8.0)
    vectors = {id(p) for p in net.parameters() if p.ndim < 2}
    controller = LRController(optimizer, make_schedule("onecycle", steps_per_epoch=10, epochs=3))
    for step in range(30):
        controller.apply(step)
        rates = {("vector" if id(g["params"][0]) in vectors else "matrix"): g["lr"] for g in optimizer.param_groups}
        assert rates["vector"] == pytest.approx(8.0 * rates["matrix"], rel=1e-12, abs=1e-15)
    for group in optimizer.param_groups:
        assert group["weight_decay"] == (0.0 if id(group["params"][0]) in vectors else 1e-3)


def test_one_plain_sgd_step_moves_a_bias_by_the_scaled_rate() -> None:
    net = small_net()
    optimizer = build_optimizer(net, "sgd", lr=0.05, momentum=0.0, bias_lr_scale=4.0)
    bias, weight = net[0].bias, net[0].weight
    before_bias, before_weight = bias.detach().clone(), weight.detach().clone()
    net(torch.randn(16, 4)).square().mean().backward()
    grad_bias, grad_weight = bias.grad.clone(), weight.grad.clone()
    optimizer.step()
    torch.testing.assert_close(bias.detach(), before_bias - 0.05 * 4.0 * grad_bias)
    torch.testing.assert_close(weight.detach(), before_weight - 0.05 * grad_weight)


def test_layer_groups_keep_both_multipliers() -> None:
    net = small_net()
    optimizer = build_optimizer(net, "sgd", lr=0.1, layer_groups=[[net[0], net[1]], [net[3]]], lr_decay=0.5,
                                bias_lr_scale=2.0)  # fmt: skip
    rates = sorted(g["lr"] for g in optimizer.param_groups)
    assert rates == pytest.approx([0.05, 0.1, 0.1, 0.2])  # first-layer weights, its vectors; head weights, vectors


def test_the_cli_freezes_batchnorm_scales_and_speeds_up_biases(tmp_path: Path) -> None:
    result = run_cli(
        "train", "--dataset", "digits", "--out", str(tmp_path), "--name", "airbench",
        "--set", "model.name=fast_cnn", "--set", "model.args.norm_scale=false",
        "--set", "optim.bias_lr_scale=8", "--set", "train.epochs=2",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    weights = load_file(tmp_path / "airbench" / "model.safetensors")
    scales = [name for name in weights if name.endswith(".weight") and weights[name].ndim == 1]
    assert scales and all(torch.equal(weights[name], torch.ones_like(weights[name])) for name in scales)
    assert any(weights[name.replace(".weight", ".bias")].abs().sum() > 0 for name in scales)  # biases trained
    config = (tmp_path / "airbench" / "config.yaml").read_text()
    assert "bias_lr_scale: 8" in config
    assert json.loads((tmp_path / "airbench" / "summary.json").read_text())["test"]["accuracy"] > 0.5


def test_a_nonpositive_multiplier_is_refused_by_name(tmp_path: Path) -> None:
    result = run_cli("train", "--dataset", "digits", "--out", str(tmp_path), "--set", "optim.bias_lr_scale=0")
    assert result.returncode != 0
    assert "bias_lr_scale" in result.stderr + result.stdout and "Traceback" not in result.stderr
