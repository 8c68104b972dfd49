"""Denormal floats kept against flushed to zero (train/denormals.py), over whole epochs of real training.

Denormals appear only after hundreds of steps (Adam's first moment of a weight whose gradient stays at
zero shrinks by 0.9 a step), so a few hundred timed steps miss them: each arm trains one set-up of
benchmarks/profile_step.py on Fashion-MNIST for --epochs full epochs and reports each epoch's seconds and
how many of the optimizer's state values ended denormal. The setting is per process and cannot be undone,
so each arm runs in its own subprocess, the arms alternating over --rounds.
Prints one JSON line: per set-up, each arm's runs, the median seconds of the last epoch, and the speed-up.

Usage: python benchmarks/denormals.py [--setups simple_cnn,recipe] [--epochs 2] [--rounds 2] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ARMS = {"kept": "keep", "flushed": ""}  # NEURALAB_DENORMALS for each arm


def count_denormals(values: Any) -> int:
    """Read from the bits: with DAZ on, a float comparison would see every denormal as zero."""
    import torch

    if values.dtype != torch.float32:
        return 0
    bits = values.view(torch.int32)
    return int(((bits & 0x7F800000) == 0).logical_and_((bits & 0x007FFFFF) != 0).sum())


def measure(setup: str, epochs: int, threads: int) -> dict[str, Any]:
    """One arm in this process: `epochs` epochs as `neuralab train` runs them."""
    import torch

    from neuralab.train.denormals import flush_denormals
    from profile_step import build

    torch.set_num_threads(threads)
    trainer, loader, _ = build(setup, "bf16-mixed")
    seconds = []
    for epoch in range(epochs):
        trainer.state.epoch = epoch
        start = time.perf_counter()
        trainer.fit(loader, None, epochs=epoch + 1)
        seconds.append(round(time.perf_counter() - start, 2))
    state = [v for s in trainer.optimizer.state.values() for v in s.values() if torch.is_tensor(v) and v.numel() > 1]
    total = sum(v.numel() for v in state)
    denormal = sum(count_denormals(v) for v in state)
    return {
        "flushed": flush_denormals(),  # the Trainer called it already; this reports what it did
        "epoch_seconds": seconds,
        "optimizer_state_values": total,
        "denormal_state_values": denormal,
    }


def main() -> None:
    from process_arms import run_alternating

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--setups", default="simple_cnn,recipe")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--arm", help=argparse.SUPPRESS)  # internal: measure one set-up in this process
    args = parser.parse_args()
    if args.arm:
        print(json.dumps(measure(args.arm, args.epochs, args.threads)))
        return
    out: dict[str, Any] = {"benchmark": "denormals", "threads": args.threads, "epochs": args.epochs}
    for setup in args.setups.split(","):
        cmd = ["--arm", setup, "--epochs", str(args.epochs), "--threads", str(args.threads)]
        runs = run_alternating(__file__, {arm: {"NEURALAB_DENORMALS": value} for arm, value in ARMS.items()},
                               args.rounds, cmd)  # fmt: skip
        last = {arm: statistics.median(r["epoch_seconds"][-1] for r in rows) for arm, rows in runs.items()}
        out[setup] = {
            **{arm: {"median_last_epoch_s": last[arm], "runs": rows} for arm, rows in runs.items()},
            "last_epoch_speedup": round(last["kept"] / last["flushed"], 3),
        }
    print(json.dumps(out))


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    main()
