"""The engine process (shoal.compute.remote): the same results as a core held in-process, and
what happens when it fails or dies."""

from __future__ import annotations

import os
import pickle
import signal
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from bench.realtime import compile_all, definitions, load, synth_parquet

from shoal import pickling
from shoal.clock import FrozenClock
from shoal.compute import cores
from shoal.compute.remote import EngineProcessError, ProcessEngine, RemoteCore
from shoal.compute.service import ComputeService
from shoal.config import Settings
from shoal.engines import Request
from shoal.engines.realtime import Change, Core
from shoal.profiles.service import ProfileService
from shoal.spec.message import Message
from shoal.store.store import Store
from tests.compute.test_service import DEFS, T0, track


@pytest.fixture(scope="module")
def stream(tmp_path_factory: pytest.TempPathFactory) -> list[Message]:
    """A few days of `shoal synth` data, received as it happened (now = its timestamp)."""
    path = synth_parquet(tmp_path_factory.mktemp("synth"), 1_500, days=5)
    return [replace(m, received_at=m.timestamp) for m in load(path, 1_500)]


@pytest.fixture(scope="module")
def requests() -> list[Request]:
    return compile_all(definitions())  # the benchmark's 100 definitions: every construct


@pytest.fixture
def engine() -> Iterator[ProcessEngine]:
    e = ProcessEngine()
    yield e
    e.close()


def test_a_remote_core_gives_what_a_local_core_gives(
    engine: ProcessEngine, stream: list[Message], requests: list[Request]
) -> None:
    local = Core(requests)
    remote = engine.new(requests, {})
    items = [(m, m.received_at) for m in stream]
    done: list[list[Change]] = []
    cores.apply_each(local, items[:700], done)
    assert remote.apply_each(items[:700]) == done
    assert remote.apply([m for m, _ in items[700:]], items[-1][1]) == local.apply(
        [m for m, _ in items[700:]], items[-1][1]
    )
    assert remote.next_timer() == local.next_timer() is not None
    later = items[-1][1] + timedelta(days=2)
    changes = local.advance(later)
    assert changes  # windows closed: something exited
    assert remote.advance(later) == changes
    assert remote.next_timer() == local.next_timer()
    assert remote.state_size() == local.state_size()
    assert remote.snapshot() == cores.snapshot(local)
    for key in ("thendidnot_abandoned_cart_1h", "accounts_any_buyer"):
        if key in local.results:
            assert remote.members(key) == cores.members(local, key)
    assert remote.members("no such key") is None

    # A backfill from the same history, and the difference between the two cores.
    rebuilt = engine.new(requests[:40], {})
    rebuilt.backfill(iter(stream), later)
    built = Core(requests[:40])
    built.backfill(iter(stream), later)
    assert rebuilt.snapshot() == cores.snapshot(built)
    assert remote.diff(rebuilt, later) == cores.diff(local, built, later)
    assert rebuilt.next_timer() == built.next_timer()


def test_a_checkpoint_is_written_and_read_by_the_process_holding_the_core(
    engine: ProcessEngine, stream: list[Message], requests: list[Request], tmp_path: Path
) -> None:
    from shoal import native

    assert engine.build == native.running()  # it reports its own; a checkpoint records it
    remote = engine.new(requests, {})
    remote.apply_each([(m, m.received_at) for m in stream[:300]])
    path = tmp_path / "default.ckpt"
    head = pickle.dumps({"version": cores.CHECKPOINT_VERSION, "build": "b"}) + pickle.dumps(
        {"event_seq": 300}
    )
    remote.write_checkpoint(path, head)
    fields, local = cores.read_checkpoint(path, "b")
    assert fields == {"event_seq": 300}
    assert cores.snapshot(local) == remote.snapshot()
    fields, again = engine.read_checkpoint(path, "b")
    assert again.snapshot() == remote.snapshot()
    with pytest.raises(EngineProcessError, match="written by the b build"):
        engine.read_checkpoint(path, "other")
    remote.release()
    with pytest.raises(EngineProcessError, match="KeyError"):
        remote.state_size()


def test_a_failed_operation_is_reported_and_the_engine_goes_on(
    engine: ProcessEngine, stream: list[Message], requests: list[Request]
) -> None:
    remote = engine.new(requests, {})

    def broken() -> Iterator[Message]:
        yield from stream[:100]
        raise RuntimeError("the store went away")

    with pytest.raises(RuntimeError, match="the store went away"):
        remote.backfill(broken(), stream[100].timestamp)
    # The pipe is still in step: the next calls get their own answers.
    assert remote.members("no such key") is None
    assert set(remote.state_size()) >= {"profiles", "events"}
    bad = RemoteCore(engine, 999)
    with pytest.raises(EngineProcessError, match="KeyError") as info:
        bad.advance(T0)
    assert not info.value.gone
    assert "Traceback" in info.value.trace
    assert remote.apply_each([(stream[100], stream[100].received_at)]) is not None


def test_a_dead_engine_process_is_reported_as_gone(
    engine: ProcessEngine, requests: list[Request]
) -> None:
    remote = engine.new(requests, {})
    assert engine.pid is not None
    os.kill(engine.pid, signal.SIGKILL)
    with pytest.raises(EngineProcessError, match=rf"pid {engine.pid}\) exited") as info:
        remote.state_size()
    assert info.value.gone
    with pytest.raises(EngineProcessError, match="stopped"):
        remote.advance(T0)


def _run(
    data: Path, defs: Path, clock: FrozenClock, *, kill_at: int | None
) -> list[tuple[object, ...]]:
    store = Store(Settings(data=data), clock)
    ProfileService(store)
    compute = ComputeService(store, clock, definitions=defs, checkpoint_seconds=3600, process=True)
    compute.start()
    first_pid = None
    try:
        for i in range(12):
            if i == kill_at:
                first_pid = compute.engine_info()["pid"]
                assert first_pid is not None
                os.kill(first_pid, signal.SIGKILL)
            at = T0 + timedelta(minutes=10 * i)
            clock.set(at)
            event = "Order Completed" if i % 3 else "Signed In"
            store.append("default", [track(f"m{i}", event, at, user=f"u{i % 4}")])
            assert compute.wait_until("default", store.writer.next_seq - 1, timeout=60)
        clock.set(T0 + timedelta(hours=5))
        compute.pump()
        info = compute.engine_info()
        assert info["restarts"] == (0 if kill_at is None else 1)
        assert info["pid"] is not None and info["pid"] != first_pid and not info["stalled"]
        return _logged(compute)
    finally:
        compute.close()
        store.close()


def _logged(compute: ComputeService) -> list[tuple[object, ...]]:
    """The whole change log, as comparable rows."""
    return [
        (c["seq"], c["key"], c["entity"], c["kind"], c["old"], c["new"], c["at"], c["cause"])
        for c in compute.changes("default", limit=10_000)
    ]


def test_a_killed_engine_process_is_replaced_and_the_log_is_as_without_the_kill(
    tmp_path: Path,
) -> None:
    defs = tmp_path / "defs.yaml"
    defs.write_text(DEFS)
    clean = _run(tmp_path / "clean", defs, FrozenClock(T0), kill_at=None)
    killed = _run(tmp_path / "killed", defs, FrozenClock(T0), kill_at=7)
    assert len(clean) > 12
    assert killed == clean


def test_the_engine_process_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    from shoal.config import load_settings
    from shoal.errors import ConfigError

    assert load_settings(environ={}).engine_process == "auto"
    assert load_settings(environ={"SHOAL_ENGINE_PROCESS": "off"}).engine_in_process() is False
    assert load_settings(environ={"SHOAL_ENGINE_PROCESS": "on"}).engine_in_process() is True
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    assert Settings().engine_in_process() is False
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert Settings().engine_in_process() is True
    with pytest.raises(ConfigError, match="one of auto, on, off") as info:
        load_settings(environ={"SHOAL_ENGINE_PROCESS": "yes"})
    assert info.value.location == "SHOAL_ENGINE_PROCESS"


def _backlog(
    data: Path, defs: Path, *, process: bool, monkeypatch: pytest.MonkeyPatch
) -> list[tuple[object, ...]]:
    """Forty commits queued before the engine takes any, then applied and logged."""
    from shoal.compute import service as S

    monkeypatch.setattr(S, "_REQUEST", 7)  # several requests per round, each sent ahead
    monkeypatch.setattr(S, "_BATCH", 50)  # and several rounds
    clock = FrozenClock(T0)
    store = Store(Settings(data=data), clock)
    ProfileService(store)
    compute = ComputeService(
        store, clock, definitions=defs, checkpoint_seconds=3600, process=process
    )
    try:
        for i in range(40):  # not started: the commits wait in the queue
            at = T0 + timedelta(minutes=i)
            event = "Order Completed" if i % 3 else "Signed In"
            store.append(
                "default", [track(f"m{i}-{k}", event, at, user=f"u{(i + k) % 5}") for k in range(3)]
            )
        while compute._items:
            with compute.lock:
                if process:
                    compute._apply_round()
                else:
                    compute._apply_queued()
            compute.pump()
        clock.set(T0 + timedelta(hours=3))
        compute.pump()
        return _logged(compute)
    finally:
        compute.close()
        store.close()


def test_a_backlog_applied_in_overlapped_requests_logs_what_a_thread_logs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    defs = tmp_path / "defs.yaml"
    defs.write_text(DEFS)
    thread = _backlog(tmp_path / "thread", defs, process=False, monkeypatch=monkeypatch)
    process = _backlog(tmp_path / "process", defs, process=True, monkeypatch=monkeypatch)
    assert len(thread) > 40
    assert process == thread


def test_a_call_while_replies_are_unread_is_refused(
    engine: ProcessEngine, stream: list[Message], requests: list[Request]
) -> None:
    from shoal.errors import InternalError

    remote = engine.new(requests[:10], {})
    remote.send_apply_each([(stream[0], stream[0].received_at)])
    remote.send_apply_each([(stream[1], stream[1].received_at)])
    with pytest.raises(InternalError, match="2 replies not read"):
        remote.state_size()
    first, second = remote.receive_apply_each(), remote.receive_apply_each()
    assert len(first) == len(second) == 1
    with pytest.raises(InternalError, match="no request is waiting"):
        remote.receive_apply_each()
    assert remote.members("no such key") is None  # in step again


def test_a_request_sent_ahead_of_a_large_reply_does_not_deadlock_the_pipe(
    engine: ProcessEngine, stream: list[Message], requests: list[Request]
) -> None:
    """The server sends its next request before reading the last reply. If that request and
    that reply are each larger than the pipe holds, both ends would wait on each other unless
    the engine process reads while it works."""
    remote = engine.new(requests, {})
    items = [(m, m.received_at) for m in stream]
    assert len(pickling.dumps(cores.snapshot(Core(requests)))) < 200_000  # the setup is small
    padded = [  # ~1.2 MB: each its own text (pickle writes a shared object once)
        (replace(m, properties={"pad": f"{i}" + "x" * 4_000}), now)
        for i, (m, now) in enumerate(items[:300])
    ]
    assert len(pickling.dumps(padded)) > 1_000_000
    remote.send_apply_each(items)  # answered with ~330 KB of changes
    answers: list[list[list[Change]]] = []
    finished = threading.Event()

    def rest() -> None:
        remote.send_apply_each(padded)
        answers.append(remote.receive_apply_each())
        answers.append(remote.receive_apply_each())
        finished.set()

    threading.Thread(target=rest, daemon=True).start()
    if not finished.wait(60):
        assert engine.pid is not None
        os.kill(engine.pid, signal.SIGKILL)  # frees the blocked ends, so the test can end
        pytest.fail("the pipe deadlocked")
    assert len(pickling.dumps(answers[0])) > 300_000
    assert [len(a) for a in answers] == [len(items), len(padded)]
