"""Where a training step's time goes, on this CPU: phases, operator families, and which ops run in bf16.

Two set-ups, each in fp32 and in bf16 autocast (where the CPU computes bf16 natively):
  simple_cnn   the tutorial's SimpleCNN, batch 64, Adam 1e-3 (the tutorial's loop's shape)
  recipe       the Fashion-MNIST recipe: fast_cnn with its whitening stem and frozen BatchNorm scales,
               batch 256, SGD + Nesterov (biases 16x the learning rate), flip augmentation,
               label smoothing 0.1, channels_last

For each it reports, over --steps timed steps after a warm-up:
  phases      wall seconds per step in data (batch gather + augmentation + normalisation), forward,
              backward, optimizer and the rest (the Trainer's bookkeeping: Python), measured by
              timing each phase of a hand-run step, and the Trainer's own step time beside it
  operators   torch.profiler's self CPU time grouped into families: convolution, matmul, batch norm,
              pooling, elementwise, copies/casts/layout reorders, optimizer (foreach kernels), other
  dtypes      for one step, which aten ops saw bf16 inputs and which stayed fp32 (a dispatch mode
              records every op's input dtypes): tells which layers use the bf16 units
  peaks       fp32 and bf16 1024x1024 matmul GFLOP/s in the same process, and the step's achieved
              training GFLOP/s (FLOPs counted by torch.utils.flop_counter) as a share of each

Prints one JSON line (and a readable table on stderr).
Usage: python benchmarks/profile_step.py [--steps 60] [--threads 2] [--setups simple_cnn,recipe]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

FASHION = Path("/usr/share/datasets/fashion-mnist")

FAMILIES = (  # first match wins: (family, substrings of the aten op name)
    ("optimizer", ("_foreach", "_fused_adam", "_fused_sgd", "addcdiv", "addcmul", "lerp")),
    ("convolution", ("conv", "mkldnn_convolution")),
    ("matmul", ("addmm", "::mm", "bmm", "matmul", "linear")),
    ("batch_norm", ("batch_norm",)),
    ("pooling", ("pool", "max_pool", "adaptive")),
    ("copy_cast_layout", ("copy_", "_to_copy", "::to", "contiguous", "clone", "to_dense", "reorder", "empty_like")),
    ("loss", ("cross_entropy", "log_softmax", "nll_loss", "softmax")),
    ("elementwise", ("relu", "threshold", "add", "mul", "div", "sub", "where", "flip", "neg", "sum", "mean", "fill")),
    ("indexing", ("index", "gather", "scatter", "select", "slice", "cat", "stack")),
)


def family(op: str) -> str:
    name = op.lower()
    for label, keys in FAMILIES:
        if any(key in name for key in keys):
            return label
    return "other"


def matmul_peak(dtype: Any, repeats: int = 10) -> float:
    import torch

    a, b = torch.randn(1024, 1024, dtype=dtype), torch.randn(1024, 1024, dtype=dtype)
    for _ in range(3):
        a @ b
    best = 0.0
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(repeats):
            a @ b
        best = max(best, 2 * 1024**3 * repeats / (time.perf_counter() - start) / 1e9)
    return best


def build(setup: str, precision: str) -> Any:
    """Model, Trainer and loader exactly as `neuralab train` would build them for this set-up."""
    import torch

    from neuralab.data import BatchLoader, LoadOptions
    from neuralab.data.augment import BatchAugment
    from neuralab.data.mnist import load_fashion_mnist
    from neuralab.models import create_model
    from neuralab.train import Device, Trainer, build_optimizer
    from neuralab.train.losses import cross_entropy

    torch.manual_seed(0)
    data = load_fashion_mnist(LoadOptions(download=False))
    if setup == "simple_cnn":
        model = create_model("simple_cnn", (1, 28, 28), 10)
        batch, augment, smoothing = 64, None, 0.0
        optimizer = build_optimizer(model, "adam", lr=1e-3)
    else:
        # The recipe as `neuralab train --dataset fashion-mnist` builds it (data/catalog.py): the whitening stem
        # fitted on the training images, BatchNorm scales frozen, biases 16x the learning rate, each group's
        # last BatchNorm and ReLU after its max-pool.
        args = {"tta": "flip", "whiten": 2, "norm_scale": False, "pool_first": True}
        model = create_model("fast_cnn", (1, 28, 28), 10, **args)
        model.adapt(data.train.x)
        batch, augment, smoothing = 256, BatchAugment(flip=True), 0.1
        optimizer = build_optimizer(model, "sgd", lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4,
                                    bias_lr_scale=16.0)  # fmt: skip
    device = Device.create("cpu", precision, model=model)
    loader = BatchLoader(data.train, batch, data.preprocess, shuffle=True, augment=augment, device=device.device,
                         channels_last=device.channels_last, drop_last=True)  # fmt: skip
    trainer = Trainer(model, optimizer, cross_entropy(smoothing), device=device)
    return trainer, loader, batch


def phases(trainer: Any, loader: Any, steps: int) -> dict[str, float]:
    """Each phase of a step timed on its own (the CPU runs synchronously, so wall time is the cost)."""
    totals: dict[str, float] = defaultdict(float)
    model, device, optimizer = trainer.model, trainer.device, trainer.optimizer
    model.train()
    loader.set_position(1, 0)
    batches = iter(loader)
    for _ in range(steps):
        t0 = time.perf_counter()
        x, y = next(batches)
        t1 = time.perf_counter()
        with device.autocast():
            loss = trainer.loss_fn(model(x), y)
        t2 = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        t3 = time.perf_counter()
        optimizer.step()
        t4 = time.perf_counter()
        for key, seconds in (("data", t1 - t0), ("forward", t2 - t1), ("backward", t3 - t2), ("optimizer", t4 - t3)):
            totals[key] += seconds
    return {key: value / steps for key, value in totals.items()}


def trainer_step_seconds(trainer: Any, loader: Any, steps: int) -> float:
    """The Trainer's own loop over `steps` batches (data included): what a real run pays per step."""

    class Limited:
        def set_position(self, epoch: int, start_batch: int = 0) -> None:
            loader.set_position(epoch, start_batch)

        def __len__(self) -> int:
            return steps

        def __iter__(self):  # type: ignore[no-untyped-def]
            for i, batch in enumerate(loader):
                if i >= steps:
                    return
                yield batch

    trainer.state.epoch = 0
    start = time.perf_counter()
    trainer.fit(Limited(), None, epochs=1)
    return (time.perf_counter() - start) / steps


def operator_families(trainer: Any, loader: Any, steps: int) -> tuple[dict[str, float], list[dict[str, Any]]]:
    from torch.profiler import ProfilerActivity, profile

    model, device, optimizer = trainer.model, trainer.device, trainer.optimizer
    loader.set_position(2, 0)
    batches = iter(loader)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            x, y = next(batches)
            with device.autocast():
                loss = trainer.loss_fn(model(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    per_family: Counter[str] = Counter()
    top = []
    for event in prof.key_averages():
        if not event.key.startswith("aten::"):
            continue
        per_family[family(event.key)] += event.self_cpu_time_total
        top.append((event.self_cpu_time_total, event.key, event.count))
    total = sum(per_family.values()) or 1.0
    shares = {name: round(value / total, 3) for name, value in per_family.most_common()}
    top.sort(reverse=True)
    heaviest = [
        {"op": key, "ms_per_step": round(us / 1000 / steps, 3), "calls_per_step": count // steps}
        for us, key, count in top[:8]
    ]
    return shares, heaviest


def op_dtypes(trainer: Any, loader: Any) -> dict[str, list[str]]:
    """Every aten op of one step and the floating dtypes of its tensor inputs."""
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode

    seen: dict[str, set[str]] = defaultdict(set)

    class Record(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
            dtypes = {
                str(a.dtype).replace("torch.", "")
                for a in torch.utils._pytree.tree_flatten((args, kwargs or {}))[0]
                if isinstance(a, torch.Tensor) and a.is_floating_point()
            }
            if dtypes:
                seen[func.overloadpacket.__name__].update(dtypes)
            return func(*args, **(kwargs or {}))

    model, device, optimizer = trainer.model, trainer.device, trainer.optimizer
    loader.set_position(3, 0)
    x, y = next(iter(loader))
    with Record():
        with device.autocast():
            loss = trainer.loss_fn(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    in_bf16 = sorted(op for op, kinds in seen.items() if "bfloat16" in kinds)
    fp32_only = sorted(op for op, kinds in seen.items() if kinds == {"float32"})
    return {"ops_with_bf16_inputs": in_bf16, "ops_fp32_only": fp32_only}


def train_flops_per_image(trainer: Any, loader: Any) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    loader.set_position(4, 0)
    x, y = next(iter(loader))
    with FlopCounterMode(display=False) as counter:
        trainer.loss_fn(trainer.model(x), y).backward()
    trainer.optimizer.zero_grad(set_to_none=True)
    return counter.get_total_flops() / len(y)


def measure(setup: str, precision: str, steps: int, peaks: dict[str, float]) -> dict[str, Any]:
    trainer, loader, batch = build(setup, precision)
    flops = train_flops_per_image(trainer, loader)
    phases(trainer, loader, 10)  # warm-up: first calls pick kernels and allocate
    by_phase = phases(trainer, loader, steps)
    step_s = trainer_step_seconds(trainer, loader, steps)
    shares, heaviest = operator_families(trainer, loader, max(10, steps // 3))
    images_per_s = batch / step_s
    gflops = images_per_s * flops / 1e9
    return {
        "precision": trainer.device.precision,
        "channels_last": trainer.device.channels_last,
        "batch": batch,
        "trainer_ms_per_step": round(step_s * 1000, 2),
        "images_per_s": round(images_per_s),
        "phase_ms_per_step": {key: round(value * 1000, 2) for key, value in by_phase.items()},
        "python_and_bookkeeping_ms_per_step": round((step_s - sum(by_phase.values())) * 1000, 2),
        "operator_time_shares": shares,
        "heaviest_ops": heaviest,
        "train_mflops_per_image": round(flops / 1e6, 2),
        "achieved_gflops": round(gflops, 1),
        "share_of_fp32_matmul_peak": round(gflops / peaks["fp32_matmul_gflops"], 3),
        "share_of_bf16_matmul_peak": round(gflops / peaks["bf16_matmul_gflops"], 3),
        **op_dtypes(trainer, loader),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--setups", default="simple_cnn,recipe")
    args = parser.parse_args()
    if not (FASHION / "train-images-idx3-ubyte.gz").exists():
        sys.exit("needs Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist)")
    import torch

    from neuralab.hardware import cpu_bf16_units

    torch.set_num_threads(args.threads)
    units = cpu_bf16_units()
    peaks = {"fp32_matmul_gflops": matmul_peak(torch.float32), "bf16_matmul_gflops": matmul_peak(torch.bfloat16)}
    result: dict[str, Any] = {"threads": args.threads, "bf16_units": units, **{k: round(v) for k, v in peaks.items()}}
    precisions = ["32", "bf16-mixed"] if units else ["32"]
    for setup in args.setups.split(","):
        for precision in precisions:
            key = f"{setup}_{'bf16' if precision != '32' else 'fp32'}"
            result[key] = measure(setup, precision, args.steps, peaks)
            row = result[key]
            print(f"{key:18} {row['trainer_ms_per_step']:7.2f} ms/step  {row['images_per_s']:6} img/s  "
                  f"{row['achieved_gflops']:6.1f} GFLOP/s ({row['share_of_bf16_matmul_peak']:.0%} of bf16 peak)  "
                  f"phases {row['phase_ms_per_step']}  python {row['python_and_bookkeeping_ms_per_step']}",
                  file=sys.stderr)  # fmt: skip
    print(json.dumps(result))


if __name__ == "__main__":
    main()
