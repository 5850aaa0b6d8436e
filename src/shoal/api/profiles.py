"""Profile API, compatible with Segment's (spec §5).

``GET /v1/spaces/{space}/collections/{users|accounts}/profiles/{type}:{value}/{resource}`` with
the space's access token as the Basic-auth user. Errors use Segment's shape,
``{"error": {"code", "message"}}``, and every response under ``/v1/spaces/`` carries
``Request-Id`` (unknown routes and malformed parameters included).

List cursors are keyset cursors: ``next`` names the last item returned, so an item that appears
between two requests never makes a walk repeat or skip another one.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from operator import attrgetter
from typing import Any, cast

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response

from shoal.api.tracking import basic_auth_user
from shoal.errors import AuthError
from shoal.identity.graph import name_rank
from shoal.profiles.book import Record
from shoal.profiles.recent import related_suffix
from shoal.profiles.service import ProfileService

# ``:path`` lets a value hold an encoded slash (``%2F``); `_identifier` refuses a bare one.
# (OpenAPI shows it as ``{identifier}``.)
_ROUTE_PREFIX = "/v1/spaces/{space}/collections/{collection}/profiles/{identifier:path}"
_CLASSES = ("audience", "computed_trait")
_EVENT_ORDER = attrgetter("timestamp", "seq")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
# What `suppress` accepted while FastAPI parsed it as a bool; kept so no caller breaks.
_TRUE = frozenset({"true", "1", "yes", "on", "t", "y"})
_FALSE = frozenset({"false", "0", "no", "off", "f", "n"})


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


def _path(request: Request) -> str:
    """The request's path as sent (still URL-encoded, so ``%2F`` in a value stays one)."""
    raw = request.scope.get("raw_path")
    if isinstance(raw, bytes):
        return raw.partition(b"?")[0].decode("latin-1")
    return request.url.path


def _cursor(request: Request, limit: int, next_token: str) -> dict[str, Any]:
    return {
        "url": _path(request),
        "has_more": bool(next_token),
        "next": next_token,
        "limit": limit,
    }


def _key_token(tag: str, first: str | int, second: str) -> str:
    """An opaque keyset cursor: the sort key of the last item a page returned."""
    return base64.urlsafe_b64encode(orjson.dumps([tag, first, second])).decode()


def _key_cursor(request: Request, tag: str, first: type) -> tuple[Any, str] | None:
    """The key in ``next`` (None on a first page); ``first`` is the key's first part's type."""
    token = request.query_params.get("next")
    if not token:
        return None
    try:
        value = orjson.loads(base64.urlsafe_b64decode(token.encode()))
    except (binascii.Error, ValueError):
        value = None
    if (
        isinstance(value, list)
        and len(value) == 3
        and value[0] == tag
        and type(value[1]) is first
        and isinstance(value[2], str)
    ):
        return value[1], value[2]
    raise ProfileApiError(400, "validation_error", "The parameter `next` is not a valid cursor.")


def _micros(at: datetime) -> int:
    """Exact microseconds since the epoch (no float rounding)."""
    return (at - _EPOCH) // _MICROSECOND


def _identifier(request: Request, identifier: str) -> str | None:
    """The ``type:value`` segment as sent, or None when it held a bare ``/``.

    A value may contain a slash only URL-encoded (``user_id:a%2Fb``): the decoded path then has
    more slashes than the raw one, exactly as many as the value holds.
    """
    raw = request.scope.get("raw_path")
    if isinstance(raw, bytes):
        path: str = request.scope["path"]
        raw_slashes = raw.partition(b"?")[0].count(b"/")
        if raw_slashes != path.count("/") - identifier.count("/"):
            return None
    return identifier


def _error(exc: ProfileApiError) -> Response:
    return _respond({"error": {"code": exc.code, "message": exc.message}}, exc.status)


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
        id_type, sep, value = (_identifier(request, identifier) or "").partition(":")
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
                        body = await _with_event_items(profiles, space, body)
                except ProfileApiError as exc:
                    return _error(exc)
                return _respond(body)

            router.add_api_route(
                f"{_ROUTE_PREFIX}/{resource}",
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
        after = _key_cursor(request, "i", str)
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
        # Rows come in identifier naming order, then by value: (name_rank(type), value) is
        # unique and never changes, so it is the keyset.
        if after is not None:
            last = (name_rank(after[0]), after[1])
            rows = [r for r in rows if (name_rank(r["type"]), r["id"]) > last]
        rows = [r for r in rows if include is None or r["type"] in include]
        page = rows[:limit]
        token = _key_token("i", page[-1]["type"], page[-1]["id"]) if len(rows) > limit else ""
        return {"data": page, "cursor": _cursor(request, limit, token)}

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
        after = _key_cursor(request, "l", int)
        keyed = sorted(
            (_micros(link.created_at), other, link) for other, link in record.links.items()
        )
        if after is not None:
            keyed = [item for item in keyed if (item[0], item[1]) > after]
        items = [(other, link) for _, other, link in keyed]
        page = items[:limit]
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
        token = ""
        if len(items) > limit:
            last_id, last_link = page[-1]
            token = _key_token("l", _micros(last_link.created_at), last_id)
        return {"data": data, "cursor": _cursor(request, limit, token)}

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
        refs = [e for e in record.events if e.name is not None]
        if start is not None or end is not None or include is not None or exclude is not None:
            refs = [
                e
                for e in refs
                if (start is None or e.timestamp > start)
                and (end is None or e.timestamp < end)
                and (include is None or e.name in include)
                and (exclude is None or e.name not in exclude)
            ]
        if after is not None:
            if order == "desc":
                refs = [e for e in refs if (e.timestamp, e.seq) < after]
            else:
                refs = [e for e in refs if (e.timestamp, e.seq) > after]
        # Sorting the whole list is quickest: histories arrive nearly in time order.
        window = sorted(refs, key=_EVENT_ORDER, reverse=order == "desc")[: limit + 1]
        page, more = window[:limit], len(window) > limit
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
        _ROUTE_PREFIX,
        summary="Delete a user profile: events, traits, links and identifiers",
        responses={
            200: {"description": "Deleted; lists the identifiers removed."},
            400: {"description": "Invalid parameter (`validation_error`)."},
            404: {"description": "Profile was not found."},
        },
        # Read by hand (not a FastAPI bool) so a bad value gets the Profile API's error shape.
        openapi_extra={
            "parameters": [
                {
                    "name": "suppress",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "boolean", "default": False},
                    "description": "Also drop new events carrying any of its identifiers.",
                }
            ]
        },
    )
    async def delete(request: Request, space: str, collection: str, identifier: str) -> Response:
        """With ``suppress=true`` new events carrying any of its identifiers are dropped."""
        try:
            suppress = _suppress_param(request)
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
            return _error(exc)
        return _respond({"deleted": deletion.to_dict()})

    @router.api_route(
        "/v1/spaces/{rest:path}",
        methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
        include_in_schema=False,
    )
    async def unknown(request: Request, rest: str) -> Response:
        """Anything else under the Profile API's prefix: its error shape, with ``Request-Id``."""
        return _error(
            ProfileApiError(
                404, "not_found", f"No Profile API route for {request.method} {_path(request)}."
            )
        )

    profiles.start_warming()
    return router


def _suppress_param(request: Request) -> bool:
    raw = request.query_params.get("suppress")
    if raw is None:
        return False
    if raw.lower() in _TRUE:
        return True
    if raw.lower() in _FALSE:
        return False
    raise ProfileApiError(
        400, "validation_error", "The parameter `suppress` must be true or false."
    )


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


async def _with_event_items(
    profiles: ProfileService, space: str, body: dict[str, Any]
) -> dict[str, Any]:
    """The page's events as ready JSON: from the recent-events cache, else from the log."""
    seqs: list[int] = body.pop("_seqs")
    profile_id: str = body.pop("_profile")
    cached = profiles.recent.lookup(seqs)
    if None in cached:
        # DuckDB releases the GIL: reading events off the loop keeps the in-memory routes
        # answering while a page is fetched.
        items: Sequence[bytes | None] = await asyncio.to_thread(
            profiles.event_items, space, seqs, cached
        )
    else:
        items = cached
    suffix = related_suffix(profile_id)
    data = [orjson.Fragment(cast(bytes, item) + suffix) for item in items]
    return {"data": data, **body}
