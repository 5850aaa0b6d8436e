"""`/events` pages are the same bytes from the recent-events cache and from the store.

Each test walks every page of a set of queries twice on one server: from the cache (and asserts
the store was not read), then with the cache turned off (every item read from the store). The
walks must match byte for byte, across a merge, a deletion and a restart.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from shoal.clock import FrozenClock
from shoal.spec.message import Message
from tests.api.test_profiles import SCENARIO, at, get
from tests.support import LiveServer, live_server

EXTRA: list[dict[str, Any]] = [
    {
        "type": "track",
        "userId": "u1",
        "event": "Odd Values",
        "timestamp": "2026-11-03T02:00:00.123456Z",
        "properties": {
            "one": 1.0,
            "big": 2**63 - 1,
            "small": 1e-7,
            "huge": 1.5e300,
            "neg_zero": -0.0,
            "text": 'é ✓ "quoted" \\ / <b>',
            "nested": {"empty": {}, "list": [1, "two", None, [], {"x": False}]},
        },
        "context": {"traits": {"email": "ada@x.io"}, "locale": "nb-NO"},
        "messageId": "e13",
    },
    *(
        {
            "type": "track",
            "userId": "u3",
            "event": f"Step {n}",
            "timestamp": at(6, n),
            "properties": {"n": n},
            "messageId": f"u3-{n}",
        }
        for n in range(12)
    ),
]

QUERIES: list[dict[str, Any]] = [
    {},
    {"limit": 1},
    {"limit": 2, "sort": "asc"},
    {"limit": 100},
    {"include": "Order Completed,Signed Up,Step 3"},
    {"exclude": "Page Viewed", "limit": 3},
    {"start": "2026-11-01T00:30:00Z", "end": "2026-11-06T04:00:00Z", "limit": 4},
]
IDENTIFIERS = ["user_id:u1", "anonymous_id:a3", "user_id:u3"]


def send(srv: LiveServer, batch: list[dict[str, Any]]) -> None:
    response = httpx.post(
        srv.url + "/v1/batch", content=orjson.dumps({"batch": batch}), auth=(srv.write_key, "")
    )
    assert response.status_code == 200, response.text


@pytest.fixture
def srv(tmp_path: Path, clock: FrozenClock) -> Iterator[LiveServer]:
    with live_server(tmp_path / "data", clock) as server:
        assert server.service.warmed.wait(10)
        send(server, [*SCENARIO, *EXTRA])
        yield server


def walk(srv: LiveServer, identifier: str, **params: Any) -> list[bytes]:
    """Every page's body, following `next`."""
    bodies = []
    while True:
        response = get(srv, f"users/profiles/{identifier}/events", **params)
        assert response.status_code == 200, response.text
        assert response.headers["request-id"]
        bodies.append(response.content)
        cursor = response.json()["cursor"]
        if not cursor["has_more"]:
            return bodies
        params = {**params, "next": cursor["next"]}


def items(pages: list[bytes]) -> list[Any]:
    """The events of a walk (the cursor URLs name the identifier asked with)."""
    return [event for page in pages for event in orjson.loads(page)["data"]]


def walk_all(srv: LiveServer, identifiers: list[str]) -> dict[tuple[str, int], list[bytes]]:
    return {(i, n): walk(srv, i, **q) for i in identifiers for n, q in enumerate(QUERIES)}


@contextmanager
def counting_store_reads(srv: LiveServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Counts the events the Profile API reads from the store."""
    reads: list[int] = []
    original = srv.store.messages_at

    def messages_at(space: str, seqs: list[int]) -> list[Message]:
        reads.extend(seqs)
        return original(space, seqs)

    with monkeypatch.context() as patch:
        patch.setattr(srv.store, "messages_at", messages_at)
        yield reads


@contextmanager
def cache_off(srv: LiveServer) -> Iterator[None]:
    budget = srv.service.recent.budget
    srv.service.recent.resize(0)
    try:
        yield
    finally:
        srv.service.recent.resize(budget)


def assert_both_paths_agree(
    srv: LiveServer, monkeypatch: pytest.MonkeyPatch, identifiers: list[str]
) -> dict[tuple[str, int], list[bytes]]:
    walk_all(srv, identifiers)  # older pages come from the store once, then stay cached
    with counting_store_reads(srv, monkeypatch) as reads:
        cached = walk_all(srv, identifiers)
    assert reads == []
    with cache_off(srv), counting_store_reads(srv, monkeypatch) as reads:
        from_store = walk_all(srv, identifiers)
    assert reads
    assert cached == from_store
    return cached


def test_cache_and_store_give_the_same_pages(
    srv: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    pages = assert_both_paths_agree(srv, monkeypatch, IDENTIFIERS)
    first = orjson.loads(pages[("user_id:u1", 3)][0])["data"]
    assert [e["message_id"] for e in first] == ["e13", "e5", "e4", "e6", "e2", "e1"]
    odd = next(e for e in first if e["message_id"] == "e13")
    assert odd["properties"] == EXTRA[0]["properties"]
    assert odd["timestamp"] == "2026-11-03T02:00:00.123456Z"
    # Any identifier of the profile reads the same pages.
    assert items(pages[("anonymous_id:a3", 1)]) == items(pages[("user_id:u1", 1)])
    assert len(pages[("user_id:u3", 1)]) == 12


def test_new_events_are_served_from_memory(
    srv: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with counting_store_reads(srv, monkeypatch) as reads:
        send(srv, [{"type": "track", "userId": "u3", "event": "Late", "messageId": "n1"}])
        newest = orjson.loads(walk(srv, "user_id:u3", limit=1)[0])["data"]
    assert [e["message_id"] for e in newest] == ["n1"]
    assert reads == []


def test_pages_agree_across_a_merge(srv: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    send(
        srv,
        [
            {"type": "track", "anonymousId": "a9", "event": "Browse", "timestamp": at(2, 5)},
            {"type": "page", "anonymousId": "a9", "name": "Pricing", "timestamp": at(7)},
        ],
    )
    before = walk_all(srv, ["user_id:u1", "anonymous_id:a9"])
    a9_profile = orjson.loads(before[("anonymous_id:a9", 0)][0])["data"][0]["related"]["users"]
    send(srv, [{"type": "identify", "userId": "u1", "anonymousId": "a9", "timestamp": at(8)}])
    with counting_store_reads(srv, monkeypatch) as reads:
        walk_all(srv, ["user_id:u1", "anonymous_id:a9"])
    assert reads == []  # items cached before the merge serve the merged profile
    pages = assert_both_paths_agree(srv, monkeypatch, ["user_id:u1", "anonymous_id:a9"])
    assert items(pages[("anonymous_id:a9", 1)]) == items(pages[("user_id:u1", 1)])
    events = items(pages[("user_id:u1", 3)])
    assert [e["message_id"] for e in events][:2] == [
        orjson.loads(before[("anonymous_id:a9", 0)][0])["data"][0]["message_id"],
        "e13",
    ]
    # One profile now: every item names the surviving profile, cached items included.
    assert len({tuple(e["related"]["users"]) for e in events}) == 1
    assert len(events) == 8 and a9_profile[0].startswith("use_")


def test_pages_agree_after_a_deletion_and_deleted_events_leave_the_cache(
    srv: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    walk_all(srv, IDENTIFIERS)
    record = srv.service.find("default", "users", "user_id", "u1")
    assert record is not None
    seqs = [e.seq for e in record.events]
    assert any(seq in srv.service.recent for seq in seqs)
    url = f"{srv.url}/v1/spaces/default/collections/users/profiles/user_id:u1"
    assert httpx.delete(url, auth=(srv.access_token, "")).status_code == 200
    assert not any(seq in srv.service.recent for seq in seqs)
    assert get(srv, "users/profiles/user_id:u1/events").status_code == 404
    assert get(srv, "users/profiles/anonymous_id:a3/events").status_code == 404
    assert_both_paths_agree(srv, monkeypatch, ["user_id:u3"])


def test_pages_agree_after_a_restart_and_first_pages_are_warm(
    tmp_path: Path, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    with live_server(tmp_path / "d", clock, event_cache_mb=0) as first:
        send(first, [*SCENARIO, *EXTRA])
        assert len(first.service.recent) == 0
        from_store = walk_all(first, IDENTIFIERS)
    with live_server(tmp_path / "d", clock) as second:
        assert second.service.warmed.wait(10)
        assert len(second.service.recent) > 0
        with counting_store_reads(second, monkeypatch) as reads:
            firsts = [get(second, f"users/profiles/{i}/events").content for i in IDENTIFIERS]
        assert reads == []  # the warm-up holds every profile's first page
        assert firsts == [from_store[(i, 0)][0] for i in IDENTIFIERS]
        assert walk_all(second, IDENTIFIERS) == from_store
        stats = second.service.stats()["recent_events"]
        assert stats["warmed"] is True
        assert 0 < stats["bytes"] <= stats["budget_bytes"]
