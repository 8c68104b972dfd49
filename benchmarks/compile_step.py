"""`train.compile` on this CPU: torch.compile (inductor) against eager, per training step, side by side.

Set-ups: the tutorial's SimpleCNN (batch 64, Adam) and the Fashion-MNIST recipe's fast_cnn (batch 256,
SGD + Nesterov, label smoothing), each in fp32 and bf16 autocast, channels_last as training uses it.
Each arm runs in its own process with an empty inductor cache, so "first step" is a cold compile.
Prints one JSON line: first-step seconds and the best of 3 x 20 timed steps (ms/step) per arm.

Usage: python benchmarks/compile_step.py [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from typing import Any

SETUPS = {"simple_cnn": (64, "adam", 1e-3, 0.0), "fast_cnn": (256, "sgd", 0.05, 0.1)}


def arm(model_name: str, precision: str, compiled: bool, threads: int) -> dict[str, Any]:
    import torch

    from neuralab.models import create_model
    from neuralab.train import Device, Trainer, build_optimizer
    from neuralab.train.losses import cross_entropy

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    batch, optimizer_name, lr, smoothing = SETUPS[model_name]
    model = create_model(model_name, (1, 28, 28), 10)
    device = Device.create("cpu", precision, model=model)
    optimizer = build_optimizer(model, optimizer_name, lr=lr, nesterov=optimizer_name == "sgd")
    trainer = Trainer(model, optimizer, cross_entropy(smoothing), device=device, compile=compiled)
    x = torch.randn(batch, 1, 28, 28).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (batch,))
    start = time.perf_counter()
    trainer._train_step(x, y)
    first = time.perf_counter() - start
    for _ in range(5):
        trainer._train_step(x, y)
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(20):
            trainer._train_step(x, y)
        best = min(best, (time.perf_counter() - start) / 20)
    return {"first_step_s": round(first, 2), "ms_per_step": round(best * 1000, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--arm", help=argparse.SUPPRESS)  # internal: model,precision,compiled
    args = parser.parse_args()
    if args.arm:
        model_name, precision, compiled = args.arm.split(",")
        print(json.dumps(arm(model_name, precision, compiled == "1", args.threads)))
        return
    from neuralab.hardware import cpu_bf16_units

    precisions = ["32", "bf16-mixed"] if cpu_bf16_units() else ["32"]
    results: dict[str, Any] = {"threads": args.threads, "bf16_units": cpu_bf16_units()}
    for model_name in SETUPS:
        for precision in precisions:
            for compiled in ("0", "1"):
                with tempfile.TemporaryDirectory(prefix="inductor-") as cache:
                    env = {**os.environ, "TORCHINDUCTOR_CACHE_DIR": cache}
                    cmd = [sys.executable, __file__, "--threads", str(args.threads),
                           "--arm", f"{model_name},{precision},{compiled}"]  # fmt: skip
                    done = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=True, env=env)
                mode = "compiled" if compiled == "1" else "eager"
                key = f"{model_name}_{'bf16' if precision != '32' else 'fp32'}_{mode}"
                results[key] = json.loads(done.stdout.strip().splitlines()[-1])
                print(key, results[key], file=sys.stderr)
        for precision in precisions:
            tag = f"{model_name}_{'bf16' if precision != '32' else 'fp32'}"
            results[f"{tag}_compiled_speedup"] = round(
                results[f"{tag}_eager"]["ms_per_step"] / results[f"{tag}_compiled"]["ms_per_step"], 2
            )
    print(json.dumps(results))


if __name__ == "__main__":
    main()
