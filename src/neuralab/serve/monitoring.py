"""Prometheus metrics and one JSON log line per request, with a request id echoed to the client.

Written as a plain ASGI middleware (not a FastAPI decorator) so it also sees requests that
fail before routing: oversized bodies, unknown paths, bad methods.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
import uuid

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics, generate_latest
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LOG = logging.getLogger("neuralab.serve")
INTERNAL_ERROR = "internal server error; the server log has the request id"
CLIENT_CLOSED = 499  # logged for a request whose client went away before it arrived in full (nginx's code)
# prometheus_client's multiprocess mode: each worker writes its samples to files in this folder, set
# before the workers start (`serve --workers N` does), and a scrape of any worker sums them all.
MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
disable_created_metrics()  # the *_created series only add noise to a scrape
REQUEST_ID_HEADER = b"x-request-id"
_SAFE_ID = re.compile(rb"^[A-Za-z0-9._-]{1,64}$")
KNOWN_PATHS = {
    "/",
    "/health",
    "/metadata",
    "/metrics",
    "/predict",
    "/predict/batch",
    "/explain",
    "/docs",
    "/openapi.json",
}


class Metrics:
    """One registry per app, so two apps in one process (tests) never share counters."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "neuralab_requests_total", "HTTP requests by path, method and status", ["path", "method", "status"],
            registry=self.registry,
        )  # fmt: skip
        self.latency = Histogram(
            "neuralab_request_seconds", "Request latency in seconds", ["path"], registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
        )  # fmt: skip
        self.batch_size = Histogram(
            "neuralab_batch_size", "Inputs per model forward pass (micro-batching)", registry=self.registry,
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
        )  # fmt: skip
        self.predictions = Counter(
            "neuralab_predictions_total", "Predicted classes", ["class_name"], registry=self.registry
        )

    def render(self) -> bytes:
        """This process's metrics, or every worker's summed when `serve --workers N` set multiprocess mode."""
        if os.environ.get(MULTIPROCESS_DIR):
            from prometheus_client import multiprocess

            merged = CollectorRegistry()
            multiprocess.MultiProcessCollector(merged)
            return generate_latest(merged)
        return generate_latest(self.registry)


def request_id_of(scope: Scope) -> str:
    return str(scope.get("state", {}).get("request_id", "-"))


class ObservabilityMiddleware:
    """Request id, body size limit, metrics and the JSON access log, around every request."""

    def __init__(self, app: ASGIApp, metrics: Metrics, max_body_bytes: int) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        given = headers.get(REQUEST_ID_HEADER, b"")
        request_id = given.decode() if _SAFE_ID.match(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        start = time.perf_counter()
        status: dict[str, int | bool] = {"code": 500}
        received = {"bytes": 0}

        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            status["code"] = 413
            await _send_json(send, 413, request_id, "body_too_large",
                             f"the body is {int(declared)} bytes; the limit is {self.max_body_bytes}")  # fmt: skip
            self._record(scope, request_id, 413, start, int(declared))
            return

        async def limited_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                received["bytes"] += len(message.get("body", b""))
                if received["bytes"] > self.max_body_bytes:
                    from neuralab.serve.inputs import InputError

                    raise InputError(f"the request body exceeds the limit of {self.max_body_bytes} bytes", 413,
                                     "body_too_large")  # fmt: skip
            return message

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                status["started"] = True
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (REQUEST_ID_HEADER, request_id.encode())]
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_id)
        except ClientDisconnect:  # the client left, or missed the request deadline: nobody to answer
            status["code"] = CLIENT_CLOSED
        except Exception:
            if status.get("started"):
                raise
            # Answered here rather than by Starlette's outermost layer, which answers and then re-raises,
            # so uvicorn drops the connection: a keep-alive client would find it reset on its next request.
            LOG.exception("internal error (request id %s)", request_id)
            status["code"] = 500
            await _send_json(send, 500, request_id, "internal", INTERNAL_ERROR, close=False)
        finally:
            self._record(scope, request_id, status["code"], start, received["bytes"])

    def _record(self, scope: Scope, request_id: str, status: int, start: float, body_bytes: int) -> None:
        elapsed = time.perf_counter() - start
        path = scope.get("path", "")
        label = path if path in KNOWN_PATHS else "other"
        self.metrics.requests.labels(label, scope.get("method", ""), str(status)).inc()
        self.metrics.latency.labels(label).observe(elapsed)
        if LOG.isEnabledFor(logging.INFO):
            client = scope.get("client") or ("-", 0)
            LOG.info(json.dumps({
                "ts": round(time.time(), 3), "request_id": request_id, "method": scope.get("method"),
                "path": path, "status": status, "ms": round(elapsed * 1000, 2), "bytes_in": body_bytes,
                "client": client[0], "pid": os.getpid(),
            }))  # fmt: skip


async def _send_json(send: Send, status: int, request_id: str, code: str, message: str, close: bool = True) -> None:
    body = json.dumps({"error": {"code": code, "message": message}, "request_id": request_id}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               (REQUEST_ID_HEADER, request_id.encode())]  # fmt: skip
    if close:  # the body was never read: the connection cannot carry another request
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def configure_logging(level: str = "info") -> None:
    """JSON lines to stderr: the message of each record is already JSON."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    LOG.handlers[:] = [handler]
    LOG.setLevel(level.upper())
    LOG.propagate = False
