"""The HTTP routes, on one APIRouter; each takes its parsed inputs and the shared state as dependencies."""

from __future__ import annotations

from dataclasses import asdict
from importlib import resources
from typing import Annotated, Any

import numpy as np
import torch
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from neuralab.errors import UserError
from neuralab.explain import METHODS, explain_batch
from neuralab.explain.explainer import caption, resolve_target
from neuralab.explain.overlay import overlay_png
from neuralab.serve.inputs import InputError
from neuralab.serve.monitoring import request_id_of
from neuralab.serve.schemas import BatchRequest, BatchResponse, ErrorResponse, Health, PredictRequest, PredictResponse
from neuralab.serve.state import (
    ServeState,
    batch_inputs,
    get_state,
    predict_inputs,
    predict_payload,
    single_input,
)

router = APIRouter()


async def _state(request: Request) -> ServeState:
    """Async on purpose: FastAPI runs a plain `def` dependency in its thread pool, a thread hop per request."""
    return get_state(request)


State = Annotated[ServeState, Depends(_state)]
Single = Annotated[tuple[torch.Tensor, int], Depends(single_input)]
PredictInputs = Annotated[tuple[list[torch.Tensor], int, bool], Depends(predict_inputs)]
Batch = Annotated[tuple[list[torch.Tensor], int], Depends(batch_inputs)]


def _error_responses() -> dict[int | str, dict[str, Any]]:
    return {code: {"model": ErrorResponse} for code in (400, 413, 415, 422)}


def _request_body_doc(schema: dict[str, Any], multipart: dict[str, Any]) -> dict[str, Any]:
    """The body is parsed by hand (multipart or JSON), so OpenAPI is told about both explicitly."""
    return {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": multipart},
                                                         "application/json": {"schema": schema}}}}  # fmt: skip


_BINARY = {"type": "string", "format": "binary"}
SINGLE_DOC = _request_body_doc(
    PredictRequest.model_json_schema(), {"type": "object", "required": ["file"], "properties": {"file": _BINARY}}
)
_batch_schema = BatchRequest.model_json_schema(ref_template="#/components/schemas/{model}")
_batch_schema.pop("$defs", None)
BATCH_DOC = _request_body_doc(
    _batch_schema,
    {"type": "object", "required": ["files"], "properties": {"files": {"type": "array", "items": _BINARY}}},
)


@router.post(
    "/predict",
    response_model=PredictResponse,
    responses=_error_responses(),
    openapi_extra=SINGLE_DOC,
    summary="Classify one input: an uploaded image (field `file`), or JSON with image_base64, array or text; "
    "the tutorial's JSON {data: [input, ...]} gets {predictions: [...]}; a regression model takes JSON "
    "{rows: [{column: value}, ...]} and answers {predictions: [{target: value}, ...]}",
)
async def predict(
    request: Request,
    state: State,
    inputs: PredictInputs,
    top_k: int | None = Query(None, ge=1, le=1000, description="overrides the body's top_k"),
) -> JSONResponse:
    """One input; or, for the tutorial's `{"data": [...]}` body, `{"predictions": [...]}` for each row."""
    return JSONResponse(await predict_payload(request, state, inputs, top_k))


@router.post(
    "/predict/batch",
    response_model=BatchResponse,
    responses=_error_responses(),
    openapi_extra=BATCH_DOC,
    summary="Classify several inputs: files in the form field `files`, or JSON {instances: [...]}",
)
async def predict_batch(
    request: Request, state: State, batch: Batch, top_k: int | None = Query(None, ge=1, le=1000)
) -> JSONResponse:
    tensors, body_k = batch
    probs = np.stack(await state.batcher.submit_many(tensors))
    body = {"predictions": state.prediction_body(probs, top_k or body_k), "request_id": request_id_of(request.scope)}
    return JSONResponse(body)


@router.post(
    "/explain",
    responses={200: {"content": {"image/png": {}}, "description": "the input with its heatmap"}, **_error_responses()},
    openapi_extra=SINGLE_DOC,
    summary="Explain one image: a PNG overlay of Grad-CAM (or another method) for the predicted or given class",
    response_class=Response,
)
async def explain(
    state: State,
    single: Single,
    method: str = Query("gradcam", description=", ".join(METHODS)),
    target: str | None = Query(None, description="class name or index; default: the predicted class"),
) -> Response:
    predictor = state.predictor
    if predictor.preprocess.kind != "image":
        raise InputError("explanations are served for image models only", 415, "wrong_input")
    if method not in METHODS:
        raise InputError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}", 422, "invalid_request")
    tensor, _ = single
    try:
        target_index = resolve_target(target, predictor.classes)
    except UserError as err:
        raise InputError(err.message, 422, "invalid_request") from None

    def render() -> bytes:
        batch = tensor[None]
        exp = explain_batch(predictor.model, predictor.preprocess, batch, predictor.classes, method, target_index)[0]
        return overlay_png(tensor.numpy(), exp.heat, caption(exp))

    try:
        png = await run_in_threadpool(render)
    except UserError as err:  # e.g. a CAM method on a model without convolutions
        raise InputError(err.message, 422, "cannot_explain") from None
    return Response(png, media_type="image/png")


@router.get("/health", response_model=Health, summary="Liveness: the model is loaded and the batcher runs")
async def health(state: State) -> dict[str, Any]:
    return {"status": "ok", "run": state.predictor.run_dir.name, "backend": state.settings.backend}


@router.get("/metadata", summary="Classes, the expected input and the preprocessing training used")
async def metadata(state: State) -> dict[str, Any]:
    return state.predictor.metadata() | {
        "limits": asdict(state.limits), "max_batch": state.settings.max_batch,
        "explain": state.predictor.preprocess.kind == "image",
    }  # fmt: skip


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def prometheus(state: State) -> Response:
    return Response(state.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def demo_page() -> HTMLResponse:
    return HTMLResponse(resources.files("neuralab.serve").joinpath("static/index.html").read_text("utf-8"))
