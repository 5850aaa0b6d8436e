"""Admin API: what the CLI uses while a server owns the data directory.

Authenticated by the admin token the server writes to ``<data>/server.json`` (mode 0600): whoever
can read the data directory may administer it, nobody else.
"""

from __future__ import annotations

import asyncio
import hmac
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from starlette.responses import Response

from shoal.api.responses import json_response
from shoal.compute.service import ComputeService
from shoal.errors import AuthError, NotFoundError, UserError
from shoal.profiles.document import parse_identifier, profile_document
from shoal.profiles.service import ProfileService
from shoal.spec.importer import parse_jsonl_chunk


class NewSpace(BaseModel):
    name: str = Field(description="Lower-case letters, digits, '-' or '_'; at most 63.")


def build_router(
    service: ProfileService, admin_token: str, compute: ComputeService | None = None
) -> APIRouter:
    router = APIRouter(prefix="/admin", tags=["Admin API"])
    store = service.store

    def check(request: Request) -> None:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            token.strip().encode(), admin_token.encode()
        ):
            raise AuthError(
                "admin token required (Authorization: Bearer <admin_token from server.json>)",
                code="invalid_admin_token",
                location="header:Authorization",
            )

    def space_named(name: str) -> str:
        if name not in {s.name for s in store.spaces()}:
            raise NotFoundError(f"unknown space {name!r}", code="unknown_space", location="space")
        return name

    @router.get("/health", summary="Liveness and identity of this server")
    async def health(request: Request) -> Response:
        check(request)
        return json_response({"ok": True, "data": str(store.settings.data.resolve())})

    @router.get("/stats", summary="Event, profile and account counts")
    async def stats(request: Request, space: str | None = None) -> Response:
        check(request)
        if space is not None:
            space_named(space)
        body = service.stats(space)
        if compute is not None and compute.spaces:
            live = compute.stats()
            body["realtime"] = live if space is None else live.get(space, {})
            body["realtime_engine"] = compute.engine_info()
        return json_response(body)

    @router.get("/spaces", summary="Spaces and their credentials")
    async def spaces(request: Request) -> Response:
        check(request)
        return json_response([s.to_dict() for s in store.spaces()])

    @router.post("/spaces", summary="Create a space", status_code=201)
    async def create(request: Request, body: NewSpace) -> Response:
        check(request)
        return json_response(store.create_space(body.name).to_dict(), status=201)

    @router.post("/import", summary="Import a chunk of JSON Lines messages")
    async def import_chunk(
        request: Request,
        space: str = "default",
        first_line: int = 1,
        trust_received_at: bool = True,
    ) -> Response:
        check(request)
        space_named(space)
        body = await request.body()
        parsed = parse_jsonl_chunk(
            body,
            received_at=store.clock.now(),
            first_line=first_line,
            source="request",
            trust_received_at=trust_received_at,
        )
        result = await asyncio.wrap_future(store.writer.submit(space, parsed.messages))
        out: dict[str, Any] = {
            "accepted": result.accepted,
            "duplicates": result.duplicates,
            "rejected": len(parsed.errors),
            "errors": [e.to_dict() for e in parsed.errors[:100]],
        }
        return json_response(out)

    @router.get("/profile", summary="A user profile as one document (`shoal profile`)")
    async def profile(request: Request, id: str, space: str = "default") -> Response:
        check(request)
        space_named(space)
        id_type, value = parse_identifier(id)
        record = service.find(space, "users", id_type, value)
        if record is None:
            raise NotFoundError("profile was not found", code="profile_not_found", location=id)
        return json_response(profile_document(service, space, record))

    @router.delete("/profile", summary="Delete a user profile (`shoal delete-profile`)")
    async def delete_profile(
        request: Request, id: str, space: str = "default", suppress: bool = False
    ) -> Response:
        check(request)
        space_named(space)
        id_type, value = parse_identifier(id)
        deletion = await asyncio.to_thread(service.delete, space, id_type, value, suppress=suppress)
        if deletion is None:
            raise NotFoundError("profile was not found", code="profile_not_found", location=id)
        return json_response(deletion.to_dict())

    def live() -> ComputeService:
        if compute is None:
            raise NotFoundError(
                "this server keeps no definitions live (start it with --definitions FILE)",
                code="no_definitions",
                location="definitions",
            )
        return compute

    @router.get(
        "/spaces/{space}/definitions",
        summary="The live audiences and computed traits of a space",
        tags=["Real-time"],
    )
    async def definitions(request: Request, space: str) -> Response:
        check(request)
        return json_response({"definitions": live().definitions(space_named(space))})

    @router.get(
        "/spaces/{space}/members/{key}",
        summary="Current members of an audience, or values of a computed trait, by profile name",
        tags=["Real-time"],
    )
    async def members(request: Request, space: str, key: str) -> Response:
        check(request)
        return json_response({"key": key, "members": live().members(space_named(space), key)})

    @router.get(
        "/spaces/{space}/changes",
        summary="The change log: entries, exits and value changes, oldest first",
        description="`after` is the last `seq` already seen; `wait` (seconds, at most 30) holds "
        "the request open until a newer change exists (long polling).",
        tags=["Real-time"],
    )
    async def changes(
        request: Request,
        space: str,
        key: str | None = None,
        after: int = 0,
        limit: int = 1000,
        wait: float = 0.0,
    ) -> Response:
        check(request)
        engine = live()
        name = space_named(space)
        if not 1 <= limit <= 10_000:
            raise UserError("limit must be 1..10000", code="invalid_limit", location="query:limit")
        found = await asyncio.to_thread(
            engine.changes_json,
            name,
            key=key,
            after=after,
            limit=limit,
            wait=min(max(wait, 0.0), 30.0),
        )
        return Response(b'{"changes":' + found + b"}", media_type="application/json")

    return router
