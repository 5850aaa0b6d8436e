"""Tracking API: ``POST /v1/{identify,track,page,screen,group,alias,batch,import}`` (spec §8)."""

from __future__ import annotations

import asyncio
import base64
import binascii
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from shoal.api.errors import error_response
from shoal.api.responses import json_response
from shoal.errors import AuthError, MessageError, PayloadError
from shoal.spec.message import MESSAGE_TYPES, MessageType
from shoal.spec.normalize import MAX_MESSAGE_BYTES
from shoal.spec.requests import MAX_BATCH_BYTES, decode_request
from shoal.store.spaces import Space
from shoal.store.store import Store

_OK = {"success": True}

_MESSAGE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "A Segment message (spec: segment.com/docs/connections/spec).",
    "properties": {
        "type": {"type": "string", "enum": list(MESSAGE_TYPES)},
        "userId": {"type": "string"},
        "anonymousId": {"type": "string"},
        "messageId": {"type": "string", "maxLength": 100},
        "timestamp": {"type": "string", "format": "date-time"},
        "sentAt": {"type": "string", "format": "date-time"},
        "event": {"type": "string"},
        "name": {"type": "string"},
        "groupId": {"type": "string"},
        "previousId": {"type": "string"},
        "properties": {"type": "object"},
        "traits": {"type": "object"},
        "context": {"type": "object"},
        "integrations": {"type": "object"},
        "writeKey": {"type": "string"},
    },
}
_BATCH_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["batch"],
    "properties": {
        "batch": {"type": "array", "maxItems": 2500, "items": _MESSAGE_SCHEMA},
        "writeKey": {"type": "string"},
        "sentAt": {"type": "string", "format": "date-time"},
        "context": {"type": "object"},
        "integrations": {"type": "object"},
    },
}
_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "Stored durably (or a duplicate messageId, already stored)."},
    400: {"description": "Invalid JSON, over a size limit, or invalid messages."},
    401: {"description": "Missing or unknown write key."},
}


def basic_auth_user(request: Request) -> str | None:
    """The user part of ``Authorization: Basic``; Segment also accepts it without the colon."""
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise AuthError(
            "malformed Basic authorization header",
            code="invalid_authorization",
            location="header:Authorization",
        ) from None
    return decoded.split(":", 1)[0] or None


async def _read_capped(request: Request, kind: MessageType | None) -> bytes:
    """The body, refusing to hold more than the limit allows (before any parsing or auth)."""
    limit = MAX_MESSAGE_BYTES if kind is not None else MAX_BATCH_BYTES
    # Gzip can only grow incompressible data by a little; anything beyond is over the limit.
    cap = limit + limit // 100 + 1024
    code, what = (
        ("message_too_large", "the message")
        if kind is not None
        else ("batch_too_large", "the batch")
    )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise PayloadError(
            f"{what} is {int(declared)} bytes; the limit is {limit} bytes",
            code=code,
            location="body",
        )
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > cap:
            raise PayloadError(
                f"{what} is over the limit of {limit} bytes", code=code, location="body"
            )
    return bytes(body)


def build_router(store: Store, *, parse_only_endpoint: bool = False) -> APIRouter:
    """The Tracking API routes; ``parse_only_endpoint`` adds ``POST /bench/parse-only``.

    The parse-only route does everything ``/v1/batch`` does except storing, so a benchmark can
    show what durability costs next to the HTTP + JSON + validation floor in the same run.
    """
    router = APIRouter(tags=["Tracking API"])

    async def ingest(request: Request, kind: MessageType | None, store_it: bool = True) -> Response:
        header_key = basic_auth_user(request)
        resolved: list[Space] = []
        if header_key is not None:
            resolved.append(store.space_for_write_key(header_key))

        def authorize(body_key: str | None) -> None:
            if not resolved:
                resolved.append(store.space_for_write_key(body_key))

        body = await _read_capped(request, kind)
        try:
            decoded = decode_request(
                body,
                kind=kind,
                received_at=store.clock.now(),
                content_encoding=request.headers.get("content-encoding"),
                client_ip=request.client.host if request.client else None,
                authorize=authorize,
            )
        except MessageError as exc:
            return error_response(exc)
        space = resolved[0]
        if not store_it:
            return json_response(_OK)
        result = await asyncio.wrap_future(store.writer.submit(space.name, decoded.messages))
        if decoded.errors:
            total = len(decoded.errors) + len(decoded.messages)
            first = decoded.errors[0]
            return json_response(
                {
                    "success": False,
                    "code": "invalid_messages",
                    "message": (
                        f"{len(decoded.errors)} of {total} messages were rejected "
                        f"(first: {first.message} at {first.location}); "
                        f"the other {len(decoded.messages)} were stored"
                    ),
                    "status": 400,
                    "accepted": result.accepted + result.duplicates,
                    "rejected": len(decoded.errors),
                    "errors": [e.to_dict() for e in decoded.errors],
                },
                status=400,
            )
        return json_response(_OK)

    def add(path: str, kind: MessageType | None, summary: str, schema: dict[str, Any]) -> None:
        async def endpoint(request: Request) -> Response:
            return await ingest(request, kind)

        router.add_api_route(
            path,
            endpoint,
            methods=["POST"],
            summary=summary,
            name=path.strip("/").replace("/", "_"),
            responses=_RESPONSES,
            openapi_extra={
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": schema}},
                }
            },
        )

    for kind in MESSAGE_TYPES:
        add(f"/v1/{kind}", kind, f"Send one {kind} call", _MESSAGE_SCHEMA)
    add("/v1/batch", None, "Send up to 2,500 messages", _BATCH_SCHEMA)
    add("/v1/import", None, "Same as /v1/batch (historical import)", _BATCH_SCHEMA)
    if parse_only_endpoint:

        async def parse_only(request: Request) -> Response:
            return await ingest(request, None, store_it=False)

        router.add_api_route(
            "/bench/parse-only", parse_only, methods=["POST"], include_in_schema=False
        )

        async def ping(request: Request) -> Response:
            return json_response(_OK)

        # The HTTP floor for read benchmarks: same server, no work.
        router.add_api_route("/bench/ping", ping, methods=["GET"], include_in_schema=False)
    return router
