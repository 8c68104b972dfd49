"""Does bf16 autocast pay on this CPU, model by model? The evidence behind `precision: auto`.

For each set-up (a registered model at its recipe's batch size, inputs shaped as its dataset's), one
training step (forward, loss, backward, optimizer) is timed in fp32 and in bf16 autocast, alternating
rounds in one process so that the machine's drift hits both arms alike. Inputs are random tensors of
the real shapes: speed depends on shapes, not values. The line also says what `precision: auto`
picks for the model on this CPU, so a set-up where auto picks the slower arm shows at once.

Prints one JSON line (and a table on stderr).
Usage: python benchmarks/auto_precision.py [--rounds 7] [--steps 10] [--threads 2] [--setups simple_cnn,mlp_digits,...]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn


@dataclass(frozen=True)
class Setup:
    model: str
    input_shape: tuple[int, ...]
    batch: int
    kind: str  # image, vector, text or sequence
    args: tuple[tuple[str, Any], ...] = ()


SETUPS = {
    "simple_cnn": Setup("simple_cnn", (1, 28, 28), 64, "image"),  # the tutorial's loop on Fashion-MNIST
    "fast_cnn": Setup(
        "fast_cnn", (1, 28, 28), 256, "image", (("whiten", 2), ("norm_scale", False), ("pool_first", True))
    ),  # the recipe
    "mlp_digits": Setup("mlp", (64,), 32, "vector"),  # digits' 8x8 pixels, the default batch
    "mlp_fashion": Setup("mlp", (1, 28, 28), 128, "image"),
    "mnist_mlp_b256": Setup("mnist_mlp", (1, 28, 28), 256, "image"),  # the tutorial's 784-512-256-10
    "text_bag": Setup("text_bag", (200,), 32, "text", (("dim", 256),)),  # the fortunes recipe
    "text_rnn": Setup("text_rnn", (200,), 32, "text"),
    "text_transformer": Setup("text_transformer", (200,), 32, "text"),
    "sequence_lstm": Setup("sequence_lstm", (15, 10), 64, "sequence"),  # the tutorial's SimpleLSTM
}


def inputs(setup: Setup) -> torch.Tensor:
    if setup.kind == "text":  # ids after the 2 reserved ones, each row padded after a random length
        ids = torch.randint(2, 20000, (setup.batch, *setup.input_shape))
        lengths = torch.randint(20, setup.input_shape[0] + 1, (setup.batch, 1))
        return ids.masked_fill(torch.arange(setup.input_shape[0]) >= lengths, 0)
    return torch.randn(setup.batch, *setup.input_shape)


def step_seconds(setup: Setup, precision: str) -> Callable[[int], float]:
    """A closure timing `steps` training steps of a fresh copy of the set-up in one precision."""
    from neuralab.models import create_model
    from neuralab.train import Device, build_optimizer

    torch.manual_seed(0)
    model = create_model(setup.model, setup.input_shape, 10, kind=setup.kind, **dict(setup.args))
    if hasattr(model, "adapt") and setup.kind == "image":  # a whitening stem is fitted before training
        model.adapt(torch.rand(512, *setup.input_shape))
    device = Device.create("cpu", precision, model=model)
    model = device.setup(model)
    optimizer = build_optimizer(model, "adam", lr=1e-3)
    x, y = inputs(setup), torch.randint(0, 10, (setup.batch,))
    if device.channels_last and x.dim() == 4:
        x = x.contiguous(memory_format=torch.channels_last)

    def run(steps: int) -> float:
        model.train()
        started = time.perf_counter()
        for _ in range(steps):
            with device.autocast():
                loss = nn.functional.cross_entropy(model(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        return (time.perf_counter() - started) / steps

    run(3)  # warm-up: oneDNN picks and caches its kernels
    return run


def compare(setup: Setup, rounds: int, steps: int) -> dict[str, Any]:
    from neuralab.models import create_model
    from neuralab.train.device import auto_precision

    arms = {"fp32": step_seconds(setup, "32"), "bf16": step_seconds(setup, "bf16-mixed")}
    times: dict[str, list[float]] = {name: [] for name in arms}
    for _ in range(rounds):
        for name, run in arms.items():
            times[name].append(run(steps))
    fp32, bf16 = (statistics.median(times[name]) * 1e3 for name in ("fp32", "bf16"))
    model = create_model(setup.model, setup.input_shape, 10, kind=setup.kind, **dict(setup.args))
    auto = auto_precision(torch.device("cpu"), model)
    faster = "bf16-mixed" if bf16 < fp32 else "32"
    return {"batch": setup.batch, "fp32_ms": round(fp32, 2), "bf16_ms": round(bf16, 2),
            "bf16_speedup": round(fp32 / bf16, 2), "auto_picks": auto, "auto_picks_faster": auto == faster}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--setups", default=",".join(SETUPS))
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    names = [name for name in args.setups.split(",") if name]
    unknown = [name for name in names if name not in SETUPS]
    if unknown:
        parser.error(f"unknown set-up {', '.join(unknown)}; choose from {', '.join(SETUPS)}")
    from neuralab.hardware import cpu_bf16_units

    torch.set_num_threads(args.threads)
    results = {}
    for name in names:
        results[name] = compare(SETUPS[name], args.rounds, args.steps)
        r = results[name]
        print(f"{name:18s} batch {r['batch']:4d}  fp32 {r['fp32_ms']:7.2f} ms  bf16 {r['bf16_ms']:7.2f} ms  "
              f"bf16 {r['bf16_speedup']:.2f}x  auto: {r['auto_picks']}", file=sys.stderr)  # fmt: skip
    print(json.dumps({"benchmark": "auto_precision", "threads": args.threads, "bf16_units": cpu_bf16_units(),
                      "results": results}))  # fmt: skip


if __name__ == "__main__":
    main()
