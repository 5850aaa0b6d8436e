"""Ready JSON of recent events, so most Profile API ``/events`` pages need no store read.

Which events a page holds, in which order and where its cursor points all come from the
in-memory book; only the events' bodies live in the log, and a DuckDB point read of a page costs
~1.5-2 ms however it is written (bench/RESULTS.md). :class:`RecentEvents` keeps the bodies of
recently committed and recently read events as encoded JSON, keyed by log position (``seq``):

- A log position's message never changes while the process runs (positions are not reused, a
  deletion only removes them), so an entry never goes stale; it is only ever dropped.
- An item is stored without ``related`` (the profile id, which a merge changes): the page appends
  it, so one entry serves the profile before and after any merge.
- Memory is bounded by ``budget_bytes``: each entry is charged its size, and the least recently
  used entries are evicted beyond the budget (0 turns the cache off).
- A committed message is kept as the message object until first read, charged
  :data:`PENDING_COST`, so the writer thread does not pay ~4-15 µs of encoding per event for
  events nobody reads. At most :data:`PENDING_LIMIT` wait so: message objects are many small
  containers the garbage collector must walk (encoded items are flat bytes it skips); past the
  limit the oldest unread are dropped, and read from the store if ever asked for.
- A deletion bumps :attr:`RecentEvents.epoch`; a store read that started before the deletion
  cannot put its rows back (:meth:`RecentEvents.fill` with the older epoch is ignored).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson

from shoal.identity.extract import identifiers_of
from shoal.spec.message import Message

ENTRY_OVERHEAD = 112
"""Bytes charged per entry on top of its JSON: the dict slot, the int key, the bytes header."""

PENDING_COST = 2560
"""Bytes charged for a committed message not yet encoded (a stored Message measures ~2.5 KB)."""

PENDING_LIMIT = 16_384
"""Most committed messages held unencoded; the oldest unread beyond it are dropped."""


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def render_event(space: str, message: Message) -> bytes:
    """One ``/events`` item as JSON without its closing brace; see :func:`related_suffix`.

    The only encoding of an event item: the cache and the store fallback both use it, so a page
    is the same bytes whichever path served it.
    """
    properties = dict(message.properties)
    if message.type in ("page", "screen") and message.name is not None:
        properties.setdefault(f"{message.type}_name", message.name)
    item = {
        "external_ids": [
            {"collection": "users", "type": t, "id": v, "encoding": "none"}
            for t, v in identifiers_of(message)
        ],
        "context": message.context,
        "type": "track",
        "message_id": message.message_id,
        "source_id": space,
        "timestamp": _iso(message.timestamp),
        "properties": properties,
        "event": message.event_name,
    }
    return orjson.dumps(item)[:-1]


def related_suffix(profile_id: str) -> bytes:
    """The rest of every item of a page: ``,"related":{"users":[profile id]}}``."""
    return b',"related":{"users":[' + orjson.dumps(profile_id) + b"]}}"


class RecentEvents:
    """Encoded ``/events`` items by log position, least recently used evicted past a budget.

    Thread-safe: the writer thread adds committed messages, request threads read and fill.
    """

    def __init__(self, budget_bytes: int) -> None:
        self._lock = threading.Lock()
        self._entries: OrderedDict[int, bytes | tuple[str, Message]] = OrderedDict()
        self._pending: OrderedDict[int, None] = OrderedDict()
        """Seqs of entries still held as messages, oldest first."""
        self._budget = max(0, budget_bytes)
        self._bytes = 0
        self._epoch = 0
        self.hits = 0
        self.misses = 0

    # -- size -------------------------------------------------------------------------------------
    @property
    def budget(self) -> int:
        return self._budget

    @property
    def size(self) -> int:
        """Bytes charged for what is held now (never above the budget)."""
        return self._bytes

    @property
    def epoch(self) -> int:
        """Read this before a store read whose rows go to :meth:`fill`."""
        return self._epoch

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, seq: object) -> bool:
        return seq in self._entries

    def resize(self, budget_bytes: int) -> None:
        """Change the budget, evicting what no longer fits (0 empties and turns it off)."""
        with self._lock:
            self._budget = max(0, budget_bytes)
            self._evict()

    @staticmethod
    def _cost(entry: bytes | tuple[str, Message]) -> int:
        return len(entry) + ENTRY_OVERHEAD if isinstance(entry, bytes) else PENDING_COST

    def _put(self, seq: int, entry: bytes | tuple[str, Message]) -> None:
        self._drop(seq)
        self._entries[seq] = entry
        self._bytes += self._cost(entry)
        if not isinstance(entry, bytes):
            self._pending[seq] = None

    def _drop(self, seq: int) -> None:
        entry = self._entries.pop(seq, None)
        if entry is not None:
            self._bytes -= self._cost(entry)
            if not isinstance(entry, bytes):
                del self._pending[seq]

    def _evict(self) -> None:
        while len(self._pending) > PENDING_LIMIT:
            self._drop(next(iter(self._pending)))
        while self._bytes > self._budget and self._entries:
            self._drop(next(iter(self._entries)))

    # -- writing ----------------------------------------------------------------------------------
    def add_committed(self, space: str, messages: Sequence[Message], first_seq: int) -> None:
        """Hold the events of a commit (encoded on first read); other message types are skipped."""
        if not self._budget:
            return
        with self._lock:
            for offset, message in enumerate(messages):
                if message.event_name is not None:
                    self._put(first_seq + offset, (space, message))
            self._evict()

    def fill(self, items: Iterable[tuple[int, bytes]], epoch: int) -> None:
        """Keep items read from the store, unless a deletion happened since ``epoch`` was read."""
        if not self._budget:
            return
        with self._lock:
            if epoch != self._epoch:
                return
            for seq, data in items:
                self._put(seq, data)
            self._evict()

    def warm(self, items: Iterable[tuple[int, bytes]], epoch: int) -> bool:
        """Add items as the least recently used, never evicting for them; False once full."""
        with self._lock:
            if epoch != self._epoch:
                return True
            for seq, data in items:
                if seq in self._entries:
                    continue
                cost = self._cost(data)
                if self._bytes + cost > self._budget:
                    return False
                self._entries[seq] = data
                self._entries.move_to_end(seq, last=False)
                self._bytes += cost
            return self._bytes < self._budget

    def discard(self, seqs: Iterable[int]) -> None:
        """Forget deleted events; fills from store reads begun before this are ignored."""
        with self._lock:
            self._epoch += 1
            for seq in seqs:
                self._drop(seq)

    # -- reading ----------------------------------------------------------------------------------
    def lookup(self, seqs: Sequence[int]) -> list[bytes | None]:
        """The items at ``seqs`` (None where not held); encodes held messages on first read."""
        out: list[bytes | None] = []
        misses = 0
        with self._lock:
            entries = self._entries
            for seq in seqs:
                entry = entries.get(seq)
                if entry is None:
                    out.append(None)
                    misses += 1
                    continue
                if not isinstance(entry, bytes):
                    entry = render_event(*entry)
                    self._put(seq, entry)
                else:
                    entries.move_to_end(seq)
                out.append(entry)
            self.hits += len(out) - misses
            self.misses += misses
            # Encoding a held message can cost more or less than its estimate.
            self._evict()
        return out

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "events": len(self._entries),
                "unencoded": len(self._pending),
                "bytes": self._bytes,
                "budget_bytes": self._budget,
                "hits": self.hits,
                "misses": self.misses,
            }
