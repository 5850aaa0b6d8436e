"""One JSON document describing a profile: what `shoal profile` prints."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from shoal.profiles.book import Record
from shoal.profiles.service import ProfileService


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat()


def parse_identifier(text: str) -> tuple[str, str]:
    """``type:value`` → (type, value)."""
    from shoal.errors import UserError

    id_type, sep, value = text.partition(":")
    if not sep or not id_type or not value:
        raise UserError(
            f"identifiers are written type:value (for example user_id:u1), got {text!r}",
            code="invalid_identifier",
            location="identifier",
        )
    return id_type, value


def profile_document(
    service: ProfileService, space: str, record: Record, *, events: int = 10
) -> dict[str, Any]:
    """Traits, identifiers, accounts, merges and the latest events of a user profile."""
    with service.lock:
        book = service.book(space)
        graph = book.graph
        identifiers = [
            {
                "type": i.type,
                "id": i.value,
                "first_seen": _iso(i.first_seen),
                "last_seen": _iso(i.last_seen),
                "first_message_id": i.first_message_id,
            }
            for i in graph.identifiers(record.id)
        ]
        accounts = [
            {
                "group_id": gid,
                "linked_at": _iso(link.created_at),
                "traits": {k: t.value for k, t in book.accounts[gid].visible_traits().items()}
                if gid in book.accounts
                else {},
            }
            for gid, link in sorted(record.links.items())
        ]
        merges = [
            {
                "kept": m.kept,
                "absorbed": m.absorbed,
                "at": _iso(m.at),
                "message_id": m.message_id,
                "reason": m.reason,
            }
            for m in graph.merges
            if graph.canonical(m.kept) == record.id
        ]
        latest = sorted(
            (e for e in record.events if e.name is not None),
            key=lambda e: (e.timestamp, e.seq),
            reverse=True,
        )[:events]
        seqs = [e.seq for e in latest]
        name = graph.name(record.id)
    latest_messages = service.store.messages_at(space, seqs)
    return {
        "profile_id": record.id,
        "name": name,
        "space": space,
        "traits": {k: t.value for k, t in record.visible_traits().items()},
        "identifiers": identifiers,
        "accounts": accounts,
        "merges": merges,
        "metadata": {
            "created_at": _iso(record.created_at),
            "updated_at": _iso(record.updated_at),
            "first_message_id": record.first_message_id,
            "last_message_id": record.last_message_id,
            "events": sum(1 for e in record.events if e.name is not None),
        },
        "latest_events": [
            {
                "timestamp": _iso(m.timestamp),
                "event": m.event_name,
                "message_id": m.message_id,
                "properties": m.properties,
            }
            for m in latest_messages
        ],
    }
