"""TPE with pruning against an exhaustive grid over the same space, on a fixed Fashion-MNIST subset.

Prints one JSON line: the grid's best validation accuracy and total epochs, and TPE+median-pruning's
best validation accuracy and total epochs (counting pruned trials' epochs), for --seeds TPE seeds.
Target: TPE within 0.3 points of the grid's best while spending <= 40% of its epochs.

The validation split is 25% of a 12,000-image subset (3,000 images: one image is 0.03 points), so
the comparison measures the search, not validation noise.

Usage: python benchmarks/tune_fashion.py [--subset 12000] [--val-fraction 0.25] [--epochs 4] [--tpe-trials 5]
       [--seeds 3] [--pruner median] [--grid-from EARLIER_OUTPUT]
"""

from __future__ import annotations

import argparse
import io
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console

from neuralab.tune import run_tune

SEARCH = {
    "optim.lr": {"type": "categorical", "choices": [0.01, 0.03, 0.1, 0.3]},
    "model.args.widths": {"type": "categorical", "choices": [[16, 32, 64], [32, 48, 96], [48, 96, 192]]},
}


def study(args: argparse.Namespace, sampler: str, pruner: str, trials: int, seed: int) -> dict[str, Any]:
    user = {
        "data": {"name": "fashion-mnist", "subset": args.subset, "val_fraction": args.val_fraction, "download": False},
        "model": {"name": "fast_cnn"},
        "optim": {"name": "sgd", "momentum": 0.9, "nesterov": True, "weight_decay": 5e-4},
        "sched": {"name": "onecycle", "pct_start": 0.15},
        "train": {"epochs": args.epochs, "batch_size": 128, "label_smoothing": 0.1, "seed": 0},
        "search": SEARCH,
    }
    start = time.perf_counter()
    out = Path(tempfile.mkdtemp(prefix=f"tune-{sampler}-"))
    result = run_tune(
        user, out, trials=trials, sampler=sampler, pruner=pruner, seed=seed, console=Console(file=io.StringIO())
    )
    epochs = sum(int(t.user_attrs.get("epochs_run", 0)) for t in result.study.trials)
    return {
        "values": sorted((round(100 * t.value, 2) for t in result.study.trials if t.value is not None), reverse=True),
        "best_val_accuracy": result.study.best_value,
        "epochs": epochs,
        "trials": len(result.study.trials),
        "seconds": round(time.perf_counter() - start, 1),
        "best_params": result.study.best_params,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subset", type=int, default=12000)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--val-fraction", type=float, default=0.25)
    parser.add_argument("--tpe-trials", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--pruner", default="median")
    parser.add_argument("--grid-from", type=Path, help="reuse the grid of an earlier output line (same settings)")
    args = parser.parse_args()
    if args.grid_from:
        grid = json.loads(args.grid_from.read_text(encoding="utf-8"))["grid"]
    else:
        grid = study(args, "grid", "none", 100, 0)
    tpe = [study(args, "tpe", args.pruner, args.tpe_trials, seed) for seed in range(args.seeds)]
    print(
        json.dumps(
            {
                "pruner": args.pruner,
                "grid": grid,
                "tpe": tpe,
                "tpe_gap_points": [round(100 * (grid["best_val_accuracy"] - t["best_val_accuracy"]), 2) for t in tpe],
                "tpe_epoch_share": [round(t["epochs"] / grid["epochs"], 3) for t in tpe],
            }
        )
    )


if __name__ == "__main__":
    main()
