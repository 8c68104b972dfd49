"""Pooling before the ReLU (and BatchNorm) against conv-[BN]-ReLU-pool, interleaved in one process.

simple_cnn and keras_cnn max-pool before their ReLUs (the same function and gradients; see
tests/models/test_pool_before_relu.py), and so does a neuralab.keras Sequential wherever a
Conv2D(activation='relu') meets a MaxPooling2D (`keras_sequential`: the second tutorial's CNN).
The Fashion-MNIST recipe's fast_cnn can also pool before its BatchNorm and ReLU
(`model.args.pool_first`, airbench's order; not the same function). This times a bf16 training step
of each order, alternating rounds so that the machine's drift hits both alike: the tutorial models at
batch 64 with Adam, fast_cnn (`fast_cnn_recipe`) as the recipe builds it, at batch 256 with SGD.
One JSON line.

Usage: python benchmarks/pool_relu_order.py [--models simple_cnn,keras_cnn,keras_sequential,fast_cnn_recipe]
                                            [--rounds 10] [--steps 30]
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


def recipe_model(pool_first: bool) -> nn.Module:
    """fast_cnn with the Fashion-MNIST recipe's arguments (data/catalog.py), its stem fitted to noise."""
    torch.manual_seed(0)
    model = create_model("fast_cnn", (1, 28, 28), 10, tta="flip", whiten=2, norm_scale=False, pool_first=pool_first)
    model.adapt(torch.randint(0, 256, (2048, 1, 28, 28), dtype=torch.uint8).float() / 255)
    return model


def keras_sequential(pool_first: bool) -> nn.Module:
    """The second tutorial's CNN through neuralab.keras; a no-op hook on each Conv2D keeps Keras's order."""
    from neuralab.keras import layers, models

    torch.manual_seed(0)
    model = models.Sequential([
        layers.Input(shape=(28, 28, 1)),
        layers.Conv2D(32, (3, 3), activation="relu"), layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu"), layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu"), layers.Flatten(),
        layers.Dense(64, activation="relu"), layers.Dense(10, activation="softmax"),
    ])  # fmt: skip
    if not pool_first:
        for layer in model.stack:
            if isinstance(layer, layers.Conv2D):
                layer.register_forward_hook(lambda *_: None)
    return KerasLogits(model)


class KerasLogits(nn.Module):
    """The Keras model's logits (its loss skips the final softmax, as `fit` does)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.run(x, logits=True)


def compare(name: str, rounds: int, steps: int) -> dict[str, dict[str, float]]:
    torch.manual_seed(0)
    x = torch.randn(64, 1, 28, 28).contiguous(memory_format=torch.channels_last)
    if name == "keras_sequential":
        arms = {"pool_then_relu": keras_sequential(True), "relu_then_pool": keras_sequential(False)}
        batch = 64
        x = x.permute(0, 2, 3, 1)  # Keras's (N, 28, 28, 1), as fit hands it over
    elif name == "fast_cnn_recipe":
        arms = {"pool_then_bn_relu": recipe_model(True), "bn_relu_then_pool": recipe_model(False)}
        batch = 256
    else:
        ours = create_model(name, (1, 28, 28), 10)
        arms = {"pool_then_relu": ours, "relu_then_pool": tutorial_order(copy.deepcopy(ours))}
        batch = 64
    if name == "fast_cnn_recipe":
        x = torch.randn(batch, 1, 28, 28).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (batch,))
    optimizers: dict[str, torch.optim.Optimizer] = {}
    for arm, model in arms.items():
        arms[arm] = model.to(memory_format=torch.channels_last)
        if name == "fast_cnn_recipe":
            optimizers[arm] = torch.optim.SGD(model.parameters(), 0.05, momentum=0.9, nesterov=True, fused=True)
        else:
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
    parser.add_argument("--models", default="simple_cnn,keras_cnn,keras_sequential")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    results = {name: compare(name, args.rounds, args.steps) for name in args.models.split(",")}
    print(json.dumps({"benchmark": "pool_relu_order", "threads": args.threads, "precision": "bf16",
                      "results": results}))  # fmt: skip


if __name__ == "__main__":
    main()
