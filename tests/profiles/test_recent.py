"""The recent-events cache: one encoding for both paths, a byte budget, LRU, deletion epochs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from shoal.identity.extract import identifiers_of
from shoal.profiles import recent
from shoal.profiles.recent import (
    ENTRY_OVERHEAD,
    PENDING_COST,
    RecentEvents,
    related_suffix,
    render_event,
)
from shoal.spec.message import Message

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def event(n: int, mtype: str = "track", **fields: Any) -> Message:
    if mtype == "track":
        fields.setdefault("event", f"E{n}")
    return Message(
        type=mtype,  # type: ignore[arg-type]
        message_id=f"m{n}",
        timestamp=T0 + timedelta(minutes=n, microseconds=n),
        received_at=T0,
        seq=n,
        **fields,
    )


def reference_item(space: str, message: Message, profile_id: str) -> dict[str, Any]:
    """The item as the Profile API built it before the cache (a copy of that code)."""
    properties = dict(message.properties)
    if message.type in ("page", "screen") and message.name is not None:
        properties.setdefault(f"{message.type}_name", message.name)
    return {
        "external_ids": [
            {"collection": "users", "type": t, "id": v, "encoding": "none"}
            for t, v in identifiers_of(message)
        ],
        "context": message.context,
        "type": "track",
        "message_id": message.message_id,
        "source_id": space,
        "timestamp": message.timestamp.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "properties": properties,
        "event": message.event_name,
        "related": {"users": [profile_id]},
    }


@pytest.mark.parametrize(
    "message",
    [
        event(1, properties={"price": 1.0, "big": 2**63 - 1, "tiny": 1e-300, "neg": -0.0}),
        event(2, "page", name="Home", properties={"url": "/", "name": "Home"}),
        event(3, "screen", name="Cart", anonymous_id="a1"),
        event(
            4,
            user_id="u1",
            anonymous_id="a1",
            properties={"nested": {"list": [1, "two", None, {"x": []}]}, "é": "ü✓"},
            context={
                "device": {"type": "ios", "id": "dev-1"},
                "traits": {"email": "ada@x.io"},
                "externalIds": [
                    {"id": "c9", "type": "crm_id", "collection": "users", "encoding": "none"}
                ],
            },
        ),
    ],
)
def test_item_is_the_pre_cache_encoding(message: Message) -> None:
    page = orjson.dumps(
        {"data": [orjson.Fragment(render_event("s1", message) + related_suffix('use_"x'))]}
    )
    assert page == orjson.dumps({"data": [reference_item("s1", message, 'use_"x')]})


def cost(message: Message) -> int:
    return len(render_event("s", message)) + ENTRY_OVERHEAD


def test_committed_events_are_encoded_on_first_read_and_charged_exactly() -> None:
    cache = RecentEvents(10**6)
    messages = [event(1), event(2, "identify", user_id="u1"), event(3, "page", name="P")]
    cache.add_committed("s", messages, first_seq=10)
    assert 10 in cache and 11 not in cache and 12 in cache  # identify is not an event
    assert cache.size == 2 * PENDING_COST
    assert cache.lookup([12, 11, 10]) == [
        render_event("s", messages[2]),
        None,
        render_event("s", messages[0]),
    ]
    assert cache.size == cost(messages[0]) + cost(messages[2])
    assert (cache.hits, cache.misses) == (2, 1)


def test_the_budget_holds_and_the_least_recently_used_go_first() -> None:
    messages = [event(n) for n in range(1, 6)]
    budget = sum(cost(m) for m in messages[:3])
    cache = RecentEvents(budget)
    cache.fill([(m.seq, render_event("s", m)) for m in messages[:3]], cache.epoch)
    cache.lookup([1])  # 1 is now the most recently used; 2 is the oldest
    cache.fill([(4, render_event("s", messages[3]))], cache.epoch)
    assert [s for s in range(1, 6) if s in cache] == [1, 3, 4]
    assert cache.size <= budget
    cache.add_committed("s", messages, first_seq=100)
    assert cache.size <= budget
    cache.resize(0)
    assert (len(cache), cache.size) == (0, 0)
    cache.add_committed("s", messages, first_seq=200)
    cache.fill([(1, b"{}")], cache.epoch)
    assert len(cache) == 0


def test_a_deletion_keeps_reads_begun_before_it_out() -> None:
    cache = RecentEvents(10**6)
    cache.add_committed("s", [event(1), event(2)], first_seq=1)
    epoch = cache.epoch  # a store read starts here ...
    cache.discard([1, 2])  # ... a deletion commits and drops the events ...
    cache.fill([(1, b'{"x":1')], epoch)  # ... and the read's rows must not come back.
    assert cache.warm([(2, b'{"x":2')], epoch) is True
    assert len(cache) == 0 and cache.size == 0
    assert cache.lookup([1, 2]) == [None, None]


def test_warming_fills_the_cold_end_and_never_evicts() -> None:
    messages = [event(n) for n in range(1, 5)]
    items = [(m.seq, render_event("s", m)) for m in messages]
    cache = RecentEvents(cost(messages[0]) * 2 + cost(messages[1]) // 2)
    cache.fill([items[3]], cache.epoch)
    assert cache.warm(items[:3], cache.epoch) is False
    assert [s for s in range(1, 5) if s in cache] == [1, 4]
    cache.fill([items[1]], cache.epoch)  # evicts the least recently used: the warmed 1
    assert [s for s in range(1, 5) if s in cache] == [2, 4]


def test_few_committed_messages_wait_unencoded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(recent, "PENDING_LIMIT", 3)
    cache = RecentEvents(10**6)
    messages = [event(n) for n in range(1, 6)]
    cache.add_committed("s", messages[:2], first_seq=1)
    cache.lookup([1])  # encoded: no longer waiting
    cache.add_committed("s", messages[2:], first_seq=3)
    assert [s for s in range(1, 6) if s in cache] == [1, 3, 4, 5]
    assert cache.stats()["unencoded"] == 3
    assert cache.size == cost(messages[0]) + 3 * PENDING_COST
    cache.discard([4])
    assert cache.stats()["unencoded"] == 2
    assert cache.size == cost(messages[0]) + 2 * PENDING_COST
