"""Converting between :class:`Message` objects and rows of the ``events`` table."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC
from typing import Any

import orjson
import pyarrow as pa

from shoal.spec.message import Message
from shoal.store.schema import EVENT_COLUMNS

_TS = pa.timestamp("us", tz="UTC")
_JSON_FIELDS = ("properties", "traits", "context", "integrations", "extra")


def _json(value: dict[str, Any]) -> str | None:
    return orjson.dumps(value).decode() if value else None


def messages_to_arrow(space: str, messages: Sequence[Message], first_seq: int) -> pa.Table:
    """One Arrow table in ``events`` column order; JSON objects as text (cast on insert)."""
    n = len(messages)
    columns: dict[str, pa.Array] = {
        "seq": pa.array(range(first_seq, first_seq + n), type=pa.int64()),
        "space": pa.array([space] * n, type=pa.string()),
        "message_id": pa.array([m.message_id for m in messages], type=pa.string()),
        "type": pa.array([m.type for m in messages], type=pa.string()),
        "event": pa.array([m.event for m in messages], type=pa.string()),
        "name": pa.array([m.name for m in messages], type=pa.string()),
        "category": pa.array([m.category for m in messages], type=pa.string()),
        "user_id": pa.array([m.user_id for m in messages], type=pa.string()),
        "anonymous_id": pa.array([m.anonymous_id for m in messages], type=pa.string()),
        "group_id": pa.array([m.group_id for m in messages], type=pa.string()),
        "previous_id": pa.array([m.previous_id for m in messages], type=pa.string()),
        "timestamp": pa.array([m.timestamp for m in messages], type=_TS),
        "original_timestamp": pa.array([m.original_timestamp for m in messages], type=_TS),
        "sent_at": pa.array([m.sent_at for m in messages], type=_TS),
        "received_at": pa.array([m.received_at for m in messages], type=_TS),
    }
    for name in _JSON_FIELDS:
        columns[name] = pa.array([_json(getattr(m, name)) for m in messages], type=pa.string())
    return pa.table(
        [columns[name] for name, _ in EVENT_COLUMNS], names=[n for n, _ in EVENT_COLUMNS]
    )


SELECT_COLUMNS = ", ".join(name for name, _ in EVENT_COLUMNS)


def rows_to_messages(rows: Sequence[tuple[Any, ...]]) -> Iterator[Message]:
    """Rebuild messages from ``SELECT {SELECT_COLUMNS} FROM events`` rows."""
    for row in rows:
        (
            seq,
            _space,
            message_id,
            mtype,
            event,
            name,
            category,
            user_id,
            anonymous_id,
            group_id,
            previous_id,
            timestamp,
            original_timestamp,
            sent_at,
            received_at,
            properties,
            traits,
            context,
            integrations,
            extra,
        ) = row
        yield Message(
            type=mtype,
            message_id=message_id,
            timestamp=timestamp.astimezone(UTC),
            received_at=received_at.astimezone(UTC),
            user_id=user_id,
            anonymous_id=anonymous_id,
            event=event,
            name=name,
            group_id=group_id,
            previous_id=previous_id,
            properties=orjson.loads(properties) if properties else {},
            traits=orjson.loads(traits) if traits else {},
            context=orjson.loads(context) if context else {},
            integrations=orjson.loads(integrations) if integrations else {},
            category=category,
            original_timestamp=original_timestamp.astimezone(UTC) if original_timestamp else None,
            sent_at=sent_at.astimezone(UTC) if sent_at else None,
            extra=orjson.loads(extra) if extra else {},
            seq=seq,
        )


def message_to_json(message: Message) -> dict[str, Any]:
    """The message in Segment's JSON spelling, as stored (corrected timestamp included)."""
    body: dict[str, Any] = {
        "type": message.type,
        "messageId": message.message_id,
        "timestamp": message.timestamp.isoformat(),
        "receivedAt": message.received_at.isoformat(),
    }
    optional = {
        "userId": message.user_id,
        "anonymousId": message.anonymous_id,
        "event": message.event,
        "name": message.name,
        "category": message.category,
        "groupId": message.group_id,
        "previousId": message.previous_id,
        "originalTimestamp": message.original_timestamp.isoformat()
        if message.original_timestamp
        else None,
        "sentAt": message.sent_at.isoformat() if message.sent_at else None,
    }
    body.update({k: v for k, v in optional.items() if v is not None})
    for key in ("properties", "traits", "context", "integrations"):
        value = getattr(message, key)
        if value:
            body[key] = value
    body.update(message.extra)
    return body
