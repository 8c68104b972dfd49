"""The FastAPI application: the shared state, its lifespan, error handlers and the routes' router.

`create_app` loads the model before the server binds its port, so a broken run folder fails at
start-up with a clear message instead of on the first request.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import numpy as np
import torch
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from neuralab.serve.batching import MicroBatcher
from neuralab.serve.errors import error_response
from neuralab.serve.fast_path import PredictFastPath
from neuralab.serve.inputs import InputError
from neuralab.serve.monitoring import (
    LOG,
    Metrics,
    ObservabilityMiddleware,
    configure_logging,
    request_id_of,
)
from neuralab.serve.predictor import Predictor
from neuralab.serve.routes import router
from neuralab.serve.settings import ServeSettings
from neuralab.serve.slow_clients import deadline_protocol
from neuralab.serve.state import ServeState, validation_message

__all__ = ["ServeSettings", "app_from_env", "create_app"]


def app_from_env() -> FastAPI:
    """The factory uvicorn's worker processes call (settings come through the environment).

    A worker is a fresh process: its logging is configured here, or its access log would be lost.
    """
    run_dir, settings = ServeSettings.from_env()
    configure_logging(settings.log_level)
    deadline_protocol(settings.request_timeout_s)  # this worker's protocol class (uvicorn's config names it)
    return create_app(run_dir, settings)


def _error(request: Request, status: int, code: str, message: str) -> JSONResponse:
    return error_response(request_id_of(request.scope), status, code, message)


def _add_error_handlers(app: FastAPI) -> None:
    """Every failure answers JSON with a code, a message and the request id; never a bare traceback.

    An unexpected exception is answered by ObservabilityMiddleware (JSON 500, logged, connection kept).
    """

    @app.exception_handler(InputError)
    async def input_error(request: Request, err: InputError) -> JSONResponse:
        return _error(request, err.status_code, err.code, err.message)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, err: RequestValidationError) -> JSONResponse:
        return _error(request, 422, "invalid_request", validation_message(list(err.errors())))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, err: StarletteHTTPException) -> JSONResponse:
        message = str(err.detail)
        if err.status_code == 404:
            message = f"no route {request.method} {request.url.path}; see /docs"
        return _error(request, err.status_code, f"http_{err.status_code}", message)


def create_app(run_dir: Path, settings: ServeSettings | None = None) -> FastAPI:
    settings = settings or ServeSettings()
    if settings.threads:
        torch.set_num_threads(settings.threads)
    predictor = Predictor(run_dir, settings.backend, settings.trust_code, settings.precision)
    metrics = Metrics()

    def run_batch(items: list[torch.Tensor]) -> list[np.ndarray]:
        return list(predictor.predict_batch(items))

    batcher: MicroBatcher[torch.Tensor] = MicroBatcher(
        run_batch, settings.max_batch, settings.max_wait_ms, on_batch=metrics.batch_size.observe
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await batcher.warm_up(predictor.warm_up_inputs(settings.max_batch))
        # Everything loaded so far (torch, the model, FastAPI) lives as long as the server: freezing it
        # keeps the garbage collector from rescanning it, which measured as ~170 ms pauses under load.
        gc.collect()
        gc.freeze()
        batcher.start()
        LOG.info('{"event": "started", "run": "%s", "backend": "%s"}', predictor.run_dir.name, settings.backend)
        yield
        await batcher.stop()

    app = FastAPI(
        title="neuralab model server",
        version="1",
        description=f"Predictions from the run `{predictor.run_dir.name}` ({predictor.card['architecture']}).",
        lifespan=lifespan,
    )
    app.add_middleware(PredictFastPath)  # added first, so it runs inside the observability layer
    app.add_middleware(ObservabilityMiddleware, metrics=metrics, max_body_bytes=settings.max_body_bytes)
    _add_error_handlers(app)
    app.include_router(router)
    app.state.serve = ServeState(predictor, batcher, metrics, settings)
    app.state.predictor = predictor
    app.state.metrics = metrics
    return app


logging.getLogger("neuralab.serve").addHandler(logging.NullHandler())
