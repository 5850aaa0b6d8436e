"""The bulk relation builder gives exactly the relations of ``prepare()``.

Rows are compared whole; JSON texts by their parsed structure *with key order* (both sides sort
keys, which compiled queries rely on). ``event_id`` differs in numbering only: events are
compared in SEMANTICS order with ``event_id`` as the last tie-break, so equal times must be
ordered alike.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shoal.engines.sql import bulk
from shoal.engines.sql import relations as rel
from shoal.engines.sql.prepare import Prepared, prepare
from shoal.errors import MessageError
from shoal.identity import IdentityRules, Limit, resolve
from shoal.spec.importer import read_messages
from shoal.spec.message import Message
from shoal.synth import SynthConfig, write_file
from tests.cases import STREAMS_DIR

END = datetime(2026, 11, 28, tzinfo=UTC)
RECEIVED = END + timedelta(hours=1)
AS_OF = END - timedelta(days=3)


def _json(text: str) -> Any:
    return json.loads(text, object_pairs_hook=lambda pairs: [list(p) for p in pairs])


def _row(row: tuple[Any, ...], json_at: tuple[int, ...]) -> tuple[Any, ...]:
    return tuple(
        json.dumps(_json(v)) if i in json_at and v is not None else v for i, v in enumerate(row)
    )


def from_prepared(p: Prepared) -> dict[str, list[tuple[Any, ...]]]:
    events = sorted(p.events, key=lambda r: (r[3], r[4], r[2], r[0]))
    return {
        rel.EVENTS: [_row(r[1:], (5, 6)) for r in events],
        rel.PROFILES: sorted(p.profiles),
        rel.TRAITS: sorted(_row(r, (2,)) for r in p.traits),
        rel.ACCOUNTS: sorted(_row(r, (1,)) for r in p.accounts),
        rel.LINKS: sorted(p.links),
    }


def from_duckdb(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple[Any, ...]]]:
    def rows(sql: str) -> list[tuple[Any, ...]]:
        return con.execute(sql).fetchall()

    events = rows(
        "SELECT profile_id, message_id, ts, received_at, event_name, properties, context"
        f" FROM {rel.EVENTS} ORDER BY ts, received_at, message_id, event_id"
    )
    return {
        rel.EVENTS: [_row(r, (5, 6)) for r in events],
        rel.PROFILES: sorted(rows(f"SELECT * FROM {rel.PROFILES}")),
        rel.TRAITS: sorted(_row(r, (2,)) for r in rows(f"SELECT * FROM {rel.TRAITS}")),
        rel.ACCOUNTS: sorted(_row(r, (1,)) for r in rows(f"SELECT * FROM {rel.ACCOUNTS}")),
        rel.LINKS: sorted(rows(f"SELECT * FROM {rel.LINKS}")),
    }


def assert_same(got: dict[str, Any], want: dict[str, Any]) -> None:
    for name in want:
        assert len(got[name]) == len(want[name]), name
        for a, b in zip(got[name], want[name], strict=True):
            assert a == b, f"{name}\nbulk:    {a}\nprepare: {b}"


def bulk_of(
    messages: list[Message], as_of: datetime, rules: IdentityRules | None = None
) -> tuple[duckdb.DuckDBPyConnection, bulk.BulkReport]:
    con = duckdb.connect()
    bulk.load_messages(con, messages)
    report = bulk.build(con, as_of=as_of, rules=rules or IdentityRules())
    return con, report


def prepared(messages: list[Message], as_of: datetime, rules: IdentityRules) -> Prepared:
    visible = [m for m in messages if m.timestamp <= as_of]
    return prepare(messages, as_of=as_of, resolution=resolve(visible, rules=rules, as_of=as_of))


@pytest.fixture(scope="module")
def synth_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bulk") / "synth.parquet"
    write_file(SynthConfig(users=300, days=30, seed=5, end=END), path)
    return path


def test_synth_parquet_matches_prepare(synth_file: Path, tmp_path: Path) -> None:
    con = duckdb.connect()
    staged = bulk.load_parquet(con, [synth_file], received_at=RECEIVED)
    report = bulk.build(con, as_of=AS_OF, mapping_dir=tmp_path / "map")
    messages = list(read_messages(synth_file, received_at=RECEIVED))
    assert staged == len(messages)
    assert_same(from_duckdb(con), from_prepared(prepare(messages, as_of=AS_OF)))
    # Far fewer messages reach the identity graph than there are.
    assert report.identity.applied < report.messages / 5
    assert report.events > 0 and report.identity.every == 0
    mapping = pq.read_table(tmp_path / "map" / "identity_keys.parquet")
    assert mapping.column_names == ["ihash", "profile_id"]
    assert mapping.num_rows == report.identity.keys


def test_limits_that_bind_fall_back_to_every_message(synth_file: Path) -> None:
    """One anonymous id per profile and tiny graph caps: many keys are not settled by their
    first message, so their every message is applied, and the answer is still prepare()'s."""
    rules = IdentityRules(limits={"anonymous_id": Limit(1)}, max_identifiers=3, max_merges=1)
    messages = list(read_messages(synth_file, received_at=RECEIVED))
    con, report = bulk_of(messages, AS_OF, rules)
    assert report.identity.every > 0 and report.identity.rounds >= 2
    assert_same(from_duckdb(con), from_prepared(prepared(messages, AS_OF, rules)))


def test_rows_left_to_normalize(tmp_path: Path) -> None:
    """Rows the SQL rules are unsure about (here: large, unusual spellings) are normalised by
    ``normalize``; an invalid row fails like ``read_messages``."""
    big = {"blob": "x" * 9000, "b": 1, "a": {"d": 2, "c": 1}}
    rows = [
        {"type": "track", "messageId": "m1", "timestamp": "2024-06-01T10:00:00Z",
         "userId": "u1", "event": "A", "properties": json.dumps({"p": 1})},
        {"type": "track", "messageId": "m2", "timestamp": "2024-06-01T11:00:00+02:00",
         "userId": "u1", "event": "A", "properties": json.dumps(big)},
        {"type": "page", "messageId": "m3", "timestamp": "2024-06-01T12:00:00.5Z",
         "anonymousId": "a1", "name": "Home", "properties": None},
        {"type": "identify", "messageId": "m4", "timestamp": "2024-06-01T12:30:00Z",
         "userId": "u7", "anonymousId": "a1", "properties": "{ }"},
    ]  # fmt: skip
    keys = ["type", "messageId", "timestamp", "userId", "anonymousId", "event", "name"]
    schema = pa.schema([(k, pa.string()) for k in [*keys, "properties"]])
    path = tmp_path / "odd.parquet"
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)
    con = duckdb.connect()
    assert bulk.load_parquet(con, [path], received_at=RECEIVED) == 4
    bulk.build(con, as_of=NOW)
    messages = list(read_messages(path, received_at=RECEIVED))
    assert_same(from_duckdb(con), from_prepared(prepare(messages, as_of=NOW)))
    bad = tmp_path / "bad.parquet"
    invalid = {"type": "track", "messageId": "m9", "userId": "u1"}  # no event name
    pq.write_table(pa.Table.from_pylist([*rows, invalid], schema=schema), bad)
    with pytest.raises(MessageError) as err:
        bulk.load_parquet(duckdb.connect(), [path, bad], received_at=RECEIVED)
    assert err.value.location == f"{bad}:row 5.event"


@pytest.mark.parametrize("stream", ["identity", "accounts", "shop", "skew", "traits"])
@pytest.mark.parametrize("as_of", ["2024-06-30T12:00:00+00:00", "2024-06-20T00:00:00+00:00"])
def test_corpus_streams_match_prepare(stream: str, as_of: str) -> None:
    at = datetime.fromisoformat(as_of)
    messages = list(read_messages(STREAMS_DIR / f"{stream}.jsonl", received_at=RECEIVED))
    con, _ = bulk_of(messages, at)
    assert_same(from_duckdb(con), from_prepared(prepare(messages, as_of=at)))


def test_write_relations_as_the_spark_engine_does(synth_file: Path, tmp_path: Path) -> None:
    """The relations directory equals ``spark_engine.write_relations(prepare(...))``, event ids
    aside (a cluster job reads either)."""
    from shoal.engines.sql.spark_engine import write_relations

    con = duckdb.connect()
    bulk.load_parquet(con, [synth_file], received_at=RECEIVED)
    bulk.build(con, as_of=AS_OF)
    ours = bulk.write_relations(con, tmp_path / "bulk")
    messages = list(read_messages(synth_file, received_at=RECEIVED))
    theirs = write_relations(prepare(messages, as_of=AS_OF), tmp_path / "prepare")
    assert sorted(ours) == sorted(bulk.SPARK_INPUTS)
    for name, directory in ours.items():
        got = pq.read_table(directory)
        want = pq.read_table(theirs / name)
        assert got.schema.names == want.schema.names == [c for c, _ in rel.COLUMNS[name]]
        for field in want.schema:
            assert got.schema.field(field.name).type == field.type, (name, field)
        keep = [c for c in want.schema.names if c != "event_id"]
        assert sorted(got.select(keep).to_pylist(), key=repr) == sorted(
            want.select(keep).to_pylist(), key=repr
        ), name


# --- random streams: duplicates, aliases, merges, group calls, future messages -----------------

NOW = datetime(2024, 6, 30, 12, tzinfo=UTC)
_ids = st.sampled_from([("u1", None), ("u2", "a1"), (None, "a1"), (None, "a2"), ("u3", "a2")])
_values = st.sampled_from([1, "x", None, {"b": 1, "a": [2, {"d": 1, "c": 0}]}, [3], True])


@st.composite
def streams(draw: st.DrawFn) -> list[Message]:
    out: list[Message] = []
    for i in range(draw(st.integers(0, 14))):
        user_id, anonymous_id = draw(_ids)
        at = NOW - timedelta(hours=draw(st.sampled_from([0, 0, 1, 30, -1])))
        kind = draw(st.sampled_from(["track", "track", "page", "identify", "group", "alias"]))
        extra: dict[str, Any] = {}
        if kind == "alias":
            user_id = user_id or "u9"
            extra["previous_id"] = draw(st.sampled_from(["a1", "a2", "u1"]))
        elif kind == "identify":
            extra["traits"] = {"t": draw(_values), "email": draw(st.sampled_from(["e@x", None]))}
        elif kind == "group":
            extra["group_id"] = draw(st.sampled_from(["g1", "g2"]))
            extra["traits"] = {"plan": draw(_values)}
        elif kind == "track":
            extra["event"] = "A"
            extra["properties"] = {"p": draw(_values), "o": {"z": 1, "y": 2}}
        else:
            extra["name"] = "Home"
            extra["properties"] = {"name": "Home"} if draw(st.booleans()) else {}
        out.append(
            Message(
                type=kind,
                # A small pool: the same messageId may come twice (the resolver keys by it).
                message_id=f"m{draw(st.integers(0, 9 if i % 3 else 99))}",
                timestamp=at,
                received_at=at + timedelta(seconds=draw(st.integers(0, 1))),
                user_id=user_id,
                anonymous_id=anonymous_id,
                **extra,
            )
        )
    return out


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messages=streams(), tight=st.booleans())
def test_random_streams_match_prepare(messages: list[Message], tight: bool) -> None:
    rules = IdentityRules(limits={"anonymous_id": Limit(1)}) if tight else IdentityRules()
    con, _ = bulk_of(messages, NOW, rules)
    assert_same(from_duckdb(con), from_prepared(prepared(messages, NOW, rules)))
