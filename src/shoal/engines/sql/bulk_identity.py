"""Identity resolution for the bulk path: the graph sees only what can change it.

:func:`shoal.identity.resolve` applies every message in time order. Most messages cannot change
the graph: once every identifier a message carries belongs to one profile, applying the same
identifiers again only moves a "last seen" time (the graph's fast path). So the bulk path groups
messages by their *identity key* (the exact fields ``identifiers_of`` reads: ``userId``,
``anonymousId``, ``context``, ``integrations``, an identify call's ``traits``, and ``properties``
when custom trait identifiers are configured) and applies, in SEMANTICS order:

- the first message of each key;
- every message of the keys in ``every`` (below), every alias call (its ``previousId`` is read
  against the graph of its time) and every message whose messageId is not unique (the resolver
  keys its answer by messageId, so the last one wins, as in ``resolve``).

After applying a key's first message, the key is *settled* when each of its identifiers that
passed the blocking rules belongs to the profile the message resolved to. Profiles only ever
join, so every later message of a settled key takes the fast path: it changes nothing and lands
in the same final profile. A key that is not settled (an identifier limit or a graph limit kept
an identifier out) may behave differently later, so it joins ``every`` and the run starts over,
until no unsettled key is left out: the graph then went through exactly the states the full
resolution goes through, and each message's final profile is the same.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb
import orjson
import pyarrow as pa

from shoal.engines.sql.prepare import USER_ID_TYPES
from shoal.identity import DEFAULT_RULES, IdentityGraph, IdentityRules, identifiers_of
from shoal.identity.graph import IdPair, ProfileId
from shoal.spec.message import Message

__all__ = ["KEY_MAP", "MESSAGE_MAP", "IdentityRun", "identity_key", "key_hash", "resolve_keys"]

KEY_MAP = "shoal_identity_keys"
"""``(ihash UBIGINT, profile_id VARCHAR)``: the final profile of every message of a settled key."""
MESSAGE_MAP = "shoal_identity_messages"
"""``(message_id VARCHAR, profile_id VARCHAR)``: final profiles of messages applied one by one
(they win over the key map)."""

_BATCH = 50_000
_CACHE = 20_000


def identity_key(rules: IdentityRules, alias: str = "") -> tuple[str, ...]:
    """SQL expressions over the staged messages (``bulk.STAGED_COLUMNS``, table alias ``alias``)
    that determine a message's identifiers: equal values give equal ``identifiers_of``."""
    m = f"{alias}." if alias else ""
    return (
        f"{m}user_id",
        f"{m}anonymous_id",
        f"CASE WHEN {m}type = 'identify' THEN {m}traits END",
        f"{m}context",
        f"{m}integrations",
        f"{m}properties" if rules.trait_identifiers else "NULL::VARCHAR",
    )


def key_hash(rules: IdentityRules, alias: str = "") -> str:
    """SQL: the 64-bit hash of the identity key (a collision is detected and refused, see
    :func:`resolve_keys`)."""
    return f"hash({', '.join(identity_key(rules, alias))})"


@dataclass(slots=True)
class IdentityRun:
    """What the identity step did (for reports and tests)."""

    keys: int = 0
    applied: int = 0
    """Messages applied to the graph in the last run."""
    rounds: int = 0
    every: int = 0
    """Keys whose every message had to be applied (not settled by their first one)."""
    profiles: int = 0
    seconds: float = 0.0
    profile_rows: list[tuple[str, str, bool, bool]] = field(default_factory=list)


def _load(text: str | None) -> dict[str, Any]:
    if text is None:
        return {}
    value = orjson.loads(text)
    return value if isinstance(value, dict) else {}


def _identifiers(
    row: tuple[Any, ...], rules: IdentityRules, parsed: dict[str, dict[str, Any]]
) -> list[IdPair]:
    """``identifiers_of`` a message holding just the key's fields (``parsed`` caches the JSON
    of texts many keys share, such as a device's context; ``identifiers_of`` only reads it)."""
    user_id, anonymous_id, traits, context, integrations, properties = row

    def load(text: str | None) -> dict[str, Any]:
        if text is None:
            return {}
        found = parsed.get(text)
        if found is None:
            if len(parsed) >= _CACHE:
                parsed.clear()  # bounded memory; shared texts (server contexts) come back
            found = parsed[text] = _load(text)
        return found

    stub = Message(
        type="identify" if traits is not None else "track",
        message_id="",
        timestamp=datetime.min,
        received_at=datetime.min,
        user_id=user_id,
        anonymous_id=anonymous_id,
        traits=_load(traits),
        context=load(context),
        integrations=load(integrations),
        properties=_load(properties),
    )
    return identifiers_of(stub, rules)


def _key_identifiers(
    con: duckdb.DuckDBPyConnection, rules: IdentityRules
) -> dict[int, tuple[IdPair, ...]]:
    """Identifiers of every key (those the blocking rules drop are left out)."""
    out: dict[int, tuple[IdPair, ...]] = {}
    parsed: dict[str, dict[str, Any]] = {}
    cur = con.execute("SELECT ihash, k1, k2, k3, k4, k5, k6 FROM _shoal_keys")
    while rows := cur.fetchmany(_BATCH):
        for ihash, *key in rows:
            pairs = _identifiers(tuple(key), rules, parsed)
            out[ihash] = tuple(p for p in pairs if p[1] and not rules.is_blocked(*p))
    return out


def _stage_keys(con: duckdb.DuckDBPyConnection, rules: IdentityRules, source: str) -> int:
    """``_shoal_keys``: one row per identity key with its first message (SEMANTICS order)."""
    key = identity_key(rules)
    cols = ", ".join(f"{expr} AS k{i}" for i, expr in enumerate(key, start=1))
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _shoal_keys AS
        SELECT ihash, k1, k2, k3, k4, k5, k6,
               arg_min(n, (ts, received_at, message_id, n)) AS first_n
        FROM (SELECT {key_hash(rules)} AS ihash, {cols}, ts, received_at, message_id, n
              FROM {source})
        GROUP BY ALL
        """
    )
    keys, hashes = con.execute(
        "SELECT count(*), count(DISTINCT ihash) FROM _shoal_keys"
    ).fetchall()[0]
    if keys != hashes:
        raise RuntimeError(
            f"identity key hash collision ({keys - hashes} of {keys}); use prepare() instead"
        )
    # Messages applied one by one whatever their key: aliases and repeated messageIds.
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _shoal_single AS
        SELECT n FROM {source} WHERE type = 'alias'
        UNION
        SELECT n FROM {source}
        WHERE message_id IN (SELECT message_id FROM {source} GROUP BY 1 HAVING count(*) > 1)
        """
    )
    return int(keys)


def _observations(
    con: duckdb.DuckDBPyConnection, rules: IdentityRules, source: str, every: set[int]
) -> Iterator[tuple[Any, ...]]:
    """``(ts, message_id, ihash, is_alias, previous_id, first, single)`` in SEMANTICS order:
    ``first`` marks a key's first message, ``single`` one applied for its own sake."""
    con.execute("CREATE OR REPLACE TEMP TABLE _shoal_every (ihash UBIGINT)")
    if every:
        con.executemany("INSERT INTO _shoal_every VALUES (?)", [(h,) for h in every])
    cur = con.execute(
        f"""
        WITH picked AS (
            SELECT first_n AS n, true AS first, false AS single FROM _shoal_keys
            WHERE ihash NOT IN (SELECT ihash FROM _shoal_every)
            UNION ALL
            SELECT n, false, false FROM {source}
            WHERE {key_hash(rules)} IN (SELECT ihash FROM _shoal_every)
            UNION ALL
            SELECT n, false, true FROM _shoal_single
        ), chosen AS (
            SELECT n, bool_or(first) AS first, bool_or(single) AS single FROM picked GROUP BY n
        )
        SELECT m.ts, m.message_id, {key_hash(rules, "m")}, m.type = 'alias', m.previous_id,
               c.first, c.single
        FROM {source} AS m JOIN chosen AS c USING (n)
        ORDER BY m.ts, m.received_at, m.message_id, m.n
        """
    )
    while rows := cur.fetchmany(_BATCH):
        yield from rows


def _run(
    con: duckdb.DuckDBPyConnection,
    rules: IdentityRules,
    source: str,
    every: set[int],
    ids: dict[int, tuple[IdPair, ...]],
) -> tuple[IdentityGraph, dict[int, ProfileId | None], dict[str, ProfileId | None], set[int], int]:
    graph = IdentityGraph(rules)
    observe = graph.observe
    profile_of = graph.profile_of
    by_key: dict[int, ProfileId | None] = {}
    by_message: dict[str, ProfileId | None] = {}
    unsettled: set[int] = set()
    applied = 0
    for ts, message_id, ihash, alias, previous_id, first, single in _observations(
        con, rules, source, every
    ):
        applied += 1
        pairs = ids[ihash]
        pid = observe(
            pairs,
            at=ts,
            message_id=message_id,
            alias=alias,
            previous_id=(previous_id or None) if alias else None,
        )
        if first and ihash not in every:
            by_key[ihash] = pid
            if pid is not None and any(profile_of(*p) != pid for p in pairs):
                unsettled.add(ihash)
        if single or not first or ihash in every:
            # Keyed by messageId, the later of two equal ids wins, as in resolve().
            by_message[message_id] = pid
    return graph, by_key, by_message, unsettled, applied


def resolve_keys(
    con: duckdb.DuckDBPyConnection,
    *,
    source: str,
    rules: IdentityRules = DEFAULT_RULES,
) -> IdentityRun:
    """Resolve the visible staged messages of ``source``; create :data:`KEY_MAP` and
    :data:`MESSAGE_MAP` as tables in ``con`` and return the profiles.

    ``source`` names a relation with the staged-message columns (``bulk.STAGED_COLUMNS``) that
    holds only visible messages.
    """
    started = time.perf_counter()
    report = IdentityRun()
    report.keys = _stage_keys(con, rules, source)
    ids = _key_identifiers(con, rules)
    every: set[int] = set()
    while True:
        report.rounds += 1
        graph, by_key, by_message, unsettled, applied = _run(con, rules, source, every, ids)
        if unsettled <= every:
            break
        every |= unsettled
    report.applied, report.every = applied, len(every)
    canonical = graph.canonical
    keys = [(h, canonical(p)) for h, p in by_key.items() if p is not None]
    messages = [(m, canonical(p)) for m, p in by_message.items() if p is not None]
    key_table = pa.table(
        {
            "ihash": pa.array([k for k, _ in keys], type=pa.uint64()),
            "profile_id": pa.array([p for _, p in keys], type=pa.string()),
        }
    )
    message_table = pa.table(
        {
            "message_id": pa.array([m for m, _ in messages], type=pa.string()),
            "profile_id": pa.array([p for _, p in messages], type=pa.string()),
        }
    )
    for name, data in ((KEY_MAP, key_table), (MESSAGE_MAP, message_table)):
        con.register("_shoal_arrow", data)
        con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM _shoal_arrow")
        con.unregister("_shoal_arrow")
    # Same rows as prepare(): SEMANTICS "the profile universe".
    for pid in graph.profiles():
        types = {t for t, _ in graph.pairs(pid)}
        is_user = bool(types & USER_ID_TYPES)
        report.profile_rows.append(
            (pid, graph.name(pid), is_user, not is_user and "anonymous_id" in types)
        )
    report.profiles = len(report.profile_rows)
    report.seconds = time.perf_counter() - started
    return report
