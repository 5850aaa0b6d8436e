"""The single writer: group commit and messageId deduplication.

Every request hands its validated messages to one writer thread and waits. The thread takes
everything queued (up to ``max_commit_rows``), drops messageIds already stored in the last
``dedupe_hours``, inserts the rest in one transaction and commits; only then are the waiting
requests answered. So an acknowledged event is on disk, and a client retrying after a lost
response does not store it twice.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from shoal.clock import Clock
from shoal.spec.message import Message
from shoal.store.rows import messages_to_arrow

log = logging.getLogger(__name__)

_PRUNE_EVERY = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What happened to the messages of one submission."""

    accepted: int
    duplicates: int


@dataclass(slots=True)
class _Job:
    space: str
    messages: list[Message]
    future: Future[WriteResult]


@dataclass(slots=True)
class _Call:
    """Work that must not interleave with commits (deletions, rebuilds): runs on the writer."""

    func: Callable[[Any], Any]
    future: Future[Any]


CommitListener = Callable[[str, list[Message], int], None]
"""Called on the writer thread after each commit with (space, messages stored, first seq)."""

MessageFilter = Callable[[str, Message], bool]
"""Return False to drop a message before it is stored (suppressed identifiers)."""


class EventWriter:
    """Owns all writes to ``events``; one per process and data directory."""

    def __init__(
        self, con: Any, *, clock: Clock, dedupe_hours: int = 48, max_commit_rows: int = 50_000
    ) -> None:
        self._cursor = con.cursor()
        self._clock = clock
        self._window = timedelta(hours=dedupe_hours)
        self._max_rows = max_commit_rows
        self._queue: queue.SimpleQueue[_Job | _Call | None] = queue.SimpleQueue()
        self._listeners: list[CommitListener] = []
        self.message_filter: MessageFilter | None = None
        self._seen: dict[tuple[str, str], float] = {}
        self._last_prune = clock.now()
        self._thread = threading.Thread(target=self._run, name="shoal-writer", daemon=True)
        self.commits = 0
        self.rows_committed = 0
        self._load_state()
        _warm_conversion(clock)
        self._thread.start()

    def _load_state(self) -> None:
        row = self._cursor.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()
        self._next_seq = int(row[0]) + 1
        since = self._clock.now() - self._window
        # Remembered from when a message was stored (commits); receivedAt too, for rows stored
        # before commits were recorded.
        rows = self._cursor.execute(
            "SELECT space, message_id, max(epoch(stamp)) FROM ("
            " SELECT e.space, e.message_id, c.committed_at AS stamp FROM commits AS c"
            " JOIN events AS e ON e.seq BETWEEN c.first_seq AND c.last_seq"
            " WHERE c.committed_at >= $since"
            " UNION ALL"
            " SELECT space, message_id, received_at AS stamp FROM events"
            " WHERE received_at >= $since"
            ") GROUP BY space, message_id",
            {"since": since},
        ).fetchall()
        self._seen = {(space, mid): float(at) for space, mid, at in rows}
        log.info("writer ready: next seq %d, %d recent messageIds", self._next_seq, len(rows))

    def submit(self, space: str, messages: list[Message]) -> Future[WriteResult]:
        """Queue messages for the next commit; the future resolves once they are durable."""
        future: Future[WriteResult] = Future()
        if not messages:
            future.set_result(WriteResult(0, 0))
            return future
        self._queue.put(_Job(space, messages, future))
        return future

    def add_listener(self, listener: CommitListener) -> None:
        """Run ``listener`` after every commit, on the writer thread, in log order."""
        self._listeners.append(listener)

    def call(self, func: Callable[[Any], Any]) -> Future[Any]:
        """Run ``func(cursor)`` on the writer thread between commits."""
        future: Future[Any] = Future()
        self._queue.put(_Call(func, future))
        return future

    @property
    def observed(self) -> bool:
        """Whether commits feed listeners or pass a filter (then rows must go through append)."""
        return bool(self._listeners) or self.message_filter is not None

    @property
    def next_seq(self) -> int:
        """The log position the next stored message gets."""
        return self._next_seq

    def adopt(self, space: str, next_seq: int, message_ids: list[str]) -> None:
        """Account for rows a :meth:`call` wrote itself (bulk import): seqs up to ``next_seq - 1``
        are taken and ``message_ids`` count as seen. Only from inside a ``call`` function."""
        now = self._clock.now()
        stamp = now.timestamp()
        if next_seq > self._next_seq:
            self._cursor.execute(
                "INSERT INTO commits VALUES (?, ?, ?)", [self._next_seq, next_seq - 1, now]
            )
        self.rows_committed += next_seq - self._next_seq
        self.commits += 1
        self._next_seq = next_seq
        self._seen.update(dict.fromkeys(((space, m) for m in message_ids), stamp))

    def write(self, space: str, messages: list[Message]) -> WriteResult:
        """Submit and wait."""
        return self.submit(space, messages).result()

    def close(self) -> None:
        """Commit what is queued, then stop the thread."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()

    def _run(self) -> None:
        stopping = False
        while not stopping:
            job = self._queue.get()
            if job is None:
                break
            if isinstance(job, _Call):
                self._run_call(job)
                continue
            jobs = [job]
            rows = len(job.messages)
            pending_call: _Call | None = None
            while rows < self._max_rows:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stopping = True
                    break
                if isinstance(nxt, _Call):
                    pending_call = nxt
                    break
                jobs.append(nxt)
                rows += len(nxt.messages)
            self._commit(jobs)
            if pending_call is not None:
                self._run_call(pending_call)

    def _run_call(self, call: _Call) -> None:
        try:
            call.future.set_result(call.func(self._cursor))
        except Exception as exc:
            call.future.set_exception(exc)

    def _commit(self, jobs: list[_Job]) -> None:
        now = self._clock.now()
        stamp = now.timestamp()
        fresh: dict[str, list[Message]] = {}
        results: list[WriteResult] = []
        batch_seen: dict[tuple[str, str], float] = {}
        for job in jobs:
            keep = fresh.setdefault(job.space, [])
            duplicates = 0
            for message in job.messages:
                key = (job.space, message.message_id)
                if key in self._seen or key in batch_seen:
                    duplicates += 1
                    continue
                if self.message_filter is not None and not self.message_filter(job.space, message):
                    continue
                batch_seen[key] = stamp
                keep.append(message)
            results.append(WriteResult(len(job.messages) - duplicates, duplicates))
        committed: list[tuple[str, list[Message], int]] = []
        try:
            self._cursor.execute("BEGIN")
            seq = self._next_seq
            for space, messages in fresh.items():
                if not messages:
                    continue
                # A relation, not a registered view and an INSERT statement: ~1 ms less of
                # DuckDB's fixed cost per commit, which is most of a small commit's cost.
                self._cursor.from_arrow(messages_to_arrow(space, messages, seq)).insert_into(
                    "events"
                )
                committed.append((space, messages, seq))
                seq += len(messages)
            if seq > self._next_seq:
                # Literal values: a prepared statement with parameters costs more than parsing.
                self._cursor.execute(
                    f"INSERT INTO commits VALUES ({self._next_seq}, {seq - 1},"
                    f" TIMESTAMPTZ '{now.isoformat()}')"
                )
            self._cursor.execute("COMMIT")
        except Exception as exc:
            # The failed statement may already have ended the transaction.
            with contextlib.suppress(Exception):
                self._cursor.execute("ROLLBACK")
            if len(jobs) > 1:
                # One request's messages must not fail the others grouped with it: retry each
                # alone, so only the one that cannot be stored gets the error.
                log.warning("commit of %d jobs failed (%s); retrying one by one", len(jobs), exc)
                for job in jobs:
                    self._commit([job])
                return
            log.exception("commit failed")
            jobs[0].future.set_exception(exc)
            return
        self.commits += 1
        self.rows_committed += seq - self._next_seq
        self._next_seq = seq
        self._seen.update(batch_seen)
        for space, messages, first_seq in committed:
            for listener in self._listeners:
                try:
                    listener(space, messages, first_seq)
                except Exception:
                    # Derived state can be rebuilt from the log; the events are safe, so the
                    # requests still succeed.
                    log.exception("commit listener failed at seq %d", first_seq)
        for job, result in zip(jobs, results, strict=True):
            job.future.set_result(result)
        if now - self._last_prune >= _PRUNE_EVERY:
            self._prune(stamp - self._window.total_seconds())
            self._last_prune = now

    def _prune(self, cutoff: float) -> None:
        self._seen = {k: at for k, at in self._seen.items() if at >= cutoff}


def _warm_conversion(clock: Clock) -> None:
    """Pay pyarrow's one-time set-up of zoned timestamps (~0.2 s) at start: otherwise the first
    commit does, and every request waiting on it sees that stall."""
    now = clock.now()
    messages_to_arrow("", [Message(type="track", message_id="", timestamp=now, received_at=now)], 0)
