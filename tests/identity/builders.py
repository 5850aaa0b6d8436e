"""Small builders for identity tests: messages at fixed times (never the wall clock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from shoal.identity.graph import IdentityGraph, ProfileId
from shoal.spec.message import Message, MessageType

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def msg(
    mtype: MessageType = "track",
    *,
    mid: str,
    minute: float = 0,
    **fields: Any,
) -> Message:
    if mtype == "track":
        fields.setdefault("event", "E")
    return Message(
        type=mtype, message_id=mid, timestamp=at(minute), received_at=at(minute), **fields
    )


class Feeder:
    """Feeds ``observe`` with increasing times and message ids m1, m2, ..."""

    def __init__(self, graph: IdentityGraph) -> None:
        self.graph = graph
        self.n = 0

    def maybe(self, *ids: tuple[str, str], **kw: Any) -> ProfileId | None:
        self.n += 1
        kw.setdefault("at", at(self.n))
        return self.graph.observe(list(ids), message_id=f"m{self.n}", **kw)

    def __call__(self, *ids: tuple[str, str], **kw: Any) -> ProfileId:
        pid = self.maybe(*ids, **kw)
        assert pid is not None, "every identifier was blocked"
        return pid
