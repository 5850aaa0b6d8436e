"""The rules of :func:`shoal.spec.normalize.normalize`, written as one DuckDB SELECT.

The SQL only has to be right for the rows it accepts: every row it is not *sure* about (any field
rule broken, an odd spelling of a timestamp, a number that is not a plain integer, a line a strict
JSON parser might reject, a message near the size limit) gets ``ok = false`` and is re-judged by
``normalize`` itself in Python. So error codes and messages are the per-message path's by
construction, and the SQL stays a fast filter for the common, clean case.

Each source (a JSON Lines chunk, a Parquet batch) describes every message field as four SQL
expressions: its *kind* (NULL when absent or JSON null, ``'s'`` string, ``'i'`` plain integer,
``'o'`` object, ``'t'`` typed timestamp, ``'x'`` anything the SQL does not judge), its string
value, its JSON text (objects) and its typed value (timestamps).
"""

from __future__ import annotations

from dataclasses import dataclass

from shoal.spec.message import MESSAGE_TYPES
from shoal.spec.normalize import KNOWN_FIELDS, MAX_MESSAGE_ID_CHARS

FIELDS = KNOWN_FIELDS
"""The top-level keys normalize() knows; everything else goes to ``extra``."""

OBJECT_FIELDS = ("properties", "traits", "context", "integrations")
TIME_FIELDS = ("timestamp", "originalTimestamp", "sentAt", "receivedAt")
ID_FIELDS = ("userId", "anonymousId", "groupId", "previousId")
TEXT_FIELDS = ("event", "name", "category")

FAST_MAX_BYTES = 7_000
"""Above this the exact 32 KB check (on orjson's re-encoding, which can be ~4x longer for numbers
like ``1e15``) is left to Python."""

# Only the plainest ISO-8601 spelling, in years where DuckDB and datetime.fromisoformat surely
# agree; other spellings Python may still accept, so they go to the per-message path.
TIMESTAMP_RE = (
    r"(19|2[0-9])[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    r"T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?"
    r"(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])"
)
# DuckDB's JSON parser accepts NaN/Infinity and trailing commas; orjson (the Tracking API's
# parser) does not. Lines that might hold them are judged by orjson. False alarms (the text inside
# a string) only cost speed.
_NAN_RE = r"(?i)[:,\[]\s*[-+]?(nan|inf)"
_TRAILING_COMMA_RE = r",\s*[\]}]"


def lenient(x: str) -> str:
    """SQL: ``x`` may hold something only DuckDB's parser accepts (checked cheaply first)."""
    return (
        f"(CASE WHEN {x} ILIKE '%nan%' OR {x} ILIKE '%inf%'"
        f" THEN regexp_matches({x}, {sql_string(_NAN_RE)}) ELSE false END"
        f" OR regexp_matches({x}, {sql_string(_TRAILING_COMMA_RE)}))"
    )


# orjson refuses nesting deeper than 1024; DuckDB has no limit. Only long texts can be that deep.
_DEPTH_GUARD = (
    "(strlen({x}) < 2000 OR strlen({x}) - strlen(replace(replace({x}, '[', ''), '{{', '')) < 1000)"
)

OUTPUT_COLUMNS = (
    "message_id",
    "type",
    "event",
    "name",
    "category",
    "user_id",
    "anonymous_id",
    "group_id",
    "previous_id",
    "timestamp",
    "original_timestamp",
    "sent_at",
    "received_at",
    "properties",
    "traits",
    "context",
    "integrations",
    "extra",
)
"""The ``events`` columns a source row yields (all but ``seq`` and ``space``)."""


def sql_string(text: str) -> str:
    """A SQL string literal of a constant chosen by this module (never user input)."""
    return "'" + text.replace("'", "''") + "'"


DERIVED = "derived"
"""A field's typed time parsed from its string value (rather than a typed column)."""


@dataclass(frozen=True, slots=True)
class FieldSql:
    # Typed NULLs: an absent column must still bind to the functions used on present ones.
    kind: str = "NULL::VARCHAR"
    value: str = "NULL::VARCHAR"
    json: str = "NULL::VARCHAR"
    time: str = "NULL::TIMESTAMPTZ"


def depth_ok(expr: str) -> str:
    return _DEPTH_GUARD.format(x=expr)


def _time_of(kind: str, value: str) -> str:
    return (
        f"CASE WHEN {kind} = 's' AND regexp_full_match({value}, '{TIMESTAMP_RE}') "
        f"THEN TRY_CAST({value} AS TIMESTAMPTZ) END"
    )


# -- JSON Lines -----------------------------------------------------------------------------------
_PATHS = "[" + ", ".join(f"'$.\"{name}\"'" for name in FIELDS) + "]"
_NULL_PATCH = "{" + ",".join(f'"{name}":null' for name in FIELDS) + "}"


def jsonl_fields() -> tuple[str, dict[str, FieldSql], str, str]:
    """(FROM clause, fields, extra JSON expr, clean-row condition) over a ``(n, line)`` relation.

    The line is parsed once for the raw JSON of each known field (``_f``) and once for their
    unescaped strings (``_s``); ``_k`` are the top-level keys, to find extras and repeated keys.
    """
    parsed = f"""
        SELECT n, line, parse_ok,
          CASE WHEN parse_ok THEN CAST(json_extract(line, {_PATHS}) AS VARCHAR[]) END AS _f,
          CASE WHEN parse_ok THEN json_keys(line) END AS _k
        FROM (
          SELECT n, line,
            strlen(line) <= {FAST_MAX_BYTES} AND starts_with(line, '{{') AND json_valid(line)
              AND NOT {lenient("line")} AND {depth_ok("line")}
              AS parse_ok
          FROM _bulk_input
        )
    """
    # One column per field, so the rules below read columns instead of list elements.
    unpacked = ", ".join(f"_f[{i}] AS r{i}" for i in range(1, len(FIELDS) + 1))
    source = f"(SELECT *, {unpacked} FROM ({parsed}))"
    fields: dict[str, FieldSql] = {}
    for index, name in enumerate(FIELDS, start=1):
        raw = f"r{index}"
        # A JSON string without escapes is its text between the quotes; parse only the others.
        text = (
            f"(CASE WHEN contains({raw}, '\\') THEN json_extract_string({raw}, '$')"
            f" ELSE {raw}[2:-2] END)"
        )
        # starts_with, not raw[1]: the same test (in UTF-8 an ASCII mark is the first character
        # exactly when it is the first byte), without building a one-character string per field.
        is_string, is_object = f"starts_with({raw}, '\"')", f"starts_with({raw}, '{{')"
        kind = (
            f"(CASE WHEN {raw} IS NULL OR {raw} = 'null' THEN NULL"
            f" WHEN {is_string} THEN 's' WHEN {is_object} THEN 'o'"
            f" WHEN regexp_full_match({raw}, '-?[0-9]{{1,18}}') THEN 'i' ELSE 'x' END)"
        )
        value = (
            f"(CASE WHEN {is_string} THEN {text}"
            f" WHEN regexp_full_match({raw}, '-?[0-9]{{1,18}}')"
            f" THEN CAST(CAST({raw} AS BIGINT) AS VARCHAR) END)"
        )
        fields[name] = FieldSql(
            kind=kind,
            value=value,
            json=f"(CASE WHEN {is_object} THEN {raw} END)",
            time=DERIVED,
        )
    # Known fields present == keys present means no extras and no repeated key (orjson keeps the
    # last of repeated keys, DuckDB the first: such lines go to Python). A CASE, not an OR: DuckDB
    # evaluates both sides of an OR on every row, and list_distinct is the costly one.
    present = "list_count(_f)"
    clean = f"(CASE WHEN len(_k) = {present} THEN true ELSE len(_k) = len(list_distinct(_k)) END)"
    extra = (
        f"(CASE WHEN len(_k) > {present}"
        f" THEN json_merge_patch(line, {sql_string(_NULL_PATCH)}) END)"
    )
    return source, fields, extra, clean


# -- Parquet --------------------------------------------------------------------------------------
_INT_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER")
_EXTRA_TYPES = (*_INT_TYPES, "VARCHAR", "BOOLEAN", "DOUBLE")


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def parquet_fields(columns: dict[str, str]) -> tuple[str, dict[str, FieldSql], str, str]:
    """The same for an Arrow batch with the Parquet message columns (``columns``: name → type).

    Mirrors ``shoal.spec.importer.parquet_rows``: NULL is absent, JSON-text object columns are
    decoded (text ``null`` is absent), typed timestamps become ISO strings with their zone.
    """
    fields: dict[str, FieldSql] = {}
    sizes: list[str] = []
    for name in FIELDS:
        dtype = columns.get(name)
        if dtype is None:
            fields[name] = FieldSql()
            continue
        col = quote_ident(name)
        if dtype == "VARCHAR":
            sizes.append(f"coalesce(strlen({col}), 0)")
        if name in OBJECT_FIELDS:
            if dtype != "VARCHAR":
                fields[name] = FieldSql(kind=f"(CASE WHEN {col} IS NOT NULL THEN 'x' END)")
                continue
            # Text starting with "{" that DuckDB *and* orjson accept is an object. It is stored as
            # written (re-encoding every object would cost more than the rest of the row); only
            # short texts are minified, so an empty object "{ }" is recognised as empty.
            good = (
                f"starts_with({col}, '{{') AND json_valid({col})"
                f" AND NOT {lenient(col)} AND {depth_ok(col)}"
            )
            kind = (
                f"(CASE WHEN {col} IS NULL OR {col} = 'null' THEN NULL"
                f" WHEN {good} THEN 'o' ELSE 'x' END)"
            )
            text = (
                f"(CASE WHEN NOT starts_with({col}, '{{') THEN NULL"
                f" WHEN strlen({col}) > 16 THEN {col}"
                f" WHEN json_valid({col}) THEN CAST(json({col}) AS VARCHAR) END)"
            )
            fields[name] = FieldSql(kind=kind, json=text)
        elif dtype == "VARCHAR":
            kind = f"(CASE WHEN {col} IS NOT NULL THEN 's' END)"
            fields[name] = FieldSql(kind=kind, value=col, time=DERIVED)
        elif dtype in _INT_TYPES and name in ID_FIELDS:
            fields[name] = FieldSql(
                kind=f"(CASE WHEN {col} IS NOT NULL THEN 'i' END)",
                value=f"CAST({col} AS VARCHAR)",
            )
        elif dtype.startswith("TIMESTAMP WITH TIME ZONE") and name in TIME_FIELDS:
            fields[name] = FieldSql(kind=f"(CASE WHEN {col} IS NOT NULL THEN 't' END)", time=col)
        else:
            fields[name] = FieldSql(kind=f"(CASE WHEN {col} IS NOT NULL THEN 'x' END)")
    extras = [c for c in columns if c not in FIELDS and c != "n"]
    pairs = ", ".join(f"{sql_string(c)}, {quote_ident(c)}" for c in extras)
    extra = f"json_merge_patch('{{}}', json_object({pairs}))" if extras else "NULL::VARCHAR"
    # Nested values or other types in extra columns: Python decides how they are spelled.
    odd = [quote_ident(c) for c in extras if columns[c] not in _EXTRA_TYPES]
    clean_parts = [f"{c} IS NULL" for c in odd]
    size = " + ".join(sizes) or "0"
    clean_parts.append(f"({size}) + {40 * len(columns)} <= {FAST_MAX_BYTES}")
    clean = "(" + " AND ".join(clean_parts) + ")"
    source = "(SELECT *, true AS parse_ok FROM _bulk_input)"
    return source, fields, extra, clean


# -- the shared rules -----------------------------------------------------------------------------
def select_sql(source: str, f: dict[str, FieldSql], extra: str, clean: str) -> str:
    """``SELECT n, ok, <OUTPUT_COLUMNS>`` with the field rules of normalize().

    ``$now`` is the import time (``receivedAt`` of messages that carry none). Output columns are
    only meaningful where ``ok``.
    """
    types = ", ".join(sql_string(t) for t in MESSAGE_TYPES)
    # Each field's kind/value/JSON is computed once, in a layer of its own, and referred to by
    # name below (DuckDB would otherwise evaluate the inlined expressions many times over).
    names = {name: index for index, name in enumerate(FIELDS)}
    parts = []
    for name, index in names.items():
        parts.append(f"{f[name].kind} AS k{index}, {f[name].value} AS v{index}")
        parts.append(f"{f[name].json} AS j{index}")
    per_field = f"SELECT *, {', '.join(parts)} FROM {source}"
    times = ", ".join(
        (_time_of(f"k{names[n]}", f"v{names[n]}") if f[n].time == DERIVED else f[n].time)
        + f" AS t{names[n]}"
        for n in TIME_FIELDS
    )
    source = f"(SELECT *, {times} FROM ({per_field}))"
    f = {
        name: FieldSql(kind=f"k{i}", value=f"v{i}", json=f"j{i}", time=f"t{i}")
        for name, i in names.items()
    }

    def ident(name: str) -> str:
        k, v = f[name].kind, f[name].value
        return f"(CASE WHEN {k} = 's' THEN nullif({v}, '') WHEN {k} = 'i' THEN {v} END)"

    def text(name: str) -> str:
        return f"(CASE WHEN {f[name].kind} = 's' THEN {f[name].value} END)"

    mtype = text("type")
    conditions = [
        "parse_ok",
        clean,
        f"{f['type'].kind} = 's'",
        f"{mtype} IN ({types})",
        "(uid IS NOT NULL OR aid IS NOT NULL)",
        *(f"coalesce({f[n].kind}, 's') IN ('s', 'i')" for n in ID_FIELDS),
        *(f"coalesce({f[n].kind}, 's') = 's'" for n in TEXT_FIELDS),
        *(f"coalesce({f[n].kind}, 'o') = 'o'" for n in OBJECT_FIELDS),
        "(mtype <> 'track' OR coalesce(event, '') <> '')",
        "(mtype <> 'group' OR gid IS NOT NULL)",
        "(mtype <> 'alias' OR (pid IS NOT NULL AND uid IS NOT NULL))",
        f"({f['messageId'].kind} IS NULL OR ({f['messageId'].kind} = 's'"
        f" AND strlen({f['messageId'].value}) <= {MAX_MESSAGE_ID_CHARS}))",
        # normalize reads originalTimestamp only when timestamp is absent.
        f"(CASE WHEN {f['timestamp'].kind} IS NOT NULL THEN ts_raw IS NOT NULL"
        f" ELSE {f['originalTimestamp'].kind} IS NULL OR ts_raw IS NOT NULL END)",
        f"({f['sentAt'].kind} IS NULL OR sent IS NOT NULL)",
        f"({f['receivedAt'].kind} IS NULL OR recv IS NOT NULL)",
    ]
    message_id = f["messageId"]
    layer = f"""
      SELECT *,
        {mtype} AS mtype,
        {ident("userId")} AS uid, {ident("anonymousId")} AS aid,
        {ident("groupId")} AS gid, {ident("previousId")} AS pid,
        {text("event")} AS event, {text("name")} AS name_, {text("category")} AS category,
        CASE WHEN {f["timestamp"].kind} IS NOT NULL THEN {f["timestamp"].time}
             ELSE {f["originalTimestamp"].time} END AS ts_raw,
        {f["sentAt"].time} AS sent, {f["receivedAt"].time} AS recv,
        {f["properties"].json} AS props_in,
        CASE WHEN {message_id.kind} = 's' THEN nullif({message_id.value}, '') END AS mid
      FROM {source}
    """
    # NULL (a field absent from a line that did not parse) counts as "not sure".
    checked = f"SELECT *, coalesce(({' AND '.join(conditions)}), false) AS ok FROM ({layer})"
    # The page/screen name is readable as property('name') unless properties has one already.
    properties = """
      CASE WHEN mtype IN ('page', 'screen') AND name_ IS NOT NULL
             AND NOT coalesce(json_exists(props_in, '$.name'), false)
           THEN json_merge_patch(coalesce(props_in, '{}'), json_object('name', name_))
           ELSE props_in END
    """
    skew = "make_timestamp(epoch_us($now) - (epoch_us(sent) - epoch_us(ts_raw)))::TIMESTAMPTZ"
    objects = {n: f"nullif({f[n].json}, '{{}}')" for n in OBJECT_FIELDS if n != "properties"}
    return f"""
      SELECT n, ok,
        CASE WHEN ok THEN coalesce(mid, uuid()::VARCHAR) END AS message_id,
        mtype AS type, event, name_ AS name, category,
        uid AS user_id, aid AS anonymous_id, gid AS group_id, pid AS previous_id,
        CASE WHEN NOT ok THEN NULL
             WHEN recv IS NOT NULL THEN coalesce(ts_raw, recv)
             WHEN ts_raw IS NULL THEN $now
             WHEN sent IS NOT NULL THEN {skew}
             ELSE ts_raw END AS timestamp,
        ts_raw AS original_timestamp,
        sent AS sent_at,
        coalesce(recv, $now) AS received_at,
        CASE WHEN ok THEN nullif({properties}, '{{}}') END AS properties,
        {objects["traits"]} AS traits,
        {objects["context"]} AS context,
        {objects["integrations"]} AS integrations,
        CASE WHEN ok THEN nullif({extra}, '{{}}') END AS extra
      FROM ({checked})
    """
