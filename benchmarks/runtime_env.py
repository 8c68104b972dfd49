"""Does the process's memory allocator or OpenMP wait policy speed up training? Side by side, one run.

Each arm runs `benchmarks/fashion_mnist.py --parts tutorial,simple_cnn` (the tutorial's SimpleCNN
loop, then neuralab's in bf16 and fp32, batch 64, Adam) in a fresh process whose environment differs
only in the arm's variables; the tutorial's loop runs under the same environment, so each arm's
speedup compares like with like. Arms take turns (process_arms.run_alternating: the order reverses
every other round), so a slow moment of the machine falls on every arm alike. An allocator not
installed here is skipped and named.

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
import statistics
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


def arm_variables(variables: dict[str, str]) -> dict[str, str] | None:
    """An arm's variables, its preloaded library resolved to a path; None when it is not installed here."""
    resolved = dict(variables)
    if library := variables.get("LD_PRELOAD"):
        found = next((d / library for d in LIBRARY_DIRS if (d / library).exists()), None)
        if found is None:
            return None
        resolved["LD_PRELOAD"] = str(found)
    return resolved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--steps", type=int, default=300, help="training steps timed in each loop")
    parser.add_argument("--arms", default=",".join(ARMS))
    args = parser.parse_args()
    arms, skipped = {}, []
    for name in args.arms.split(","):
        variables = arm_variables(ARMS[name])
        if variables is None:
            skipped.append(name)
        else:
            arms[name] = variables
    sys.path.insert(0, str(Path(__file__).parent))
    from process_arms import run_alternating

    script = str(Path(__file__).with_name("fashion_mnist.py"))
    runs = run_alternating(script, arms, args.rounds, ["--parts", "tutorial,simple_cnn", "--steps", str(args.steps)])
    rounds = {name: [{k: round(r[k], 2) for k in FIGURES if k in r} for r in results] for name, results in runs.items()}
    medians = {
        name: {key: round(statistics.median(r[key] for r in results), 2) for key in results[0]}
        for name, results in rounds.items()
    }
    print(json.dumps({"steps": args.steps, "rounds": rounds, "medians": medians, "skipped": skipped}))


if __name__ == "__main__":
    main()
