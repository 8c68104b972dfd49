"""Self-supervised pretraining on Fashion-MNIST without its labels, then 1% of the labels. One JSON line.

Per seed: SimCLR (`neuralab train --task ssl`) on the training images (a stratified `--ssl-subset`
of them, labels unused), then with 600 labelled images (60 per class): the linear probe on the
frozen features, on an untrained encoder and on raw pixels (fitted on the same 600, scored on the
10,000 test images), and fine-tuning the encoder (`model.pretrained=RUN_DIR`) against training the
same model from scratch on the same 600. Reported as mean and standard deviation over the seeds,
with the CPU seconds of pretraining.

Usage: python benchmarks/ssl_fashion.py [--seeds 0,1,2] [--ssl-epochs 10] [--ssl-subset 20000]
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import tempfile
from pathlib import Path
from typing import Any

from rich.console import Console

from neuralab.pipeline import resolve_config, train

QUIET = Console(file=io.StringIO())


def mean_sd(values: list[float]) -> dict[str, float]:
    return {"mean": statistics.fmean(values), "sd": statistics.stdev(values) if len(values) > 1 else 0.0}


def one_seed(seed: int, out: Path, opts: argparse.Namespace) -> dict[str, Any]:
    pretrain = resolve_config({
        "task": "ssl", "data": {"name": "fashion-mnist", "subset": opts.ssl_subset},
        "train": {"epochs": opts.ssl_epochs, "seed": seed}, "ssl": {"probe_labels": 60, "flip": True},
        "out_dir": str(out), "name": f"ssl-{seed}",
    })  # fmt: skip
    ssl = train(pretrain, QUIET)
    probe = ssl.summary["test"]["linear_probe"]["few_labels"]

    def fine_tune(pretrained: str | None) -> float:
        cfg = resolve_config({
            "data": {"name": "fashion-mnist", "subset": 600}, "model": {"name": "fast_cnn", "pretrained": pretrained},
            "train": {"epochs": opts.finetune_epochs, "seed": seed}, "out_dir": str(out),
            "name": f"ft-{seed}-{'ssl' if pretrained else 'scratch'}",
        })  # fmt: skip
        return float(train(cfg, QUIET).summary["test"]["accuracy"])

    return {
        "ssl_train_s": ssl.summary["train_seconds"],
        "probe_features": probe["features"],
        "probe_untrained_encoder": probe["untrained_encoder"],
        "probe_raw_pixels": probe["raw_pixels"],
        "finetuned": fine_tune(str(ssl.run_dir)),
        "scratch": fine_tune(None),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--ssl-epochs", type=int, default=10)
    parser.add_argument("--ssl-subset", type=int, default=20000)
    parser.add_argument("--finetune-epochs", type=int, default=30)
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rows = [one_seed(int(s), Path(tmp), opts) for s in opts.seeds.split(",")]
    print(json.dumps({
        "benchmark": "ssl_fashion", "ssl_epochs": opts.ssl_epochs, "ssl_images": opts.ssl_subset, "labels": 600,
        "seeds": len(rows), **{key: mean_sd([r[key] for r in rows]) for key in rows[0]},
    }))  # fmt: skip


if __name__ == "__main__":
    main()
