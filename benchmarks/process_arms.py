"""Arms that change a process-wide setting, each measured in its own fresh interpreter.

A setting that cannot be undone inside a process (malloc's thresholds, the CPU's denormal flags) is
compared by running the benchmark script again per arm with the arm's environment, the arms
alternating round by round so that the machine's drift hits both alike.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any


def run_alternating(script: str, arms: dict[str, dict[str, str]], rounds: int, args: list[str]) -> dict[str, list[Any]]:
    """`python script *args` once per arm and round (arm -> extra environment); each run's last JSON line."""
    runs: dict[str, list[Any]] = {arm: [] for arm in arms}
    for round_ in range(rounds):
        for arm in arms if round_ % 2 == 0 else reversed(arms):
            done = subprocess.run([sys.executable, script, *args], env={**os.environ, **arms[arm]},
                                  stdout=subprocess.PIPE, text=True, check=True)  # fmt: skip
            runs[arm].append(json.loads(done.stdout.strip().splitlines()[-1]))
    return runs
