"""Does the process's memory allocator or OpenMP wait policy speed up training? Side by side, one run.

Each arm runs `benchmarks/fashion_mnist.py --parts tutorial,simple_cnn` (the tutorial's SimpleCNN
loop, then neuralab's in bf16 and fp32, batch 64, Adam) in a fresh process whose environment differs
only in the arm's variables; the tutorial's loop runs under the same environment, so each arm's
speedup compares like with like. Arms take turns, round after round, so a slow moment of the
machine falls on every arm alike. An allocator not installed here is skipped and named.

  glibc         the default
  jemalloc      LD_PRELOAD libjemalloc.so.2 (Debian: libjemalloc2)
  tcmalloc      LD_PRELOAD libtcmalloc_minimal.so.4 (Debian: libtcmalloc-minimal4)
  omp-passive   OMP_WAIT_POLICY=PASSIVE: idle OpenMP threads sleep instead of spinning

Prints one JSON line: per arm, each round's images/s and speedups, and their medians.

Usage: .venv/bin/python benchmarks/runtime_env.py [--rounds 2] [--steps 300] [--arms glibc,jemalloc,...]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

LIBRARY_DIRS = [Path("/usr/lib/x86_64-linux-gnu"), Path("/usr/lib/aarch64-linux-gnu"), Path("/usr/lib")]
ARMS: dict[str, dict[str, str]] = {
    "glibc": {},
    "jemalloc": {"LD_PRELOAD": "libjemalloc.so.2"},
    "tcmalloc": {"LD_PRELOAD": "libtcmalloc_minimal.so.4"},
    "omp-passive": {"OMP_WAIT_POLICY": "PASSIVE"},
}
FIGURES = [
    "tutorial_images_per_s",
    "neuralab_simple_cnn_images_per_s",
    "neuralab_simple_cnn_fp32_images_per_s",
    "neuralab_simple_cnn_speedup_vs_tutorial",
    "neuralab_simple_cnn_fp32_speedup_vs_tutorial",
]


def arm_environment(variables: dict[str, str]) -> dict[str, str] | None:
    """The environment for an arm, its preloaded library resolved to a path; None when it is not here."""
    env = dict(os.environ)
    for key, value in variables.items():
        if key == "LD_PRELOAD":
            found = next((d / value for d in LIBRARY_DIRS if (d / value).exists()), None)
            if found is None:
                return None
            value = str(found)
        env[key] = value
    return env


def run_arm(env: dict[str, str], steps: int) -> dict[str, float]:
    script = Path(__file__).with_name("fashion_mnist.py")
    cmd = [sys.executable, str(script), "--parts", "tutorial,simple_cnn", "--steps", str(steps)]
    done = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=True, env=env)
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    return {key: round(figures[key], 2) for key in FIGURES if key in figures}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--steps", type=int, default=300, help="training steps timed in each loop")
    parser.add_argument("--arms", default=",".join(ARMS))
    args = parser.parse_args()
    environments, skipped = {}, []
    for name in args.arms.split(","):
        env = arm_environment(ARMS[name])
        if env is None:
            skipped.append(name)
        else:
            environments[name] = env
    rounds: dict[str, list[dict[str, float]]] = {name: [] for name in environments}
    for _ in range(args.rounds):
        for name, env in environments.items():
            rounds[name].append(run_arm(env, args.steps))
    medians = {
        name: {key: round(statistics.median(r[key] for r in runs), 2) for key in runs[0]}
        for name, runs in rounds.items()
    }
    print(json.dumps({"steps": args.steps, "rounds": rounds, "medians": medians, "skipped": skipped}))


if __name__ == "__main__":
    main()
