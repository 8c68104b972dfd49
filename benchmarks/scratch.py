"""The NumPy fundamentals: the tutorial's NumPy networks vs neuralab.scratch, and NumPy vs PyTorch step time.

Prints one JSON line:
  xor_*           seeds (of 20) on which each recipe solves XOR
  fashion_*       Fashion-MNIST test accuracy after 5 epochs of a 784-128-10 MLP, batch 64:
                  the tutorial's SimpleNeuralNetwork (x0.01 init, ReLU, sigmoid outputs, GD lr 0.1)
                  vs neuralab.scratch (He init, ReLU, softmax cross-entropy, Adam 2e-3 with cosine decay)
  step_ms_*       one training step (forward, backward, Adam) of that MLP at batch 64, NumPy vs PyTorch,
                  float32 and float64, same threads, median of --repeats timed steps

Usage: python benchmarks/scratch.py [--threads 2] [--repeats 300] [--skip-fashion]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from typing import Any

import numpy as np


def xor_part() -> dict[str, Any]:
    from neuralab.scratch.demos import train_xor, tutorial_xor

    return {
        "xor_tutorial_solved_of_20": sum(tutorial_xor(s) for s in range(20)),
        "xor_neuralab_solved_of_20": sum(train_xor(s).solved for s in range(20)),
    }


def fashion_arrays() -> tuple[np.ndarray, ...]:
    from neuralab.data import LoadOptions
    from neuralab.data.mnist import load_fashion_mnist

    data = load_fashion_mnist(LoadOptions(download=False))
    pre = data.preprocess

    def arrays(samples: Any) -> tuple[np.ndarray, np.ndarray]:
        return pre.normalize(samples.x).reshape(len(samples), -1).numpy().astype(np.float32), samples.targets.numpy()

    return (*arrays(data.train), *arrays(data.test))


def tutorial_fashion(x: np.ndarray, y: np.ndarray, xt: np.ndarray, yt: np.ndarray, epochs: int = 5) -> float:
    """The tutorial's SimpleNeuralNetwork(784, 128, 10) trained as its XOR loop trains, in minibatches."""
    rng = np.random.RandomState(0)
    w1, b1 = rng.randn(784, 128) * 0.01, np.zeros((1, 128))
    w2, b2 = rng.randn(128, 10) * 0.01, np.zeros((1, 10))
    one_hot = np.eye(10)[y]
    for _ in range(epochs):
        order = rng.permutation(len(x))
        for i in range(0, len(x), 64):
            idx = order[i : i + 64]
            xb, yb, m = x[idx], one_hot[idx], len(idx)
            z1 = xb @ w1 + b1
            a1 = np.maximum(0, z1)
            a2 = 1 / (1 + np.exp(-(a1 @ w2 + b2)))
            dz2 = a2 - yb
            dz1 = (dz2 @ w2.T) * (z1 > 0)
            w2 -= 0.1 * a1.T @ dz2 / m
            b2 -= 0.1 * dz2.sum(0, keepdims=True) / m
            w1 -= 0.1 * xb.T @ dz1 / m
            b1 -= 0.1 * dz1.sum(0, keepdims=True) / m
    pred = (np.maximum(0, xt @ w1 + b1) @ w2 + b2).argmax(1)
    return float((pred == yt).mean())


def fashion_part() -> dict[str, Any]:
    from neuralab.scratch.demos import mlp, train_classifier
    from neuralab.scratch.optim import Adam

    x, y, xt, yt = fashion_arrays()
    start = time.perf_counter()
    tutorial = tutorial_fashion(x, y, xt, yt)
    tutorial_s = time.perf_counter() - start
    net = mlp([784, 128, 10], seed=0)
    start = time.perf_counter()
    history = train_classifier(net, Adam(net.parameters(), lr=2e-3), x, y, xt, yt, epochs=5, batch_size=64)
    return {
        "fashion_tutorial_test_accuracy": tutorial,
        "fashion_tutorial_s": round(tutorial_s, 1),
        "fashion_neuralab_test_accuracy": history[-1]["test_accuracy"],
        "fashion_neuralab_s": round(time.perf_counter() - start, 1),
    }


def step_times(dtype: str, repeats: int) -> dict[str, float]:
    import torch
    from torch import nn

    from neuralab.scratch.demos import mlp
    from neuralab.scratch.losses import cross_entropy_with_logits
    from neuralab.scratch.optim import Adam

    np_dtype = {"float32": np.float32, "float64": np.float64}[dtype]
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 784)).astype(np_dtype)
    y = rng.integers(0, 10, 64)

    net = mlp([784, 128, 10], seed=0, dtype=np_dtype)
    opt = Adam(net.parameters(), lr=1e-3)

    def numpy_step() -> None:
        net.backward_params_only(cross_entropy_with_logits(net.forward(x), y)[1])
        opt.step()

    t_dtype = {"float32": torch.float32, "float64": torch.float64}[dtype]
    model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10)).to(t_dtype)
    t_opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)

    def torch_step() -> None:
        t_opt.zero_grad(set_to_none=True)
        nn.functional.cross_entropy(model(tx), ty).backward()
        t_opt.step()

    def median_ms(step: Any) -> float:
        for _ in range(30):
            step()
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            step()
            times.append(time.perf_counter() - start)
        return statistics.median(times) * 1000

    # Interleave the two so that machine noise hits both alike.
    numpy_ms, torch_ms = [], []
    for _ in range(3):
        numpy_ms.append(median_ms(numpy_step))
        torch_ms.append(median_ms(torch_step))
    n, t = statistics.median(numpy_ms), statistics.median(torch_ms)
    return {f"step_ms_numpy_{dtype}": n, f"step_ms_torch_{dtype}": t, f"step_ratio_numpy_over_torch_{dtype}": n / t}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=300)
    parser.add_argument("--skip-fashion", action="store_true")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    results: dict[str, Any] = {"threads": args.threads, "blas_threads_env": os.environ.get("OMP_NUM_THREADS")}
    results |= xor_part()
    if not args.skip_fashion:
        results |= fashion_part()
    for dtype in ("float32", "float64"):
        results |= step_times(dtype, args.repeats)
    print(json.dumps(results))


if __name__ == "__main__":
    sys.exit(main())
