"""`precision: auto` follows what the CPU computes natively, and what was measured to pay on it."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from neuralab.models import create_model
from neuralab.train import device as device_module
from neuralab.train.device import Device, auto_precision

CPU = torch.device("cpu")


@pytest.fixture
def conv_model() -> nn.Module:
    return create_model("simple_cnn", (1, 8, 8), 10)


@pytest.fixture
def dense_model() -> nn.Module:
    return create_model("mlp", (1, 8, 8), 10)


@pytest.mark.parametrize(
    ("units", "conv", "dense"),
    [("amx", "bf16-mixed", "32"), ("avx512_bf16", "bf16-mixed", "32"), (None, "32", "32")],
)
def test_auto_precision_by_bf16_units(
    monkeypatch: pytest.MonkeyPatch, conv_model: nn.Module, dense_model: nn.Module, units: str | None,
    conv: str, dense: str,
) -> None:  # fmt: skip
    # The CPU's feature flags are the system boundary: each kind of CPU is simulated here.
    monkeypatch.setattr(device_module, "cpu_bf16_units", lambda: units)
    assert auto_precision(CPU, conv_model) == conv
    assert auto_precision(CPU, dense_model) == dense
    assert Device.create("cpu", "auto", model=conv_model).precision == conv


def test_explicit_precision_is_kept_whatever_the_cpu(monkeypatch: pytest.MonkeyPatch, conv_model: nn.Module) -> None:
    monkeypatch.setattr(device_module, "cpu_bf16_units", lambda: "amx")
    assert Device.create("cpu", "32", model=conv_model).precision == "32"


def test_bf16_step_trains_a_conv_model(conv_model: nn.Module) -> None:
    """bf16 autocast runs on any CPU (emulated where not native): the step must still learn."""
    from neuralab.train import Trainer, build_optimizer
    from neuralab.train.losses import cross_entropy

    torch.manual_seed(0)
    device = Device.create("cpu", "bf16-mixed", model=conv_model)
    trainer = Trainer(conv_model, build_optimizer(conv_model, "adam", lr=1e-2), cross_entropy(), device=device)
    x, y = torch.randn(32, 1, 8, 8), torch.randint(0, 10, (32,))
    first = float(trainer._train_step(x, y))
    for _ in range(30):
        last = float(trainer._train_step(x, y))
    assert last < first / 2
    assert all(p.dtype == torch.float32 for p in conv_model.parameters())  # master weights stay fp32


def test_full_precision_evaluation_skips_autocast(conv_model: nn.Module) -> None:
    """A run's final test figures are computed as `evaluate` computes them: fp32, whatever trained."""
    from neuralab.train import Trainer, build_optimizer
    from neuralab.train.losses import cross_entropy
    from tests.train.helpers import digits_loaders

    _, _, test = digits_loaders()
    bf16 = Trainer(conv_model, build_optimizer(conv_model, "sgd", lr=0.0), cross_entropy(),
                   device=Device.create("cpu", "bf16-mixed", "off"))  # fmt: skip
    fp32 = Trainer(conv_model, build_optimizer(conv_model, "sgd", lr=0.0), cross_entropy(),
                   device=Device.create("cpu", "32", "off"))  # fmt: skip
    exact, reference = bf16.evaluate(test, full_precision=True), fp32.evaluate(test)
    assert exact.loss == reference.loss and (exact.y_pred == reference.y_pred).all()
    assert bf16.evaluate(test).loss != reference.loss  # autocast really was on without it
