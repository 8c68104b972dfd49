"""Federated against centralised training on the same data: IID and label-skewed clients, FedAvg and FedProx.

By default every arm sees the training split the same number of times: centralised trains `--rounds`
epochs (`--central-epochs` to change), each federated client one local epoch per round for `--rounds`
rounds, so the only difference is who holds the data and how the weights are combined. Clients are
simulated with Flower's engine (`neuralab federate`). Reported per arm: the final global model's test
accuracy, and from metrics.csv's per-round test accuracy (recorded for this report, never used to
choose) the first round, and its wall seconds, at which the global model came within `--gap` of the
centralised model's accuracy. One JSON line; mean and standard deviation over seeds.

Usage:
  python benchmarks/federated.py                      # digits, 4 clients, 20 rounds, seeds 0-2
  python benchmarks/federated.py --dataset fashion-mnist --clients 10 --rounds 20 --seeds 0 \
      --arms centralised,fedavg_iid,fedavg_dirichlet0.3 --central-epochs 15 \
      --federate-args "--local-epochs 2 --set train.batch_size=64"
"""

from __future__ import annotations

import argparse
import csv
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
    "fedavg_dirichlet0.3": ["--partition", "dirichlet:0.3", "--strategy", "fedavg"],
    "fedavg_iid_anneal": ["--partition", "iid", "--strategy", "fedavg", "--anneal"],
    "fedavg_dirichlet0.1_anneal": ["--partition", "dirichlet:0.1", "--strategy", "fedavg", "--anneal"],
}


def run(command: list[str], out: Path, name: str) -> dict[str, Any]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "neuralab", *command, "--out", str(out), "--name", name],
                          capture_output=True, text=True, check=False)  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"{name} failed:\n{done.stderr[-3000:]}")
    summary = json.loads((out / name / "summary.json").read_text())
    with (out / name / "metrics.csv").open() as fh:
        rounds = [(int(r["epoch"]), float(r["test_accuracy"]), float(r["seconds"])) for r in csv.DictReader(fh)
                  if r.get("test_accuracy")]  # fmt: skip
    return {"test_accuracy": summary["test"]["accuracy"], "wall_s": time.perf_counter() - started, "rounds": rounds}


def first_round_within(rounds: list[tuple[int, float, float]], target: float) -> dict[str, float] | None:
    """The first round whose global model reached `target` test accuracy, and the seconds it took."""
    for number, accuracy, seconds in rounds:
        if accuracy >= target:
            return {"round": number, "seconds": seconds}
    return None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset", default="digits")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--arms", default="centralised,fedavg_iid,fedavg_dirichlet0.1,fedprox_dirichlet0.1")
    parser.add_argument("--central-epochs", type=int, default=None, help="default: --rounds")
    parser.add_argument("--gap", type=float, default=0.01, help="'reached' = within this of centralised accuracy")
    parser.add_argument(
        "--central-accuracy",
        type=float,
        default=None,
        help="the centralised accuracy measured earlier, instead of a centralised arm",
    )
    parser.add_argument("--federate-args", default="", help="added to every federated arm, e.g. '--local-epochs 2'")
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
                    command = ["train", *common, "--epochs", str(args.central_epochs or args.rounds)]
                else:
                    command = ["federate", *common, "--clients", str(args.clients), "--rounds", str(args.rounds),
                               *extra, *args.federate_args.split()]  # fmt: skip
                rows.append(run(command, Path(tmp), f"{arm}-{seed}"))
            accuracies = [r["test_accuracy"] for r in rows]
            results[arm] = {
                "test_accuracy_mean": round(statistics.mean(accuracies), 4),
                "test_accuracy_sd": round(statistics.stdev(accuracies), 4) if len(accuracies) > 1 else 0.0,
                "per_seed": [round(a, 4) for a in accuracies],
                "wall_s_mean": round(statistics.mean(r["wall_s"] for r in rows), 1),
            }
            central = results.get("centralised", {}).get("test_accuracy_mean", args.central_accuracy)
            if arm != "centralised" and central is not None:
                target = central - args.gap
                reached = [first_round_within(r["rounds"], target) for r in rows]
                results[arm]["reached_centralised_minus_gap"] = reached  # None: not within the rounds run
            print(f"{arm}: {json.dumps(results[arm])}", file=sys.stderr, flush=True)
    print(json.dumps({"benchmark": "federated", "dataset": args.dataset, "clients": args.clients,
                      "rounds": args.rounds, "gap": args.gap, "federate_args": args.federate_args, "seeds": seeds,
                      **results}))  # fmt: skip


if __name__ == "__main__":
    main()
