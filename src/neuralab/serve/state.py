"""What the routes share (predictor, batcher, metrics, limits) and how a request becomes model inputs.

Request parsing is FastAPI dependencies (`Depends(single_input)`), so each route states what it
takes and the parsing is written once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from fastapi import Request
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from neuralab.serve.batching import MicroBatcher
from neuralab.serve.inputs import InputError, InputLimits, array_to_tensor, decode_base64, decode_image, text_to_tensor
from neuralab.serve.monitoring import Metrics, request_id_of
from neuralab.serve.predictor import Predictor
from neuralab.serve.schemas import BatchRequest, Instance, PredictRequest
from neuralab.serve.settings import ServeSettings
from neuralab.serve.tables import history_input, table_inputs

INLINE_DECODE_BYTES = 64 * 1024  # small images decode on the event loop; bigger ones in a thread


@dataclass
class ServeState:
    predictor: Predictor
    batcher: MicroBatcher[torch.Tensor]
    metrics: Metrics
    settings: ServeSettings

    @property
    def limits(self) -> InputLimits:
        return self.settings.limits

    def prediction_body(self, probs: np.ndarray, top_k: int) -> list[dict[str, Any]]:
        if self.predictor.target is not None:
            return self.predictor.value_rows(probs)
        rows = self.predictor.top_k(probs, top_k)
        for row in rows:
            self.metrics.predictions.labels(row.label).inc()
        return [{"class": r.label, "index": r.index, "probability": r.probability, "top": r.top} for r in rows]


def get_state(request: Request) -> ServeState:
    state: ServeState = request.app.state.serve
    return state


def validation_message(errors: list[Any]) -> str:
    parts = []
    for err in errors[:5]:
        where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body",))
        parts.append(f"{where}: {err.get('msg')}" if where else str(err.get("msg")))
    return "; ".join(parts)


async def image_tensor(state: ServeState, data: bytes) -> torch.Tensor:
    preprocess, limits = state.predictor.preprocess, state.limits
    if len(data) <= INLINE_DECODE_BYTES:
        return decode_image(data, preprocess, limits)
    return await run_in_threadpool(decode_image, data, preprocess, limits)


async def instance_tensor(state: ServeState, instance: Instance) -> torch.Tensor:
    if instance.image_base64 is not None:
        return await image_tensor(state, decode_base64(instance.image_base64, state.limits))
    if instance.array is not None:
        return array_to_tensor(instance.array, state.predictor.preprocess, state.predictor.id_limit)
    return text_to_tensor(instance.text or "", state.predictor.preprocess, state.predictor.tokenizer, state.limits)


async def parse_json(request: Request, model: type[PredictRequest] | type[BatchRequest]) -> Any:
    body = await request.body()
    if not body:
        raise InputError("the JSON body is empty", 400, "empty_body")
    try:
        return model.model_validate_json(body)
    except ValidationError as err:
        raise InputError(validation_message(list(err.errors())), 422, "invalid_request") from None


async def uploads(request: Request, limits: InputLimits, field: str, many: bool) -> list[bytes]:
    try:
        form = await request.form(max_files=limits.max_batch_items, max_fields=16)
    except StarletteHTTPException as err:
        raise InputError(f"malformed multipart body ({err.detail})", 400, "bad_multipart") from None
    except ValueError as err:  # python-multipart's parse errors (a body that does not follow its boundary)
        raise InputError(f"malformed multipart body ({err})", 400, "bad_multipart") from None
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
    """Dependency: the one input of /predict and /explain, from an upload or JSON, with the body's top_k."""
    state = get_state(request)
    if content_kind(request) == "multipart":
        return await image_tensor(state, (await uploads(request, state.limits, "file", many=False))[0]), 5
    body = await parse_json(request, PredictRequest)
    return await instance_tensor(state, body), body.top_k


async def batch_inputs(request: Request) -> tuple[list[torch.Tensor], int]:
    """Dependency: the inputs of /predict/batch (files in `files`, or JSON instances) with the body's top_k."""
    state = get_state(request)
    if state.predictor.target is not None:
        raise InputError("this model takes rows or a history at /predict, not batches", 415, "wrong_input")
    limits = state.limits
    if content_kind(request) == "multipart":
        return [await image_tensor(state, data) for data in await uploads(request, limits, "files", many=True)], 5
    body = await parse_json(request, BatchRequest)
    if len(body.instances) > limits.max_batch_items:
        raise InputError(f"at most {limits.max_batch_items} instances per batch", 413, "too_many_instances")
    return [await instance_tensor(state, i) for i in body.instances], body.top_k


async def tutorial_rows(request: Request, state: ServeState) -> list[torch.Tensor] | None:
    """The second tutorial's Flask contract, `{"data": [input, ...]}`: its inputs, or None for other bodies."""
    if content_kind(request) != "json":
        return None
    try:
        body = json.loads(await request.body() or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        return None  # parse_json will name the problem (its parser limits nesting depth)
    if not isinstance(body, dict) or set(body) != {"data"}:
        return None
    rows = body["data"]
    if not isinstance(rows, list) or not rows:
        raise InputError("'data' must be a non-empty list of inputs", 422, "invalid_request")
    if len(rows) > state.limits.max_batch_items:
        raise InputError(f"at most {state.limits.max_batch_items} inputs in 'data'", 413, "too_many_instances")
    preprocess = state.predictor.preprocess
    if preprocess.kind == "text":
        return [text_to_tensor(str(row), preprocess, state.predictor.tokenizer, state.limits) for row in rows]
    return [array_to_tensor(row, preprocess, state.predictor.id_limit) for row in rows]


async def predict_inputs(request: Request) -> tuple[list[torch.Tensor], int, bool]:
    """Dependency of /predict: one input (upload or our JSON), or the tutorial's `{"data": [...]}` batch.

    A regression model takes table rows instead; what their encoding guessed goes to `request.state.notes`.
    """
    state = get_state(request)
    predictor = state.predictor
    if predictor.series is not None:
        if content_kind(request) != "json":
            raise InputError("this model takes a history as JSON {'history': [...]}", 415, "wrong_input")
        window = int(predictor.preprocess.extra["window"])
        return [history_input(await request.body(), predictor.series, window, state.limits)], 1, False
    if state.predictor.table is not None:
        if content_kind(request) != "json":
            raise InputError("this model takes table rows as JSON {'rows': [...]}", 415, "wrong_input")
        parsed = table_inputs(await request.body(), state.predictor.table, state.limits)
        request.state.notes = parsed.notes
        return parsed.tensors, 1, True
    rows = await tutorial_rows(request, state)
    if rows is not None:
        return rows, 5, True
    tensor, top_k = await single_input(request)
    return [tensor], top_k, False


async def predict_payload(
    request: Request, state: ServeState, inputs: tuple[list[torch.Tensor], int, bool], top_k: int | None
) -> dict[str, Any]:
    """The JSON body /predict answers with, whichever path (FastAPI's route or the fast path) parsed it."""
    tensors, body_k, tutorial = inputs
    probs = np.stack(await state.batcher.submit_many(tensors))
    rows = state.prediction_body(probs, top_k or body_k)
    if state.predictor.series is not None:
        return {"forecast": rows[0], "request_id": request_id_of(request.scope)}
    body = {"predictions": rows} if tutorial else rows[0]
    notes = getattr(request.state, "notes", None) or {}  # a regression's unseen categories and filled gaps
    return {**body, **notes, "request_id": request_id_of(request.scope)}
