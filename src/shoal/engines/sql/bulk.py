"""The SQL engine's input relations built in bulk: set-based SQL, Python only for identity.

:func:`~shoal.engines.sql.prepare.prepare` walks every message in Python; that is the oracle and
fine for thousands of messages. This module builds the same relations (``relations.py``) from
millions:

1. **Stage** the messages in a DuckDB table (:data:`STAGED`): from Parquet files with the rules
   of ``normalize`` written in SQL (``shoal.store.bulk_sql``; the rows it is unsure about go
   through ``normalize`` itself, as in ``read_messages``), or from :class:`Message` objects.
2. **Identity** in Python over what identity needs only (``bulk_identity.py``): the first
   message of each distinct identifier combination, alias calls, and whatever a limit made
   unsettled. The profile mapping (identity key or messageId → profile id) becomes two tables,
   optionally written as Parquet beside the events for a cluster job.
3. **Canonical JSON**: every distinct object text is parsed and re-encoded with sorted keys in
   Python (orjson, as the per-message path parses it), because compiled queries compare and
   group objects by their text (``predicates.py``). Only distinct texts cross into Python.
4. **Relations** by SQL joins: events with their profile, traits and account traits folded
   (latest message wins per key, null removes), links, profiles.

The result equals ``prepare(messages)`` row for row, except that ``event_id`` is the message's
position in the input (which orders equal times exactly as ``prepare``'s sequence does) and JSON
texts are compact (``{"a":1}``, not ``{"a": 1}``): every compiled query reads them alike.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pyarrow as pa
import sqlglot.expressions as sge

from shoal.engines.sql import relations as rel
from shoal.engines.sql.bulk_identity import KEY_MAP, MESSAGE_MAP, IdentityRun, key_hash
from shoal.engines.sql.bulk_identity import resolve_keys as _resolve_keys
from shoal.engines.sql.dialects import DuckDBCompiler
from shoal.engines.sql.layout import Layout, promotion, shape_stats
from shoal.identity import DEFAULT_RULES, IdentityRules
from shoal.identity.extract import MAX_GROUP_ID_CHARS
from shoal.spec.importer import parquet_message
from shoal.spec.message import Message
from shoal.spec.normalize import normalize

__all__ = [
    "STAGED",
    "STAGED_COLUMNS",
    "BulkReport",
    "build",
    "load_messages",
    "load_parquet",
    "write_relations",
]

STAGED = "shoal_messages"
"""The staged, normalised messages the relations are built from."""

STAGED_COLUMNS: tuple[tuple[str, str], ...] = (
    ("n", "BIGINT"),
    ("message_id", "VARCHAR"),
    ("type", "VARCHAR"),
    ("event", "VARCHAR"),
    ("name", "VARCHAR"),
    ("user_id", "VARCHAR"),
    ("anonymous_id", "VARCHAR"),
    ("group_id", "VARCHAR"),
    ("previous_id", "VARCHAR"),
    ("ts", "TIMESTAMPTZ"),
    ("received_at", "TIMESTAMPTZ"),
    ("properties", "VARCHAR"),
    ("traits", "VARCHAR"),
    ("context", "VARCHAR"),
    ("integrations", "VARCHAR"),
)
"""``n`` is the position in the input (ties in SEMANTICS order keep it); object texts are JSON
text or NULL when empty."""

_TS = pa.timestamp("us", tz="UTC")


@dataclass(slots=True)
class BulkReport:
    """Sizes and seconds per step of :func:`build`."""

    messages: int = 0
    events: int = 0
    identity: IdentityRun = field(default_factory=IdentityRun)
    canonical_texts: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    layout: Layout | None = None
    """The layout given to :func:`build`, with its shapes measured on these events: compile
    with this one."""


# --- staging ------------------------------------------------------------------------------------


def _create_staged(con: duckdb.DuckDBPyConnection) -> None:
    columns = ", ".join(f"{name} {kind}" for name, kind in STAGED_COLUMNS)
    con.execute(f"CREATE OR REPLACE TABLE {STAGED} ({columns})")


def _json_text(value: dict[str, Any]) -> str | None:
    return orjson.dumps(value).decode() if value else None


def _messages_arrow(messages: Sequence[Message], first: int) -> pa.Table:
    def strings(name: str) -> pa.Array:
        return pa.array([getattr(m, name) for m in messages], type=pa.string())

    return pa.table(
        {
            "n": pa.array(range(first, first + len(messages)), type=pa.int64()),
            "message_id": strings("message_id"),
            "type": strings("type"),
            "event": strings("event"),
            "name": strings("name"),
            "user_id": strings("user_id"),
            "anonymous_id": strings("anonymous_id"),
            "group_id": strings("group_id"),
            "previous_id": strings("previous_id"),
            "ts": pa.array([m.timestamp for m in messages], type=_TS),
            "received_at": pa.array([m.received_at for m in messages], type=_TS),
            **{
                name: pa.array([_json_text(getattr(m, name)) for m in messages], type=pa.string())
                for name in ("properties", "traits", "context", "integrations")
            },
        }
    )


def _append(con: duckdb.DuckDBPyConnection, data: pa.Table) -> None:
    con.register("_shoal_arrow", data)
    try:
        con.execute(f"INSERT INTO {STAGED} SELECT * FROM _shoal_arrow").fetchall()
    finally:
        con.unregister("_shoal_arrow")


def load_messages(con: duckdb.DuckDBPyConnection, messages: Iterable[Message]) -> int:
    """Stage normalised messages (in their order); returns how many."""
    _create_staged(con)
    batch: list[Message] = []
    count = 0
    for message in messages:
        batch.append(message)
        if len(batch) == 50_000:
            _append(con, _messages_arrow(batch, count))
            count += len(batch)
            batch = []
    if batch:
        _append(con, _messages_arrow(batch, count))
        count += len(batch)
    return count


def load_parquet(
    con: duckdb.DuckDBPyConnection, paths: Sequence[Path], *, received_at: datetime
) -> int:
    """Stage every message of Parquet files (``docs/formats.md``), in file and row order.

    Exactly what ``shoal.spec.importer.read_messages(path, received_at=...)`` yields: rows the
    SQL rules judge clean are normalised in SQL, the others by ``normalize``.

    Raises:
        MessageError: the first invalid message, located at ``file:row N``.
    """
    from shoal.store import bulk_sql

    con.execute("SET TimeZone = 'UTC'")
    _create_staged(con)
    wanted = ", ".join(
        "timestamp AS ts" if name == "ts" else name for name, _ in STAGED_COLUMNS if name != "n"
    )
    offset = 0
    for path in paths:
        literal = bulk_sql.sql_string(str(path))
        con.execute(
            "CREATE OR REPLACE TEMP VIEW _bulk_input AS SELECT * EXCLUDE (file_row_number),"
            f" file_row_number + {offset + 1} AS n"
            f" FROM read_parquet({literal}, file_row_number = true)"
        )
        described = con.execute("DESCRIBE SELECT * FROM _bulk_input").fetchall()
        columns = {str(row[0]): str(row[1]) for row in described}
        select = bulk_sql.select_sql(*bulk_sql.parquet_fields(columns))
        # One pass judges and stages the clean rows; the rest (rows the SQL left, found as the
        # input rows that did not arrive) go through normalize().
        con.execute(
            f"INSERT INTO {STAGED} SELECT n, {wanted} FROM ({select}) WHERE ok",
            {"now": received_at},
        ).fetchall()
        counted = con.execute("SELECT count(*), min(n), max(n) FROM _bulk_input").fetchall()[0]
        assert counted is not None
        rows, low, high = counted
        unsure = con.sql(
            f"SELECT * FROM _bulk_input WHERE n NOT IN (SELECT n FROM {STAGED}"
            f" WHERE n BETWEEN {int(low or 0)} AND {int(high or 0)}) ORDER BY n"
        ).to_arrow_table()
        if unsure.num_rows:
            _append(con, _normalised(unsure, path, received_at, offset))
        offset += int(rows)
        con.execute("DROP VIEW _bulk_input")
    return offset


def _normalised(unsure: Any, path: Path, received_at: datetime, offset: int) -> pa.Table:
    """The per-message path for the rows the SQL left (``read_messages``' rules); ``n`` is
    ``offset`` plus the row's number in ``path``.

    Raises:
        MessageError: located at ``path:row N`` as ``read_messages`` locates it.
    """
    messages: list[Message] = []
    numbers: list[int] = []
    for row in unsure.to_pylist():
        n = int(row.pop("n"))
        where = f"{path}:row {n - offset}"
        raw = parquet_message(row, where=where)
        messages.append(normalize(raw, received_at=received_at, path=where, trust_received_at=True))
        numbers.append(n)
    table = _messages_arrow(messages, 0)
    return table.set_column(0, "n", pa.array(numbers, type=pa.int64()))


# --- canonical JSON -----------------------------------------------------------------------------


def _canonical(text: str) -> str:
    return orjson.dumps(orjson.loads(text), option=orjson.OPT_SORT_KEYS).decode()


def _canonical_table(con: duckdb.DuckDBPyConnection, column: str, types: str) -> int:
    """``_shoal_canon_<column>(raw, canon)`` for every distinct visible text of ``column``."""
    raw = (
        con.sql(
            f"SELECT DISTINCT {column} AS raw FROM {_VISIBLE}"
            f" WHERE {column} IS NOT NULL AND type IN ({types})"
        )
        .to_arrow_table()
        .column(0)
    )
    canon = pa.chunked_array(
        [
            pa.array([_canonical(t) for t in chunk.to_pylist()], type=pa.string())
            for chunk in raw.chunks
        ],
        type=pa.string(),
    )
    con.register("_shoal_arrow", pa.table({"raw": raw, "canon": canon}))
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE _shoal_canon_{column} AS SELECT * FROM _shoal_arrow"
        )
    finally:
        con.unregister("_shoal_arrow")
    return len(raw)


# --- relations ----------------------------------------------------------------------------------

_VISIBLE = "_shoal_visible"
_OWNED = "_shoal_owned"
_EVENT_TYPES = "'track', 'page', 'screen'"


def build(
    con: duckdb.DuckDBPyConnection,
    *,
    as_of: datetime,
    rules: IdentityRules = DEFAULT_RULES,
    mapping_dir: Path | None = None,
    layout: Layout | None = None,
    cluster: bool = True,
) -> BulkReport:
    """Create the relations of ``relations.py`` from the staged messages visible at ``as_of``.

    Args:
        con: holds :data:`STAGED` (see :func:`load_parquet`, :func:`load_messages`).
        as_of: the evaluation instant (aware).
        rules: identity rules (as given to ``resolve``).
        mapping_dir: when given, the profile mapping is written there as
            ``identity_keys.parquet`` and ``identity_messages.parquet``, and the relations are
            joined with those files.
        layout: property and account-trait paths to promote: their typed columns are added to
            the events and the accounts
            (``layout.py``); compile with ``report.layout``, which holds their measured shapes.
        cluster: store the events sorted by ``event_name, ts`` (faster queries, slower build).
    """
    report = BulkReport()
    con.execute("SET TimeZone = 'UTC'")
    clock = time.perf_counter()

    def lap(step: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        report.seconds[step] = now - clock
        clock = now

    # A view cannot hold parameters; the instant is ours, printed by isoformat.
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW {_VISIBLE} AS SELECT * FROM {STAGED}"
        f" WHERE ts <= TIMESTAMPTZ '{as_of.isoformat()}'"
    )
    counted = con.execute(f"SELECT count(*) FROM {_VISIBLE}").fetchall()[0]
    report.messages = int(counted[0]) if counted else 0
    report.identity = _resolve_keys(con, source=_VISIBLE, rules=rules)
    if mapping_dir is not None:
        _round_trip_mapping(con, mapping_dir)
    _profiles(con, report.identity)
    lap("identity")
    report.canonical_texts = (
        _canonical_table(con, "properties", _EVENT_TYPES)
        + _canonical_table(con, "context", _EVENT_TYPES)
        + _canonical_table(con, "traits", "'identify', 'group'")
    )
    lap("canonical json")
    con.execute(
        f"""
        CREATE OR REPLACE TEMP VIEW {_OWNED} AS
        SELECT m.*, coalesce(mm.profile_id, km.profile_id) AS profile_id
        FROM {_VISIBLE} AS m
        LEFT JOIN {MESSAGE_MAP} AS mm ON mm.message_id = m.message_id
        LEFT JOIN {KEY_MAP} AS km ON km.ihash = {key_hash(rules, "m")}
        """
    )
    _events(con, layout, cluster)
    counted = con.execute(f"SELECT count(*) FROM {rel.EVENTS}").fetchall()[0]
    report.events = int(counted[0]) if counted else 0
    lap("events")
    _traits(con)
    _accounts(con)
    if layout is not None and layout.on(rel.ACCOUNTS).promoted:
        select = promotion(layout, DuckDBCompiler, relation=rel.ACCOUNTS).sql(dialect="duckdb")
        con.execute(f"CREATE OR REPLACE TABLE {rel.ACCOUNTS} AS {select}")
    if layout is not None and layout.promoted:
        shapes = con.execute(shape_stats(layout).sql(dialect="duckdb")).fetchall()[0]
        assert shapes is not None
        report.layout = layout.with_shapes(shapes)
    con.execute(f"CREATE OR REPLACE TABLE {rel.VALUES} ({_columns(rel.VALUES)})")
    lap("traits and accounts")
    return report


def _columns(name: str) -> str:
    return ", ".join(f"{c} {t}" for c, t in rel.COLUMNS[name])


def _profiles(con: duckdb.DuckDBPyConnection, run: IdentityRun) -> None:
    rows = run.profile_rows
    data = pa.table(
        {
            "profile_id": pa.array([r[0] for r in rows], type=pa.string()),
            "name": pa.array([r[1] for r in rows], type=pa.string()),
            "is_user": pa.array([r[2] for r in rows], type=pa.bool_()),
            "is_anonymous": pa.array([r[3] for r in rows], type=pa.bool_()),
        }
    )
    con.register("_shoal_arrow", data)
    try:
        con.execute(f"CREATE OR REPLACE TABLE {rel.PROFILES} AS SELECT * FROM _shoal_arrow")
    finally:
        con.unregister("_shoal_arrow")


def _events(con: duckdb.DuckDBPyConnection, layout: Layout | None, cluster: bool) -> None:
    con.execute(
        f"""
        CREATE OR REPLACE TEMP VIEW _shoal_events_plain AS
        SELECT o.n AS event_id, o.profile_id, o.message_id,
               timezone('UTC', o.ts) AS ts, timezone('UTC', o.received_at) AS received_at,
               CASE o.type WHEN 'track' THEN o.event WHEN 'page' THEN 'Page Viewed'
                    ELSE 'Screen Viewed' END AS event_name,
               CAST(coalesce(p.canon, '{{}}') AS JSON) AS properties,
               CAST(coalesce(c.canon, '{{}}') AS JSON) AS context
        FROM {_OWNED} AS o
        LEFT JOIN _shoal_canon_properties AS p ON p.raw = o.properties
        LEFT JOIN _shoal_canon_context AS c ON c.raw = o.context
        WHERE o.type IN ({_EVENT_TYPES}) AND o.profile_id IS NOT NULL
        """
    )
    select = "SELECT * FROM _shoal_events_plain"
    if layout is not None and layout.on(rel.EVENTS).promoted:
        # The promoted columns are computed in the same pass (one write of the table).
        source = sge.table_("_shoal_events_plain")
        select = promotion(layout, DuckDBCompiler, source).sql(dialect="duckdb")
    # Clustered by name then time, a query's `event('X')` and window filters skip whole row
    # groups (DuckDB's min/max zone maps); docs/storage.md measures it.
    order = " ORDER BY event_name, ts" if cluster else ""
    con.execute(f"CREATE OR REPLACE TABLE {rel.EVENTS} AS {select}{order}")
    con.execute("DROP VIEW _shoal_events_plain")


#: Latest value per (owner, key) by SEMANTICS order; a JSON null removes the key.
_FOLD = """
    SELECT {owner} AS owner, j.key AS key, j.value AS value
    FROM _shoal_owned AS o
    JOIN _shoal_canon_traits AS t ON t.raw = o.traits, json_each(CAST(t.canon AS JSON)) AS j
    WHERE {where}
    QUALIFY row_number() OVER (
        PARTITION BY {owner}, j.key
        ORDER BY o.ts DESC, o.received_at DESC, o.message_id DESC, o.n DESC) = 1
"""


def _traits(con: duckdb.DuckDBPyConnection) -> None:
    fold = _FOLD.format(
        owner="o.profile_id", where="o.type = 'identify' AND o.profile_id IS NOT NULL"
    )
    con.execute(
        f"""
        CREATE OR REPLACE TABLE {rel.TRAITS} AS
        SELECT owner AS profile_id, key, CAST(value AS JSON) AS value FROM ({fold})
        WHERE json_type(value) <> 'NULL'
        """
    )


def _group_where() -> str:
    return (
        "o.type = 'group' AND o.profile_id IS NOT NULL AND coalesce(o.group_id, '') <> ''"
        f" AND length(o.group_id) <= {MAX_GROUP_ID_CHARS}"
    )


def _accounts(con: duckdb.DuckDBPyConnection) -> None:
    fold = _FOLD.format(owner="o.group_id", where=_group_where())
    con.execute(
        f"""
        CREATE OR REPLACE TABLE {rel.LINKS} AS
        SELECT DISTINCT o.group_id, o.profile_id FROM {_OWNED} AS o WHERE {_group_where()}
        """
    )
    # Keys sorted (code point order, as json.dumps(sort_keys=True)); values already canonical.
    con.execute(
        f"""
        CREATE OR REPLACE TABLE {rel.ACCOUNTS} AS
        SELECT g.group_id,
               CAST('{{' || coalesce(string_agg(to_json(f.key) || ':' || f.value, ','
                                                ORDER BY f.key), '') || '}}' AS JSON) AS traits
        FROM (SELECT DISTINCT group_id FROM {rel.LINKS}) AS g
        LEFT JOIN ({fold}) AS f ON f.owner = g.group_id AND json_type(f.value) <> 'NULL'
        GROUP BY g.group_id
        """
    )


def _round_trip_mapping(con: duckdb.DuckDBPyConnection, directory: Path) -> None:
    """Write the profile mapping as Parquet and read the tables back from the files."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, file in ((KEY_MAP, "identity_keys"), (MESSAGE_MAP, "identity_messages")):
        path = directory / f"{file}.parquet"
        con.execute(f"COPY {name} TO '{_quote(path)}' (FORMAT parquet)")
        con.execute(
            f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM read_parquet('{_quote(path)}')"
        )


def _quote(path: Path) -> str:
    return str(path).replace("'", "''")


SPARK_INPUTS = (rel.EVENTS, rel.PROFILES, rel.TRAITS, rel.ACCOUNTS, rel.LINKS)
"""The relations a relations directory holds (``shoal_values`` is optional there)."""


def write_relations(
    con: duckdb.DuckDBPyConnection, directory: Path, *, names: Sequence[str] = SPARK_INPUTS
) -> dict[str, Path]:
    """Write relations as the *relations directory* the Spark engine reads
    (``spark_engine.py``, ``docs/spark.md``): ``<directory>/<relation>/part-0.parquet``, columns
    as in ``relations.COLUMNS``, times as UTC timestamps, JSON as text in the Spark encoding
    (keys sorted, every float with an exponent: ``spark_json``). Promoted columns stay behind.

    JSON texts are re-encoded once per distinct text, in Python; the rest is a DuckDB ``COPY``.
    """
    from shoal.engines.sql.spark_engine import spark_json

    out: dict[str, Path] = {}
    for name in names:
        columns = rel.COLUMNS[name]
        select: list[str] = []
        joins: list[str] = []
        for i, (column, kind) in enumerate(columns):
            if kind == "JSON":
                mapping = f"_shoal_spark_{i}"
                texts = (
                    con.sql(f"SELECT DISTINCT CAST({column} AS VARCHAR) FROM {name}")
                    .to_arrow_table()
                    .column(0)
                    .to_pylist()
                )
                data = pa.table(
                    {
                        "raw": pa.array(texts, type=pa.string()),
                        "text": pa.array(
                            [None if t is None else spark_json(t) for t in texts], type=pa.string()
                        ),
                    }
                )
                con.register("_shoal_arrow", data)
                con.execute(f"CREATE OR REPLACE TEMP TABLE {mapping} AS SELECT * FROM _shoal_arrow")
                con.unregister("_shoal_arrow")
                select.append(f"{mapping}.text AS {column}")
                joins.append(f" LEFT JOIN {mapping} ON {mapping}.raw = CAST(r.{column} AS VARCHAR)")
            elif kind == "TIMESTAMP":
                select.append(f"timezone('UTC', r.{column}) AS {column}")
            else:
                select.append(f"r.{column}")
        target = directory / name
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        path = target / "part-0.parquet"
        query = f"SELECT {', '.join(select)} FROM {name} AS r{''.join(joins)}"
        con.execute(f"COPY ({query}) TO '{_quote(path)}' (FORMAT parquet)")
        out[name] = target
    return out
