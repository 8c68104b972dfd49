"""`neuralab serve` vs the tutorial's Flask server: same model, same machine, same client, one run.

Trains the tutorial's SimpleCNN on Fashion-MNIST for one epoch (or takes --run), pickles that same
model for the Flask server as the tutorial does, starts both servers, and drives each from a
separate client process (load_client.py) at each concurrency: throughput and p50/p99 latency.
Then sends both the same bad inputs and records the status codes. Prints one JSON line.

Usage: python benchmarks/serve_vs_flask.py [--run RUN_DIR] [--levels 1,8,32] [--requests 0] [--seconds 10]
       [--workers 1,2] [--backends torch,onnx]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(port: int, process: subprocess.Popen[bytes], path: str) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            httpx.get(f"http://127.0.0.1:{port}{path}", timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.3)
    raise RuntimeError("server did not start")


def train_run(out: Path) -> Path:
    from rich.console import Console

    from neuralab.pipeline import resolve_config, run_config

    cfg = resolve_config({
        "data": {"name": "fashion-mnist"}, "model": {"name": "simple_cnn"}, "train": {"epochs": 1},
        "out_dir": str(out), "name": "fashion-simple-cnn",
    })  # fmt: skip
    return run_config(cfg, Console(file=io.StringIO())).run_dir


def png(array: np.ndarray, mode: str | None = None) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array, mode).save(buf, format="PNG")
    return buf.getvalue()


def bad_inputs(sample: bytes) -> dict[str, bytes]:
    rng = np.random.default_rng(0)
    bomb = io.BytesIO()
    Image.new("L", (10000, 10000)).save(bomb, format="PNG")
    return {
        "text_file": b"this is not an image\n",
        "empty_file": b"",
        "truncated_png": sample[: len(sample) // 2],
        "rgb_image": png(rng.integers(0, 256, (28, 28, 3), dtype=np.uint8)),
        "non_square_image": png(rng.integers(0, 256, (28, 40), dtype=np.uint8)),
        "bomb_10000x10000": bomb.getvalue(),
    }


def probe(port: int, inputs: dict[str, bytes]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, data in inputs.items():
        start = time.perf_counter()
        try:
            response = httpx.post(f"http://127.0.0.1:{port}/predict", files={"file": ("x.png", data)}, timeout=60)
            out[name] = {"status": response.status_code, "ms": round(1000 * (time.perf_counter() - start), 1),
                         "traceback": "Traceback" in response.text}  # fmt: skip
        except httpx.HTTPError as err:
            out[name] = {"status": None, "error": type(err).__name__}
    return out


def load(port: int, body: Path, args: argparse.Namespace) -> list[dict[str, Any]]:
    rows = []
    for level in args.levels:
        cmd = [sys.executable, str(HERE / "load_client.py"), "--port", str(port), "--body", str(body),
               "--concurrency", str(level), "--requests", str(args.requests),
               "--seconds", str(args.seconds)]  # fmt: skip
        rows.append(json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout))
    return rows


def measure(cmd: list[str], port: int, health: str, body: Path, args: argparse.Namespace,
            inputs: dict[str, bytes], log: Path) -> dict[str, Any]:  # fmt: skip
    with log.open("wb") as fh:
        process = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT)
        try:
            wait_until_up(port, process, health)
            levels = load(port, body, args)
            bad = probe(port, inputs)
            alive = process.poll() is None
        finally:
            process.terminate()
            process.wait(timeout=20)
    return {"levels": levels, "bad_inputs": bad, "alive_after_bad_inputs": alive}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--run", type=Path)
    parser.add_argument("--levels", type=lambda s: [int(v) for v in s.split(",")], default=[1, 8, 32])
    # No cap by default: with 3,000 a fast server was measured over about 1 s (connection set-up and
    # warm-up included) and Flask over 10 s; every level now runs --seconds for every server.
    parser.add_argument("--requests", type=int, default=0, help="cap per level (0: none, run --seconds)")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=lambda s: [int(v) for v in s.split(",")], default=[1, 2])
    parser.add_argument("--backends", type=lambda s: s.split(","), default=["torch"],
                        help="serve backends to measure (torch, onnx): onnx exports the run first")  # fmt: skip
    args = parser.parse_args()

    import torch

    from neuralab.data.mnist import load_fashion_mnist
    from neuralab.data.registry import LoadOptions
    from neuralab.runs import load_model

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        run = args.run or train_run(tmp / "runs")
        model, _ = load_model(run)
        torch.save(model, tmp / "model.pth")  # the tutorial's format: a pickled module
        data = load_fashion_mnist(LoadOptions())
        sample = png(data.test.x[0, 0].numpy())
        body = tmp / "sample.png"
        body.write_bytes(sample)
        inputs = bad_inputs(sample)

        flask_port = free_port()
        results = {"flask": measure(
            [sys.executable, str(HERE / "baselines" / "tutorial_flask_server.py"), str(tmp / "model.pth"),
             str(flask_port)], flask_port, "/", body, args, inputs, tmp / "flask.log",
        )}  # fmt: skip
        if "onnx" in args.backends:
            subprocess.run([sys.executable, "-m", "neuralab.cli.main", "export", str(run), "--format", "onnx"],
                           check=True, stdout=subprocess.DEVNULL)  # fmt: skip
        for backend in args.backends:
            for workers in args.workers:
                port = free_port()
                name = f"neuralab_{workers}w" + ("" if backend == "torch" else f"_{backend}")
                results[name] = measure(
                    [sys.executable, "-m", "neuralab.cli.main", "serve", str(run), "--port", str(port),
                     "--workers", str(workers), "--backend", backend], port, "/health", body, args, inputs,
                    tmp / f"{name}.log",
                )  # fmt: skip

    flask = results["flask"]
    comparison: dict[str, Any] = {}
    for name, ours in results.items():
        if name == "flask":
            continue
        comparison[name] = {
            f"c{f['concurrency']}": {
                "throughput_ratio": round(o["req_per_s"] / f["req_per_s"], 2), "p99_lower": o["p99_ms"] < f["p99_ms"],
            }
            for f, o in zip(flask["levels"], ours["levels"], strict=True)
        }  # fmt: skip
    print(json.dumps({
        "model": "SimpleCNN (tutorial part 4.1), Fashion-MNIST, 1 epoch", "cpu_count": os.cpu_count(),
        **results, "vs_flask": comparison,
    }))  # fmt: skip


if __name__ == "__main__":
    main()
