"""Transfer learning offline: pretrain on Fashion-MNIST, fine-tune on a few labelled digits.

Source: fast_cnn trained on all of Fashion-MNIST (its recipe, `--source-epochs`). Target: sklearn's
digits resized to 28x28, `--labels` labelled training images (stratified), the same model and the
same budget (epochs, optimiser, schedule, batch) for every arm:
  scratch  — random initialisation;
  full     — every layer from the Fashion run, all trained (earlier layers at lower lr: lr_decay);
  head     — the Fashion features frozen (BatchNorm in eval), only the new head trained;
  gradual  — head first, then one more layer group every `unfreeze_every` epochs.
Test accuracy on the digits' fixed test split (360 images); means over seeds. One JSON line.

Usage: python benchmarks/transfer_fashion_digits.py [--labels 50,100,200] [--seeds 0,1,2] [--source-epochs 5]
"""

from __future__ import annotations

import argparse
import io
import json
import tempfile
from typing import Any

from rich.console import Console

from neuralab.pipeline import resolve_config, run_config

TARGET = {
    "data": {"name": "digits", "image_size": 28, "augment": "none", "val_fraction": 0.0},
    "model": {"name": "fast_cnn"},
    "optim": {"name": "adam", "lr": 3e-3},
    "sched": {"name": "cosine"},
    "train": {"epochs": 30, "batch_size": 32, "grad_monitor_every": 0},
}  # fmt: skip
ARMS = {
    "scratch": {},
    "full": {"model": {"pretrained": "SOURCE", "finetune": "full", "lr_decay": 0.5}},
    "head": {"model": {"pretrained": "SOURCE", "finetune": "head"}},
    "gradual": {"model": {"pretrained": "SOURCE", "finetune": "gradual", "unfreeze_every": 5}},
}


def merged(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = {k: dict(v) if isinstance(v, dict) else v for k, v in base.items()}
    for key, value in extra.items():
        out[key] = {**out.get(key, {}), **value} if isinstance(value, dict) else value
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--labels", default="50,100,200")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--source-epochs", type=int, default=5)
    parser.add_argument("--source", default="font-digits", help="font-digits or fashion-mnist")
    parser.add_argument("--arms", default=",".join(ARMS))
    args = parser.parse_args()
    quiet = Console(file=io.StringIO())
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as out:
        source_data: dict[str, Any] = {"name": args.source, "image_size": 28 if args.source == "font-digits" else None}
        source_cfg = resolve_config({"data": source_data, "train": {"epochs": args.source_epochs,
                                     "grad_monitor_every": 0}, "out_dir": out, "name": "source"})  # fmt: skip
        source = run_config(source_cfg, quiet)
        results["source"] = {"dataset": args.source, "epochs": args.source_epochs,
                             "test_accuracy": round(100 * source.summary["test"]["accuracy"], 2),
                             "train_seconds": round(source.summary["train_seconds"], 1)}  # fmt: skip
        for labels in (int(n) for n in args.labels.split(",")):
            row: dict[str, Any] = {}
            for arm in args.arms.split(","):
                accuracies = []
                for seed in (int(s) for s in args.seeds.split(",")):
                    extra = json.loads(json.dumps(ARMS[arm]).replace("SOURCE", str(source.run_dir)))
                    cfg = merged(TARGET, extra)
                    cfg = merged(cfg, {"data": {"subset": labels}, "train": {"seed": seed}})
                    cfg.update({"out_dir": out, "name": f"{arm}-{labels}-{seed}"})
                    summary = run_config(resolve_config(cfg), quiet).summary
                    accuracies.append(round(100 * summary["test"]["accuracy"], 2))
                row[arm] = {"accuracies": accuracies, "mean": round(sum(accuracies) / len(accuracies), 2)}
            best = max((a for a in row if a != "scratch"), key=lambda a: row[a]["mean"], default=None)
            if best is not None and "scratch" in row:
                row["best_transfer"] = best
                row["gain_over_scratch"] = round(row[best]["mean"] - row["scratch"]["mean"], 2)
            results[f"{labels}_labels"] = row
            print(json.dumps({f"{labels}_labels": row}), flush=True)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
