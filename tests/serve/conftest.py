"""A digits run trained once per session, and a real `neuralab serve` process on a free loopback port."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    url: str
    process: subprocess.Popen[str]
    log_path: Path
    client: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.client = httpx.Client(base_url=self.url, timeout=30)

    def log_lines(self) -> list[str]:
        return self.log_path.read_text(encoding="utf-8").splitlines()


def start_server(run_dir: Path, log_path: Path, *extra: str, env: dict[str, str] | None = None) -> Server:
    port = free_port()
    log = log_path.open("w", encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, "-m", "neuralab.cli.main", "serve", str(run_dir), "--port", str(port), *extra],
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}: {log_path.read_text()}")
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return Server(url, process, log_path)
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"server did not start: {log_path.read_text()}")


def stop_server(server: Server) -> None:
    server.client.close()
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()


@pytest.fixture(scope="module")
def server(digits_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(digits_run, tmp_path_factory.mktemp("serve-log") / "server.log", "--max-wait-ms", "5")
    yield srv
    stop_server(srv)


def png_bytes(array: np.ndarray, mode: str | None = None) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array, mode).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture(scope="session")
def digit_images() -> list[tuple[np.ndarray, int]]:
    """Real digits, as 8x8 uint8 grayscale images 0..255, with their labels."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = np.clip(digits.images[:64] * 16, 0, 255).astype(np.uint8)  # as data/digits.py does
    return [(img, int(label)) for img, label in zip(images, digits.target[:64], strict=True)]
