"""`POST /predict` without query parameters, answered before FastAPI's routing and dependency solving.

Why: at 32 concurrent clients the event loop, not the model, limits a worker, and a profile of
it (py-spy, 2026-12-03) put about half of its time in the framework's layers around the route:
the router, the included router, dependency solving and the exception middleware. This layer
sits inside the observability middleware (request id, body limit, metrics and log still apply)
and calls the very functions the route calls (`predict_inputs`, `predict_payload`), so both
paths answer byte for byte alike; anything else, `?top_k=` included, goes on to the documented
FastAPI route, which stays the specification in /docs.
"""

from __future__ import annotations

from fastapi.responses import JSONResponse
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from neuralab.serve.errors import error_response
from neuralab.serve.inputs import InputError
from neuralab.serve.monitoring import request_id_of
from neuralab.serve.state import get_state, predict_inputs, predict_payload


def takes_fast_path(scope: Scope) -> bool:
    return (
        scope["type"] == "http"
        and scope["method"] == "POST"
        and scope["path"] == "/predict"
        and not scope.get("query_string")
    )


class PredictFastPath:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not takes_fast_path(scope):
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        state = get_state(request)
        try:
            response = JSONResponse(await predict_payload(request, state, await predict_inputs(request), None))
        except InputError as err:
            response = error_response(request_id_of(scope), err.status_code, err.code, err.message)
        await response(scope, receive, send)
