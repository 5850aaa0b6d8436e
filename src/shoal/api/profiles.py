"""Profile API, compatible with Segment's (spec §5).

``GET /v1/spaces/{space}/collections/{users|accounts}/profiles/{type}:{value}/{resource}`` with
the space's access token as the Basic-auth user. Errors use Segment's shape,
``{"error": {"code", "message"}}``, and every response carries ``Request-Id``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response

from shoal.api.tracking import basic_auth_user
from shoal.errors import AuthError
from shoal.profiles.book import Record
from shoal.profiles.service import ProfileService

PREFIX = "/v1/spaces/{space}/collections/{collection}/profiles/{identifier}"
_CLASSES = ("audience", "computed_trait")


class ProfileApiError(Exception):
    """Answered as ``{"error": {"code", "message"}}`` with ``status``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _respond(body: Any, status: int = 200) -> Response:
    return Response(
        orjson.dumps(body),
        status_code=status,
        media_type="application/json",
        headers={"Request-Id": uuid.uuid4().hex},
    )


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise ProfileApiError(
            400,
            "validation_error",
            f"The parameter `{name}` must be an integer from {low} to {high}, got {raw!r}.",
        )
    return value


def _bool_param(request: Request, name: str) -> bool:
    raw = request.query_params.get(name, "false").lower()
    if raw not in ("true", "false", "1", "0", ""):
        raise ProfileApiError(
            400, "validation_error", f"The parameter `{name}` must be true or false."
        )
    return raw in ("true", "1")


def _list_param(request: Request, name: str) -> list[str] | None:
    raw = request.query_params.get(name)
    if raw is None or raw.strip() == "":
        return None
    return [part.strip() for part in raw.split(",") if part.strip()]


def _time_param(request: Request, name: str) -> datetime | None:
    raw = request.query_params.get(name)
    if not raw:
        return None
    try:
        at = datetime.fromisoformat(raw)
    except ValueError:
        at = None
    if at is None or at.tzinfo is None:
        raise ProfileApiError(
            400,
            "validation_error",
            f"The parameter `{name}` must be an ISO-8601 timestamp with a zone, got {raw!r}.",
        )
    return at


def _cursor(request: Request, limit: int, next_token: str) -> dict[str, Any]:
    return {
        "url": request.url.path,
        "has_more": bool(next_token),
        "next": next_token,
        "limit": limit,
    }


def _offset_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode()


def _offset(request: Request) -> int:
    token = request.query_params.get("next")
    if not token:
        return 0
    try:
        kind, _, number = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
        if kind == "o" and number.isdigit():
            return int(number)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise ProfileApiError(400, "validation_error", "The parameter `next` is not a valid cursor.")


def build_router(profiles: ProfileService) -> APIRouter:
    router = APIRouter(tags=["Profile API"])
    store = profiles.store

    def authorize(request: Request, space: str) -> None:
        try:
            token = basic_auth_user(request)
        except AuthError:
            token = None
        owner = store.space_for_access_token(token)
        if owner is None:
            raise ProfileApiError(
                401,
                "authentication_error",
                "Missing or invalid access token: send it as the Basic-auth user name.",
            )
        if owner.name != space:
            raise ProfileApiError(
                403, "forbidden", f"This access token does not belong to space `{space}`."
            )

    def locate(request: Request, space: str, collection: str, identifier: str) -> Record:
        authorize(request, space)
        if collection not in ("users", "accounts"):
            raise ProfileApiError(
                400,
                "validation_error",
                f"The parameter `collection` must be `users` or `accounts`, got `{collection}`.",
            )
        id_type, sep, value = identifier.partition(":")
        record = None
        if sep and id_type and value:
            record = profiles.find(space, collection, id_type, value)  # type: ignore[arg-type]
        if record is None:
            raise ProfileApiError(404, "not_found", "Profile was not found.")
        return record

    def route(
        resource: str, summary: str
    ) -> Callable[[Callable[..., dict[str, Any]]], Callable[..., Any]]:
        def decorate(func: Callable[..., dict[str, Any]]) -> Callable[..., Any]:
            async def endpoint(
                request: Request, space: str, collection: str, identifier: str
            ) -> Response:
                try:
                    record = locate(request, space, collection, identifier)
                    with profiles.lock:
                        body = func(request, space, collection, record)
                    if resource == "events":
                        # DuckDB releases the GIL: reading events off the loop keeps the cheap
                        # in-memory routes (traits, ids) answering while a page is fetched.
                        body = await asyncio.to_thread(_fetch_events, profiles, space, record, body)
                except ProfileApiError as exc:
                    return _respond(
                        {"error": {"code": exc.code, "message": exc.message}}, exc.status
                    )
                return _respond(body)

            router.add_api_route(
                f"{PREFIX}/{resource}",
                endpoint,
                methods=["GET"],
                summary=summary,
                name=f"profile_{resource}",
                responses={
                    200: {"description": "OK"},
                    400: {"description": "Invalid parameter (`validation_error`)."},
                    401: {"description": "Missing or invalid access token."},
                    403: {"description": "The token belongs to another space."},
                    404: {"description": "Profile was not found."},
                },
            )
            return func

        return decorate

    @route("traits", "Traits of a profile (custom traits; later computed traits, audiences)")
    def traits(request: Request, space: str, collection: str, record: Record) -> dict[str, Any]:
        limit = _int_param(request, "limit", 10, 1, 200)
        verbose = _bool_param(request, "verbose")
        include = _list_param(request, "include")
        klass = request.query_params.get("class")
        if klass and klass not in _CLASSES:
            raise ProfileApiError(
                400,
                "validation_error",
                f"The parameter `class` must be `audience` or `computed_trait`, got `{klass}`.",
            )
        # Computed traits and audience memberships are not stored yet, so those classes are empty.
        visible = {} if klass else record.visible_traits()
        keys = [k for k in visible if include is None or k in include]
        start = request.query_params.get("next") or ""
        keys = [k for k in keys if k >= start]
        page, rest = keys[:limit], keys[limit:]
        out: dict[str, Any] = {}
        for key in page:
            trait = visible[key]
            out[key] = (
                {"value": trait.value, "source_id": space, "updated_at": _iso(trait.updated_at)}
                if verbose
                else trait.value
            )
        return {"traits": out, "cursor": _cursor(request, limit, rest[0] if rest else "")}

    @route("external_ids", "Identifiers of a profile")
    def external_ids(
        request: Request, space: str, collection: str, record: Record
    ) -> dict[str, Any]:
        limit = _int_param(request, "limit", 10, 1, 200)
        include = _list_param(request, "include")
        offset = _offset(request)
        if collection == "accounts":
            rows = [
                {
                    "source_id": space,
                    "collection": "accounts",
                    "id": record.id,
                    "type": "group_id",
                    "created_at": _iso(record.created_at),
                    "encoding": "none",
                    "first_message_id": record.first_message_id,
                }
            ]
        else:
            rows = [
                {
                    "source_id": space,
                    "collection": "users",
                    "id": ident.value,
                    "type": ident.type,
                    "created_at": _iso(ident.first_seen),
                    "encoding": "none",
                    "first_message_id": ident.first_message_id,
                }
                for ident in profiles.book(space).graph.identifiers(record.id)
            ]
        rows = [r for r in rows if include is None or r["type"] in include]
        page = rows[offset : offset + limit]
        more = offset + limit < len(rows)
        return {
            "data": page,
            "cursor": _cursor(request, limit, _offset_token(offset + limit) if more else ""),
        }

    @route("metadata", "Creation and update times of a profile")
    def metadata(request: Request, space: str, collection: str, record: Record) -> dict[str, Any]:
        _bool_param(request, "verbose")
        return {
            "metadata": {
                "created_at": _iso(record.created_at),
                "updated_at": _iso(record.updated_at),
                "expires_at": None,
                "first_message_id": record.first_message_id,
                "first_source_id": space,
                "last_message_id": record.last_message_id,
                "last_source_id": space,
            }
        }

    @route("links", "Accounts linked to a user, or users linked to an account")
    def links(request: Request, space: str, collection: str, record: Record) -> dict[str, Any]:
        limit = _int_param(request, "limit", 20, 1, 200)
        offset = _offset(request)
        items = sorted(record.links.items(), key=lambda kv: (kv[1].created_at, kv[0]))
        page = items[offset : offset + limit]
        data: list[dict[str, Any]] = []
        book = profiles.book(space)
        for other_id, link in page:
            if collection == "users":
                ids = [
                    {
                        "id": other_id,
                        "type": "group_id",
                        "source_id": space,
                        "collection": "accounts",
                        "created_at": _iso(link.created_at),
                        "encoding": "none",
                    }
                ]
                data.append({"to_collection": "accounts", "external_ids": ids})
            else:
                ids = [
                    {
                        "id": ident.value,
                        "type": ident.type,
                        "source_id": space,
                        "collection": "users",
                        "created_at": _iso(ident.first_seen),
                        "encoding": "none",
                    }
                    for ident in book.graph.identifiers(book.graph.canonical(other_id))
                ]
                data.append({"to_collection": "users", "external_ids": ids})
        more = offset + limit < len(items)
        return {
            "data": data,
            "cursor": _cursor(request, limit, _offset_token(offset + limit) if more else ""),
        }

    @route("events", "Events of a profile, newest first, with filters and paging")
    def events(request: Request, space: str, collection: str, record: Record) -> dict[str, Any]:
        if collection != "users":
            raise ProfileApiError(
                400, "validation_error", "The `events` resource exists for users only."
            )
        limit = _int_param(request, "limit", 10, 1, 100)
        start, end = _time_param(request, "start"), _time_param(request, "end")
        include, exclude = _list_param(request, "include"), _list_param(request, "exclude")
        order = request.query_params.get("sort", "desc")
        if order not in ("asc", "desc"):
            raise ProfileApiError(
                400, "validation_error", "The parameter `sort` must be `asc` or `desc`."
            )
        after = _event_cursor(request)
        refs = [
            e
            for e in record.events
            if e.name is not None
            and (start is None or e.timestamp > start)
            and (end is None or e.timestamp < end)
            and (include is None or e.name in include)
            and (exclude is None or e.name not in exclude)
        ]
        refs.sort(key=lambda e: (e.timestamp, e.seq), reverse=order == "desc")
        if after is not None:
            if order == "desc":
                refs = [e for e in refs if (e.timestamp, e.seq) < after]
            else:
                refs = [e for e in refs if (e.timestamp, e.seq) > after]
        page, more = refs[:limit], len(refs) > limit
        token = ""
        if more:
            last = page[-1]
            raw = f"{int(last.timestamp.timestamp() * 1_000_000)}::{last.seq}"
            token = base64.urlsafe_b64encode(raw.encode()).decode()
        return {
            "_seqs": [e.seq for e in page],
            "_profile": record.id,
            "cursor": _cursor(request, limit, token),
        }

    @router.delete(
        "/v1/spaces/{space}/collections/{collection}/profiles/{identifier}",
        summary="Delete a user profile: events, traits, links and identifiers",
        responses={
            200: {"description": "Deleted; lists the identifiers removed."},
            404: {"description": "Profile was not found."},
        },
    )
    async def delete(
        request: Request, space: str, collection: str, identifier: str, suppress: bool = False
    ) -> Response:
        """With ``suppress=true`` new events carrying any of its identifiers are dropped."""
        try:
            locate(request, space, collection, identifier)
            if collection != "users":
                raise ProfileApiError(400, "validation_error", "Only user profiles can be deleted.")
            id_type, _, value = identifier.partition(":")
            deletion = await asyncio.to_thread(
                profiles.delete, space, id_type, value, suppress=suppress
            )
            if deletion is None:
                raise ProfileApiError(404, "not_found", "Profile was not found.")
        except ProfileApiError as exc:
            return _respond({"error": {"code": exc.code, "message": exc.message}}, exc.status)
        return _respond({"deleted": deletion.to_dict()})

    return router


def _event_cursor(request: Request) -> tuple[datetime, int] | None:
    token = request.query_params.get("next")
    if not token:
        return None
    try:
        micros, _, seq = base64.urlsafe_b64decode(token.encode()).decode().partition("::")
        at = datetime.fromtimestamp(int(micros) / 1_000_000, UTC)
        return at, int(seq)
    except (binascii.Error, UnicodeDecodeError, ValueError, OverflowError):
        raise ProfileApiError(
            400, "validation_error", "The parameter `next` is not a valid cursor."
        ) from None


def _fetch_events(
    profiles: ProfileService, space: str, record: Record, body: dict[str, Any]
) -> dict[str, Any]:
    """Read the page's events from the log, outside the book lock."""
    from shoal.identity.extract import identifiers_of

    seqs: list[int] = body.pop("_seqs")
    profile_id: str = body.pop("_profile")
    data: list[dict[str, Any]] = []
    for message in profiles.store.messages_at(space, seqs):
        properties = dict(message.properties)
        if message.type in ("page", "screen") and message.name is not None:
            properties.setdefault(f"{message.type}_name", message.name)
        data.append(
            {
                "external_ids": [
                    {"collection": "users", "type": t, "id": v, "encoding": "none"}
                    for t, v in identifiers_of(message)
                ],
                "context": message.context,
                "type": "track",
                "message_id": message.message_id,
                "source_id": space,
                "timestamp": _iso(message.timestamp),
                "properties": properties,
                "event": message.event_name,
                "related": {"users": [profile_id]},
            }
        )
    return {"data": data, **body}
