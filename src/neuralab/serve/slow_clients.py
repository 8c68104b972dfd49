"""A deadline for every request to arrive in full, so slow clients cannot hold the server's sockets.

uvicorn closes a keep-alive connection that sits idle between requests, but not one whose request
headers or body stop coming part-way (slowloris): each such connection keeps a file descriptor, and
a few hundred of them exhaust a default limit of 1,024, after which nobody else can connect. Here
the clock starts when a connection opens or a request's first byte arrives, and stops at the
request's last byte; the model's work after that is never timed. A client that misses the deadline
is disconnected.

This subclasses uvicorn's httptools protocol (its parser callbacks `on_message_begin` and
`on_message_complete`); where httptools is missing (Windows, PyPy), uvicorn's own protocol serves
without the deadline.
"""

from __future__ import annotations

import asyncio
from typing import Any

from neuralab.serve.settings import DEFAULTS

try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # uvicorn without httptools
    HttpToolsProtocol = None  # type: ignore[assignment,misc]


def deadline_protocol(seconds: float) -> type[asyncio.Protocol] | str:
    """The protocol class to give uvicorn's `http=`, with its deadline set ("auto" without httptools)."""
    if _DeadlineProtocol is None:
        return "auto"
    _DeadlineProtocol.deadline_s = seconds  # a class attribute: uvicorn builds the protocol itself
    return _DeadlineProtocol


if HttpToolsProtocol is not None:

    class _DeadlineProtocol(HttpToolsProtocol):
        deadline_s = DEFAULTS.request_timeout_s
        _timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: Any) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()  # a connection that never sends a byte counts too

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._arm()

        def on_message_complete(self) -> None:
            self._disarm()
            super().on_message_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            self._disarm()
            self._timer = self.loop.call_later(self.deadline_s, self._expire)

        def _disarm(self) -> None:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

        def _expire(self) -> None:
            self._timer = None
            self.transport.close()

else:  # pragma: no cover - exercised only where httptools is not installed
    _DeadlineProtocol = None  # type: ignore[assignment,misc]
