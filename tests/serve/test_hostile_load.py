"""Mixed hostile load on a real server over a loopback socket: half good images, the rest corrupt,
truncated, oversized, decompression bombs, random bytes and bad JSON, 32 at a time. No request may
get a 5xx, the server must stay up, and its memory must not grow with the abuse."""

from __future__ import annotations

import asyncio
import io
import random
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from tests.serve.conftest import Server, png_bytes, start_server, stop_server

REQUESTS, CONCURRENCY = 1200, 32


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def blank_png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (width, height)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def hostile_server(digits_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(digits_run, tmp_path_factory.mktemp("hostile") / "server.log", "--log-level", "warning")
    yield srv
    stop_server(srv)


def request_kinds(digit_images: list[tuple[np.ndarray, int]]) -> dict[str, tuple[str, dict]]:
    good = png_bytes(digit_images[0][0])
    rng = random.Random(0)
    bomb = blank_png(12000, 12000)  # 144 megapixels: over PIL's own warning limit too
    return {
        "good": ("multipart", {"files": {"file": ("d.png", good, "image/png")}}),
        "corrupt": ("multipart", {"files": {"file": ("c.png", good[:16] + bytes(200), "image/png")}}),
        "truncated": ("multipart", {"files": {"file": ("t.png", good[: len(good) // 2], "image/png")}}),
        "oversized": ("multipart", {"files": {"file": ("o.png", blank_png(6000, 5000), "image/png")}}),
        "bomb": ("multipart", {"files": {"file": ("b.png", bomb, "image/png")}}),
        "random": ("multipart", {"files": {"file": ("r.bin", rng.randbytes(3000), "application/octet-stream")}}),
        "bad_json": ("json", {"content": b'{"image_base64": "AAAA', "headers": {"content-type": "application/json"}}),
    }


def test_mixed_hostile_load_gets_no_5xx_and_leaves_the_server_healthy(
    hostile_server: Server, digit_images: list[tuple[np.ndarray, int]]
) -> None:
    kinds = request_kinds(digit_images)
    bad = [k for k in kinds if k != "good"]
    plan = ["good" if i % 2 == 0 else bad[(i // 2) % len(bad)] for i in range(REQUESTS)]
    random.Random(1).shuffle(plan)
    pid = hostile_server.process.pid
    statuses: dict[str, Counter[int]] = {k: Counter() for k in kinds}

    async def run(chunk: list[str]) -> None:
        async with httpx.AsyncClient(base_url=hostile_server.url, timeout=60) as client:
            for kind in chunk:
                _, kwargs = kinds[kind]
                response = await client.post("/predict", **kwargs)
                statuses[kind][response.status_code] += 1

    async def main() -> None:
        await asyncio.gather(*(run(plan[i::CONCURRENCY]) for i in range(CONCURRENCY)))

    asyncio.run(main())  # warm-up round: allocator pools and caches reach their working size
    before = rss_mb(pid)
    asyncio.run(main())
    after = rss_mb(pid)

    assert hostile_server.process.poll() is None, "the server died"
    assert hostile_server.client.get("/health").status_code == 200
    every = Counter(code for counts in statuses.values() for code in counts.elements())
    assert not [code for code in every if code >= 500], statuses
    assert set(statuses["good"]) == {200}
    assert set(statuses["oversized"]) == set(statuses["bomb"]) == {413}
    assert all(code in (400, 415, 422) for kind in ("corrupt", "truncated", "random", "bad_json")
               for code in statuses[kind]), statuses  # fmt: skip
    assert after - before < 50, f"RSS grew from {before:.0f} to {after:.0f} MB over {REQUESTS} requests"
