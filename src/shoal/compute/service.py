"""The compute service: the real-time core running inside ``shoal serve``.

Every commit of the event log is handed to a compute thread (the writer acknowledges the
request first, so ingest never waits for definitions). The thread applies each event to its
space's :class:`~shoal.engines.realtime.Core` at ``now = receivedAt`` (never going back), fires
timers when they fall due by the clock, and appends the resulting changes to the durable change
log (:mod:`.changelog`) through the store's single writer.

The cores live in this process, or (``process=True``, setting ``engine_process``) in an engine
process of their own (:mod:`.remote`), so their work does not share this interpreter's lock
with HTTP and the writer. Either way the service does the same steps in the same order; with an
engine process each step on a core is a request over a pipe. Two locks: ``lock`` guards the
spaces and their cores (the compute thread holds it while a core applies events), and a lock of
its own guards what is written (positions, writes in flight), so the writer and readers of the
change log never wait for a core.

Durability: every ``checkpoint_seconds`` the core is saved with the log positions it reflects
(events applied, ticks applied, changes written). A restart loads the checkpoint and replays the
events and clock ticks logged after it, in the same order: the core is deterministic, so it
produces the same changes again; those already in the log are skipped, the rest appended. So
after ``kill -9`` the change log is exactly what it would have been without the crash.

Definitions come from a file (:mod:`.definitions`). A new definition set is checked whole, then
a new core is built by replaying the space's stored events in time order (a bulk backfill, off
the live path), and swapped in; the difference between the old and new results is logged as
changes (so members of a new audience "enter" once, and a removed audience's members exit).

A profile deletion rebuilds the space the same way, from the events that remain, inside the
deletion's own transaction (see :meth:`ComputeService.on_deletion`): the deleted profile's
memberships exit and its computed traits go to null, and whatever read them follows.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import pickle
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from shoal import native, pickling
from shoal.clock import Clock
from shoal.compute import changelog, cores, recovery
from shoal.compute.changelog import LoggedChange, Tick
from shoal.compute.definitions import (
    Definition,
    DefinitionFileError,
    DefinitionSet,
    load_definitions,
)
from shoal.compute.remote import EngineProcessError, ProcessEngine, RemoteCore
from shoal.engines import Request
from shoal.engines.realtime import Change, Core
from shoal.errors import NotFoundError
from shoal.spec.message import Message
from shoal.store.rows import SELECT_COLUMNS, rows_to_messages
from shoal.store.store import Store

__all__ = ["ComputeService"]

log = logging.getLogger(__name__)

_POLL_SECONDS = 0.5
_DRAIN = 64
"""In this process: most queued commits applied, one at a time, before the changes are written
and readers woken (an engine process takes rounds of ``_BATCH`` messages instead)."""
_TICK_SECONDS = 0.05
_BATCH = 2_000
"""Most queued messages applied by an engine process in one round (between writes)."""
_REQUEST = 500
"""Most messages in one request to an engine process (a round sends several, overlapped)."""
_RESTARTS, _RESTART_WINDOW = 3, 600
"""How often a dead engine process is replaced, per that many seconds."""


AnyCore = Core | RemoteCore
"""A core in this process, or in the engine process (``engine_process``)."""

# Checkpoints of version 1 name the proxy maker here.
_make_proxy = pickling._make_proxy


@dataclass(slots=True)
class _Space:
    """One space's live engine and the log positions it reflects."""

    name: str
    definitions: list[Definition]
    core: AnyCore
    created: dict[str, datetime]
    """Definition key → when this server first ran it (``since`` for no-history ones)."""
    event_seq: int = 0
    tick: int = 0
    change_seq: int = 0
    written: int = 0
    """Highest change seq already in the log (replay after a crash skips up to it)."""
    now: datetime | None = None
    pending: list[LoggedChange] = field(default_factory=list)
    ticks: list[Tick] = field(default_factory=list)
    deletions: int = 0
    """Rows of the store's ``deletions`` table the state reflects (last, so older checkpoints
    still load: the field is then unset)."""

    @property
    def fingerprints(self) -> dict[str, str]:
        return {d.key: d.fingerprint for d in self.definitions}


@dataclass(slots=True, eq=False)
class _Batch:
    """Changes and ticks taken from the spaces for one write through the writer.

    A deletion that runs on the writer before the batch's turn writes it first, inside its own
    transaction (the log must stay in order); the batch's turn then finds it ``done``.
    """

    parts: list[tuple[_Space, list[LoggedChange], list[Tick]]]
    done: bool = False

    def has(self, space: _Space) -> bool:
        return any(s is space for s, _, _ in self.parts)

    def insert(self, cursor: Any) -> None:
        for space, changes, ticks in self.parts:
            changelog.insert(cursor, space.name, changes, ticks)

    def run(self, cursor: Any) -> None:
        if self.done:
            return
        cursor.execute("BEGIN")
        try:
            self.insert(cursor)
            cursor.execute("COMMIT")
        except Exception:
            cursor.execute("ROLLBACK")
            raise
        self.done = True

    def settle(self) -> None:
        for space, changes, _ in self.parts:
            if changes:
                space.written = max(space.written, changes[-1].seq)


def _since(definitions: list[Definition], created: dict[str, datetime]) -> dict[str, datetime]:
    out = {}
    for d in definitions:
        if not d.include_historical_data:
            out[d.key] = created[d.key]
        elif d.backfill_event_data_days is not None:
            out[d.key] = created[d.key] - timedelta(days=d.backfill_event_data_days)
    return out


class ComputeService:
    """Keeps the definitions of a file live over a store (see module docstring)."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        definitions: Path | None,
        checkpoint_seconds: int = 30,
        process: bool = False,
        gc_threshold: int = 0,
    ) -> None:
        """``process``: hold the cores in a process of their own (:mod:`.remote`), whose
        collector gets ``gc_threshold`` (:mod:`shoal.gc_policy`)."""
        self.store = store
        self.clock = clock
        self.path = definitions
        self.checkpoint_seconds = checkpoint_seconds
        self.directory = store.settings.data / "realtime"
        self.lock = threading.RLock()
        # Written positions and writes in flight have a lock of their own, so the writer
        # finishing a change-log write and readers waiting for changes never wait for the
        # compute thread, which holds self.lock while its engine process applies events.
        self._log_lock = threading.Lock()
        self.changed = threading.Condition(self._log_lock)
        self.spaces: dict[str, _Space] = {}
        self.error: DefinitionFileError | None = None
        # Commits waiting for the compute thread. Appended on the writer thread only, taken off
        # only under the lock, so a deletion (on the writer, holding the lock) sees every commit
        # before it either applied or still here.
        self._items: deque[tuple[str, list[Message], int]] = deque()
        self._wake = threading.Event()
        self._stopping = False
        self._inflight: list[_Batch] = []
        self._writing: Future[Any] | None = None
        """The change-log write queued last (see _flush)."""
        self._flushing = threading.RLock()
        """Held while a flush takes, queues or waits for a write; never while holding
        self.lock (a deletion on the writer thread takes that)."""
        self._due: set[str] = set()
        """Spaces to checkpoint at the next :meth:`pump` (after a deletion)."""
        self._mtime: float | None = None
        self._reloading = threading.Lock()
        self._last_checkpoint = time.monotonic()
        self._thread: threading.Thread | None = None
        self._restarts: deque[float] = deque()
        self.stalled = False
        """The engine process died too often to be restarted again (see _restart_engine)."""
        defined = DefinitionSet(())
        if definitions is not None:
            defined = load_definitions(definitions)  # a bad file stops the server from starting
            self._mtime = _mtime(definitions)
        started = time.perf_counter()
        self.process, self.gc_threshold = process, gc_threshold
        self.engine: ProcessEngine | None = None
        """Started with the first core (no definitions, no process)."""
        try:
            store.writer.add_listener(self._on_commit)
            for space in sorted(set(defined.spaces()) | set(self._checkpointed())):
                # Without a file, the definitions that ran before keep running.
                self._start_space(space, defined.of(space) if definitions is not None else None)
        except BaseException:
            if self.engine is not None:
                self.engine.close()
            raise
        if self.spaces:
            log.info(
                "real-time engine: %d definitions in %d spaces ready in %.1f s",
                sum(len(s.definitions) for s in self.spaces.values()),
                len(self.spaces),
                time.perf_counter() - started,
            )

    # --- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="shoal-compute", daemon=True)
        self._thread.start()

    def close(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            self._stopping = True
            self._wake.set()
            self._thread.join()
        try:
            self._flush()
            with self.lock:
                for space in self.spaces.values():
                    self._checkpoint(space)
        except EngineProcessError as exc:
            # The next start replays the log from the last checkpoint that was saved.
            log.error("real-time state not checkpointed at shutdown: %s", exc)
        finally:
            if self.engine is not None:
                self.engine.close()

    def _new_core(self, requests: list[Request], since: dict[str, datetime]) -> AnyCore:
        if self.process:
            return self._engine().new(requests, since)
        return Core(requests, since=since)

    def _engine(self) -> ProcessEngine:
        if self.engine is None:
            self.engine = ProcessEngine(self.gc_threshold)
        return self.engine

    def _checkpointed(self) -> list[str]:
        if not self.directory.exists():
            return []
        return sorted(p.stem for p in self.directory.glob("*.ckpt"))

    def _start_space(self, name: str, definitions: list[Definition] | None) -> None:
        cur = self.store.con.cursor()
        with self.lock:
            space = self._restore(name)
            deleted = changelog.last_deletion(cur, name)
            count = _deletions(cur, name)
            if deleted is not None and (space is None or space.tick < deleted.tick):
                # The events before the deletion are not all stored any more, so no replay can
                # reach past it: start from the state right after it, rebuilt from what is.
                space = self._after_deletion(name, deleted, cur)
            elif space is None:
                space = _Space(name, [], self._new_core([], {}), {})
                space.written = changelog.last_positions(cur, name)[0]
                # With a history, the replay below goes through the whole log (events, clock
                # ticks and definition swaps in their order) to rebuild the same state.
                if not changelog.ticks_after(cur, name, 0):
                    # A first start: build from the stored events in bulk, not one by one.
                    row = cur.execute(
                        "SELECT coalesce(max(seq), 0) FROM events WHERE space = ?", [name]
                    ).fetchone()
                    space.event_seq = int(row[0])
                    space.deletions = count
            self.spaces[name] = space
            if count > space.deletions and (
                changelog.last_positions(cur, name) != (space.change_seq, space.tick)
            ):
                # Profiles deleted while no server ran took events the log's changes after
                # this state came from: no replay can reproduce them, so rebuild instead.
                self._rebuild_to_log(space, count, cur)
            self._catch_up(space)
            if count > space.deletions:
                # Profiles deleted while no server ran (`shoal delete-profile` on the data
                # directory): take them out now, as a deletion at this point of the log.
                core, logged, tick = self._rebuild_without_deleted(space, count, cur)
                self._put(space, core, tick)
                space.pending.extend(logged)
                space.ticks.append(tick)
            if definitions is not None and space.fingerprints != {
                d.key: d.fingerprint for d in definitions
            }:
                self._swap(space, definitions)
        self._flush()
        with self.lock:
            self._checkpoint(space)

    def _restore(self, name: str) -> _Space | None:
        path = self.directory / f"{name}.ckpt"
        if not path.exists():
            return None
        core: AnyCore
        try:
            if self.process:
                engine = self._engine()
                fields, core = engine.read_checkpoint(path, engine.build)
            else:
                fields, core = cores.read_checkpoint(path, native.running())
        except EngineProcessError as exc:
            if exc.gone:
                raise  # not the checkpoint's fault
            log.warning("checkpoint %s unusable (%s); rebuilding from the log", path, exc)
            return None
        except Exception as exc:  # a damaged checkpoint costs a rebuild, never data
            log.warning("checkpoint %s unusable (%s); rebuilding from the log", path, exc)
            return None
        # Saved before deletions were followed: the profiles deleted until then may still be
        # in its results, so count none as applied and let the start take them out.
        fields.setdefault("deletions", 0)
        space = _Space(**fields, core=core)
        cur = self.store.con.cursor()
        space.written = changelog.last_positions(cur, name)[0]
        log.info(
            "space %s: checkpoint at event %d, tick %d, change %d (log has %d changes)",
            name,
            space.event_seq,
            space.tick,
            space.change_seq,
            space.written,
        )
        return space

    def _catch_up(self, space: _Space) -> None:
        """Replay the events and ticks logged after the space's positions, in their order."""
        cur = self.store.con.cursor()
        ticks = changelog.ticks_after(cur, space.name, space.tick)
        cur.execute(
            f"SELECT {SELECT_COLUMNS} FROM events WHERE space = ? AND seq > ? ORDER BY seq",
            [space.name, space.event_seq],
        )
        count = 0
        with self.lock:
            while rows := cur.fetchmany(10_000):
                run: list[tuple[Message, int]] = []
                for message in rows_to_messages(rows):
                    if ticks and ticks[0].event_seq < message.seq:
                        self._apply(space, run)
                        run = []
                        while ticks and ticks[0].event_seq < message.seq:
                            self._replay_tick(space, ticks.pop(0))
                    run.append((message, message.seq))
                    count += 1
                self._apply(space, run)
            for tick in ticks:
                self._replay_tick(space, tick)
        if count:
            log.info("space %s: replayed %d events after the checkpoint", space.name, count)

    # --- the live path -------------------------------------------------------------------------

    def _on_commit(self, space: str, messages: list[Message], first_seq: int) -> None:
        if space in self.spaces:
            self._items.append((space, messages, first_seq))
            self._wake.set()

    def _run(self) -> None:
        while True:
            if self.stalled:
                # The engine process died too often (see _restart_engine): the events stay
                # stored, and the next start replays them; nothing is applied meanwhile.
                self._items.clear()
                self._wake.wait(_POLL_SECONDS)
                self._wake.clear()
                if self._stopping:
                    return
                continue
            if not self._items:
                self._wake.wait(self._wait_seconds())
            self._wake.clear()
            if self._stopping and not self._items:
                return
            try:
                # Apply a bounded amount of what is queued, then write once. The lock is taken
                # per commit, so readers (members, changes) never wait for a backlog.
                if self.process:
                    with self.lock:
                        self._apply_round()
                else:
                    for _ in range(_DRAIN):
                        with self.lock:
                            if not self._items:
                                break
                            self._apply_queued()
                self.pump(wait=False)
            except Exception as exc:
                # A bug, not bad input (input was checked before it was stored): say so loudly;
                # a restart replays the log from the last checkpoint.
                log.exception("real-time engine step failed; live results may be stale")
                if isinstance(exc, EngineProcessError):
                    if exc.trace:
                        log.error("in the engine process: %s", exc.trace)
                    if exc.gone:
                        try:
                            self._restart_engine()
                        except Exception:
                            # Spaces still on the dead engine fail at their next step, which
                            # tries again (and counts towards the limit).
                            log.exception("restarting the real-time engine process failed")

    def _restart_engine(self) -> None:
        """After the engine process died (killed, out of memory): a new one, each space
        restored from its checkpoint and the log, as at a server start. The changes taken since
        the last write are dropped: the replay produces them again, and skips those written.

        At most ``_RESTARTS`` times in ``_RESTART_WINDOW`` seconds; past that, the results stay
        as they were until the server restarts (a failure that comes back at once is not cured
        by another try)."""
        started = time.monotonic()
        while self._restarts and started - self._restarts[0] > _RESTART_WINDOW:
            self._restarts.popleft()
        if len(self._restarts) >= _RESTARTS:
            if not self.stalled:
                log.critical(
                    "real-time engine process died %d times in %d s; not restarting it: live"
                    " results are stale until `shoal serve` restarts",
                    len(self._restarts),
                    _RESTART_WINDOW,
                )
            self.stalled = True
            return
        self._restarts.append(started)
        # Written changes must be in the log before it is read back. Waited for without
        # self.lock: a deletion queued on the writer ahead of them takes it.
        with contextlib.suppress(Exception):  # a failed write's changes are replayed anyway
            self._await_flush()
        with self._log_lock:
            while self._inflight:
                self.changed.wait(timeout=1.0)
        with self.lock:
            old, self.engine = self.engine, None
            if old is not None:
                old.close()
            # Each space stays listed (readers keep finding it) until its restored one replaces
            # it; its dead core answers nothing meanwhile.
            spaces = {name: space.definitions for name, space in self.spaces.items()}
        for name, definitions in sorted(spaces.items()):
            self._start_space(name, definitions)
        log.warning(
            "real-time engine process restarted; %d spaces restored in %.1f s",
            len(spaces),
            time.monotonic() - started,
        )

    def _apply_queued(self) -> None:
        """Apply the commit at the head of the queue (in this process)."""
        name, pairs = self._take(1)
        space = self.spaces.get(name)
        if space is not None:
            self._apply(space, pairs)

    def _take(self, limit: int) -> tuple[str, list[tuple[Message, int]]]:
        """The commit at the head of the queue and those of the same space behind it, up to
        ``limit`` messages (at least one commit), with their log positions."""
        name = self._items[0][0]
        pairs: list[tuple[Message, int]] = []
        while self._items and self._items[0][0] == name and (not pairs or len(pairs) < limit):
            _, messages, first = self._items.popleft()
            pairs.extend(zip(messages, range(first, first + len(messages)), strict=True))
        return name, pairs

    def _apply_round(self) -> None:
        """With an engine process: apply up to ``_BATCH`` queued messages in requests of up to
        ``_REQUEST``, each sent before the reply to the one before is read, so the engine
        process computes the next while this one records the last (each request costs this
        interpreter a wait for its lock, and the engine process would idle meanwhile). Called
        holding the lock; returns with every request answered."""
        sent: deque[tuple[_Space, list[tuple[Message, datetime]], list[int]]] = deque()
        cursors: dict[str, tuple[int, datetime | None]] = {}
        taken = 0
        failure: BaseException | None = None
        try:
            while self._items and taken < _BATCH:
                name, pairs = self._take(_REQUEST)
                taken += len(pairs)
                space = self.spaces.get(name)
                if space is None:
                    continue
                cursor = cursors.get(name, (space.event_seq, space.now))
                items, seqs, cursors[name] = _prepare(pairs, cursor)
                if not items:
                    continue
                assert isinstance(space.core, RemoteCore)
                space.core.send_apply_each(items)
                sent.append((space, items, seqs))
                if len(sent) > 1:
                    self._receive(*sent.popleft())
        except BaseException as exc:
            failure = exc
        # Every request sent is answered, also after a failure: the pipe must stay in step,
        # and what the engine process applied must be recorded.
        while sent:
            try:
                self._receive(*sent.popleft())
            except BaseException as exc:
                failure = failure or exc
        if failure is not None:
            raise failure

    def _receive(
        self, space: _Space, items: list[tuple[Message, datetime]], seqs: list[int]
    ) -> None:
        assert isinstance(space.core, RemoteCore)
        done: list[list[Change]] = []
        try:
            done = space.core.receive_apply_each()
        except EngineProcessError as exc:
            done = exc.partial  # what was applied before the failure is recorded
            raise
        finally:
            self._finish(space, items, seqs, done)

    def pump(self, *, wait: bool = True) -> None:
        """Fire due timers, write changes, checkpoint and reload when due (the thread's step;
        tests call it directly instead of waiting for the thread). ``wait=False``: the
        change-log write may still run on return (see :meth:`_flush`)."""
        with self.lock:
            now = self.clock.now()
            for space in self.spaces.values():
                due = space.core.next_timer()
                if due is not None and due <= now:
                    until = max(now, space.now) if space.now is not None else now
                    space.tick += 1
                    space.ticks.append(Tick(space.tick, space.event_seq, until))
                    self._record(space, space.core.advance(until))
                    space.now = until
        self._flush(wait=wait)
        with self.lock:
            if time.monotonic() - self._last_checkpoint >= self.checkpoint_seconds:
                self._due.update(self.spaces)
                self._last_checkpoint = time.monotonic()
        if self._due:
            self._await_flush()  # a checkpoint waits for all it logged to be written
        with self.lock:
            for name in sorted(self._due):
                due_space = self.spaces.get(name)
                if due_space is None or self._checkpoint(due_space):
                    self._due.discard(name)
        self._maybe_reload()

    def _wait_seconds(self) -> float:
        with self.lock:
            now = self.clock.now()
            wait = _POLL_SECONDS
            for space in self.spaces.values():
                due = space.core.next_timer()
                if due is not None:
                    # Timers are fired in rounds at most _TICK_SECONDS apart: each round is one
                    # logged tick and one write, however many timers fall due in it (their
                    # changes still carry their exact instants).
                    wait = min(wait, max(_TICK_SECONDS, (due - now).total_seconds()))
            return wait

    def _apply(self, space: _Space, messages: Iterable[tuple[Message, int]]) -> None:
        """Apply each message at ``now = receivedAt`` (never going back), in one request to an
        engine process, and record the changes of each with its position."""
        items, seqs, _ = _prepare(messages, (space.event_seq, space.now))
        if not items:
            return
        done: list[list[Change]] = []
        try:
            if isinstance(space.core, RemoteCore):
                try:
                    done = space.core.apply_each(items)
                except EngineProcessError as exc:
                    done = exc.partial  # what was applied before the failure is recorded
                    raise
            else:
                cores.apply_each(space.core, items, done)
        finally:
            self._finish(space, items, seqs, done)

    def _finish(
        self,
        space: _Space,
        items: list[tuple[Message, datetime]],
        seqs: list[int],
        done: list[list[Change]],
    ) -> None:
        """Record the changes of the messages applied (``done`` may be short after a failure)."""
        for seq, (_, at), changes in zip(seqs, items, done, strict=False):
            space.event_seq, space.now = seq, at
            self._record(space, changes)

    def _replay_tick(self, space: _Space, tick: Tick) -> None:
        if tick.deletion is not None:
            # Not reached from a start (which begins at the last deletion), but the same holds
            # here: the state after a deletion comes from the stored events, not a replay.
            after = self._after_deletion(space.name, tick, self.store.con.cursor())
            _release(space.core)
            for name in ("definitions", "core", "created", "event_seq", "tick", "now"):
                setattr(space, name, getattr(after, name))
            space.change_seq, space.deletions = after.change_seq, after.deletions
            return
        space.tick = tick.tick
        if tick.definitions is not None:
            recorded = [Definition.from_dict(d) for d in tick.definitions]
            created = {d["key"]: datetime.fromisoformat(d["created_at"]) for d in tick.definitions}
            self._swap(space, recorded, at=tick.until, created=created)
            return
        until = tick.until if space.now is None else max(space.now, tick.until)
        self._record(space, space.core.advance(until))
        space.now = until

    def _record(self, space: _Space, changes: list[Change]) -> None:
        for change in changes:
            space.change_seq += 1
            if space.change_seq <= space.written:
                continue  # written before a crash: the replay reproduced it
            space.pending.append(LoggedChange(space.change_seq, change, space.event_seq))

    def _flush(self, *, wait: bool = True) -> None:
        """Write what the spaces logged since the last flush, through the writer.

        ``wait=False`` (the compute thread's step) returns once the write is queued, so the
        next events are applied while it runs; the write before it is waited for first, so at
        most one is in flight and a failed one is retried before anything after it.

        Never called holding the lock: the write waits for the writer thread, and a deletion
        takes the lock on that thread (:meth:`on_deletion`).
        """
        with self._flushing:  # one at a time: tests call pump while the compute thread runs
            self._await_flush()
            with self.lock, self._log_lock:
                parts = [
                    (s, s.pending, s.ticks) for s in self.spaces.values() if s.pending or s.ticks
                ]
                if not parts:
                    self.changed.notify_all()
                    return
                for space, _, _ in parts:
                    space.pending, space.ticks = [], []
                batch = _Batch(parts)
                self._inflight.append(batch)
                # Queued under the lock, so batches reach the writer in the order they were taken.
                self._writing = self.store.writer.call(lambda cursor: self._write(batch, cursor))
            if wait:
                self._await_flush()

    def _write(self, batch: _Batch, cursor: Any) -> None:
        """On the writer thread: the batch's transaction, then its changes count as written
        (before its future resolves, so whoever waits for it sees them settled)."""
        try:
            batch.run(cursor)
        except BaseException:
            with self._log_lock:
                self._inflight.remove(batch)
                if not batch.done:  # the same changes go first in the next write
                    for space, changes, ticks in batch.parts:
                        space.pending[:0], space.ticks[:0] = changes, ticks
            raise
        with self._log_lock:
            self._inflight.remove(batch)
            batch.settle()
            self.changed.notify_all()

    def _await_flush(self) -> None:
        """Wait for the write queued last; raise its error."""
        with self._flushing:
            future, self._writing = self._writing, None
            if future is not None:
                future.result()

    def _settled(self, space: _Space) -> bool:
        """Whether everything the space has logged is in the store."""
        with self._log_lock:
            return self._settled_locked(space)

    def _settled_locked(self, space: _Space) -> bool:
        if space.pending or space.ticks:
            return False
        return not any(b.has(space) and not b.done for b in self._inflight)

    def _checkpoint(self, space: _Space) -> bool:
        """Save the core with its positions; only when all it logged is written (a crash must
        not leave a checkpoint ahead of the log). Returns whether it saved."""
        if not self._settled(space):
            return False
        path = self.directory / f"{space.name}.ckpt"
        # A header first: a checkpoint of the other build (shoal.native) is refused before any
        # of its objects is rebuilt. Then the positions, then the core, which the process
        # holding it writes (cores.write_checkpoint).
        # The build of the process that pickles the core (the engine process's, if any).
        build = space.core.engine.build if isinstance(space.core, RemoteCore) else native.running()
        header = {"version": cores.CHECKPOINT_VERSION, "build": build}
        fields = {
            f.name: getattr(space, f.name)
            for f in dataclasses.fields(space)
            if f.name != "core" and hasattr(space, f.name)  # tests unset some, as old ones had
        }
        head = pickle.dumps(header, protocol=pickle.HIGHEST_PROTOCOL) + pickling.dumps(fields)
        if isinstance(space.core, RemoteCore):
            space.core.write_checkpoint(path, head)
        else:
            cores.write_checkpoint(path, head, space.core)
        return True

    # --- definitions ---------------------------------------------------------------------------

    def _maybe_reload(self) -> None:
        if self.path is None:
            return
        # Not under self.lock (a reload flushes, see _flush), but one at a time: pump may run
        # on the compute thread and a caller's at once.
        with self._reloading:
            self._reload()

    def _reload(self) -> None:
        assert self.path is not None
        mtime = _mtime(self.path)
        if mtime == self._mtime:
            return
        self._mtime = mtime
        try:
            defined = load_definitions(self.path)
        except DefinitionFileError as err:
            self.error = err
            log.error("definitions not reloaded (%s): %s", err.location, err.message)
            return
        self.error = None
        for name in sorted(set(defined.spaces()) | set(self.spaces)):
            wanted = defined.of(name)
            space = self.spaces.get(name)
            if space is None:
                self._start_space(name, wanted)
            elif space.fingerprints != {d.key: d.fingerprint for d in wanted}:
                with self.lock:
                    self._swap(space, wanted)
                self._flush()
                with self.lock:
                    self._checkpoint(space)
        log.info("definitions reloaded from %s", self.path)

    def _swap(
        self,
        space: _Space,
        definitions: list[Definition],
        *,
        at: datetime | None = None,
        created: dict[str, datetime] | None = None,
    ) -> None:
        """Build a core for ``definitions`` from the stored events, then put it in place and log
        the difference between the old results and the new.

        A live swap (``at`` None) happens now and is recorded in the tick log with the
        definitions, so a replay of the log (``at``/``created`` from the record) redoes it
        exactly.
        """
        started = time.perf_counter()
        if at is None:
            now = self.clock.now()
            if space.now is not None and space.now > now:
                now = space.now
        else:
            now = at
        if created is None:
            created = {d.key: space.created.get(d.key, now) for d in definitions}
            unchanged = {d.key for d in definitions} & {d.key for d in space.definitions}
            old_prints = space.fingerprints
            for d in definitions:
                if d.key in unchanged and old_prints[d.key] != d.fingerprint:
                    created[d.key] = now  # a changed definition starts over
            space.tick += 1
            recorded = [
                {**d.to_dict(), "created_at": created[d.key].isoformat()} for d in definitions
            ]
            space.ticks.append(Tick(space.tick, space.event_seq, now, recorded))
        core = self._build(space.name, definitions, created, space.event_seq, now)
        try:
            changes = _diff(space.core, core, now)
        except BaseException:
            _release_quietly(core)
            raise
        _release(space.core)
        space.core = core
        space.definitions = definitions
        space.created = created
        space.now = now
        self._record(space, changes)
        log.info(
            "space %s: %d definitions built from the events up to %d in %.2f s (%d changes)",
            space.name,
            len(definitions),
            space.event_seq,
            time.perf_counter() - started,
            len(changes),
        )

    def _build(
        self,
        space: str,
        definitions: list[Definition],
        created: dict[str, datetime],
        until_seq: int,
        now: datetime,
        cursor: Any = None,
    ) -> AnyCore:
        """A core for ``definitions`` over the stored events up to ``until_seq``, at ``now``."""
        core = self._new_core([d.request() for d in definitions], _since(definitions, created))
        future: list[Message] = []
        try:
            core.backfill(_split_future(self._stored(space, until_seq, cursor), now, future), now)
            if future:
                # Events stamped after now wait in the core until their time, as they would
                # have had they arrived live (a backfill only covers what is visible at now).
                core.apply(future, now)
        except BaseException:
            _release_quietly(core)  # an engine process would keep it otherwise
            raise
        return core

    # --- deletions -----------------------------------------------------------------------------

    @contextlib.contextmanager
    def on_deletion(self, name: str, cursor: Any) -> Iterator[None]:
        """Take a profile deletion into the space's live state, atomically with the deletion.

        :class:`~shoal.profiles.service.ProfileService` enters this on the writer thread inside
        the deletion's transaction, after the profile's events are deleted (the ``cursor`` sees
        the log without them), and leaves it once the transaction committed.

        Order: listeners run on the writer thread, so every commit before the deletion has been
        handed over (applied, or still queued here, since the queue is only taken from under the
        lock held here), and none after it yet. Those queued are applied first; the deletion
        therefore lands after the space's last event ``event_seq`` and before the next one, and
        after every clock tick already taken, like a definition swap.

        What happens: a new core is built from the events that remain (the way a swap builds
        one), so the space ends exactly as if the deleted events had never been stored; the
        differences from the old results are logged as changes with cause null (the profile's
        memberships exit, its traits go to null, accounts and audiences reading them follow).

        What is durable, in the deletion's own transaction: every change and tick logged before
        it that is not written yet (including batches queued to the writer behind this
        deletion, which then find themselves done), the deletion's changes, and a deletion tick
        recording the definitions in force, the change position after it and the space's count
        of ``deletions`` rows. So there is no moment where the events are gone but the log does
        not know. A checkpoint follows at the next :meth:`pump`.

        Recovery: no replay may cross a deletion (the events it would need are gone), and none
        has to. A start whose checkpoint is older than the last deletion tick — a crash after
        the commit but before the checkpoint, or no checkpoint at all — rebuilds the state
        right after that tick from the stored events up to its ``event_seq`` (the same events
        the live rebuild saw: a later deletion would have its own, later tick) with the
        recorded definitions and positions, then replays events and ticks after it as usual.
        That core equals the live one, so the replay reproduces the logged changes and skips
        them by sequence number. A crash before the commit leaves neither the deletion nor its
        changes: nothing to redo. Deletions made while no server ran show as more
        ``deletions`` rows than the state reflects and are applied at start; if the state is
        also behind the log, the events it would replay may be among those deleted, so the
        start rebuilds to the log's end instead (:meth:`_rebuild_to_log`).
        """
        with self.lock:
            space = self.spaces.get(name)
            if space is None:
                yield
                return
            while self._items:
                self._apply_queued()
            with self._log_lock:
                earlier = [b for b in self._inflight if not b.done]
            for batch in earlier:
                batch.insert(cursor)
            core, logged, tick = self._rebuild_without_deleted(
                space, _deletions(cursor, name), cursor
            )
            try:
                changelog.insert(cursor, name, [*space.pending, *logged], [*space.ticks, tick])
                yield  # the caller commits
            except BaseException:
                _release_quietly(core)  # the deletion did not happen: the old core stays
                raise
            self._put(space, core, tick)
            with self._log_lock:
                for batch in earlier:
                    batch.done = True
                    batch.settle()
                if logged:
                    space.written = logged[-1].seq
                elif space.pending:
                    space.written = space.pending[-1].seq
                space.pending, space.ticks = [], []
                self.changed.notify_all()
            self._due.add(name)
            self._wake.set()
            log.info("space %s: rebuilt without a deleted profile (%d changes)", name, len(logged))

    def _rebuild_without_deleted(
        self, space: _Space, deletions: int, cursor: Any
    ) -> tuple[AnyCore, list[LoggedChange], Tick]:
        """The space's core rebuilt from the stored events, the changes from the current one
        (numbered on from the space's), and the deletion tick that records it (nothing of
        ``space`` is changed yet)."""
        now = self.clock.now()
        if space.now is not None and space.now > now:
            now = space.now
        core = self._build(
            space.name, space.definitions, space.created, space.event_seq, now, cursor
        )
        changes = _diff(space.core, core, now)
        logged = [
            LoggedChange(space.change_seq + i, c, space.event_seq) for i, c in enumerate(changes, 1)
        ]
        record = {
            "definitions": _recorded(space.definitions, space.created),
            "change_seq": space.change_seq + len(changes),
            "deletions": deletions,
        }
        return core, logged, Tick(space.tick + 1, space.event_seq, now, deletion=record)

    def _rebuild_to_log(self, space: _Space, deletions: int, cursor: Any) -> None:
        """Bring ``space`` to the end of its log without replaying it (see :mod:`.recovery`):
        a core built from the stored events the log has seen, its difference from what the log
        last stated logged as changes, and a deletion tick recording it (so a crash before the
        next checkpoint restarts from there, as from any deletion)."""
        end = recovery.log_end(
            cursor,
            space.name,
            event_seq=space.event_seq,
            change_seq=space.change_seq,
            tick=space.tick,
        )
        if end.recorded is not None:
            space.definitions = [Definition.from_dict(d) for d in end.recorded]
            space.created = {
                d["key"]: datetime.fromisoformat(d["created_at"]) for d in end.recorded
            }
        now = max(t for t in (self.clock.now(), space.now, end.until) if t is not None)
        core = self._build(space.name, space.definitions, space.created, end.event_seq, now, cursor)
        snap = core.snapshot() if isinstance(core, RemoteCore) else cores.snapshot(core)
        changes = recovery.diff_from_log(cursor, space.name, snap, now)
        written, last_tick = changelog.last_positions(cursor, space.name)
        record = {
            "definitions": _recorded(space.definitions, space.created),
            "change_seq": written + len(changes),
            "deletions": deletions,
        }
        tick = Tick(last_tick + 1, end.event_seq, now, deletion=record)
        space.event_seq, space.written = end.event_seq, written
        space.pending.extend(
            LoggedChange(written + i, c, end.event_seq) for i, c in enumerate(changes, 1)
        )
        space.ticks.append(tick)
        self._put(space, core, tick)
        log.info(
            "space %s: rebuilt after deletions made while no server ran (%d changes)",
            space.name,
            len(changes),
        )

    def _put(self, space: _Space, core: AnyCore, tick: Tick) -> None:
        """Put a core rebuilt after a deletion in place (its changes are recorded by the caller)."""
        assert tick.deletion is not None
        _release(space.core)
        space.core = core
        space.now = tick.until
        space.tick = tick.tick
        space.change_seq = tick.deletion["change_seq"]
        space.deletions = tick.deletion["deletions"]

    def _after_deletion(self, name: str, tick: Tick, cursor: Any) -> _Space:
        """The space's state right after the deletion ``tick``, from the stored events."""
        assert tick.deletion is not None
        recorded = tick.deletion["definitions"]
        definitions = [Definition.from_dict(d) for d in recorded]
        created = {d["key"]: datetime.fromisoformat(d["created_at"]) for d in recorded}
        core = self._build(name, definitions, created, tick.event_seq, tick.until, cursor)
        space = _Space(
            name,
            definitions,
            core,
            created,
            event_seq=tick.event_seq,
            tick=tick.tick,
            change_seq=tick.deletion["change_seq"],
            now=tick.until,
            deletions=tick.deletion["deletions"],
        )
        space.written = changelog.last_positions(cursor, name)[0]
        log.info("space %s: rebuilt as of the deletion at tick %d", name, tick.tick)
        return space

    def _stored(self, space: str, until_seq: int, cursor: Any = None) -> Iterator[Message]:
        """The space's events up to ``until_seq`` in SEMANTICS order, streamed (DuckDB sorts)."""
        cur = cursor if cursor is not None else self.store.con.cursor()
        cur.execute(
            f"SELECT {SELECT_COLUMNS} FROM events WHERE space = ? AND seq <= ?"
            " ORDER BY timestamp, received_at, message_id",
            [space, until_seq],
        )
        while rows := cur.fetchmany(20_000):
            yield from rows_to_messages(rows)

    # --- reading -------------------------------------------------------------------------------

    def _space(self, name: str) -> _Space:
        space = self.spaces.get(name)
        if space is None:
            raise NotFoundError(
                f"space {name!r} has no live definitions", code="unknown_space", location="space"
            )
        return space

    def definitions(self, space: str) -> list[dict[str, Any]]:
        with self.lock:
            s = self._space(space)
            return [
                {**d.to_dict(), "created_at": s.created[d.key].isoformat()} for d in s.definitions
            ]

    def members(self, space: str, key: str) -> dict[str, Any]:
        """Current members (audience) or values (computed trait) by output name."""
        with self.lock:
            s = self._space(space)
            if isinstance(s.core, RemoteCore):
                found = s.core.members(key)
            else:
                found = cores.members(s.core, key)
        if found is None:
            raise NotFoundError(
                f"no definition {key!r} in space {space!r}",
                code="unknown_definition",
                location="key",
            )
        return found

    def changes(
        self,
        space: str,
        *,
        key: str | None = None,
        after: int = 0,
        limit: int = 1000,
        wait: float = 0.0,
    ) -> list[dict[str, Any]]:
        """Changes after ``after``; with ``wait`` block up to that many seconds for new ones."""
        self._wait_for_changes(space, after, wait)
        return changelog.read_changes(
            self.store.con.cursor(), space, key=key, after=after, limit=limit
        )

    def changes_json(
        self,
        space: str,
        *,
        key: str | None = None,
        after: int = 0,
        limit: int = 1000,
        wait: float = 0.0,
    ) -> bytes:
        """:meth:`changes` as a JSON array (built by the database; see
        :func:`~.changelog.read_changes_json`)."""
        self._wait_for_changes(space, after, wait)
        return changelog.read_changes_json(
            self.store.con.cursor(), space, key=key, after=after, limit=limit
        )

    def _wait_for_changes(self, space: str, after: int, wait: float) -> None:
        deadline = time.monotonic() + wait
        with self._log_lock:
            # Looked up again after each wait: a restarted engine puts new spaces in place.
            while wait > 0 and self._space(space).written <= after and time.monotonic() < deadline:
                self.changed.wait(timeout=max(0.0, deadline - time.monotonic()))

    def stats(self) -> dict[str, Any]:
        with self.lock:
            return {
                name: {
                    "definitions": len(s.definitions),
                    "event_seq": s.event_seq,
                    "changes": s.written,
                    **s.core.state_size(),
                }
                for name, s in self.spaces.items()
            }

    def engine_info(self) -> dict[str, Any]:
        """Where the cores run: ``process`` (with its pid, how often it was replaced, and
        whether it died too often to be replaced again) or ``thread``."""
        if not self.process:
            return {"runs_in": "thread"}
        engine = self.engine
        return {
            "runs_in": "process",
            "pid": engine.pid if engine is not None and not engine.closed else None,
            "restarts": len(self._restarts),
            "stalled": self.stalled,
        }

    def wait_until(self, space: str, event_seq: int, timeout: float = 30.0) -> bool:
        """Block until the space has applied and logged events up to ``event_seq``."""
        deadline = time.monotonic() + timeout
        with self._log_lock:

            def done() -> bool:
                # Looked up each time: a restarted engine puts new spaces in place.
                s = self._space(space)
                return s.event_seq >= event_seq and self._settled_locked(s)

            while not done() and time.monotonic() < deadline:
                self.changed.wait(timeout=max(0.0, deadline - time.monotonic()))
            return done()


def _diff(old: AnyCore, new: AnyCore, now: datetime) -> list[Change]:
    """The changes from ``old``'s results to ``new``'s, all at ``now`` with no cause."""
    if isinstance(old, RemoteCore) and isinstance(new, RemoteCore):
        return old.diff(new, now)
    assert isinstance(old, Core) and isinstance(new, Core)
    return cores.diff(old, new, now)


def _prepare(
    messages: Iterable[tuple[Message, int]], cursor: tuple[int, datetime | None]
) -> tuple[list[tuple[Message, datetime]], list[int], tuple[int, datetime | None]]:
    """The messages past ``cursor`` (last position applied, its now), each with its now:
    ``receivedAt``, never going back. Returns them, their positions and the cursor after."""
    items: list[tuple[Message, datetime]] = []
    seqs: list[int] = []
    last, now = cursor
    for message, seq in messages:
        if seq <= last:
            continue  # already in the checkpoint or replayed
        at = message.received_at
        now = at if now is None or at > now else now
        items.append((message, now))
        seqs.append(seq)
        last = seq
    return items, seqs, (last, now)


def _release(core: AnyCore) -> None:
    if isinstance(core, RemoteCore):
        core.release()


def _release_quietly(core: AnyCore) -> None:
    """:func:`_release` on a failure path (its own failure must not hide the first)."""
    with contextlib.suppress(Exception):
        _release(core)


def _recorded(definitions: list[Definition], created: dict[str, datetime]) -> list[dict[str, Any]]:
    return [{**d.to_dict(), "created_at": created[d.key].isoformat()} for d in definitions]


def _split_future(
    messages: Iterable[Message], now: datetime, future: list[Message]
) -> Iterator[Message]:
    for message in messages:
        if message.timestamp > now:
            future.append(message)
        else:
            yield message


def _deletions(cursor: Any, space: str) -> int:
    row = cursor.execute("SELECT count(*) FROM deletions WHERE space = ?", [space]).fetchone()
    return int(row[0])


def _mtime(path: Path) -> float | None:
    with contextlib.suppress(OSError):
        return path.stat().st_mtime_ns / 1e9
    return None
