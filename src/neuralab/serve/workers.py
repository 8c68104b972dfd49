"""`serve --workers N`: uvicorn's supervisor, with each worker on its own SO_REUSEPORT socket.

Why: uvicorn's workers share one listening socket, and whichever worker's event loop wakes first
accepts every connection then waiting, so keep-alive clients can pile onto one worker while the
other idles. Measured on this 2-core machine (SimpleCNN, 32 keep-alive connections, 2 workers):
1,134 requests/s after one start and 2,307 after another. With a socket per worker, Linux hashes
each new connection to one of them, as nginx's `reuse_port` does. Where SO_REUSEPORT does not
spread connections (macOS, Windows), the shared socket stays.
"""

from __future__ import annotations

import socket
import sys

import uvicorn
from uvicorn.supervisors import Multiprocess

from neuralab.errors import UserError


def spreads_connections() -> bool:
    """Linux balances connections over SO_REUSEPORT sockets; BSD and macOS give them all to one."""
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def _socket(host: str, port: int, reuse_port: bool) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError as err:
        sock.close()
        raise UserError(f"cannot listen on {host}:{port}: {err.strerror}", hint="choose another --port") from None
    return sock


def reserve_port(host: str, port: int) -> socket.socket:
    """Hold the port for the workers (bound, not listening, so it never takes a connection).

    A first bind without SO_REUSEPORT fails if anything holds the port, even another server that
    set SO_REUSEPORT: two `serve` commands on one port would otherwise split its traffic silently.
    """
    _socket(host, port, reuse_port=False).close()
    return _socket(host, port, reuse_port=True)


class ReusePortServer(uvicorn.Server):
    """A uvicorn server that listens on a socket of its own, in the worker process."""

    def run(self, sockets: list[socket.socket] | None = None) -> None:
        sock = _socket(self.config.host, self.config.port, reuse_port=True)
        sock.listen(self.config.backlog)
        super().run(sockets=[sock])


def run_workers(config: uvicorn.Config) -> None:
    """Run `config.workers` processes under uvicorn's supervisor (restarts dead workers, handles signals)."""
    if not spreads_connections():
        Multiprocess(config, target=uvicorn.Server(config).run, sockets=[config.bind_socket()]).run()
        return
    reserved = reserve_port(config.host, config.port)
    try:
        Multiprocess(config, target=ReusePortServer(config).run, sockets=[]).run()
    finally:
        reserved.close()
