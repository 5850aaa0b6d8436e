"""Catching a space up with its change log when no replay can reach the log's end.

A replay reproduces the logged changes only from the events that produced them. Once a profile
was deleted while no server ran, the events after a stale checkpoint are no longer all there: a
replay would number its changes differently from the log (skipping new ones as written, never
logging the deleted profile's exits). So such a start builds the core from the stored events
instead and logs the difference from what the log last said of each entity.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from shoal.compute import changelog
from shoal.compute.cores import Snapshot
from shoal.engines import values as V
from shoal.engines.realtime import Change

__all__ = ["LogEnd", "diff_from_log", "log_end"]


@dataclass(frozen=True, slots=True)
class LogEnd:
    """What the log reflects beyond a space's own positions."""

    event_seq: int
    """The last event the log's changes and ticks came after (or the space's own, if later)."""
    until: datetime | None
    """The latest instant the log records (tick or change), None when it records nothing."""
    recorded: list[dict[str, Any]] | None
    """The definitions (with ``created_at``) of the last swap or deletion tick, if any."""


def log_end(con: Any, space: str, *, event_seq: int, change_seq: int, tick: int) -> LogEnd:
    """The log's end past positions ``event_seq``/``change_seq``/``tick`` of ``space``."""
    row = con.execute(
        "SELECT max(event_seq), max(changed_at) FROM changes WHERE space = ? AND seq > ?",
        [space, change_seq],
    ).fetchone()
    seqs, instants = [event_seq], [row[1]]
    if row[0] is not None:
        seqs.append(int(row[0]))
    recorded = None
    for t in changelog.ticks_after(con, space, tick):
        seqs.append(t.event_seq)
        instants.append(t.until)
        if t.deletion is not None:
            recorded = t.deletion["definitions"]
        elif t.definitions is not None:
            recorded = t.definitions
    known = [i for i in instants if i is not None]
    return LogEnd(max(seqs), max(known) if known else None, recorded)


def diff_from_log(con: Any, space: str, core: Snapshot, now: datetime) -> list[Change]:
    """The changes from the results the log last stated to ``core``'s, at ``now``, no cause."""
    logged: dict[str, dict[str, tuple[str, str, Any]]] = {}
    for (key, entity), stated in changelog.latest(con, space).items():
        logged.setdefault(key, {})[entity] = stated
    changes: list[Change] = []
    for key in sorted(set(logged) | set(core.results)):
        accounts = core.accounts.get(key)
        before = logged.get(key, {})
        results = core.results.get(key, {})
        for entity in sorted(set(before) | set(results)):
            target, name, old = before.get(entity, (None, None, None))
            new = results.get(entity)
            # Compared as the log stores them, so a value read back equals the one it came from
            # (and true never equals 1).
            if _text(old) == _text(new):
                continue
            if entity in results:
                name = core.name_of(key, entity)
            if accounts is not None:
                target = "accounts" if accounts else "users"
            assert target is not None and name is not None
            changes.append(Change(key, target, entity, name, old, new, now, None))
    return changes


def _text(value: Any) -> bytes | None:
    if value is None:
        return None
    return orjson.dumps(V.jsonable(value), option=orjson.OPT_SORT_KEYS)
