"""Slow clients over a real socket: a request that does not arrive in full within the deadline is cut
off (slowloris would otherwise hold a file descriptor per connection for ever), and nobody else waits."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.serve.conftest import Server, start_server, stop_server

DEADLINE_S = 1.0


@pytest.fixture(scope="module")
def strict_server(digits_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    log = tmp_path_factory.mktemp("slow") / "server.log"
    server = start_server(digits_run, log, "--request-timeout", str(DEADLINE_S), "--log-level", "warning")
    yield server
    stop_server(server)


def connect(server: Server, first_bytes: bytes) -> socket.socket:
    url = urlparse(server.url)
    sock = socket.create_connection((url.hostname, url.port))
    if first_bytes:
        sock.sendall(first_bytes)
    return sock


def closed_by_server(sock: socket.socket, within_s: float) -> bool:
    """True once the server has closed the connection (recv sees EOF or a reset)."""
    sock.settimeout(within_s)
    try:
        return sock.recv(1024) == b""
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True


def test_requests_that_never_arrive_in_full_are_cut_off(strict_server: Server) -> None:
    dribblers = {
        "silent": connect(strict_server, b""),
        "half the headers": connect(strict_server, b"POST /predict HTTP/1.1\r\nHost: x\r\n"),
        "half the body": connect(
            strict_server,
            b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 900\r\n\r\n{",
        ),
    }
    time.sleep(0.2)
    assert not any(closed_by_server(s, 0.01) for s in dribblers.values())  # the deadline, not something else, cuts
    good = strict_server.client.post("/predict", json={"array": [[0] * 8] * 8})
    assert good.status_code == 200  # others are served while they dribble
    for name, sock in dribblers.items():
        assert closed_by_server(sock, 10 * DEADLINE_S), f"{name}: still open"
        sock.close()
    metrics = strict_server.client.get("/metrics").text
    assert 'status="499"' in metrics  # the cut-off body is counted, not logged as a server error
    assert "Traceback" not in strict_server.log_path.read_text()


def test_a_keep_alive_client_is_timed_per_request_not_per_connection(strict_server: Server) -> None:
    for _ in range(3):  # the connection outlives the deadline; each request arrives at once
        assert strict_server.client.post("/predict", json={"array": [[0] * 8] * 8}).status_code == 200
        time.sleep(DEADLINE_S * 0.6)
