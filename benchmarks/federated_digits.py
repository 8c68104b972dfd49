"""Federated against centralised training on the same data: IID and label-skewed clients, FedAvg and FedProx.

Every arm sees the training split the same number of times: centralised trains `--rounds` epochs,
each federated client trains one local epoch per round for `--rounds` rounds, so the only difference
is who holds the data and how the weights are combined. Clients are simulated with Flower's engine
(`neuralab federate`); the test split is scored once per arm at the end (the per-round test figures in
metrics.csv choose nothing). One JSON line; mean and standard deviation over seeds.

Usage: python benchmarks/federated_digits.py [--dataset digits] [--clients 4] [--rounds 20] [--seeds 0,1,2]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ARMS = {
    "centralised": None,
    "fedavg_iid": ["--partition", "iid", "--strategy", "fedavg"],
    "fedavg_dirichlet0.1": ["--partition", "dirichlet:0.1", "--strategy", "fedavg"],
    "fedprox_dirichlet0.1": ["--partition", "dirichlet:0.1", "--strategy", "fedprox", "--proximal-mu", "0.01"],
}


def run(command: list[str], out: Path, name: str) -> dict[str, Any]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "neuralab", *command, "--out", str(out), "--name", name],
                          capture_output=True, text=True, check=False)  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"{name} failed:\n{done.stderr[-3000:]}")
    summary = json.loads((out / name / "summary.json").read_text())
    return {"test_accuracy": summary["test"]["accuracy"], "wall_s": time.perf_counter() - started}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset", default="digits")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--arms", default=",".join(ARMS))
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for arm in args.arms.split(","):
            rows = []
            for seed in seeds:
                common = ["--dataset", args.dataset, "--seed", str(seed)]
                extra = ARMS[arm]
                if extra is None:
                    command = ["train", *common, "--epochs", str(args.rounds)]
                else:
                    command = [
                        "federate",
                        *common,
                        "--clients",
                        str(args.clients),
                        "--rounds",
                        str(args.rounds),
                        *extra,
                    ]
                rows.append(run(command, Path(tmp), f"{arm}-{seed}"))
            accuracies = [r["test_accuracy"] for r in rows]
            results[arm] = {
                "test_accuracy_mean": round(statistics.mean(accuracies), 4),
                "test_accuracy_sd": round(statistics.stdev(accuracies), 4) if len(accuracies) > 1 else 0.0,
                "per_seed": [round(a, 4) for a in accuracies],
                "wall_s_mean": round(statistics.mean(r["wall_s"] for r in rows), 1),
            }
            print(f"{arm}: {json.dumps(results[arm])}", file=sys.stderr, flush=True)
    print(json.dumps({"benchmark": "federated", "dataset": args.dataset, "clients": args.clients,
                      "rounds": args.rounds, "seeds": seeds, **results}))  # fmt: skip


if __name__ == "__main__":
    main()
