"""The one JSON shape every failed request gets: an error code, a message and the request id."""

from __future__ import annotations

from fastapi.responses import JSONResponse


def error_response(request_id: str, status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}, "request_id": request_id}, status_code=status)
