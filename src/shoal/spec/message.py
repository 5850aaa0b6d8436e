"""A validated, normalised Segment message, as every later stage sees it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from shoal.pickling import Reduced, reduce_frozen

MessageType = Literal["identify", "track", "page", "screen", "group", "alias"]
MESSAGE_TYPES: tuple[MessageType, ...] = ("identify", "track", "page", "screen", "group", "alias")


@dataclass(frozen=True, slots=True, kw_only=True)
class Message:
    """One stored Segment message.

    ``timestamp`` is the corrected event time (spec §8.5:
    ``receivedAt - (sentAt - originalTimestamp)`` when ``sentAt`` was sent), UTC-aware.
    ``seq`` is the position in the space's event log (0 for messages not read from a store).
    """

    type: MessageType
    message_id: str
    timestamp: datetime
    received_at: datetime
    user_id: str | None = None
    anonymous_id: str | None = None
    event: str | None = None
    name: str | None = None
    group_id: str | None = None
    previous_id: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    traits: dict[str, Any] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)
    integrations: dict[str, Any] = field(default_factory=dict)
    category: str | None = None
    original_timestamp: datetime | None = None
    sent_at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    """Other top-level fields of the message (``channel``, ``version``, ...), kept verbatim."""
    seq: int = 0

    @property
    def event_name(self) -> str | None:
        """The name the query language matches with ``event('X')``.

        Track calls use their ``event``; page and screen calls appear as ``Page Viewed`` and
        ``Screen Viewed`` (SEMANTICS.md "Which events a stream holds"); other types are not events.
        """
        if self.type == "track":
            return self.event
        if self.type == "page":
            return "Page Viewed"
        if self.type == "screen":
            return "Screen Viewed"
        return None

    def __reduce__(self) -> Reduced:
        return reduce_frozen(self)  # the same in both builds (shoal.pickling)
