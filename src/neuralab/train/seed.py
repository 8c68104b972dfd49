"""Seeds, thread counts and determinism switches, recorded so a run can be repeated."""

from __future__ import annotations

import os
import random
from typing import Any

import numpy as np
import torch

from neuralab.hardware import usable_cores


def seed_everything(seed: int, threads: int | None = None, deterministic: bool = False) -> dict[str, Any]:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    threads = threads or usable_cores()
    torch.set_num_threads(threads)
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False
    return {"seed": seed, "threads": threads, "deterministic": deterministic}


def rng_state() -> dict[str, Any]:
    state: dict[str, Any] = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
