"""neuralab.keras against TensorFlow-Keras and Keras 3 on its torch backend, side by side in one run:
the second tutorial's CNN, Fashion-MNIST, batch 64, Adam, 5 epochs, 3 seeds each (mean and spread).

TensorFlow is not a dependency of neuralab: install it in its own environment and name its python:

    python3 -m venv /tmp/tfenv && /tmp/tfenv/bin/pip install tensorflow-cpu torch
    .venv/bin/python benchmarks/keras_vs_tensorflow.py --keras-python /tmp/tfenv/bin/python

Each run is its own process, one after another (never concurrently), so each has the whole machine.
Runs see a minimal environment plus any NEURALAB_* variables (NEURALAB_DENORMALS=keep compares the
engine with denormals kept).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

WORKER = Path(__file__).with_name("keras_worker.py")


def run(python: str, framework: str, seed: int, epochs: int) -> dict[str, float]:
    env = {"PATH": "/usr/bin:/bin", "TF_CPP_MIN_LOG_LEVEL": "2", "HOME": str(Path.home())}
    env |= {k: v for k, v in os.environ.items() if k.startswith("NEURALAB_")}  # e.g. NEURALAB_DENORMALS=keep
    command = [python, str(WORKER), framework, str(seed), str(epochs)]
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise SystemExit(f"{framework} failed:\n{done.stderr[-2000:]}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def summary(rows: list[dict[str, float]]) -> dict[str, object]:
    acc = [r["test_accuracy"] for r in rows]
    speed = [r["images_per_s"] for r in rows]
    return {"params": rows[0]["params"], "test_accuracy_mean": round(statistics.mean(acc), 4),
            "test_accuracy_sd": round(statistics.stdev(acc), 4) if len(acc) > 1 else 0.0,
            "images_per_s_mean": round(statistics.mean(speed), 1), "runs": rows}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--keras-python", default="/tmp/tfenv/bin/python")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--frameworks", default="neuralab,tf-keras,keras-torch")
    args = parser.parse_args()
    results = {}
    for framework in args.frameworks.split(","):
        python = sys.executable if framework == "neuralab" else args.keras_python
        rows = [run(python, framework, seed, args.epochs) for seed in range(args.seeds)]
        results[framework] = summary(rows)
        print(f"{framework}: {json.dumps(results[framework])}", file=sys.stderr, flush=True)
    out: dict[str, object] = {"benchmark": "keras_vs_tensorflow", "epochs": args.epochs, "batch_size": 64, **results}
    if "neuralab" in results and "tf-keras" in results:
        out["speedup_vs_tf_keras"] = round(
            results["neuralab"]["images_per_s_mean"] / results["tf-keras"]["images_per_s_mean"],
            2,  # type: ignore[operator]
        )
    print(json.dumps(out))


if __name__ == "__main__":
    main()
