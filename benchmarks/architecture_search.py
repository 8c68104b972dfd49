"""Architecture search against the hand-designed fast_cnn, same data and budget per model. One JSON line.

Fashion-MNIST, a stratified training subset, a few epochs per model. The study (`neuralab tune
--objectives accuracy,latency`, TPE, a fixed number of trials) searches fast_cnn's widths, depth,
kernel size and block type; the hand-designed default (widths 32-48-96, convs 1-1-2, 3x3, plain)
trains once with the same settings. Everything is judged on the validation split, as the search
is; the test accuracy of each front point and of the baseline is reported beside it, never used.
Latency: milliseconds per image at batch 1 on one thread (the study's own measurement).

Usage: python benchmarks/architecture_search.py [--trials 12] [--subset 10000] [--epochs 3]
"""

from __future__ import annotations

import argparse
import io
import json
import tempfile
import time
from pathlib import Path

from rich.console import Console

from neuralab.pipeline import evaluate_run, resolve_config, run_config
from neuralab.tune import run_tune
from neuralab.tune.objectives import latency_ms

SPACE = {
    "model.args.widths": {"type": "categorical",
                          "choices": [[16, 32, 64], [24, 48, 96], [32, 48, 96], [32, 64, 128], [48, 96, 128]]},
    "model.args.convs_per_group": {"type": "categorical", "choices": [[1, 1, 1], [1, 1, 2], [1, 2, 2], [2, 2, 2]]},
    "model.args.kernel_size": {"type": "categorical", "choices": [3, 5]},
    "model.args.block": {"type": "categorical", "choices": ["plain", "residual"]},
}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--subset", type=int, default=10000)
    parser.add_argument("--epochs", type=int, default=3)
    opts = parser.parse_args()
    base = {"data": {"name": "fashion-mnist", "subset": opts.subset}, "model": {"name": "fast_cnn"},
            "train": {"epochs": opts.epochs}}  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        result = run_tune({**base, "search": SPACE}, Path(tmp) / "study", trials=opts.trials, pruner="none",
                          objectives="accuracy,latency", console=Console(file=io.StringIO()))  # fmt: skip
        search_s = time.perf_counter() - started
        front = json.loads((Path(tmp) / "study" / "pareto.json").read_text())["front"]
        cfg = resolve_config({**base, "out_dir": tmp, "name": "fast_cnn"})
        baseline_run = run_config(cfg, Console(file=io.StringIO()))
        baseline = {
            "val_accuracy": baseline_run.summary["best"]["value"],
            "latency": latency_ms(baseline_run.run_dir),
            "test_accuracy": evaluate_run(baseline_run.run_dir, "test")["accuracy"],
        }
    better = [p for p in front if p["val_accuracy"] >= baseline["val_accuracy"] and p["latency"] < baseline["latency"]]
    print(json.dumps({
        "benchmark": "architecture_search", "dataset": "fashion-mnist", "subset": opts.subset, "epochs": opts.epochs,
        "trials": len(result.study.trials), "search_s": round(search_s, 1),
        "front": [{k: p[k] for k in ("trial", "val_accuracy", "latency", "test_accuracy", "params")} for p in front],
        "fast_cnn": baseline,
        "front_has_a_point_as_accurate_and_faster": bool(better),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
