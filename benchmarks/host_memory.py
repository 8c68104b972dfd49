"""glibc's default malloc against neuralab's retained host memory (train/host_memory.py), per training step.

The setting is process-wide and cannot be undone, so each arm runs in its own subprocess, the arms
alternating over --rounds, each measuring the Trainer's own loop (data included) on one set-up of
benchmarks/profile_step.py after a warm-up: median ms per step, minor page faults per step, peak RSS.
Prints one JSON line: per set-up, each arm's per-round figures and their medians, and the speed-up.

Usage: python benchmarks/host_memory.py [--setups recipe,simple_cnn] [--rounds 4] [--steps 30] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
from pathlib import Path
from typing import Any

ARMS = {"glibc_default": "system", "retained": ""}  # NEURALAB_MALLOC for each arm


def measure(setup: str, steps: int, threads: int) -> dict[str, float]:
    """One arm in this process: what `neuralab train` would pay per step."""
    import torch

    from neuralab.train.host_memory import keep_freed_memory
    from profile_step import build, trainer_step_seconds

    torch.set_num_threads(threads)
    trainer, loader, _ = build(setup, "bf16-mixed")
    applied = keep_freed_memory()  # the Trainer does this itself; called here to report it
    trainer_step_seconds(trainer, loader, 10)  # warm-up: oneDNN primitives, the heap's first growth
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    seconds = sorted(trainer_step_seconds(trainer, loader, steps) for _ in range(5))
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
    return {
        "retained": applied,
        "ms_per_step": round(seconds[2] * 1e3, 2),
        "faults_per_step": round(faults / (5 * steps)),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main() -> None:
    from process_arms import run_alternating

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--setups", default="recipe,simple_cnn")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--arm", help=argparse.SUPPRESS)  # internal: measure one set-up in this process
    args = parser.parse_args()
    if args.arm:
        print(json.dumps(measure(args.arm, args.steps, args.threads)))
        return
    out: dict[str, Any] = {"benchmark": "host_memory", "threads": args.threads, "steps": args.steps}
    for setup in args.setups.split(","):
        cmd = ["--arm", setup, "--steps", str(args.steps), "--threads", str(args.threads)]
        runs = run_alternating(__file__, {arm: {"NEURALAB_MALLOC": value} for arm, value in ARMS.items()},
                               args.rounds, cmd)  # fmt: skip
        medians = {arm: statistics.median(r["ms_per_step"] for r in rows) for arm, rows in runs.items()}
        out[setup] = {
            **{arm: {"median_ms_per_step": medians[arm], "runs": rows} for arm, rows in runs.items()},
            "speedup": round(medians["glibc_default"] / medians["retained"], 3),
        }
    print(json.dumps(out))


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    main()
