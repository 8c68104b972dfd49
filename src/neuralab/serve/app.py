"""The FastAPI application: routes over a Predictor, a MicroBatcher and the observability middleware.

`create_app` loads the model before the server binds its port, so a broken run folder fails at
start-up with a clear message instead of on the first request.
"""

from __future__ import annotations

import gc
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import torch
from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from neuralab.errors import UserError
from neuralab.explain import METHODS, explain_batch
from neuralab.explain.explainer import caption, resolve_target
from neuralab.explain.overlay import overlay_png
from neuralab.serve.batching import MicroBatcher
from neuralab.serve.inputs import (
    InputError,
    InputLimits,
    array_to_tensor,
    decode_base64,
    decode_image,
    text_to_tensor,
)
from neuralab.serve.monitoring import LOG, Metrics, ObservabilityMiddleware, request_id_of
from neuralab.serve.predictor import Backend, Predictor
from neuralab.serve.schemas import (
    BatchRequest,
    BatchResponse,
    ErrorResponse,
    Health,
    Instance,
    PredictRequest,
    PredictResponse,
)

INLINE_DECODE_BYTES = 64 * 1024  # small images decode on the event loop; bigger ones in a thread


@dataclass(frozen=True)
class ServeSettings:
    backend: Backend = "torch"
    max_batch: int = 32
    max_wait_ms: float = 1.0
    max_body_bytes: int = 8 * 1024 * 1024
    max_pixels: int = 25_000_000
    max_batch_items: int = 256
    threads: int | None = None

    @property
    def limits(self) -> InputLimits:
        return InputLimits(self.max_body_bytes, self.max_pixels, self.max_batch_items)

    def to_env(self, run_dir: Path) -> dict[str, str]:
        """How `--workers N` hands the settings to each uvicorn worker process."""
        values = {k: ("" if v is None else str(v)) for k, v in asdict(self).items()}
        return {"NEURALAB_SERVE_RUN_DIR": str(run_dir)} | {f"NEURALAB_SERVE_{k.upper()}": v for k, v in values.items()}


def app_from_env() -> FastAPI:
    """The factory uvicorn's worker processes call (settings come through the environment)."""
    env = os.environ
    settings = ServeSettings(
        backend=env.get("NEURALAB_SERVE_BACKEND", "torch"),  # type: ignore[arg-type]
        max_batch=int(env.get("NEURALAB_SERVE_MAX_BATCH", "32")),
        max_wait_ms=float(env.get("NEURALAB_SERVE_MAX_WAIT_MS", "1.0")),
        max_body_bytes=int(env.get("NEURALAB_SERVE_MAX_BODY_BYTES", str(8 * 1024 * 1024))),
        max_pixels=int(env.get("NEURALAB_SERVE_MAX_PIXELS", "25000000")),
        max_batch_items=int(env.get("NEURALAB_SERVE_MAX_BATCH_ITEMS", "256")),
        threads=int(env["NEURALAB_SERVE_THREADS"]) if env.get("NEURALAB_SERVE_THREADS") else None,
    )
    return create_app(Path(env["NEURALAB_SERVE_RUN_DIR"]), settings)


def _error(request: Request, status: int, code: str, message: str) -> JSONResponse:
    body = {"error": {"code": code, "message": message}, "request_id": request_id_of(request.scope)}
    return JSONResponse(body, status_code=status)


def _validation_message(errors: list[Any]) -> str:
    parts = []
    for err in errors[:5]:
        where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body",))
        parts.append(f"{where}: {err.get('msg')}" if where else str(err.get("msg")))
    return "; ".join(parts)


def _error_responses() -> dict[int | str, dict[str, Any]]:
    return {code: {"model": ErrorResponse} for code in (400, 413, 415, 422)}


def _request_body_doc(schema: dict[str, Any], multipart: dict[str, Any]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": multipart},
                                                         "application/json": {"schema": schema}}}}  # fmt: skip


def create_app(run_dir: Path, settings: ServeSettings | None = None) -> FastAPI:
    settings = settings or ServeSettings()
    if settings.threads:
        torch.set_num_threads(settings.threads)
    predictor = Predictor(run_dir, settings.backend)
    limits = settings.limits
    metrics = Metrics()
    preprocess = predictor.preprocess

    def run_batch(items: list[torch.Tensor]) -> list[np.ndarray]:
        return list(predictor.predict_proba(items))

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
    app.add_middleware(ObservabilityMiddleware, metrics=metrics, max_body_bytes=settings.max_body_bytes)

    @app.exception_handler(InputError)
    async def input_error(request: Request, err: InputError) -> JSONResponse:
        return _error(request, err.status_code, err.code, err.message)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, err: RequestValidationError) -> JSONResponse:
        return _error(request, 422, "invalid_request", _validation_message(list(err.errors())))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, err: StarletteHTTPException) -> JSONResponse:
        message = str(err.detail)
        if err.status_code == 404:
            message = f"no route {request.method} {request.url.path}; see /docs"
        return _error(request, err.status_code, f"http_{err.status_code}", message)

    @app.exception_handler(Exception)
    async def server_error(request: Request, err: Exception) -> JSONResponse:
        LOG.exception("internal error (request id %s)", request_id_of(request.scope))
        return _error(request, 500, "internal", "internal server error; the server log has the request id")

    async def image_tensor(data: bytes) -> torch.Tensor:
        if len(data) <= INLINE_DECODE_BYTES:
            return decode_image(data, preprocess, limits)
        return await run_in_threadpool(decode_image, data, preprocess, limits)

    async def instance_tensor(instance: Instance) -> torch.Tensor:
        if instance.image_base64 is not None:
            return await image_tensor(decode_base64(instance.image_base64, limits))
        if instance.array is not None:
            return array_to_tensor(instance.array, preprocess)
        return text_to_tensor(instance.text or "", preprocess, predictor.tokenizer, limits)

    async def parse_json(request: Request, model: type[PredictRequest] | type[BatchRequest]) -> Any:
        body = await request.body()
        if not body:
            raise InputError("the JSON body is empty", 400, "empty_body")
        try:
            return model.model_validate_json(body)
        except ValidationError as err:
            raise InputError(_validation_message(list(err.errors())), 422, "invalid_request") from None

    async def uploads(request: Request, field: str, many: bool) -> list[bytes]:
        try:
            form = await request.form(max_files=limits.max_batch_items, max_fields=16)
        except StarletteHTTPException as err:
            raise InputError(f"malformed multipart body ({err.detail})", 400, "bad_multipart") from None
        values = form.getlist(field) if many else form.getlist(field)[:2]
        if not values:
            raise InputError(f"no file in the form field '{field}'", 400, "no_file")
        if not many and len(values) > 1:
            raise InputError(f"send one file in '{field}', or use /predict/batch", 400, "too_many_files")
        if len(values) > limits.max_batch_items:
            raise InputError(f"at most {limits.max_batch_items} files per batch", 413, "too_many_files")
        out = []
        for value in values:
            if not isinstance(value, UploadFile):
                raise InputError(f"the form field '{field}' must be a file upload, not a text value", 422, "no_file")
            out.append(await value.read())
        return out

    def content_kind(request: Request) -> str:
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype == "multipart/form-data":
            return "multipart"
        if ctype in ("application/json", ""):
            return "json"
        raise InputError(f"unsupported content type {ctype!r}; send multipart/form-data or application/json", 415,
                         "unsupported_media_type")  # fmt: skip

    async def single_input(request: Request) -> tuple[torch.Tensor, int]:
        """The one input of /predict and /explain, from an upload or JSON, with the body's top_k."""
        if content_kind(request) == "multipart":
            return await image_tensor((await uploads(request, "file", many=False))[0]), 5
        body = await parse_json(request, PredictRequest)
        return await instance_tensor(body), body.top_k

    def prediction_body(probs: np.ndarray, top_k: int) -> list[dict[str, Any]]:
        rows = predictor.top_k(probs, top_k)
        for row in rows:
            metrics.predictions.labels(row.label).inc()
        return [{"class": r.label, "index": r.index, "probability": r.probability, "top": r.top} for r in rows]

    single_schema = PredictRequest.model_json_schema()
    single_form = {"type": "object", "required": ["file"],
                   "properties": {"file": {"type": "string", "format": "binary"}}}  # fmt: skip
    batch_schema = BatchRequest.model_json_schema(ref_template="#/components/schemas/{model}")
    batch_schema.pop("$defs", None)
    binary = {"type": "string", "format": "binary"}
    batch_form = {"type": "object", "required": ["files"], "properties": {"files": {"type": "array", "items": binary}}}

    @app.post(
        "/predict",
        response_model=PredictResponse,
        responses=_error_responses(),
        openapi_extra=_request_body_doc(single_schema, single_form),
        summary="Classify one input: an uploaded image (field `file`), or JSON with image_base64, array or text",
    )
    async def predict(
        request: Request, top_k: int | None = Query(None, ge=1, le=1000, description="overrides the body's top_k")
    ) -> JSONResponse:
        tensor, body_k = await single_input(request)
        k = top_k or body_k
        probs = (await batcher.submit_many([tensor]))[0]
        out = prediction_body(np.asarray(probs)[None], k)[0]
        return JSONResponse({**out, "request_id": request_id_of(request.scope)})

    @app.post(
        "/predict/batch",
        response_model=BatchResponse,
        responses=_error_responses(),
        openapi_extra=_request_body_doc(batch_schema, batch_form),
        summary="Classify several inputs: files in the form field `files`, or JSON {instances: [...]}",
    )
    async def predict_batch(request: Request, top_k: int | None = Query(None, ge=1, le=1000)) -> JSONResponse:
        if content_kind(request) == "multipart":
            tensors, k = [await image_tensor(data) for data in await uploads(request, "files", many=True)], top_k or 5
        else:
            body = await parse_json(request, BatchRequest)
            if len(body.instances) > limits.max_batch_items:
                raise InputError(f"at most {limits.max_batch_items} instances per batch", 413, "too_many_instances")
            tensors, k = [await instance_tensor(i) for i in body.instances], top_k or body.top_k
        probs = np.stack(await batcher.submit_many(tensors))
        return JSONResponse({"predictions": prediction_body(probs, k), "request_id": request_id_of(request.scope)})

    can_explain = preprocess.kind == "image"

    @app.post(
        "/explain",
        responses={
            200: {"content": {"image/png": {}}, "description": "the input with its heatmap"},
            **_error_responses(),
        },
        openapi_extra=_request_body_doc(single_schema, single_form),
        summary="Explain one image: a PNG overlay of Grad-CAM (or another method) for the predicted or given class",
        response_class=Response,
    )
    async def explain(
        request: Request,
        method: str = Query("gradcam", description=", ".join(METHODS)),
        target: str | None = Query(None, description="class name or index; default: the predicted class"),
    ) -> Response:
        if not can_explain:
            raise InputError("explanations are served for image models only", 415, "wrong_input")
        if method not in METHODS:
            raise InputError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}", 422, "invalid_request")
        tensor, _ = await single_input(request)
        try:
            target_index = resolve_target(target, predictor.classes)
        except UserError as err:
            raise InputError(err.message, 422, "invalid_request") from None

        def render() -> bytes:
            exp = explain_batch(predictor.model, preprocess, tensor[None], predictor.classes, method, target_index)[0]
            return overlay_png(tensor.numpy(), exp.heat, caption(exp))

        try:
            png = await run_in_threadpool(render)
        except UserError as err:  # e.g. a CAM method on a model without convolutions
            raise InputError(err.message, 422, "cannot_explain") from None
        return Response(png, media_type="image/png")

    @app.get("/health", response_model=Health, summary="Liveness: the model is loaded and the batcher runs")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "run": predictor.run_dir.name, "backend": settings.backend}

    @app.get("/metadata", summary="Classes, the expected input and the preprocessing training used")
    async def metadata() -> dict[str, Any]:
        return predictor.metadata() | {
            "limits": asdict(limits), "max_batch": settings.max_batch, "explain": can_explain,
        }  # fmt: skip

    @app.get("/metrics", summary="Prometheus metrics", response_class=Response)
    async def prometheus() -> Response:
        return Response(metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def demo_page() -> HTMLResponse:
        return HTMLResponse(resources.files("neuralab.serve").joinpath("static/index.html").read_text("utf-8"))

    app.state.predictor = predictor
    app.state.metrics = metrics
    return app


logging.getLogger("neuralab.serve").addHandler(logging.NullHandler())
