"""The compute service over a real store: live changes, timers, restarts, reloads, lifecycles."""

from __future__ import annotations

import logging
import os
import pickle
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from shoal import native
from shoal.clock import FrozenClock
from shoal.compute.definitions import DefinitionFileError
from shoal.compute.service import ComputeService
from shoal.config import Settings
from shoal.profiles.service import ProfileService
from shoal.spec.message import Message
from shoal.store.store import Store

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)


PROCESS = False
"""Whether the services these tests start hold their cores in an engine process."""


@pytest.fixture(autouse=True, params=[False, True], ids=["thread", "process"])
def engine_process(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    """Every test runs with the cores in the server's process and in an engine process."""
    monkeypatch.setattr(sys.modules[__name__], "PROCESS", request.param)
    return bool(request.param)


DEFS = """
definitions:
  - key: active
    query: event('Signed In').within(1 hour).count() >= 1
  - key: orders
    type: trait
    query: event('Order Completed').count()
  - key: repeat_buyer
    query: trait('orders') >= 2
"""


@dataclass
class Running:
    store: Store
    compute: ComputeService
    clock: FrozenClock
    seq: int = 0

    def send(self, *messages: Message) -> None:
        self.store.append("default", list(messages))
        self.seq = self.store.writer.next_seq - 1
        assert self.compute.wait_until("default", self.seq, timeout=10)

    def changes(self, key: str | None = None) -> list[tuple[Any, ...]]:
        return [
            (c["key"], c["name"], c["kind"], c["old"], c["new"], c["at"], c["cause"])
            for c in self.compute.changes("default", key=key)
        ]


def track(mid: str, event: str, at: datetime, user: str = "ann", **props: Any) -> Message:
    return Message(
        type="track",
        event=event,
        user_id=user,
        message_id=mid,
        timestamp=at,
        received_at=at,
        properties=props,
    )


@pytest.fixture
def defs(tmp_path: Path) -> Path:
    path = tmp_path / "defs.yaml"
    path.write_text(DEFS)
    return path


def start(data: Path, defs: Path | None, clock: FrozenClock) -> Running:
    store = Store(Settings(data=data), clock)
    ProfileService(store)
    compute = ComputeService(
        store, clock, definitions=defs, checkpoint_seconds=3600, process=PROCESS
    )
    compute.start()
    return Running(store, compute, clock)


def stop(running: Running) -> None:
    running.compute.close()
    running.store.close()


@pytest.fixture
def running(tmp_path: Path, defs: Path) -> Iterator[Running]:
    r = start(tmp_path / "data", defs, FrozenClock(T0))
    yield r
    stop(r)


def iso(at: datetime) -> str:
    text = at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return text


def test_events_enter_audiences_and_cascade_to_readers(running: Running) -> None:
    running.send(track("m1", "Order Completed", T0))
    running.send(track("m2", "Order Completed", T0 + timedelta(seconds=1)))
    assert running.compute.members("default", "repeat_buyer") == {"user_id:ann": True}
    assert running.compute.members("default", "orders") == {"user_id:ann": 2}
    at1 = iso(T0 + timedelta(seconds=1))
    assert running.changes() == [
        ("orders", "user_id:ann", "changed", None, 1, iso(T0), "m1"),
        ("orders", "user_id:ann", "changed", 1, 2, at1, "m2"),
        ("repeat_buyer", "user_id:ann", "entered", None, True, at1, "m2"),
    ]


def test_members_exit_exactly_when_the_window_passes(running: Running) -> None:
    running.send(track("m1", "Signed In", T0))
    assert running.compute.members("default", "active") == {"user_id:ann": True}
    running.clock.set(T0 + timedelta(hours=1))
    running.compute.pump()
    assert running.compute.members("default", "active") == {"user_id:ann": True}
    running.clock.set(T0 + timedelta(hours=5))
    running.compute.pump()
    assert running.compute.members("default", "active") == {}
    exit_at = iso(T0 + timedelta(hours=1, microseconds=1))
    assert running.changes("active")[-1] == (
        "active",
        "user_id:ann",
        "exited",
        True,
        None,
        exit_at,
        None,
    )


def test_late_event_counts_by_its_timestamp(running: Running) -> None:
    running.clock.set(T0 + timedelta(hours=3))
    late = Message(
        type="track",
        event="Signed In",
        user_id="bob",
        message_id="late",
        timestamp=T0,  # three hours old: outside the one-hour window already
        received_at=T0 + timedelta(hours=3),
    )
    running.send(late)
    assert running.compute.members("default", "active") == {}


def test_restart_resumes_from_the_checkpoint_without_repeating(tmp_path: Path, defs: Path) -> None:
    clock = FrozenClock(T0)
    first = start(tmp_path / "data", defs, clock)
    first.send(track("m1", "Order Completed", T0))
    stop(first)  # checkpoints on close
    second = start(tmp_path / "data", defs, clock)
    try:
        second.send(track("m2", "Order Completed", T0 + timedelta(seconds=1)))
        kinds = [(k, kind) for k, _, kind, *_ in second.changes()]
        assert kinds == [("orders", "changed"), ("orders", "changed"), ("repeat_buyer", "entered")]
    finally:
        stop(second)


def test_a_checkpoint_of_the_other_build_is_refused_and_rebuilt_from_the_log(
    tmp_path: Path, defs: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Compiled and interpreted builds (shoal.native) pickle some objects differently: a
    checkpoint says which wrote it, and the other refuses it before rebuilding any object."""
    clock = FrozenClock(T0)
    first = start(tmp_path / "data", defs, clock)
    first.send(track("m1", "Order Completed", T0))
    before = first.changes()
    stop(first)  # checkpoints on close
    # The header as the other build would have written it (the rest unchanged).
    path = tmp_path / "data" / "realtime" / "default.ckpt"
    data = path.read_bytes()
    header = pickle.loads(data)
    size = len(pickle.dumps(header, protocol=pickle.HIGHEST_PROTOCOL))
    assert data[:size] == pickle.dumps(header, protocol=pickle.HIGHEST_PROTOCOL)
    this = header["build"]
    assert this == native.running()  # the engine process runs what the server runs
    other = {**header, "build": "interpreted" if this == "compiled" else "compiled"}
    path.write_bytes(pickle.dumps(other, protocol=pickle.HIGHEST_PROTOCOL) + data[size:])
    with caplog.at_level(logging.WARNING, logger="shoal.compute.service"):
        second = start(tmp_path / "data", defs, clock)
    try:
        assert f"written by the {other['build']} build" in caplog.text
        assert second.changes() == before  # rebuilt from the log, nothing logged twice
        second.send(track("m2", "Order Completed", T0 + timedelta(seconds=1)))
        kinds = [(k, kind) for k, _, kind, *_ in second.changes()]
        assert kinds == [("orders", "changed"), ("orders", "changed"), ("repeat_buyer", "entered")]
    finally:
        stop(second)


def test_restart_without_checkpoint_replays_the_log_and_logs_nothing_twice(
    tmp_path: Path, defs: Path
) -> None:
    clock = FrozenClock(T0)
    first = start(tmp_path / "data", defs, clock)
    first.send(track("m1", "Order Completed", T0))
    first.send(track("m2", "Signed In", T0))
    before = first.changes()
    first.compute.close()  # as if killed after the log was written but before a checkpoint:
    for ckpt in (tmp_path / "data" / "realtime").glob("*.ckpt"):
        ckpt.unlink()
    first.store.close()
    second = start(tmp_path / "data", defs, clock)
    try:
        assert second.changes() == before
        assert second.compute.members("default", "active") == {"user_id:ann": True}
    finally:
        stop(second)


def test_reload_applies_a_new_definition_with_history(running: Running, defs: Path) -> None:
    running.send(track("m1", "Order Completed", T0, revenue=700))
    defs.write_text(
        DEFS
        + """
  - key: whales
    query: event('Order Completed').sum(property('revenue')) >= 500
"""
    )
    os.utime(defs, ns=(1, 10**18))  # a new mtime even within the same clock tick
    running.compute.pump()
    assert running.compute.members("default", "whales") == {"user_id:ann": True}
    assert running.changes("whales") == [
        ("whales", "user_id:ann", "entered", None, True, iso(T0), None)
    ]


def test_reload_without_history_counts_only_new_events(running: Running, defs: Path) -> None:
    running.send(track("m1", "Order Completed", T0, revenue=700))
    running.clock.set(T0 + timedelta(minutes=5))
    defs.write_text(
        DEFS
        + """
  - key: new_whales
    include_historical_data: false
    query: event('Order Completed').sum(property('revenue')) >= 500
"""
    )
    os.utime(defs, ns=(1, 10**18))
    running.compute.pump()
    assert running.compute.members("default", "new_whales") == {}
    running.send(track("m2", "Order Completed", T0 + timedelta(minutes=6), revenue=600))
    assert running.compute.members("default", "new_whales") == {"user_id:ann": True}


def test_bad_reload_keeps_the_old_definitions(running: Running, defs: Path) -> None:
    defs.write_text("definitions: [{key: active, query: \"event('X').withn(1 day)\"}]")
    os.utime(defs, ns=(1, 10**18))
    running.compute.pump()
    assert running.compute.error is not None
    assert "unknown_function" in running.compute.error.message
    assert [d["key"] for d in running.compute.definitions("default")] == [
        "active",
        "orders",
        "repeat_buyer",
    ]


def test_bad_file_at_start_stops_the_service(tmp_path: Path) -> None:
    bad = tmp_path / "defs.yaml"
    bad.write_text("definitions: [{key: a, query: nonsense}]")
    store = Store(Settings(data=tmp_path / "data"), FrozenClock(T0))
    try:
        with pytest.raises(DefinitionFileError):
            ComputeService(store, store.clock, definitions=bad)
    finally:
        store.close()


def test_removed_definition_members_exit(running: Running, defs: Path) -> None:
    running.send(track("m1", "Signed In", T0))
    defs.write_text(
        DEFS.replace(
            "  - key: active\n    query: event('Signed In').within(1 hour).count() >= 1\n", ""
        )
    )
    os.utime(defs, ns=(1, 10**18))
    running.compute.pump()
    assert running.changes("active")[-1][2] == "exited"


def test_merge_moves_membership_to_the_surviving_profile(running: Running) -> None:
    anon = Message(
        type="track",
        event="Signed In",
        anonymous_id="a1",
        message_id="m1",
        timestamp=T0,
        received_at=T0,
    )
    running.send(anon)
    assert running.compute.members("default", "active") == {}  # anonymous: not a user
    running.send(
        Message(
            type="identify",
            user_id="ann",
            anonymous_id="a1",
            message_id="m2",
            timestamp=T0 + timedelta(seconds=1),
            received_at=T0 + timedelta(seconds=1),
        )
    )
    assert running.compute.members("default", "active") == {"user_id:ann": True}


def test_restart_without_a_file_keeps_the_definitions_that_ran(tmp_path: Path, defs: Path) -> None:
    clock = FrozenClock(T0)
    first = start(tmp_path / "data", defs, clock)
    first.send(track("m1", "Signed In", T0))
    stop(first)
    second = start(tmp_path / "data", None, clock)
    try:
        assert second.compute.members("default", "active") == {"user_id:ann": True}
        assert [c[2] for c in second.changes("active")] == ["entered"]
    finally:
        stop(second)


def test_the_change_log_as_json_from_the_database_equals_the_one_built_in_python(
    tmp_path: Path,
) -> None:
    """The follower's endpoint reads the log as JSON that DuckDB builds; it must be the same
    document the Python reader gives, for every kind of value and instant."""
    defs = tmp_path / "values.yaml"
    defs.write_text(
        """
definitions:
  - key: revenue
    type: trait
    query: event('Order Completed').sum(property('revenue'))
  - key: last_sku
    type: trait
    query: event('Order Completed').last(property('sku'))
  - key: big
    query: trait('revenue') >= 100
  - key: recent
    query: event('Order Completed').within(1 hour).count() >= 1
"""
    )
    from shoal.compute import changelog

    r = start(tmp_path / "data", defs, FrozenClock(T0))
    try:
        values = [
            (12.5, 'a "quoted" sku'),
            (100, "ünïcode ✓ \\ back"),
            (0.1, None),
            (-3, "x" * 300),
            (1e20, ""),
        ]
        for i, (revenue, sku) in enumerate(values):
            at = T0 + timedelta(minutes=i, microseconds=(0 if i % 2 else 123456))
            r.clock.set(at)
            r.send(
                track(f"m{i}", "Order Completed", at, user=f"u{i % 2}", revenue=revenue, sku=sku)
            )
        r.clock.set(T0 + timedelta(hours=3))
        r.compute.pump()
        con = r.store.con.cursor()
        for key in (None, "last_sku", "recent"):
            for after, limit in ((0, 1000), (3, 4), (10_000, 10)):
                expected = changelog.read_changes(con, "default", key=key, after=after, limit=limit)
                raw = changelog.read_changes_json(con, "default", key=key, after=after, limit=limit)
                assert orjson.loads(raw) == expected
        everything = changelog.read_changes(con, "default", limit=1000)
        assert {c["kind"] for c in everything} == {"changed", "entered", "exited"}
        assert any(c["at"].endswith(":00Z") for c in everything)  # whole seconds: no fraction
        assert any(c["at"].endswith(".123456Z") for c in everything)
    finally:
        stop(r)
