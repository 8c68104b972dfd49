"""Denormals flushed to zero on every thread that trains, not only the calling one.

Each case runs in a fresh interpreter: the setting is process-wide and cannot be undone. Each starts
PyTorch's two OpenMP threads and loads scikit-learn's own libgomp before asking, the order in which a
real run meets them (setting only the calling thread, or reaching scikit-learn's runtime, left exactly
half of an optimizer's values denormal).
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64"), reason="x86's FTZ/DAZ")

# Adam's first moments just above the smallest normal float; one step with zero gradients multiplies them
# by 0.9, into the denormal range unless the threads that do the arithmetic flush.
PROBE = """
import json, sys
import sklearn.linear_model  # brings a second libgomp into the process
import torch
torch.set_num_threads(2)
torch.randn(512, 512) @ torch.randn(512, 512)  # PyTorch's OpenMP threads exist before the setting
{turn_on}
weight = torch.nn.Parameter(torch.zeros(1 << 20))
optimizer = torch.optim.Adam([weight], fused=True)
weight.grad = torch.ones_like(weight)
optimizer.step()
optimizer.state[weight]["exp_avg"].fill_(1.2e-38)
weight.grad = torch.zeros_like(weight)
optimizer.step()
bits = optimizer.state[weight]["exp_avg"].view(torch.int32)
denormal = ((bits & 0x7F800000) == 0).logical_and_((bits & 0x007FFFFF) != 0)
print(json.dumps({{"applied": applied, "denormal_share": denormal.float().mean().item()}}))
"""

DIRECT = """
from neuralab.train.denormals import flush_denormals
applied = flush_denormals() and flush_denormals()
"""

# What `neuralab train` does: the Trainer turns it on when a fit starts on the CPU (one epoch on digits).
THROUGH_TRAINER = """
from neuralab.data import BatchLoader, LoadOptions
from neuralab.data.digits import load_digits_data
from neuralab.models import create_model
from neuralab.train import Trainer, build_optimizer
from neuralab.train.losses import cross_entropy
from neuralab.train.denormals import flush_denormals
data = load_digits_data(LoadOptions())
model = create_model("mlp", data.preprocess.input_shape, 10)
loader = BatchLoader(data.train, 64, data.preprocess, shuffle=True)
Trainer(model, build_optimizer(model, "adam", lr=1e-3), cross_entropy()).fit(loader, None, epochs=1)
applied = flush_denormals()
"""


def probe(turn_on: str, **env: str) -> dict[str, float]:
    environment = {**{k: v for k, v in os.environ.items() if k != "NEURALAB_DENORMALS"}, **env}
    code = PROBE.format(turn_on=turn_on)
    done = subprocess.run([sys.executable, "-c", code], env=environment, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_every_openmp_thread_flushes() -> None:
    result = probe(DIRECT)
    assert result["applied"]
    assert result["denormal_share"] == 0.0


def test_a_trainer_fit_turns_it_on() -> None:
    result = probe(THROUGH_TRAINER)
    assert result["applied"]
    assert result["denormal_share"] == 0.0


def test_opting_out_keeps_denormals() -> None:
    result = probe(DIRECT, NEURALAB_DENORMALS="keep")
    assert not result["applied"]
    assert result["denormal_share"] == 1.0  # the probe does make denormals: the other cases are not vacuous
