"""Pooling before the ReLU against the tutorials' conv-ReLU-pool order, interleaved in one process.

simple_cnn and keras_cnn max-pool before their ReLUs (the same function and gradients; see
tests/models/test_pool_before_relu.py). This times a bf16 training step of each order on the same
weights and batch, alternating rounds so that the machine's drift hits both alike. One JSON line.

Usage: python benchmarks/pool_relu_order.py [--models simple_cnn,keras_cnn] [--rounds 10] [--steps 30]
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn

from neuralab.models import create_model


def tutorial_order(model: nn.Module) -> nn.Module:
    """The same modules with each ReLU moved back in front of the max-pool before it."""
    layers = list(model.features)
    for index in range(1, len(layers) - 1):
        if isinstance(layers[index], nn.MaxPool2d) and isinstance(layers[index + 1], nn.ReLU):
            layers[index], layers[index + 1] = layers[index + 1], layers[index]
    return nn.Sequential(nn.Sequential(*layers), model.head)


def compare(name: str, rounds: int, steps: int) -> dict[str, dict[str, float]]:
    torch.manual_seed(0)
    ours = create_model(name, (1, 28, 28), 10)
    arms = {"pool_then_relu": ours, "relu_then_pool": tutorial_order(copy.deepcopy(ours))}
    x = torch.randn(64, 1, 28, 28).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (64,))
    optimizers = {}
    for arm, model in arms.items():
        arms[arm] = model.to(memory_format=torch.channels_last)
        optimizers[arm] = torch.optim.Adam(model.parameters(), 1e-3, fused=True)

    def step(arm: str) -> None:
        with torch.autocast("cpu", torch.bfloat16):
            loss = F.cross_entropy(arms[arm](x).float(), y)
        optimizers[arm].zero_grad(set_to_none=True)
        loss.backward()
        optimizers[arm].step()

    times: dict[str, list[float]] = {arm: [] for arm in arms}
    for arm in arms:
        for _ in range(20):  # warm-up: oneDNN picks its kernels
            step(arm)
    for _ in range(rounds):
        for arm in arms:
            started = time.perf_counter()
            for _ in range(steps):
                step(arm)
            times[arm].append((time.perf_counter() - started) / steps * 1e3)
    return {arm: {"min_ms": round(min(v), 2), "median_ms": round(statistics.median(v), 2)} for arm, v in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", default="simple_cnn,keras_cnn")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    results = {name: compare(name, args.rounds, args.steps) for name in args.models.split(",")}
    print(json.dumps({"benchmark": "pool_relu_order", "threads": args.threads, "batch": 64, "precision": "bf16",
                      "results": results}))  # fmt: skip


if __name__ == "__main__":
    main()
