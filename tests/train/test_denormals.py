"""Denormals flushed to zero on every thread that trains, not only the calling one.

Each case runs in a fresh interpreter: once set, a thread keeps the setting. Each starts
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
# by 0.9, into the denormal range unless the threads that do the arithmetic flush. Read from the bits:
# with DAZ on, a float comparison would see every denormal as zero.
ADAM_PROBE = """
import json, sys
import sklearn.linear_model  # brings a second libgomp into the process
import torch
torch.set_num_threads(2)

def denormal_share_after_adam():
    weight = torch.nn.Parameter(torch.zeros(1 << 20))
    optimizer = torch.optim.Adam([weight], fused=True)
    weight.grad = torch.ones_like(weight)
    optimizer.step()
    optimizer.state[weight]["exp_avg"].fill_(1.2e-38)
    weight.grad = torch.zeros_like(weight)
    optimizer.step()
    bits = optimizer.state[weight]["exp_avg"].view(torch.int32)
    denormal = ((bits & 0x7F800000) == 0).logical_and_((bits & 0x007FFFFF) != 0)
    return denormal.float().mean().item()
"""

PROBE = (
    ADAM_PROBE
    + """
torch.randn(512, 512) @ torch.randn(512, 512)  # PyTorch's OpenMP threads exist before the setting
{turn_on}
print(json.dumps({{"applied": applied, "denormal_share": denormal_share_after_adam()}}))
"""
)

# A thread that existed before anyone asked leads its own OpenMP team: asking there sets that thread
# and its team, and leaves the main thread as it was.
IN_A_THREAD = (
    ADAM_PROBE
    + """
import threading
from neuralab.train.denormals import flush_denormals
result = {}
def worker():
    torch.randn(512, 512) @ torch.randn(512, 512)  # this thread's own OpenMP team, started first
    result["applied"] = flush_denormals()
    result["thread_share"] = denormal_share_after_adam()
thread = threading.Thread(target=worker)
torch.randn(512, 512) @ torch.randn(512, 512)
thread.start()
thread.join()
result["main_share"] = denormal_share_after_adam()
print(json.dumps(result))
"""
)

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


def run(code: str, **env: str) -> dict[str, float]:
    environment = {**{k: v for k, v in os.environ.items() if k != "NEURALAB_DENORMALS"}, **env}
    done = subprocess.run([sys.executable, "-c", code], env=environment, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def probe(turn_on: str, **env: str) -> dict[str, float]:
    return run(PROBE.format(turn_on=turn_on), **env)


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


def test_each_thread_that_asks_flushes_with_its_own_team() -> None:
    result = run(IN_A_THREAD)
    assert result["applied"]
    assert result["thread_share"] == 0.0
    assert result["main_share"] == 1.0  # the main thread never asked: per thread, as the flags are
