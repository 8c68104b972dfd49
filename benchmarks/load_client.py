"""A small HTTP/1.1 load generator (asyncio, raw sockets, keep-alive), the same for every server measured.

Each of C connections sends the same pre-built request back to back; the run stops after
`--seconds`, or after `--requests` answers if that is set and comes first (0: no cap, the default, so
every server is measured over the same window). Prints one JSON line.
Usage: python load_client.py --port P --body FILE --concurrency C [--requests N] [--seconds S]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from pathlib import Path


def multipart_request(path: str, port: int, field: str, filename: str, payload: bytes) -> bytes:
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
            f"Content-Type: image/png\r\n\r\n"
        ).encode()
        + payload
        + f"\r\n--{boundary}--\r\n".encode()
    )
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: keep-alive\r\n\r\n"
    ).encode()
    return head + body


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
    await reader.readexactly(int(headers.get("content-length", "0")))
    keep = headers.get("connection", "").lower() != "close" and not lines[0].startswith("HTTP/1.0")
    return status, keep


async def worker(port: int, request: bytes, stop_at: float, budget: list[int], out: list[tuple[float, int]]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < stop_at and budget[0] > 0:
            budget[0] -= 1
            start = time.perf_counter()
            writer.write(request)
            status, keep = await read_response(reader)
            out.append((time.perf_counter() - start, status))
            if not keep:
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
    finally:
        writer.close()


async def main(args: argparse.Namespace) -> dict[str, object]:
    request = multipart_request("/predict", args.port, "file", "x.png", Path(args.body).read_bytes())
    warm: list[tuple[float, int]] = []
    await worker(args.port, request, time.perf_counter() + 2, [20], warm)
    results: list[tuple[float, int]] = []
    budget = [args.requests or 1 << 62]
    start = time.perf_counter()
    stop_at = start + args.seconds
    await asyncio.gather(*(worker(args.port, request, stop_at, budget, results) for _ in range(args.concurrency)))
    elapsed = time.perf_counter() - start
    latencies = sorted(lat for lat, _ in results)

    def pct(q: float) -> float:
        return round(1000 * latencies[min(len(latencies) - 1, int(q * len(latencies)))], 2)

    return {
        "concurrency": args.concurrency,
        "requests": len(results),
        "ok": sum(1 for _, s in results if s == 200),
        "seconds": round(elapsed, 2),
        "req_per_s": round(len(results) / elapsed, 1),
        "p50_ms": pct(0.50),
        "p90_ms": pct(0.90),
        "p99_ms": pct(0.99),
        "max_ms": round(1000 * latencies[-1], 2),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--body", required=True)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--requests", type=int, default=0)
    parser.add_argument("--seconds", type=float, default=10.0)
    print(json.dumps(asyncio.run(main(parser.parse_args()))))
