"""DuckDB schema and its migrations, applied in order and recorded in ``meta``."""

from __future__ import annotations

from typing import Any

EVENT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("seq", "BIGINT NOT NULL"),
    ("space", "VARCHAR NOT NULL"),
    ("message_id", "VARCHAR NOT NULL"),
    ("type", "VARCHAR NOT NULL"),
    ("event", "VARCHAR"),
    ("name", "VARCHAR"),
    ("category", "VARCHAR"),
    ("user_id", "VARCHAR"),
    ("anonymous_id", "VARCHAR"),
    ("group_id", "VARCHAR"),
    ("previous_id", "VARCHAR"),
    ("timestamp", "TIMESTAMPTZ NOT NULL"),
    ("original_timestamp", "TIMESTAMPTZ"),
    ("sent_at", "TIMESTAMPTZ"),
    ("received_at", "TIMESTAMPTZ NOT NULL"),
    ("properties", "JSON"),
    ("traits", "JSON"),
    ("context", "JSON"),
    ("integrations", "JSON"),
    ("extra", "JSON"),
)
"""The event log. ``seq`` is the log position (dense, increasing, global across spaces)."""

_EVENTS_DDL = "CREATE TABLE events (" + ", ".join(f"{n} {t}" for n, t in EVENT_COLUMNS) + ")"

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        "CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)",
        "CREATE TABLE spaces (name VARCHAR PRIMARY KEY, write_key VARCHAR NOT NULL UNIQUE,"
        " access_token VARCHAR NOT NULL UNIQUE, created_at TIMESTAMPTZ NOT NULL)",
        _EVENTS_DDL,
    ),
    (
        "CREATE TABLE suppressions (space VARCHAR NOT NULL, id_type VARCHAR NOT NULL,"
        " id_value VARCHAR NOT NULL, created_at TIMESTAMPTZ NOT NULL,"
        " PRIMARY KEY (space, id_type, id_value))",
        "CREATE TABLE deletions (space VARCHAR NOT NULL, profile_id VARCHAR NOT NULL,"
        " identifiers JSON NOT NULL, events_deleted BIGINT NOT NULL, suppressed BOOLEAN NOT NULL,"
        " deleted_at TIMESTAMPTZ NOT NULL)",
    ),
    (
        # The real-time engine's change log (docs/realtime.md) and the clock ticks it replays.
        "CREATE TABLE changes (space VARCHAR NOT NULL, seq BIGINT NOT NULL, key VARCHAR NOT NULL,"
        " target VARCHAR NOT NULL, entity VARCHAR NOT NULL, name VARCHAR NOT NULL,"
        " kind VARCHAR NOT NULL, old JSON, new JSON, cause VARCHAR,"
        " changed_at TIMESTAMPTZ NOT NULL, event_seq BIGINT NOT NULL, PRIMARY KEY (space, seq))",
        "CREATE TABLE realtime_ticks (space VARCHAR NOT NULL, tick BIGINT NOT NULL,"
        " event_seq BIGINT NOT NULL, until TIMESTAMPTZ NOT NULL, definitions JSON,"
        " PRIMARY KEY (space, tick))",
    ),
    (
        # When each run of log positions was stored: the dedupe window is measured from here,
        # not from receivedAt (imports keep their historical receivedAt).
        "CREATE TABLE commits (first_seq BIGINT NOT NULL, last_seq BIGINT NOT NULL,"
        " committed_at TIMESTAMPTZ NOT NULL)",
    ),
)
"""Each entry is one schema version; never edit a released entry, append a new one."""


def migrate(con: Any) -> int:
    """Bring the schema up to date; returns the version now in place."""
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'meta'"
    ).fetchone()[0]
    version = 0
    if exists:
        row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        version = int(row[0]) if row else 0
    for number, statements in enumerate(MIGRATIONS, start=1):
        if number <= version:
            continue
        con.execute("BEGIN")
        for statement in statements:
            con.execute(statement)
        con.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(number)])
        con.execute("COMMIT")
        version = number
    return version
