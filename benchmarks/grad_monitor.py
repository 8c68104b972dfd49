"""Cost of gradient-health monitoring: training steps with the monitor off and on, side by side.

Prints one JSON line: seconds per 100 steps of fast_cnn on Fashion-MNIST (batch 256, the default
recipe's model and batch) with the monitor off, on at its default sampling (every 50 steps) and
on every step, interleaved over --rounds rounds; overhead = median(on) / median(off) - 1.

Usage: python benchmarks/grad_monitor.py [--steps 150] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

import torch

from neuralab.data import BatchLoader, LoadOptions
from neuralab.data.mnist import load_fashion_mnist
from neuralab.diagnose import GradientMonitor
from neuralab.models import create_model
from neuralab.train import Device, Trainer, build_optimizer
from neuralab.train.losses import cross_entropy


class FirstSteps:
    def __init__(self, loader: BatchLoader, steps: int) -> None:
        self.loader, self.steps = loader, steps

    def set_position(self, epoch: int, start_batch: int = 0) -> None:
        self.loader.set_position(epoch, start_batch)

    def __len__(self) -> int:
        return self.steps

    def __iter__(self) -> Any:
        for i, batch in enumerate(self.loader):
            if i >= self.steps:
                return
            yield batch


def seconds(every: int | None, data: Any, steps: int) -> float:
    torch.manual_seed(0)
    model = create_model("fast_cnn", (1, 28, 28), 10)
    device = Device.create("cpu", model=model)
    loader = BatchLoader(
        data.train, 256, data.preprocess, shuffle=True, channels_last=device.channels_last, drop_last=True
    )
    callbacks = [GradientMonitor(every)] if every else []
    trainer = Trainer(
        model, build_optimizer(model, "sgd", lr=0.05), cross_entropy(), device=device, callbacks=callbacks
    )
    trainer.fit(FirstSteps(loader, 10), None, 1)  # warm-up
    trainer.state.epoch = 0
    start = time.perf_counter()
    trainer.fit(FirstSteps(loader, steps), None, 1)
    return (time.perf_counter() - start) * 100 / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = load_fashion_mnist(LoadOptions(download=False))
    runs: dict[str, list[float]] = {"off": [], "every_50": [], "every_1": []}
    for _ in range(args.rounds):
        for name, every in (("off", None), ("every_50", 50), ("every_1", 1)):
            runs[name].append(seconds(every, data, args.steps))
    med = {k: statistics.median(v) for k, v in runs.items()}
    print(
        json.dumps(
            {
                "s_per_100_steps": med,
                "overhead_default_every_50": med["every_50"] / med["off"] - 1,
                "overhead_every_step": med["every_1"] / med["off"] - 1,
                "steps": args.steps,
                "rounds": args.rounds,
            }
        )
    )


if __name__ == "__main__":
    main()
