"""`serve --workers 2`: both workers take connections, both log, and a taken port is refused clearly."""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from neuralab.errors import UserError
from neuralab.serve.workers import reserve_port, spreads_connections
from tests.conftest import run_cli
from tests.serve.conftest import free_port, start_server, stop_server

CONNECTIONS = 32


def _health_on_a_fresh_connection(url: str, request_id: str) -> int:
    with httpx.Client(base_url=url, timeout=30) as client:
        return client.get("/health", headers={"x-request-id": request_id}).status_code


def test_connections_spread_over_both_workers_and_both_log(digits_run: Path, tmp_path: Path) -> None:
    server = start_server(digits_run, tmp_path / "server.log", "--workers", "2")
    try:
        ids = [f"spread-{i}" for i in range(CONNECTIONS)]
        with ThreadPoolExecutor(CONNECTIONS) as pool:
            assert set(pool.map(lambda i: _health_on_a_fresh_connection(server.url, i), ids)) == {200}
    finally:
        stop_server(server)  # a worker writes its log line after answering: read the log once they have stopped
    records = [json.loads(line) for line in server.log_lines() if line.startswith("{")]
    by_worker = Counter(r["pid"] for r in records if r.get("request_id") in ids)
    assert sum(by_worker.values()) == CONNECTIONS  # every request logged, whichever worker answered
    if spreads_connections():
        # Linux hashes each connection to one worker's socket: fewer than 4 of 32 on one is a ~1e-6 chance.
        assert len(by_worker) == 2 and min(by_worker.values()) >= 4, by_worker


@pytest.mark.skipif(not spreads_connections(), reason="SO_REUSEPORT spreads connections on Linux only")
def test_a_port_already_served_is_refused_even_with_reuse_port() -> None:
    port = free_port()
    other = socket.socket()
    other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)  # another server that allows sharing
    other.bind(("127.0.0.1", port))
    other.listen()
    try:
        with pytest.raises(UserError, match=f"cannot listen on 127.0.0.1:{port}"):
            reserve_port("127.0.0.1", port)
    finally:
        other.close()
    held = reserve_port("127.0.0.1", port)
    try:
        with socket.socket() as late, pytest.raises(OSError):
            late.bind(("127.0.0.1", port))  # the reservation keeps others off while workers start
    finally:
        held.close()


def test_the_cli_names_a_taken_port(digits_run: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli("serve", str(digits_run), "--port", str(port), "--workers", "2")
    assert result.returncode == 2, result.stderr
    assert f"127.0.0.1:{port}" in result.stderr and "Traceback" not in result.stderr


def _worker_pids(supervisor: int) -> set[int]:
    """The supervisor's spawned workers (not multiprocessing's resource tracker)."""
    children = Path(f"/proc/{supervisor}/task/{supervisor}/children").read_text().split()
    pids = set()
    for pid in map(int, children):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except FileNotFoundError:
            continue
        if b"spawn_main" in cmdline:
            pids.add(pid)
    return pids


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads the process tree from /proc")
def test_a_killed_worker_is_replaced_and_the_other_answers_meanwhile(digits_run: Path, tmp_path: Path) -> None:
    server = start_server(digits_run, tmp_path / "server.log", "--workers", "2", "--log-level", "warning")
    try:
        workers = _worker_pids(server.process.pid)
        assert len(workers) == 2, workers
        victim = min(workers)
        os.kill(victim, signal.SIGKILL)
        time.sleep(0.5)
        with ThreadPoolExecutor(8) as pool:  # fresh connections: none may reach the dead worker's socket
            codes = list(pool.map(lambda i: _health_on_a_fresh_connection(server.url, f"k{i}"), range(24)))
        assert codes == [200] * 24
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            replaced = _worker_pids(server.process.pid)
            if len(replaced) == 2 and victim not in replaced:
                break
            time.sleep(0.5)
        assert len(replaced) == 2 and victim not in replaced, replaced
    finally:
        stop_server(server)
