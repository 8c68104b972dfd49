"""Scaling on this machine: 1 process x N threads against N processes x 1 thread (DDP, gloo). One JSON line.

Both arms train the same config with the same global batch through the CLI (`neuralab train`, and
`neuralab train --nproc N`, which launches torchrun), one after the other, so they see the same
machine. Reported per arm: training images/s (from summary.json: time inside the epochs only),
wall seconds of the whole command (process start, data, evaluation), and test accuracy. On a
2-core machine DDP is not expected to win: both arms use the same two cores, and DDP adds a
gradient all-reduce per step plus a second Python process; its worth is on machines with more
cores or several GPUs/nodes.

Usage: python benchmarks/distributed.py [--dataset fashion-mnist] [--nproc 2] [--epochs 3] [--seeds 0]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def run(args: list[str], out: Path, name: str) -> dict[str, Any]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "neuralab", "train", *args, "--out", str(out), "--name", name],
                          capture_output=True, text=True, check=False)  # fmt: skip
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{name} failed:\n{done.stderr[-3000:]}")
    summary = json.loads((out / name / "summary.json").read_text())
    return {"images_per_s": summary["train_images_per_s"], "train_s": summary["train_seconds"], "wall_s": wall,
            "test_accuracy": summary["test"]["accuracy"]}  # fmt: skip


def mean_sd(values: list[float]) -> dict[str, float]:
    return {"mean": statistics.fmean(values), "sd": statistics.stdev(values) if len(values) > 1 else 0.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="fashion-mnist")
    parser.add_argument("--nproc", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seeds", default="0")
    opts = parser.parse_args()
    cores = len(os.sched_getaffinity(0))
    common = ["--dataset", opts.dataset, "--epochs", str(opts.epochs)]
    arms: dict[str, list[dict[str, Any]]] = {f"1 process x {cores} threads": [], f"{opts.nproc} processes (DDP)": []}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in [int(s) for s in opts.seeds.split(",")]:
            seeded = [*common, "--seed", str(seed)]
            arms[f"1 process x {cores} threads"].append(run(seeded, Path(tmp), f"single-{seed}"))
            arms[f"{opts.nproc} processes (DDP)"].append(run([*seeded, "--nproc", str(opts.nproc)], Path(tmp),
                                                             f"ddp-{seed}"))  # fmt: skip
    report = {
        "benchmark": "distributed",
        "dataset": opts.dataset,
        "epochs": opts.epochs,
        "cores": cores,
        "arms": {name: {key: mean_sd([r[key] for r in rows]) for key in rows[0]} for name, rows in arms.items()},
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
