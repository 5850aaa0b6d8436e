"""The durable, ordered change log of the real-time engine, and the clock ticks it replays.

``changes`` holds one row per audience entry/exit or computed-trait change, numbered per space
(``seq``, dense from 1). ``realtime_ticks`` records each time the engine advanced its clock
without a new event (a timer was due), after which event: replaying events and ticks in that
order from a checkpoint gives back exactly the same changes, which is how a restart after a crash
neither loses nor repeats one. Definition swaps and profile deletions are ticks too (their
``definitions`` column holds the definition list, or a deletion's record object).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
import pyarrow as pa

from shoal.engines import values as V
from shoal.engines.realtime import Change

__all__ = [
    "LoggedChange",
    "Tick",
    "insert",
    "last_deletion",
    "last_positions",
    "latest",
    "members",
    "read_changes",
    "ticks_after",
    "write",
]


_CHANGE_COLUMNS = (
    "space",
    "seq",
    "key",
    "target",
    "entity",
    "name",
    "kind",
    "old",
    "new",
    "cause",
    "changed_at",
    "event_seq",
)
_CHANGE_SCHEMA = pa.schema(
    [
        (name, pa.int64() if name in ("seq", "event_seq") else pa.string())
        for name in _CHANGE_COLUMNS
    ]
).set(10, pa.field("changed_at", pa.timestamp("us", tz="UTC")))


@dataclass(frozen=True, slots=True)
class LoggedChange:
    seq: int
    change: Change
    event_seq: int
    """Log position of the last event applied when the change happened."""

    def row(self, space: str) -> tuple[Any, ...]:
        c = self.change
        return (
            space,
            self.seq,
            c.key,
            c.target,
            c.entity,
            c.name,
            c.kind,
            _json(c.old),
            _json(c.new),
            c.cause,
            c.at,
            self.event_seq,
        )


@dataclass(frozen=True, slots=True)
class Tick:
    """The clock moved to ``until`` after event ``event_seq``; with ``definitions`` (a list of
    definition dicts with their ``created_at``) it is a swap to that definition set; with
    ``deletion`` the space was rebuilt from its remaining events after a profile deletion."""

    tick: int
    event_seq: int
    until: datetime
    definitions: list[dict[str, Any]] | None = None
    deletion: dict[str, Any] | None = None
    """``definitions`` (in force, with ``created_at``), ``change_seq`` (the log position once
    the rebuild's changes are in) and ``deletions`` (the space's count of deletion rows)."""

    def record(self) -> str | None:
        """What the ``definitions`` column holds: the schema has one JSON column for both."""
        if self.deletion is not None:
            return orjson.dumps(self.deletion).decode()
        return None if self.definitions is None else orjson.dumps(self.definitions).decode()


def _tick(tick: int, event_seq: int, until: datetime, record: str | None) -> Tick:
    loaded = None if record is None else orjson.loads(record)
    if isinstance(loaded, dict):
        return Tick(tick, event_seq, until, deletion=loaded)
    return Tick(tick, event_seq, until, loaded)


def _json(value: Any) -> str | None:
    return None if value is None else orjson.dumps(V.jsonable(value)).decode()


def write(cursor: Any, space: str, changes: Sequence[LoggedChange], ticks: Sequence[Tick]) -> None:
    """Append changes and ticks in one transaction (the caller's cursor is the writer's)."""
    cursor.execute("BEGIN")
    try:
        insert(cursor, space, changes, ticks)
        cursor.execute("COMMIT")
    except Exception:
        cursor.execute("ROLLBACK")
        raise


def insert(cursor: Any, space: str, changes: Sequence[LoggedChange], ticks: Sequence[Tick]) -> None:
    """Append changes and ticks inside the caller's open transaction."""
    if changes:
        # One Arrow batch, not a statement per row: executemany costs ~100 µs a row.
        rows = [c.row(space) for c in changes]
        table = pa.table(
            {name: [r[i] for r in rows] for i, name in enumerate(_CHANGE_COLUMNS)},
            schema=_CHANGE_SCHEMA,
        )
        # A relation rather than a registered view: less of DuckDB's fixed cost per write.
        cursor.from_arrow(table).project(
            "space, seq, key, target, entity, name, kind, CAST(old AS JSON), CAST(new AS JSON),"
            " cause, changed_at, event_seq"
        ).insert_into("changes")
    if ticks:
        cursor.executemany(
            "INSERT INTO realtime_ticks VALUES (?, ?, ?, ?, ?)",
            [(space, t.tick, t.event_seq, t.until, t.record()) for t in ticks],
        )


def last_positions(con: Any, space: str) -> tuple[int, int]:
    """(last change seq, last tick) written for ``space`` (0 when none)."""
    row = con.execute(
        "SELECT (SELECT coalesce(max(seq), 0) FROM changes WHERE space = ?),"
        " (SELECT coalesce(max(tick), 0) FROM realtime_ticks WHERE space = ?)",
        [space, space],
    ).fetchone()
    return int(row[0]), int(row[1])


def ticks_after(con: Any, space: str, tick: int) -> list[Tick]:
    rows = con.execute(
        "SELECT tick, event_seq, until, definitions FROM realtime_ticks"
        " WHERE space = ? AND tick > ? ORDER BY tick",
        [space, tick],
    ).fetchall()
    return [_tick(*row) for row in rows]


def last_deletion(con: Any, space: str) -> Tick | None:
    """The space's latest deletion tick: the newest point its state can be rebuilt at from the
    stored events alone (what came before needed events that are gone)."""
    row = con.execute(
        "SELECT tick, event_seq, until, definitions FROM realtime_ticks"
        " WHERE space = ? AND json_type(definitions) = 'OBJECT' ORDER BY tick DESC LIMIT 1",
        [space],
    ).fetchone()
    return None if row is None else _tick(*row)


_COLUMNS = "seq, key, target, entity, name, kind, old, new, cause, changed_at, event_seq"


_JSON_LINE = (
    "json_object('seq', seq, 'key', key, 'target', target, 'entity', entity, 'name', name,"
    " 'kind', kind, 'old', old, 'new', new, 'cause', cause, 'at', {at}, 'event_seq', event_seq)"
).format(
    # As values.iso writes an instant: UTC, microseconds only when there are any, and a Z.
    at="CASE WHEN microsecond(changed_at) % 1000000 = 0"
    " THEN strftime(changed_at AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%SZ')"
    " ELSE strftime(changed_at AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%fZ') END"
)


def read_changes_json(
    con: Any, space: str, *, key: str | None = None, after: int = 0, limit: int = 1000
) -> bytes:
    """:func:`read_changes` as a JSON array, built by DuckDB: a follower of a busy log reads
    thousands of changes a second, and per-change Python objects would cost the server's
    interpreter more than the rest of serving them."""
    where = "space = ? AND seq > ?" + (" AND key = ?" if key is not None else "")
    params: list[Any] = [space, after, *([key] if key is not None else []), limit]
    row = con.execute(
        f"SELECT coalesce(string_agg(line, ',' ORDER BY seq), '') FROM ("
        f"SELECT seq, CAST({_JSON_LINE} AS VARCHAR) AS line FROM changes WHERE {where}"
        " ORDER BY seq LIMIT ?)",
        params,
    ).fetchone()
    return b"[" + str(row[0]).encode() + b"]"


def read_changes(
    con: Any, space: str, *, key: str | None = None, after: int = 0, limit: int = 1000
) -> list[dict[str, Any]]:
    """Changes of ``space`` after position ``after``, oldest first, as JSON-ready dicts."""
    sql = f"SELECT {_COLUMNS} FROM changes WHERE space = ? AND seq > ?"
    params: list[Any] = [space, after]
    if key is not None:
        sql += " AND key = ?"
        params.append(key)
    sql += " ORDER BY seq LIMIT ?"
    params.append(limit)
    out = []
    for seq, k, target, entity, name, kind, old, new, cause, at, event_seq in con.execute(
        sql, params
    ).fetchall():
        out.append(
            {
                "seq": seq,
                "key": k,
                "target": target,
                "entity": entity,
                "name": name,
                "kind": kind,
                "old": orjson.loads(old) if old is not None else None,
                "new": orjson.loads(new) if new is not None else None,
                "cause": cause,
                "at": V.iso(at),
                "event_seq": event_seq,
            }
        )
    return out


def members(con: Any, space: str, key: str) -> dict[str, Any]:
    """Current value per entity name, read off the log (the newest change of each entity)."""
    rows = con.execute(
        "SELECT name, new FROM (SELECT name, new, row_number() OVER"
        " (PARTITION BY entity ORDER BY seq DESC) AS r FROM changes WHERE space = ? AND key = ?)"
        " WHERE r = 1 AND new IS NOT NULL ORDER BY name",
        [space, key],
    ).fetchall()
    return {name: orjson.loads(new) for name, new in rows}


def latest(con: Any, space: str) -> dict[tuple[str, str], tuple[str, str, Any]]:
    """(key, entity) → (target, name, value) of the newest change of each entity that holds a
    value: the results the log says the engine has."""
    rows = con.execute(
        "SELECT key, entity, target, name, new FROM (SELECT key, entity, target, name, new,"
        " row_number() OVER (PARTITION BY key, entity ORDER BY seq DESC) AS r FROM changes"
        " WHERE space = ?) WHERE r = 1 AND new IS NOT NULL",
        [space],
    ).fetchall()
    return {(k, e): (target, name, orjson.loads(new)) for k, e, target, name, new in rows}
