"""How long the light entry points take to import, each in a fresh interpreter (median of 5), and
which heavy libraries they pull in. Prints one JSON line.

Usage: .venv/bin/python benchmarks/import_time.py
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time

HEAVY = ["torch", "torchvision", "sklearn", "pydantic", "optuna", "fastapi"]
PROBE = (
    "import sys, time; t = time.perf_counter(); {stmt}; print(time.perf_counter() - t); "
    "print(*[m for m in {heavy} if m in sys.modules])"
)


def measure(stmt: str, repeats: int = 5) -> dict[str, object]:
    seconds, loaded = [], ""
    for _ in range(repeats):
        out = subprocess.run([sys.executable, "-c", PROBE.format(stmt=stmt, heavy=HEAVY)], capture_output=True,
                             text=True, check=True).stdout.splitlines()  # fmt: skip
        seconds.append(float(out[0]))
        loaded = out[1] if len(out) > 1 else ""
    return {"seconds": round(statistics.median(seconds), 3), "loads": loaded.split()}


def command_seconds(*args: str, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "neuralab.cli.main", *args], capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return round(statistics.median(times), 3)


def main() -> None:
    result = {
        "import torch (reference)": measure("import torch"),
        "import neuralab.train": measure("import neuralab.train"),
        "import neuralab.config": measure("import neuralab.config"),
        "import neuralab.cli.main": measure("import neuralab.cli.main"),
        "neuralab --help (process, s)": command_seconds("--help"),
        "neuralab config keys (process, s)": command_seconds("config", "keys"),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
