"""Field rules and normalisation of one Segment message (spec §8.3–8.6).

``normalize`` is the single gate every message passes, whether it arrives over HTTP or from
``shoal import``: it checks the field rules, corrects the timestamp for client clock skew and
returns a :class:`~shoal.spec.message.Message`, or raises :class:`~shoal.errors.MessageError`
whose ``location`` is the JSON path of the offending field.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from shoal.errors import MessageError
from shoal.spec.message import MESSAGE_TYPES, Message, MessageType

MAX_MESSAGE_BYTES = 32 * 1024
MAX_MESSAGE_ID_CHARS = 100
MIN_YEAR, MAX_YEAR = 1800, 3000

# Fields with a meaning of their own; anything else at the top level is kept in ``extra``.
KNOWN_FIELDS: tuple[str, ...] = (
    "type",
    "messageId",
    "timestamp",
    "originalTimestamp",
    "sentAt",
    "receivedAt",
    "userId",
    "anonymousId",
    "event",
    "name",
    "category",
    "groupId",
    "previousId",
    "properties",
    "traits",
    "context",
    "integrations",
    "writeKey",
)
"""Top-level keys with a meaning of their own (in a fixed order: the bulk SQL indexes them)."""
_KNOWN = frozenset(KNOWN_FIELDS)
_OBJECT_FIELDS = ("properties", "traits", "context", "integrations")


def parse_timestamp(value: Any, path: str) -> datetime:
    """An ISO-8601 timestamp with a zone, as Engage requires (spec §8.5)."""
    if not isinstance(value, str):
        raise MessageError(
            f"{path.rsplit('.', 1)[-1]} must be an ISO-8601 string, got {_kind(value)}",
            code="invalid_timestamp",
            location=path,
        )
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise MessageError(
            f"{value!r} is not an ISO-8601 timestamp", code="invalid_timestamp", location=path
        ) from None
    if parsed.tzinfo is None:
        raise MessageError(
            f"{value!r} has no time zone; send UTC as 'Z' or '+00:00'",
            code="invalid_timestamp",
            location=path,
        )
    try:
        in_utc = parsed.astimezone(UTC)
    except OverflowError:
        in_utc = None
    # Bounded so that stored times and skew corrections always stay inside what both DuckDB and
    # Python can represent (a year-0001 time read back from DuckDB is not a datetime).
    if in_utc is None or not MIN_YEAR <= in_utc.year <= MAX_YEAR:
        raise MessageError(
            f"{value!r} is outside the years {MIN_YEAR}-{MAX_YEAR}",
            code="invalid_timestamp",
            location=path,
        )
    return parsed


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _identifier(raw: Mapping[str, Any], key: str, path: str) -> str | None:
    """Ids may be strings or numbers (the official libraries stringify numbers)."""
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, str):
        return value or None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise MessageError(
        f"{key} must be a string, got {_kind(value)}", code="invalid_type", location=f"{path}.{key}"
    )


def _text(raw: Mapping[str, Any], key: str, path: str) -> str | None:
    value = raw.get(key)
    if value is None or isinstance(value, str):
        return value
    raise MessageError(
        f"{key} must be a string, got {_kind(value)}", code="invalid_type", location=f"{path}.{key}"
    )


def _object(raw: Mapping[str, Any], key: str, path: str) -> dict[str, Any]:
    value = raw.get(key)
    if value is None:
        return {}
    if isinstance(value, dict):
        return value
    raise MessageError(
        f"{key} must be an object, got {_kind(value)}",
        code="invalid_type",
        location=f"{path}.{key}",
    )


def normalize(
    raw: Any,
    *,
    received_at: datetime,
    path: str = "$",
    type_hint: MessageType | None = None,
    batch_sent_at: datetime | None = None,
    trust_received_at: bool = False,
) -> Message:
    """Validate one message and return it normalised.

    Args:
        raw: the decoded JSON value.
        received_at: arrival time (the server's clock).
        path: JSON path of ``raw`` in the request, for error locations.
        type_hint: the type implied by the endpoint (``/v1/track`` → ``track``); wins over a
            ``type`` field in the body, as Segment's single-call endpoints do.
        batch_sent_at: ``sentAt`` of the enclosing batch, used when the message has none.
        trust_received_at: keep a ``receivedAt`` already in the message and leave its
            ``timestamp`` uncorrected (bulk import of messages Segment already processed).

    Raises:
        MessageError: the first field rule broken, with the field's JSON path.
    """
    if not isinstance(raw, dict):
        raise MessageError(
            f"a message must be a JSON object, got {_kind(raw)}",
            code="invalid_message",
            location=path,
        )
    mtype: Any = type_hint or raw.get("type")
    if mtype not in MESSAGE_TYPES:
        if mtype is None:
            raise MessageError("type is required", code="missing_type", location=f"{path}.type")
        raise MessageError(
            f"type must be one of {', '.join(MESSAGE_TYPES)}, got {mtype!r}",
            code="invalid_type",
            location=f"{path}.type",
        )

    user_id = _identifier(raw, "userId", path)
    anonymous_id = _identifier(raw, "anonymousId", path)
    if user_id is None and anonymous_id is None:
        raise MessageError(
            "either userId or anonymousId is required",
            code="no_user_anon_id",
            location=f"{path}.userId",
        )
    event = _text(raw, "event", path)
    name = _text(raw, "name", path)
    category = _text(raw, "category", path)
    group_id = _identifier(raw, "groupId", path)
    previous_id = _identifier(raw, "previousId", path)
    if mtype == "track" and not event:
        raise MessageError(
            "track calls need an event name", code="missing_event", location=f"{path}.event"
        )
    if mtype == "group" and group_id is None:
        raise MessageError(
            "group calls need a groupId", code="missing_group_id", location=f"{path}.groupId"
        )
    if mtype == "alias":
        if previous_id is None:
            raise MessageError(
                "alias calls need a previousId",
                code="missing_previous_id",
                location=f"{path}.previousId",
            )
        if user_id is None:
            raise MessageError(
                "alias calls need a userId", code="missing_user_id", location=f"{path}.userId"
            )

    properties = _object(raw, "properties", path)
    traits = _object(raw, "traits", path)
    context = _object(raw, "context", path)
    integrations = _object(raw, "integrations", path)

    message_id = raw.get("messageId")
    if message_id is None or message_id == "":
        message_id = str(uuid.uuid4())
    elif not isinstance(message_id, str):
        raise MessageError(
            f"messageId must be a string, got {_kind(message_id)}",
            code="invalid_type",
            location=f"{path}.messageId",
        )
    elif len(message_id) > MAX_MESSAGE_ID_CHARS:
        raise MessageError(
            f"messageId is {len(message_id)} characters; the limit is {MAX_MESSAGE_ID_CHARS}",
            code="message_id_too_long",
            location=f"{path}.messageId",
        )

    raw_ts = raw.get("timestamp")
    if raw_ts is None:
        raw_ts = raw.get("originalTimestamp")
        ts_path = f"{path}.originalTimestamp"
    else:
        ts_path = f"{path}.timestamp"
    original = parse_timestamp(raw_ts, ts_path) if raw_ts is not None else None
    sent_raw = raw.get("sentAt")
    sent_at = parse_timestamp(sent_raw, f"{path}.sentAt") if sent_raw is not None else None
    sent_at = sent_at or batch_sent_at

    if trust_received_at and raw.get("receivedAt") is not None:
        received_at = parse_timestamp(raw["receivedAt"], f"{path}.receivedAt")
    if trust_received_at and raw.get("receivedAt") is not None and raw.get("timestamp"):
        # A processed message's `timestamp` is already the corrected time.
        timestamp = original or received_at
    elif original is None:
        timestamp = received_at
    elif sent_at is not None:
        # Clock-skew correction (spec §8.5): the client's clock may be off, the server's is not.
        timestamp = received_at - (sent_at - original)
    else:
        timestamp = original

    if mtype in ("page", "screen") and name is not None and "name" not in properties:
        # SEMANTICS.md: a page/screen name is readable as property('name').
        properties = {**properties, "name": name}

    extra = {k: v for k, v in raw.items() if k not in _KNOWN}
    return Message(
        type=mtype,
        message_id=message_id,
        timestamp=timestamp,
        received_at=received_at,
        user_id=user_id,
        anonymous_id=anonymous_id,
        event=event,
        name=name,
        group_id=group_id,
        previous_id=previous_id,
        properties=properties,
        traits=traits,
        context=context,
        integrations=integrations,
        category=category,
        original_timestamp=original,
        sent_at=sent_at,
        extra=extra,
    )
