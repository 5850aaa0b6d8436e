"""One JSON error shape for every HTTP API.

``{"success": false, "code": ..., "message": ..., "location": ..., "status": N}`` — Segment's
clients read ``code`` and ``message``; ``location`` says where the problem is.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from shoal.api.responses import json_response
from shoal.errors import UserError

log = logging.getLogger(__name__)


def error_body(status: int, code: str, message: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"success": False, "code": code, "message": message, "status": status}
    body.update({k: v for k, v in extra.items() if v is not None})
    return body


def error_response(exc: UserError, **extra: Any) -> Response:
    body = error_body(exc.http_status, exc.code, exc.message, location=exc.location, **extra)
    headers = {"WWW-Authenticate": 'Basic realm="shoal"'} if exc.http_status == 401 else None
    return json_response(body, status=exc.http_status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    async def on_user_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, UserError)
        return error_response(exc)

    async def on_http_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return json_response(
            error_body(exc.status_code, code, str(exc.detail)), status=exc.status_code
        )

    async def on_validation_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        first = exc.errors()[0] if exc.errors() else {"msg": "invalid request", "loc": ()}
        location = ".".join(str(p) for p in first.get("loc", ()))
        return json_response(
            error_body(400, "invalid_request", str(first.get("msg")), location=location),
            status=400,
        )

    async def on_crash(_: Request, exc: Exception) -> Response:
        incident = uuid.uuid4().hex[:12]
        log.exception("internal error %s", incident, exc_info=exc)
        return json_response(
            error_body(500, "internal_error", f"internal error (incident {incident})"),
            status=500,
        )

    app.add_exception_handler(UserError, on_user_error)
    app.add_exception_handler(HTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(Exception, on_crash)
