"""Fashion-MNIST on this CPU: the tutorial's loop vs neuralab, side by side in one run.

Prints one JSON line. Each part runs in its own subprocess, so peak RSS is per part:
  matmul       fp32 and bf16 1024x1024 matmul GFLOP/s with the same threads (the peaks to compare with)
  tutorial     the tutorial's loop: torchvision FashionMNIST + ToTensor/Normalize + DataLoader(64),
               SimpleCNN, Adam 1e-3 -- throughput over --steps steps (--full: 5 epochs + test accuracy)
  simple_cnn   neuralab's loader and Trainer on the same SimpleCNN, batch 64, Adam: throughput and
               achieved GFLOP/s (training FLOPs counted by torch's FlopCounterMode); --full: 5 epochs
               from a cold start, as the tutorial's, + test accuracy
  recipe       `neuralab train --dataset fashion-mnist` with nothing else: test accuracy after every
               epoch against cumulative training seconds (time to 92% / 93%), peak RSS
  targets      (not in the default parts: about 20 min) issue 18's two accuracy targets as the final
               model is trained: on all 60,000 training images (`data.val_fraction=0`), one group of
               --seeds with the recipe for 20 epochs (>= 94.0% mean in <= 300 s each) and one with the
               60 s arm's settings (TARGETS; >= 93.0% mean in <= 60 s); --budgets 60 runs that arm
               alone; per-seed accuracy and training seconds from group.json

Usage: python benchmarks/fashion_mnist.py [--steps 300] [--parts matmul,tutorial,simple_cnn,recipe] [--full]
       python benchmarks/fashion_mnist.py --parts targets [--seeds 0,1,2,3,4] [--budgets 300,60]
"""

from __future__ import annotations

import argparse
import gzip
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

FASHION = Path("/usr/share/datasets/fashion-mnist")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def part_matmul(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    from profile_step import matmul_peak  # the sibling benchmark's peak measurement (run as a script)

    torch.set_num_threads(args.threads)
    return {"matmul_gflops": matmul_peak(torch.float32), "bf16_matmul_gflops": matmul_peak(torch.bfloat16)}


def tutorial_model():  # type: ignore[no-untyped-def]
    import torch.nn as nn
    import torch.nn.functional as F

    class SimpleCNN(nn.Module):  # verbatim from the tutorial (part 4.1)
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(1, 32, kernel_size=3, padding=1)
            self.conv2 = nn.Conv2d(32, 64, kernel_size=3, padding=1)
            self.pool = nn.MaxPool2d(2, 2)
            self.fc1 = nn.Linear(64 * 7 * 7, 128)
            self.fc2 = nn.Linear(128, 10)

        def forward(self, x):  # type: ignore[no-untyped-def]
            x = self.pool(F.relu(self.conv1(x)))
            x = self.pool(F.relu(self.conv2(x)))
            x = x.view(-1, 64 * 7 * 7)
            x = F.relu(self.fc1(x))
            return self.fc2(x)

    return SimpleCNN()


def torchvision_root() -> Path:
    """torchvision's FashionMNIST layout, unpacked from the Debian files (it never downloads here)."""
    root = Path(tempfile.mkdtemp(prefix="fmnist-tv-"))
    raw = root / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for gz in FASHION.glob("*.gz"):
        with gzip.open(gz) as src, (raw / gz.name.removesuffix(".gz")).open("wb") as dst:
            shutil.copyfileobj(src, dst)
    return root


def part_tutorial(args: argparse.Namespace) -> dict[str, Any]:
    import torch
    import torch.nn as nn
    import torch.optim as optim
    from torchvision import datasets, transforms

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    root = torchvision_root()
    # as the tutorial writes it (MNIST's statistics)
    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    train_set = datasets.FashionMNIST(str(root), train=True, download=False, transform=transform)
    test_set = datasets.FashionMNIST(str(root), train=False, download=False, transform=transform)
    loader = torch.utils.data.DataLoader(train_set, batch_size=64, shuffle=True)
    model = tutorial_model()
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.Adam(model.parameters(), lr=0.001)
    epochs = 5 if args.full else 1
    steps, images, start = 0, 0, time.perf_counter()
    for _ in range(epochs):
        model.train()
        for inputs, labels in loader:
            optimizer.zero_grad()
            loss = criterion(model(inputs), labels)
            loss.backward()
            optimizer.step()
            steps += 1
            images += len(labels)
            if not args.full and steps >= args.steps:
                break
    seconds = time.perf_counter() - start
    out: dict[str, Any] = {"tutorial_images_per_s": images / seconds, "tutorial_steps": steps}
    if args.full:
        model.eval()
        correct = 0
        with torch.no_grad():
            for inputs, labels in torch.utils.data.DataLoader(test_set, batch_size=1000):
                correct += (model(inputs).argmax(1) == labels).sum().item()
        out |= {"tutorial_test_accuracy": correct / len(test_set), "tutorial_train_s": seconds}
    out["tutorial_peak_rss_mb"] = peak_rss_mb()
    shutil.rmtree(root, ignore_errors=True)
    return out


def part_simple_cnn(args: argparse.Namespace) -> dict[str, Any]:
    """neuralab's default precision (bf16 autocast where the CPU has native bf16), then plain fp32."""
    out = simple_cnn_throughput(args, "auto", "neuralab_simple_cnn")
    out |= simple_cnn_throughput(args, "32", "neuralab_simple_cnn_fp32")
    return out


def simple_cnn_throughput(args: argparse.Namespace, precision: str, prefix: str) -> dict[str, Any]:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from neuralab.data import BatchLoader, LoadOptions
    from neuralab.data.mnist import load_fashion_mnist
    from neuralab.models import create_model
    from neuralab.train import Device, Trainer, build_optimizer
    from neuralab.train.losses import cross_entropy

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    data = load_fashion_mnist(LoadOptions(download=False))
    model = create_model("simple_cnn", (1, 28, 28), 10)
    device = Device.create("cpu", precision, model=model)
    loader = BatchLoader(
        data.train,
        64,
        data.preprocess,
        shuffle=True,
        device=device.device,
        channels_last=device.channels_last,
        drop_last=True,
    )
    trainer = Trainer(model, build_optimizer(model, "adam", lr=1e-3), cross_entropy(), device=device)

    # Count one real training step's FLOPs (forward + backward), per image.
    x, y = next(iter(loader))
    with FlopCounterMode(display=False) as counter:
        trainer.loss_fn(trainer.model(x), y).backward()
    train_flops_per_image = counter.get_total_flops() / len(y)
    trainer.optimizer.zero_grad(set_to_none=True)

    class Limited:  # the first `steps` batches of the usual loader
        def __init__(self, steps: int) -> None:
            self.steps = steps

        def set_position(self, epoch: int, start_batch: int = 0) -> None:
            loader.set_position(epoch, start_batch)

        def __len__(self) -> int:
            return self.steps

        def __iter__(self):  # type: ignore[no-untyped-def]
            for i, batch in enumerate(loader):
                if i >= self.steps:
                    return
                yield batch

    full: dict[str, float] = {}
    if args.full:  # the tutorial's whole run: 5 epochs from a cold start, then the test split
        start = time.perf_counter()
        trainer.fit(loader, None, epochs=5)
        seconds = time.perf_counter() - start
        images_per_s = 5 * len(loader) * 64 / seconds
        test = BatchLoader(data.test, 1000, data.preprocess, device=device.device, channels_last=device.channels_last)
        full = {f"{prefix}_test_accuracy": trainer.evaluate(test).accuracy, f"{prefix}_train_s": seconds}
    else:
        trainer.fit(Limited(20), None, epochs=1)  # warm-up
        trainer.state.epoch = 0
        start = time.perf_counter()
        trainer.fit(Limited(args.steps), None, epochs=1)
        seconds = time.perf_counter() - start
        images_per_s = args.steps * 64 / seconds
    return {
        **full,
        f"{prefix}_images_per_s": images_per_s,
        f"{prefix}_precision": device.precision,
        f"{prefix}_gflops": images_per_s * train_flops_per_image / 1e9,
        "simple_cnn_train_mflops_per_image": train_flops_per_image / 1e6,
        "simple_cnn_channels_last": device.channels_last,
        "simple_cnn_peak_rss_mb": peak_rss_mb(),
    }


def part_recipe(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    from neuralab.data import BatchLoader
    from neuralab.pipeline import prepare_data, resolve_config, run_config
    from neuralab.train.callbacks import Callback

    cfg = resolve_config({"data": {"name": "fashion-mnist"}, "out_dir": tempfile.mkdtemp(prefix="bench-runs-")})
    prepared = prepare_data(cfg)
    curve: list[dict[str, float]] = []
    started = time.perf_counter()

    class TestEveryEpoch(Callback):
        """For the benchmark only: test accuracy after each epoch, to chart time-to-accuracy."""

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            assert self.trainer is not None
            t = self.trainer
            test = BatchLoader(
                prepared.test,
                1000,
                prepared.data.preprocess,
                device=t.device.device,
                channels_last=t.device.channels_last,
            )
            curve.append(
                {
                    "epoch": epoch + 1,
                    "train_s": round(t.state.train_seconds, 1),
                    "wall_s": round(time.perf_counter() - started, 1),
                    "test_accuracy": round(t.evaluate(test).accuracy, 4),
                }
            )
            print(json.dumps(curve[-1]), file=sys.stderr, flush=True)

    result = run_config(cfg, extra_callbacks=[TestEveryEpoch()])
    s = result.summary
    flops = recipe_train_flops_per_image(result.run_dir)

    def first(threshold: float) -> float | None:
        return next((c["train_s"] for c in curve if c["test_accuracy"] >= threshold), None)

    del torch
    return {
        "recipe_model": s["model"],
        "recipe_epochs": s["epochs_run"],
        "recipe_test_accuracy": s["test"]["accuracy"],
        "recipe_test_macro_f1": s["test"]["macro_f1"],
        "recipe_train_s": round(s["train_seconds"], 1),
        "recipe_images_per_s": round(s["train_images_per_s"]),
        "recipe_precision": s.get("precision"),
        "recipe_train_mflops_per_image": round(flops / 1e6, 2),
        "recipe_gflops": round(s["train_images_per_s"] * flops / 1e9, 1),
        "recipe_train_s_to_92": first(0.92),
        "recipe_train_s_to_93": first(0.93),
        "recipe_curve": curve,
        "recipe_peak_rss_mb": round(peak_rss_mb()),
    }


# issue 18's two accuracy targets: budget in seconds -> (goal, the command's settings). The 60 s arm is the
# recipe with a 16-channel first group (1.6x the images/s: that group works on 27x27 maps) for 6 epochs,
# chosen on validation seeds 0-2 on an AMX Xeon (2026-12-04): 93.94% against 93.56% for the recipe at
# 4 epochs, 93.86% for widths 16,32,96 at 7, 93.82% for 16,64,128 at 5 and 93.15% for one conv per group at 5.
# With `pool_first` in the recipe (1.28x the images/s), the recipe trains 20 epochs: on validation seeds 0-2
# 94.68 / 94.92 / 94.25% against 94.65 / 94.55 / 94.40% at 15 (AMX Xeon, 2026-12-04); the 60 s arm kept 6 epochs
# (93.92% mean on validation; 8 scored 94.01% but would need about 55 of the 60 s).
TARGETS: dict[int, tuple[float, list[str]]] = {
    300: (0.94, ["--epochs", "20"]),  # the recipe as it is, said explicitly
    60: (0.93, ["--epochs", "6", "--set", "model.args.widths=[16,48,96]"]),
}


def part_targets(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for budget in (int(b) for b in args.budgets.split(",")):
        goal, settings = TARGETS[budget]
        with tempfile.TemporaryDirectory(prefix="bench-targets-") as runs:
            cmd = [sys.executable, "-m", "neuralab", "train", "--dataset", "fashion-mnist", *settings,
                   "--set", "data.val_fraction=0", "--seeds", args.seeds, "--out", runs]  # fmt: skip
            subprocess.run(cmd, stdout=sys.stderr, check=True)
            group = json.loads(next(Path(runs).glob("*/group.json")).read_text())["test"]
        accuracy, seconds = group["accuracy"], group["train_seconds"]["values"]
        out[f"target_{budget}_s"] = {
            "settings": settings,
            "test_accuracy_mean": round(accuracy["mean"], 4),
            "test_accuracy_std": round(accuracy["std"], 4),
            "test_accuracy_values": accuracy["values"],
            "train_seconds": [round(v, 1) for v in seconds],
            "goal": {"accuracy": goal, "seconds": budget},
            "met": accuracy["mean"] >= goal and max(seconds) <= budget,
        }
    return out


def recipe_train_flops_per_image(run_dir: Path) -> float:
    """Forward + backward FLOPs of one training image of the run's model (torch's FlopCounterMode)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from neuralab.runs import load_model

    model, _ = load_model(run_dir)
    model.train()
    x = torch.randn(64, 1, 28, 28)
    with FlopCounterMode(display=False) as counter:
        torch.nn.functional.cross_entropy(model(x), torch.zeros(64, dtype=torch.long)).backward()
    return counter.get_total_flops() / 64


PARTS = {
    "matmul": part_matmul,
    "tutorial": part_tutorial,
    "simple_cnn": part_simple_cnn,
    "recipe": part_recipe,
    "targets": part_targets,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parts", default="matmul,tutorial,simple_cnn,recipe")
    parser.add_argument("--steps", type=int, default=300, help="training steps timed for throughput")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--full", action="store_true", help="tutorial and simple_cnn: 5 whole epochs each")
    parser.add_argument("--seeds", default="0,1,2,3,4", help="targets: the seeds of each group")
    parser.add_argument("--budgets", default="300,60", help="targets: which arms (training seconds) to run")
    parser.add_argument("--part", help=argparse.SUPPRESS)  # internal: run one part in this process
    args = parser.parse_args()
    if not (FASHION / "train-images-idx3-ubyte.gz").exists():
        sys.exit("needs Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist)")
    if any(b.strip() not in {str(t) for t in TARGETS} for b in args.budgets.split(",")):
        sys.exit(f"--budgets takes {','.join(map(str, TARGETS))} (training seconds), not {args.budgets!r}")
    if args.part:
        print(json.dumps(PARTS[args.part](args)))
        return
    results: dict[str, Any] = {"threads": args.threads, "steps": args.steps}
    for name in args.parts.split(","):
        cmd = [sys.executable, __file__, "--part", name, "--steps", str(args.steps), "--threads", str(args.threads)]
        cmd += ["--full"] if args.full else []
        cmd += ["--seeds", args.seeds, "--budgets", args.budgets]
        done = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=True)
        results |= json.loads(done.stdout.strip().splitlines()[-1])
    if "bf16_matmul_gflops" in results and "recipe_gflops" in results:
        results["recipe_share_of_bf16_matmul"] = results["recipe_gflops"] / results["bf16_matmul_gflops"]
    for prefix in ("neuralab_simple_cnn", "neuralab_simple_cnn_fp32"):
        if "matmul_gflops" in results and f"{prefix}_gflops" in results:
            results[f"{prefix}_share_of_fp32_matmul"] = results[f"{prefix}_gflops"] / results["matmul_gflops"]
            results[f"{prefix}_share_of_bf16_matmul"] = results[f"{prefix}_gflops"] / results["bf16_matmul_gflops"]
        if "tutorial_images_per_s" in results and f"{prefix}_images_per_s" in results:
            results[f"{prefix}_speedup_vs_tutorial"] = (
                results[f"{prefix}_images_per_s"] / results["tutorial_images_per_s"]
            )
    print(json.dumps(results))


if __name__ == "__main__":
    main()
