"""Deleting a profile reaches the live engine: results, the change log, restarts and crashes."""

from __future__ import annotations

import shutil
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from shoal.clock import FrozenClock
from shoal.compute.service import ComputeService
from shoal.config import Settings
from shoal.profiles.service import ProfileService
from shoal.spec.message import Message
from shoal.store.store import Store
from tests.support import start_server_process

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)
DEFS = """
definitions:
  - key: buyers
    query: event('Order Completed').count() >= 1
  - key: orders
    type: trait
    query: event('Order Completed').count()
  - key: repeat_buyers
    query: trait('orders') >= 2
  - key: buying_accounts
    target: accounts
    query: ANY (trait('buyers') = 'true')
"""
KEYS = ("buyers", "orders", "repeat_buyers", "buying_accounts")

PROCESS = False
"""Whether the services these tests start hold their cores in an engine process."""


@pytest.fixture(autouse=True, params=[False, True], ids=["thread", "process"])
def engine_process(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    """Every test runs with the cores in the server's process and in an engine process."""
    monkeypatch.setattr(sys.modules[__name__], "PROCESS", request.param)
    return bool(request.param)


@dataclass
class Running:
    store: Store
    profiles: ProfileService
    compute: ComputeService
    clock: FrozenClock

    def send(self, *messages: Message) -> None:
        # Received when stamped (or later: the clock never goes back).
        self.clock.set(max(self.clock.now(), *(m.timestamp for m in messages)))
        self.store.append("default", list(messages))
        assert self.compute.wait_until("default", self.store.writer.next_seq - 1, timeout=10)

    def delete(self, user: str) -> None:
        assert self.profiles.delete("default", "user_id", user, suppress=False) is not None

    def log(self) -> list[dict[str, Any]]:
        return self.compute.changes("default", limit=10**6)

    def members(self) -> dict[str, dict[str, Any]]:
        return {key: self.compute.members("default", key) for key in KEYS}


def start(data: Path, defs: Path, clock: FrozenClock, *, thread: bool = True) -> Running:
    store = Store(Settings(data=data), clock)
    profiles = ProfileService(store)
    compute = ComputeService(
        store, clock, definitions=defs, checkpoint_seconds=3600, process=PROCESS
    )
    profiles.add_deletion_hook(compute.on_deletion)  # as `shoal serve` wires them
    if thread:
        compute.start()
    return Running(store, profiles, compute, clock)


def start_saving(tmp_path: Path, defs: Path) -> tuple[Path, Running, Path]:
    """A first start at 10:00 with a copy of its checkpoints, written before any event."""
    data = tmp_path / "data"
    first = start(data, defs, FrozenClock(at(10)))
    saved = tmp_path / "saved"
    shutil.copytree(data / "realtime", saved)
    return data, first, saved


def stop(running: Running) -> None:
    running.compute.close()
    running.store.close()


def crash(running: Running, checkpoints: Path | None) -> None:
    """Stop as a crash would leave things: the log as written, the checkpoints in
    ``checkpoints`` (saved earlier) instead of the ones a clean stop writes, or none."""
    running.compute.close()
    running.store.close()
    directory = running.store.settings.data / "realtime"
    shutil.rmtree(directory)
    if checkpoints is not None:
        shutil.copytree(checkpoints, directory)


def track(mid: str, event: str, at: datetime, user: str) -> Message:
    return Message(
        type="track", event=event, user_id=user, message_id=mid, timestamp=at, received_at=at
    )


def group(mid: str, user: str, account: str, at: datetime) -> Message:
    return Message(
        type="group", user_id=user, group_id=account, message_id=mid, timestamp=at, received_at=at
    )


def at(seconds: int) -> datetime:
    return T0 + timedelta(seconds=seconds)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def history(r: Running) -> None:
    """Ann buys twice, for account acme; Bob belongs to acme too but buys nothing."""
    r.send(group("g1", "ann", "acme", at(0)), group("g2", "bob", "acme", at(0)))
    r.send(track("m1", "Order Completed", at(1), "ann"))
    r.send(track("m2", "Order Completed", at(2), "ann"))
    r.send(track("m3", "Signed In", at(3), "bob"))


@pytest.fixture
def defs(tmp_path: Path) -> Path:
    path = tmp_path / "defs.yaml"
    path.write_text(DEFS)
    return path


@pytest.fixture
def running(tmp_path: Path, defs: Path) -> Iterator[Running]:
    clock = FrozenClock(at(10))
    r = start(tmp_path / "data", defs, clock)
    yield r
    stop(r)


def test_deleted_profile_exits_and_its_readers_follow(running: Running) -> None:
    history(running)
    assert running.members()["buying_accounts"] == {"group_id:acme": True}
    before = len(running.log())
    running.delete("ann")
    gone = [
        (c["key"], c["name"], c["kind"], c["old"], c["new"], c["cause"])
        for c in running.log()[before:]
    ]
    assert sorted(gone) == [
        ("buyers", "user_id:ann", "exited", True, None, None),
        ("buying_accounts", "group_id:acme", "exited", True, None, None),
        ("orders", "user_id:ann", "changed", 2, None, None),
        ("repeat_buyers", "user_id:ann", "exited", True, None, None),
    ]
    assert {c["at"] for c in running.log()[before:]} == {iso(at(10))}
    assert running.members() == {
        "buyers": {},
        "orders": {"user_id:bob": 0},
        "repeat_buyers": {},
        "buying_accounts": {},
    }


def test_events_after_a_deletion_start_a_new_profile(running: Running) -> None:
    history(running)
    running.delete("ann")
    running.send(track("m4", "Order Completed", at(20), "ann"))
    running.send(group("g3", "ann", "acme", at(21)))
    assert running.members() == {
        "buyers": {"user_id:ann": True},
        "orders": {"user_id:ann": 1, "user_id:bob": 0},  # the deleted orders count no more
        "repeat_buyers": {},
        "buying_accounts": {"group_id:acme": True},
    }
    seqs = [c["seq"] for c in running.log()]
    assert seqs == list(range(1, len(seqs) + 1))


def test_commits_queued_before_a_deletion_are_applied_before_it(tmp_path: Path, defs: Path) -> None:
    # No compute thread: the commits wait in its queue when the deletion runs.
    r = start(tmp_path / "data", defs, FrozenClock(at(10)), thread=False)
    try:
        r.store.append("default", [track("m1", "Order Completed", at(1), "ann")])
        r.store.append("default", [track("m2", "Order Completed", at(2), "bob")])
        r.delete("ann")
        kinds = [(c["key"], c["name"], c["kind"], c["cause"]) for c in r.log()]
        assert kinds == [
            ("buyers", "user_id:ann", "entered", "m1"),
            ("orders", "user_id:ann", "changed", "m1"),
            ("buyers", "user_id:bob", "entered", "m2"),
            ("orders", "user_id:bob", "changed", "m2"),
            ("buyers", "user_id:ann", "exited", None),
            ("orders", "user_id:ann", "changed", None),
        ]
        assert r.members()["buyers"] == {"user_id:bob": True}
    finally:
        stop(r)


@pytest.mark.parametrize("checkpoint", ["after", "before", "none"])
def test_restart_after_a_deletion_gives_the_same_log(
    tmp_path: Path, defs: Path, checkpoint: str
) -> None:
    """``after``: a clean stop; ``before``: a crash after the deletion committed but before a
    checkpoint followed (the last one predates events the deletion removed); ``none``: the
    checkpoints lost."""
    data, first, saved = start_saving(tmp_path, defs)
    clock = first.clock
    history(first)
    first.delete("ann")
    first.send(track("m4", "Order Completed", at(20), "bob"))
    log, members = first.log(), first.members()
    if checkpoint == "after":
        stop(first)
    else:
        crash(first, saved if checkpoint == "before" else None)
    second = start(data, defs, clock)
    try:
        assert second.log() == log
        assert second.members() == members
        assert members["buyers"] == {"user_id:bob": True}
        second.send(track("m5", "Order Completed", at(30), "bob"))
        assert second.members()["repeat_buyers"] == {"user_id:bob": True}
        log = second.log()
        assert [c["seq"] for c in log] == list(range(1, len(log) + 1))
    finally:
        stop(second)
    third = start(data, defs, clock)  # and once more, from the checkpoint after that
    try:
        assert third.log() == log
    finally:
        stop(third)


def test_deletion_while_no_server_ran_is_applied_at_start(tmp_path: Path, defs: Path) -> None:
    clock = FrozenClock(at(10))
    data = tmp_path / "data"
    first = start(data, defs, clock)
    history(first)
    stop(first)
    offline = Store(Settings(data=data), clock)  # `shoal delete-profile` with no server
    try:
        ProfileService(offline).delete("default", "user_id", "ann", suppress=False)
    finally:
        offline.close()
    second = start(data, defs, clock)
    try:
        assert second.members()["buyers"] == {}
        assert [c["kind"] for c in second.log() if c["name"] == "user_id:ann"][-1] != "entered"
        log = second.log()
    finally:
        stop(second)
    third = start(data, defs, clock)
    try:
        assert third.log() == log  # applied once, not at every start
    finally:
        stop(third)


def test_future_events_of_others_survive_the_rebuild(running: Running) -> None:
    history(running)
    early = Message(
        type="track",
        event="Order Completed",
        user_id="bob",
        message_id="m9",
        timestamp=at(60),  # stamped a minute ahead: not visible until then
        received_at=at(10),
    )
    running.store.append("default", [early])
    assert running.compute.wait_until("default", running.store.writer.next_seq - 1)
    running.delete("ann")
    assert running.members()["buyers"] == {}
    running.clock.set(at(61))
    running.compute.pump()
    assert running.members()["buyers"] == {"user_id:bob": True}


def test_served_deletion_survives_kill_9(tmp_path: Path, defs: Path) -> None:
    """Through `shoal serve` and its HTTP APIs: delete, kill -9 before any checkpoint, restart."""
    data = tmp_path / "data"
    env = {
        "SHOAL_WRITE_KEY": "wk_deletion",
        "SHOAL_DEFINITIONS": str(defs),
        "SHOAL_CHECKPOINT_SECONDS": "3600",
        "SHOAL_ENGINE_PROCESS": "on" if PROCESS else "off",
    }

    def admin(server_url: str) -> httpx.Client:
        token = orjson.loads((data / "server.json").read_bytes())["admin_token"]
        return httpx.Client(
            base_url=server_url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        )

    def members(http: httpx.Client) -> dict[str, Any]:
        return {
            key: http.get(f"/admin/spaces/default/members/{key}").json()["members"] for key in KEYS
        }

    server = start_server_process(data, env=env)
    try:
        batch = [
            {"type": "group", "userId": "ann", "groupId": "acme", "messageId": "g1"},
            {"type": "track", "userId": "ann", "event": "Order Completed", "messageId": "m1"},
            {"type": "track", "userId": "bob", "event": "Order Completed", "messageId": "m2"},
        ]
        sent = httpx.post(
            f"{server.url}/v1/batch",
            content=orjson.dumps({"batch": batch}),
            auth=("wk_deletion", ""),
            timeout=30,
        )
        assert sent.status_code == 200
        with admin(server.url) as http:
            engine = http.get("/admin/stats").json()["realtime_engine"]
            assert engine["runs_in"] == ("process" if PROCESS else "thread")
            if PROCESS:
                assert engine["pid"] not in (None, server.process.pid)
            log = http.get("/admin/spaces/default/changes", params={"wait": 10}).json()
            while len(log["changes"]) < 5:  # ann and bob enter, their counts, acme enters
                last = log["changes"][-1]["seq"]
                more = http.get(
                    "/admin/spaces/default/changes", params={"after": last, "wait": 10}
                ).json()
                assert more["changes"], "the engine logged nothing"
                log["changes"] += more["changes"]
            deleted = http.delete("/admin/profile", params={"id": "user_id:ann"})
            assert deleted.status_code == 200
            after = http.get("/admin/spaces/default/changes", params={"limit": 1000}).json()
            assert members(http) == {
                "buyers": {"user_id:bob": True},
                "orders": {"user_id:bob": 1},
                "repeat_buyers": {},
                "buying_accounts": {},
            }
    finally:
        server.kill()
    if PROCESS:  # the engine process goes with the server: it exits when its pipe closes
        deadline = time.monotonic() + 30
        while Path(f"/proc/{engine['pid']}").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not Path(f"/proc/{engine['pid']}").exists()
    server = start_server_process(data, env=env)
    try:
        with admin(server.url) as http:
            again = http.get("/admin/spaces/default/changes", params={"limit": 1000}).json()
            assert again == after
            assert members(http)["buyers"] == {"user_id:bob": True}
    finally:
        server.stop()


def test_deletions_amid_streaming_keep_the_log_dense_and_reproducible(
    tmp_path: Path, defs: Path
) -> None:
    clock = FrozenClock(at(10))
    data = tmp_path / "data"
    first = start(data, defs, clock)
    users = [f"u{n}" for n in range(8)]
    done = threading.Event()

    def stream() -> None:
        n = 0
        while not done.is_set() or n < 400:
            user = users[n % len(users)]
            first.store.append("default", [track(f"s{n}", "Order Completed", at(5), user)])
            n += 1

    streamer = threading.Thread(target=stream)
    streamer.start()
    deleted = 0
    try:
        while deleted < 5:
            # Whoever exists at that moment; the stream keeps recreating them.
            if first.profiles.delete("default", "user_id", users[deleted], suppress=False):
                deleted += 1
    finally:
        done.set()
        streamer.join()
    assert first.compute.wait_until("default", first.store.writer.next_seq - 1, timeout=30)
    log, members = first.log(), first.members()
    assert [c["seq"] for c in log] == list(range(1, len(log) + 1))
    crash(first, None)
    second = start(data, defs, clock)
    try:
        assert second.log() == log
        assert second.members() == members
    finally:
        stop(second)


def _delete_offline(data: Path, clock: FrozenClock, user: str) -> None:
    """`shoal delete-profile` on the data directory, no server running."""
    offline = Store(Settings(data=data), clock)
    try:
        assert ProfileService(offline).delete("default", "user_id", user, suppress=False)
    finally:
        offline.close()


def _stated(log: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The results the change log states: the newest value of each entity, per key."""
    newest: dict[str, dict[str, Any]] = {}
    for c in log:
        newest.setdefault(c["key"], {})[c["name"]] = c["new"]
    return {k: {n: v for n, v in by.items() if v is not None} for k, by in newest.items()}


ANN_EXITS = [
    ("buyers", "user_id:ann", "exited", True, None, None),
    ("buying_accounts", "group_id:acme", "exited", True, None, None),
    ("orders", "user_id:ann", "changed", 2, None, None),
    ("repeat_buyers", "user_id:ann", "exited", True, None, None),
]


def _summary(changes: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return sorted((c["key"], c["name"], c["kind"], c["old"], c["new"], c["cause"]) for c in changes)


@pytest.mark.parametrize("then", ["stop", "crash"])
@pytest.mark.parametrize("checkpoint", ["before", "none"])
def test_deletion_while_no_server_ran_after_a_crash(
    tmp_path: Path, defs: Path, checkpoint: str, then: str
) -> None:
    """A crash left the checkpoint behind the log (``before``: one older than the events, or
    ``none``), then a profile was deleted offline: the events the log's changes came from are
    not all there to replay any more."""
    data, first, saved = start_saving(tmp_path, defs)
    clock = first.clock
    history(first)
    before = first.log()
    crash(first, saved if checkpoint == "before" else None)
    _delete_offline(data, clock, "ann")
    second = start(data, defs, clock)
    log = second.log()
    assert log[: len(before)] == before
    assert _summary(log[len(before) :]) == ANN_EXITS
    assert second.members() == {
        "buyers": {},
        "orders": {"user_id:bob": 0},
        "repeat_buyers": {},
        "buying_accounts": {},
    }
    second.send(track("m4", "Order Completed", at(20), "bob"))
    log = second.log()
    assert _summary(log[len(before) + len(ANN_EXITS) :]) == [
        ("buyers", "user_id:bob", "entered", None, True, "m4"),
        ("buying_accounts", "group_id:acme", "entered", None, True, "m4"),
        ("orders", "user_id:bob", "changed", 0, 1, "m4"),
    ]
    assert [c["seq"] for c in log] == list(range(1, len(log) + 1))
    assert _stated(log) == second.members()
    members = second.members()
    if then == "stop":
        stop(second)
    else:  # before the checkpoint that follows: the restart begins at the rebuild's record
        crash(second, saved if checkpoint == "before" else None)
    third = start(data, defs, clock)
    try:
        assert third.log() == log
        assert third.members() == members
    finally:
        stop(third)


def test_deletion_while_no_server_ran_after_a_crash_keeps_later_definitions(
    tmp_path: Path, defs: Path
) -> None:
    """Definitions changed after the checkpoint: the rebuild uses those the log last recorded,
    so an audience added then neither exits nor enters again."""
    data, first, saved = start_saving(tmp_path, defs)
    clock = first.clock
    history(first)
    crash(first, saved)
    more = tmp_path / "more.yaml"
    more.write_text(DEFS + "  - key: signed_in\n    query: event('Signed In').count() >= 1\n")
    second = start(data, more, clock)  # the swap is logged, then a crash loses its checkpoint
    before = second.log()
    assert before[-1]["key"] == "signed_in"
    crash(second, saved)
    _delete_offline(data, clock, "ann")
    third = start(data, more, clock)
    try:
        log = third.log()
        assert log[: len(before)] == before
        assert _summary(log[len(before) :]) == ANN_EXITS
        assert _stated(log) == {
            key: third.compute.members("default", key) for key in (*KEYS, "signed_in")
        }
    finally:
        stop(third)


def test_checkpoint_from_before_deletions_were_followed(tmp_path: Path, defs: Path) -> None:
    """A server that did not yet follow deletions kept the deleted profile in its results and
    saved a checkpoint without a deletion count: the next start takes the profile out."""
    clock = FrozenClock(at(10))
    data = tmp_path / "data"
    store = Store(Settings(data=data), clock)
    compute = ComputeService(
        store, clock, definitions=defs, checkpoint_seconds=3600, process=PROCESS
    )
    old = Running(store, ProfileService(store), compute, clock)  # no deletion hook, as then
    compute.start()
    history(old)
    old.delete("ann")
    before = old.log()
    assert old.members()["buyers"] == {"user_id:ann": True}
    del compute.spaces["default"].deletions  # so its checkpoint has none, like those saved then
    stop(old)
    second = start(data, defs, clock)
    try:
        log = second.log()
        assert log[: len(before)] == before
        assert _summary(log[len(before) :]) == ANN_EXITS
        assert _stated(log) == second.members()
    finally:
        stop(second)
    third = start(data, defs, clock)
    try:
        assert third.log() == log  # taken out once, not at every start
    finally:
        stop(third)
