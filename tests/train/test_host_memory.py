"""Retained host memory: a training process stops faulting pages in for every step's tensors.

Each case runs in a fresh interpreter: the setting is process-wide and cannot be undone.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or os.confstr("CS_GNU_LIBC_VERSION") is None, reason="glibc's mallopt"
)

# Tensors of the sizes a training step allocates (MiB), freed together as a step's are, 20 times over.
CHURN = """
import json, resource, torch
from neuralab.train.host_memory import keep_freed_memory
applied = keep_freed_memory()
def step():
    held = [torch.ones(mib << 18) for mib in (24, 3, 16, 1, 8, 20, 2)]
    held.clear()
step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    step()
pages = 20 * (24 + 3 + 16 + 1 + 8 + 20 + 2) * 256
print(json.dumps({"applied": applied, "again": keep_freed_memory(),
                  "faulted_share": (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / pages}))
"""


def untuned_env(**env: str) -> dict[str, str]:
    """This environment without any malloc settings of the caller's, plus `env`."""
    drop = ("MALLOC_", "NEURALAB_MALLOC", "GLIBC_TUNABLES")
    return {**{k: v for k, v in os.environ.items() if not k.startswith(drop)}, **env}


def churn(**env: str) -> dict[str, float]:
    done = subprocess.run([sys.executable, "-c", CHURN], env=untuned_env(**env), capture_output=True, text=True,
                          check=True)  # fmt: skip
    return json.loads(done.stdout)


def test_freed_tensors_are_reused_without_page_faults() -> None:
    result = churn()
    assert result["applied"] and result["again"]
    # Measured: 0.1-1.4% of the churned pages fault with the setting; glibc's default faulted 5-70%.
    assert result["faulted_share"] < 0.05


def test_opting_out_or_tuning_malloc_oneself_leaves_glibc_alone() -> None:
    assert not churn(NEURALAB_MALLOC="system")["applied"]
    assert not churn(MALLOC_TRIM_THRESHOLD_="131072")["applied"]


def test_a_cpu_training_run_turns_it_on() -> None:
    code = """
import torch
from neuralab.data import BatchLoader, TensorSamples
from neuralab.data.transforms import Preprocess
from neuralab.train import Trainer, build_optimizer, host_memory
from neuralab.train.losses import cross_entropy
model = torch.nn.Linear(4, 2)
data = TensorSamples(torch.randn(32, 4), torch.randint(0, 2, (32,)))
print(host_memory._applied, end=" ")
loader = BatchLoader(data, 8, Preprocess("vector", (4,), (0.0,) * 4, (1.0,) * 4))
Trainer(model, build_optimizer(model, "sgd", lr=0.1), cross_entropy()).fit(loader, epochs=1)
print(host_memory._applied)
"""
    done = subprocess.run([sys.executable, "-c", code], env=untuned_env(), capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["None", "True"]
