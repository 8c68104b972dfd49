"""Flip test-time augmentation on and off, on the same trained weights: a paired ablation.

Takes a group folder (`neuralab train --dataset fashion-mnist --repeats 5`) or run folders, and
evaluates every run's model on a split twice: as trained (TTA on, if its model has it) and with
one view only. The switch was chosen on the validation split; reading the test split here only
reports its effect. Prints one JSON line.

`--also flip_shift` evaluates the same weights a third time with another view set (fast_cnn's `tta`
modes), to measure a TTA mode without training again.

Usage: python benchmarks/tta_ablation.py RUN_OR_GROUP [...] [--split test] [--also flip_shift]
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

import torch

from neuralab.models.cnn import TTA_MODES


def runs_of(paths: list[Path]) -> list[Path]:
    found = []
    for path in paths:
        found += sorted(p.parent for p in path.glob("*/model.json")) if (path / "group.json").exists() else [path]
    return found


def evaluate_with_views(run: Path, split: str, mode: str) -> float:
    """The run's accuracy with its model answering through another TTA mode (same weights)."""
    import neuralab.pipeline.inference as inference

    original = inference.load_model

    def load_with_views(run_dir: Path, trust_code: bool = False) -> tuple[torch.nn.Module, dict]:
        model, card = original(run_dir, trust_code=trust_code)
        model.tta = mode
        return model, card

    inference.load_model = load_with_views
    try:
        return float(inference.evaluate_run(run, split=split)["accuracy"])
    finally:
        inference.load_model = original


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument("--split", default="test", choices=["test", "val"])
    parser.add_argument("--also", choices=TTA_MODES, help="a third evaluation with this TTA mode")
    args = parser.parse_args()

    from neuralab.model_contract import single_view
    from neuralab.pipeline.inference import evaluate_run

    rows = []
    for run in runs_of(args.paths):
        with_tta = evaluate_run(run, split=args.split)["accuracy"]
        with single_view(torch.nn.Identity()):
            one_view = evaluate_run(run, split=args.split)["accuracy"]
        row = {"run": run.name, "tta": with_tta, "one_view": one_view, "gain": with_tta - one_view}
        if args.also:
            row[args.also] = evaluate_with_views(run, args.split, args.also)
        rows.append(row)
    gains = [row["gain"] for row in rows]
    also = {}
    if args.also:
        deltas = [row[args.also] - row["tta"] for row in rows]
        also = {f"{args.also}_mean": statistics.mean(r[args.also] for r in rows),
                f"{args.also}_minus_tta_mean": statistics.mean(deltas),
                f"{args.also}_minus_tta_std": statistics.stdev(deltas) if len(deltas) > 1 else 0.0}  # fmt: skip
    print(json.dumps({
        "split": args.split, "runs": rows,
        "tta_mean": statistics.mean(r["tta"] for r in rows),
        "one_view_mean": statistics.mean(r["one_view"] for r in rows),
        "gain_mean": statistics.mean(gains), "gain_std": statistics.stdev(gains) if len(gains) > 1 else 0.0, **also,
    }))  # fmt: skip


if __name__ == "__main__":
    main()
