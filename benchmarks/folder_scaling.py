"""Cost as the work grows: the image-folder path at 10k, 50k and 200k images on disk. One JSON line.

The images are Fashion-MNIST's training images written as PNG files (cycled past 60,000), one
sub-folder per class, plus a fixed 2,000-image test folder. Each size trains one epoch of the default
model through the CLI (`--dataset image-folder`, decoding in 2 DataLoader workers), in a fresh
process. Reported per size: the command's wall seconds, training images/s, and the peak resident
memory of the largest process (the trainer or a worker: `getrusage(RUSAGE_CHILDREN)`, which keeps
the maximum of the processes waited for, measured per size). Flat memory and time linear in the images is the claim.

Usage: python benchmarks/folder_scaling.py [--sizes 10000,50000,200000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from neuralab.data.idx import read_idx

FASHION = Path("/usr/share/datasets/fashion-mnist")
# Runs the command and prints the largest peak RSS (KiB) among the processes it started: this size's alone.
MEASURE = (
    "import resource, subprocess, sys; done = subprocess.run(sys.argv[1:], capture_output=True); "
    "sys.stderr.write(done.stderr.decode()[-3000:]) if done.returncode else None; "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(done.returncode)"
)


def write_folder(root: Path, images: np.ndarray, labels: np.ndarray, count: int) -> None:
    for label in np.unique(labels):
        (root / str(label)).mkdir(parents=True, exist_ok=True)
    for i in range(count):
        j = i % len(images)
        Image.fromarray(images[j]).save(root / str(labels[j]) / f"{i}.png", optimize=False, compress_level=1)


def one_size(count: int, images: np.ndarray, labels: np.ndarray, tmp: Path) -> dict[str, float]:
    root = tmp / f"fm-{count}"
    write_folder(root / "train", images, labels, count)
    write_folder(root / "test", images[-2000:], labels[-2000:], 2000)
    command = [sys.executable, "-m", "neuralab", "train", "--dataset", "image-folder", "--data-dir", str(root),
               "--epochs", "1", "--set", "data.image_size=28", "--set", "data.num_workers=2",
               "--out", str(tmp / "runs"), "--name", f"run-{count}"]  # fmt: skip
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", MEASURE, *command], capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(done.stderr[-3000:])
    summary = json.loads((tmp / "runs" / f"run-{count}" / "summary.json").read_text())
    return {"images": count, "wall_s": round(wall, 1), "train_images_per_s": round(summary["train_images_per_s"]),
            "peak_rss_mb": round(int(done.stdout.strip().splitlines()[-1]) / 1024)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,50000,200000")
    opts = parser.parse_args()
    images = read_idx(FASHION / "train-images-idx3-ubyte.gz", 3)
    labels = read_idx(FASHION / "train-labels-idx1-ubyte.gz", 1)
    with tempfile.TemporaryDirectory() as tmp:
        rows = [one_size(int(n), images, labels, Path(tmp)) for n in opts.sizes.split(",")]
    print(json.dumps({"benchmark": "folder_scaling", "sizes": rows}))


if __name__ == "__main__":
    main()
