"""Profiles of every space, kept current as the writer commits, readable by the Profile API.

The books are derived state: on start they are rebuilt by replaying the event log (only the
columns identity resolution needs), then every commit is folded in on the writer thread before
the requests are acknowledged, so a 200 from the Tracking API means the profile already shows it.
Alongside, :class:`RecentEvents` holds ready JSON of recent events for the Profile API's
``/events`` (filled by commits, by a warm-up after start and by store reads; see ``recent.py``).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC
from operator import attrgetter
from typing import Any

import orjson

from shoal.identity.extract import identifiers_of
from shoal.profiles.book import Collection, EventRef, ProfileBook, Record
from shoal.profiles.recent import RecentEvents, render_event
from shoal.spec.message import Message
from shoal.store.store import Store

log = logging.getLogger(__name__)

_REPLAY_SQL = """
SELECT seq, space, message_id, type, event, user_id, anonymous_id, group_id, previous_id,
       timestamp, received_at,
       CASE WHEN type IN ('identify', 'group') THEN traits END,
       context
FROM events {where} ORDER BY seq
"""


def _replay_rows(rows: list[tuple[Any, ...]]) -> Iterator[tuple[str, Message]]:
    for (
        seq,
        space,
        message_id,
        mtype,
        event,
        user_id,
        anonymous_id,
        group_id,
        previous_id,
        timestamp,
        received_at,
        traits,
        context,
    ) in rows:
        yield (
            space,
            Message(
                type=mtype,
                message_id=message_id,
                timestamp=timestamp.astimezone(UTC),
                received_at=received_at.astimezone(UTC),
                user_id=user_id,
                anonymous_id=anonymous_id,
                event=event,
                group_id=group_id,
                previous_id=previous_id,
                traits=orjson.loads(traits) if traits else {},
                context=orjson.loads(context) if context else {},
                seq=seq,
            ),
        )


WARM_PER_PROFILE = 10
"""Events per profile the warm-up encodes: a first ``/events`` page at the default limit."""

_WARM_CHUNK = 2_000


def _newest(events: list[EventRef], count: int) -> list[EventRef]:
    """A profile's ``count`` newest events (what a first ``/events`` page shows), newest first."""
    named = [e for e in events if e.name is not None]
    return sorted(named, key=attrgetter("timestamp", "seq"), reverse=True)[:count]


@dataclass(frozen=True, slots=True)
class Deletion:
    profile_id: str
    identifiers: list[dict[str, str]]
    events_deleted: int
    suppressed: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "profile_id": self.profile_id,
            "identifiers": self.identifiers,
            "events_deleted": self.events_deleted,
            "suppressed": self.suppressed,
        }


DeletionHook = Callable[[str, Any], AbstractContextManager[None]]
"""``hook(space, cursor)`` is entered on the writer thread inside a deletion's transaction, after
the profile's rows are gone, and exited once it committed (or with the error that undid it): so
derived state kept elsewhere (the real-time engine) changes in the same transaction."""


class ProfileService:
    """Owns one :class:`ProfileBook` per space and keeps them in step with the log."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.lock = threading.RLock()
        self.books: dict[str, ProfileBook] = {}
        self._suppressed: dict[str, set[tuple[str, str]]] = {}
        self.recent = RecentEvents(store.settings.event_cache_mb * 2**20)
        self.warmed = threading.Event()
        """Set once the warm-up :meth:`start_warming` began has finished (or given up)."""
        self._warming: threading.Thread | None = None
        self._deletion_hooks: list[DeletionHook] = []
        self._load_suppressions()
        started = time.perf_counter()
        count = self._replay()
        log.info("profiles rebuilt from %d events in %.1f s", count, time.perf_counter() - started)
        store.writer.add_listener(self._on_commit)
        store.writer.message_filter = self._allowed

    # -- building ---------------------------------------------------------------------------------
    def book(self, space: str) -> ProfileBook:
        book = self.books.get(space)
        if book is None:
            book = self.books[space] = ProfileBook()
        return book

    def _replay(self, space: str | None = None, cursor: Any = None) -> int:
        cur = cursor or self.store.con.cursor()
        where, params = ("WHERE space = ?", [space]) if space else ("", [])
        cur.execute(_REPLAY_SQL.format(where=where), params)
        count = 0
        with self.lock:
            if space is not None:
                self.books[space] = ProfileBook()
            while rows := cur.fetchmany(20_000):
                for row_space, message in _replay_rows(rows):
                    self.book(row_space).apply(message)
                count += len(rows)
        return count

    def _on_commit(self, space: str, messages: list[Message], first_seq: int) -> None:
        # Cache first: a page that lists a new event then finds it without a store read.
        self.recent.add_committed(space, messages, first_seq)
        with self.lock:
            book = self.book(space)
            for offset, message in enumerate(messages):
                book.apply(message, first_seq + offset)

    def start_warming(self) -> None:
        """Warm the recent-events cache in a background thread (once; serving goes on meanwhile:
        a page whose events are not cached yet is read from the store)."""
        with self.lock:
            if self._warming is not None:
                return
            self._warming = threading.Thread(
                target=self._warm_in_background, name="shoal-warm-events", daemon=True
            )
        self._warming.start()

    def _warm_in_background(self) -> None:
        try:
            started = time.perf_counter()
            count = self.warm_recent_events()
            log.info(
                "recent events cache: %d events (%.0f MiB) warmed in %.1f s",
                count,
                self.recent.size / 2**20,
                time.perf_counter() - started,
            )
        except Exception:
            # Only an optimisation: pages are read from the store instead. (Also the store
            # closing under a warm-up that is still running.)
            log.warning("warming the recent events cache stopped early", exc_info=True)
        finally:
            self.warmed.set()

    def warm_recent_events(self, per_profile: int = WARM_PER_PROFILE) -> int:
        """Encode the newest ``per_profile`` events of every user profile into the cache, most
        recently updated profiles first, until the cache is full. Returns how many were added."""
        added = 0
        if self.recent.budget:
            for space, seqs in self._warm_plan(per_profile):
                for start in range(0, len(seqs), _WARM_CHUNK):
                    chunk = [s for s in seqs[start : start + _WARM_CHUNK] if s not in self.recent]
                    epoch = self.recent.epoch
                    items = self._render(space, chunk)
                    before = len(self.recent)
                    room = self.recent.warm(items, epoch)
                    added += len(self.recent) - before
                    if not room:
                        return added
        return added

    def _warm_plan(self, per_profile: int) -> Iterator[tuple[str, list[int]]]:
        with self.lock:
            spaces = [
                (space, sorted(book.users.values(), key=lambda r: r.updated_at, reverse=True))
                for space, book in self.books.items()
            ]
        for space, records in spaces:
            for start in range(0, len(records), 1_000):
                # In slices, so commits and requests are not held up for the whole plan.
                with self.lock:
                    seqs = [
                        e.seq
                        for record in records[start : start + 1_000]
                        for e in _newest(record.events, per_profile)
                    ]
                yield space, seqs

    def _render(self, space: str, seqs: Sequence[int]) -> list[tuple[int, bytes]]:
        messages = self.store.messages_at(space, list(seqs))
        return [(m.seq, render_event(space, m)) for m in messages]

    # -- suppression ------------------------------------------------------------------------------
    def _load_suppressions(self) -> None:
        rows = (
            self.store.con.cursor()
            .execute("SELECT space, id_type, id_value FROM suppressions")
            .fetchall()
        )
        for space, id_type, value in rows:
            self._suppressed.setdefault(space, set()).add((id_type, value))

    def _allowed(self, space: str, message: Message) -> bool:
        blocked = self._suppressed.get(space)
        if not blocked:
            return True
        return not any(ident in blocked for ident in identifiers_of(message))

    # -- reading ----------------------------------------------------------------------------------
    def event_items(
        self, space: str, seqs: Sequence[int], cached: Sequence[bytes | None] | None = None
    ) -> list[bytes]:
        """The ``/events`` items (see :func:`render_event`) at ``seqs``, in that order: from the
        cache, the rest read from the store (blocking) and kept. ``cached`` is a
        :meth:`RecentEvents.lookup` of ``seqs`` already made. Events no longer stored (deleted
        meanwhile) are left out."""
        items = list(self.recent.lookup(seqs) if cached is None else cached)
        missing = [seq for seq, item in zip(seqs, items, strict=True) if item is None]
        if missing:
            epoch = self.recent.epoch
            found = dict(self._render(space, missing))
            self.recent.fill(found.items(), epoch)
            items = [
                found.get(seq) if item is None else item
                for seq, item in zip(seqs, items, strict=True)
            ]
        return [item for item in items if item is not None]

    def find(self, space: str, collection: Collection, id_type: str, value: str) -> Record | None:
        with self.lock:
            return self.book(space).find(collection, id_type, value)

    def counts(self, space: str | None = None) -> tuple[int, int]:
        with self.lock:
            books = [self.book(space)] if space else list(self.books.values())
            return sum(len(b.users) for b in books), sum(len(b.accounts) for b in books)

    def stats(self, space: str | None = None) -> dict[str, Any]:
        """Store counts with real profile and account numbers."""
        body = self.store.stats(space)
        body["profiles"], body["accounts"] = self.counts(space)
        body["recent_events"] = {**self.recent.stats(), "warmed": self.warmed.is_set()}
        return body

    # -- deleting ---------------------------------------------------------------------------------
    def add_deletion_hook(self, hook: DeletionHook) -> None:
        self._deletion_hooks.append(hook)

    def delete(self, space: str, id_type: str, value: str, *, suppress: bool) -> Deletion | None:
        """Delete the profile an identifier belongs to: its events, traits, links, identifiers.

        Runs on the writer thread, so no commit interleaves; the space's book is then rebuilt
        from the remaining log (identity graphs cannot unlearn a merge).
        """

        def run(cursor: Any) -> Deletion | None:
            with self.lock:
                record = self.book(space).find("users", id_type, value)
                if record is None:
                    return None
                graph = self.book(space).graph
                idents = [(i.type, i.value) for i in graph.identifiers(record.id)]
                seqs = [e.seq for e in record.events]
            cursor.execute("BEGIN")
            try:
                deletion = self._delete_rows(cursor, space, record.id, idents, seqs, suppress)
                with contextlib.ExitStack() as hooks:
                    for hook in self._deletion_hooks:
                        hooks.enter_context(hook(space, cursor))
                    cursor.execute("COMMIT")
            except Exception:
                # The writer's next group commit must not find this transaction still open (a
                # failed COMMIT may have ended it already).
                with contextlib.suppress(Exception):
                    cursor.execute("ROLLBACK")
                raise
            # After the commit: a store read begun before it cannot put these back (epoch).
            self.recent.discard(seqs)
            if suppress:
                self._suppressed.setdefault(space, set()).update(idents)
            self._replay(space, cursor)
            log.info(
                "deleted profile %s in space %s: %d events, %d identifiers%s",
                record.id,
                space,
                len(seqs),
                len(idents),
                " (suppressed)" if suppress else "",
            )
            return deletion

        result: Deletion | None = self.store.writer.call(run).result()
        return result

    def _delete_rows(
        self,
        cursor: Any,
        space: str,
        profile_id: str,
        idents: list[tuple[str, str]],
        seqs: list[int],
        suppress: bool,
    ) -> Deletion:
        """The deletion's statements, inside the caller's transaction."""
        cursor.execute("CREATE TEMP TABLE IF NOT EXISTS _doomed (seq BIGINT)")
        cursor.execute("DELETE FROM _doomed")
        cursor.executemany("INSERT INTO _doomed VALUES (?)", [[s] for s in seqs])
        cursor.execute(
            "DELETE FROM events WHERE space = ? AND seq IN (SELECT seq FROM _doomed)", [space]
        )
        now = self.store.clock.now()
        if suppress:
            cursor.executemany(
                "INSERT OR IGNORE INTO suppressions VALUES (?, ?, ?, ?)",
                [[space, t, v, now] for t, v in idents],
            )
        deletion = Deletion(
            profile_id, [{"type": t, "id": v} for t, v in idents], len(seqs), suppress
        )
        cursor.execute(
            "INSERT INTO deletions VALUES (?, ?, ?, ?, ?, ?)",
            [
                space,
                profile_id,
                orjson.dumps(deletion.identifiers).decode(),
                len(seqs),
                suppress,
                now,
            ],
        )
        return deletion
