"""The vectorised import stores exactly what the per-message path stores, and rejects the same."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shoal.clock import FrozenClock
from shoal.config import Settings
from shoal.errors import MessageError
from shoal.spec.importer import parquet_rows, parse_jsonl_chunk, read_messages
from shoal.spec.message import Message
from shoal.spec.normalize import normalize
from shoal.store.bulk import import_file
from shoal.store.store import Store

T = "2026-11-27T10:00:00.250Z"
S = "2026-11-27T10:00:05Z"
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")

# (line text, why it is there). Valid and invalid, one rule per line where possible.
CORPUS: list[tuple[str, str]] = [
    (
        '{"type":"track","event":"Order Completed","userId":"u1","messageId":"m1",'
        '"timestamp":"@T@","sentAt":"@S@","properties":{"total":12.5,"items":[1,2]},'
        '"context":{"ip":"1.2.3.4"}}',
        "valid track, skew-corrected",
    ),
    ('{"type":"track","event":"E","userId":42,"anonymousId":7,"messageId":"m2"}', "numeric ids"),
    ('{"type":"track","event":"E","anonymousId":7.5,"messageId":"m3"}', "float id"),
    ('{"type":"identify","userId":"ü-名","messageId":"m4","traits":{"name":"José 🐟"}}', "unicode"),
    ('{"type":"page","name":"Home","anonymousId":"a1","messageId":"m5"}', "page name copied"),
    (
        '{"type":"page","name":"Home","anonymousId":"a1","messageId":"m6",'
        '"properties":{"name":"Own","x":null}}',
        "page name kept",
    ),
    (
        '{"type":"screen","name":"","anonymousId":"a1","messageId":"m7","properties":{}}',
        "empty screen name copied",
    ),
    (
        '{"type":"group","userId":"u1","groupId":99,"messageId":"m8","traits":{"plan":"pro"}}',
        "group, numeric groupId",
    ),
    ('{"type":"group","userId":"u1","messageId":"m9"}', "missing_group_id"),
    ('{"type":"alias","userId":"u2","previousId":"a1","messageId":"m10"}', "alias"),
    ('{"type":"alias","userId":"u2","messageId":"m11"}', "missing_previous_id"),
    ('{"type":"alias","anonymousId":"a2","previousId":"a1","messageId":"m12"}', "missing_user_id"),
    ('{"type":"track","userId":"u1","messageId":"m13"}', "missing_event"),
    ('{"type":"track","event":"","userId":"u1","messageId":"m14"}', "empty event"),
    ('{"type":"track","event":"E","messageId":"m15"}', "no_user_anon_id"),
    ('{"type":"track","event":"E","userId":"","anonymousId":"","messageId":"m15b"}', "empty ids"),
    ('{"type":"track","event":"E","userId":true,"messageId":"m16"}', "boolean id"),
    ('{"type":"track","event":"E","userId":{"a":1},"messageId":"m17"}', "object id"),
    (
        '{"type":"track","event":"E","userId":"u","properties":[1,2],"messageId":"m18"}',
        "array properties",
    ),
    ('{"type":"track","event":"E","userId":"u","context":"x","messageId":"m19"}', "string context"),
    ('{"type":"launch","userId":"u","messageId":"m20"}', "unknown type"),
    ('{"userId":"u","messageId":"m21"}', "missing_type"),
    ('{"type":5,"userId":"u","messageId":"m21b"}', "numeric type"),
    (
        '{"type":"track","event":"E","userId":"u","timestamp":"2026-11-27T10:00:00",'
        '"messageId":"m22"}',
        "timestamp without zone",
    ),
    (
        '{"type":"track","event":"E","userId":"u","timestamp":"yesterday","messageId":"m23"}',
        "not a timestamp",
    ),
    (
        '{"type":"track","event":"E","userId":"u","timestamp":"2026-11-27T15:30:00+05:30",'
        '"sentAt":"2026-11-27T10:00:10Z","messageId":"m24"}',
        "offset and skew",
    ),
    (
        '{"type":"track","event":"E","userId":"u","timestamp":"@T@","sentAt":"@S@",'
        '"receivedAt":"2026-11-27T10:00:06Z","messageId":"m25"}',
        "trusted receivedAt",
    ),
    (
        '{"type":"track","event":"E","userId":"u","originalTimestamp":"@T@","messageId":"m26"}',
        "originalTimestamp",
    ),
    (
        '{"type":"track","event":"E","userId":"u","timestamp":null,"originalTimestamp":"@T@",'
        '"messageId":"m27"}',
        "null timestamp",
    ),
    (
        '{"type":"track","event":"E","userId":"u","messageId":"@X@"}',
        "message_id_too_long",
    ),
    ('{"type":"track","event":"E","userId":"u","messageId":5}', "numeric messageId"),
    ('{"type":"track","event":"E","userId":"u"}', "generated messageId"),
    ('{"type":"track","event":"E","userId":"u","messageId":""}', "empty messageId"),
    ('{"type":"track","event":"Again","userId":"u1","messageId":"m1"}', "duplicate of m1"),
    (
        '{"type":"track","event":"E","userId":"u","messageId":"m28","channel":"server",'
        '"version":2,"nested":{"a":[1,{"b":null}]},"nothing":null,"writeKey":"wk"}',
        "extra keys",
    ),
    ("{not json", "invalid JSON"),
    ("", "blank line"),
    ("   ", "whitespace line"),
    ("[1,2]", "not an object"),
    ('"text"', "a string"),
    (
        '{"type":"track","event":"E","userId":"u","messageId":"m29","properties":{"x":NaN}}',
        "NaN (DuckDB would accept it)",
    ),
    (
        '{"type":"track","event":"E","userId":"u","messageId":"m30","properties":{"x":[1,]}}',
        "trailing comma",
    ),
    (
        '{"type":"track","event":"E","userId":"first","userId":"last","messageId":"m31"}',
        "repeated key",
    ),
    (
        '{"type":"track","event":"Clicked \\"Buy\\" \\u00e9\\n","userId":"u","messageId":"m32"}',
        "escapes",
    ),
    (
        '{"type":"track","event":"E","userId":"u","messageId":"m33",'
        '"properties":{"big":123456789012345678901234,"f":1e2,"neg":-0.0,"t":true}}',
        "numbers",
    ),
    (
        '{"type":"track","event":"E","userId":123456789012345678901234,"messageId":"m34"}',
        "huge numeric id",
    ),
    (
        '{"type":"track","event":"E","userId":"u","messageId":"m35",'
        '"integrations":{"All":false},"context":{"a":{"b":{"c":{"d":[{"e":1}]}}}}}',
        "nested",
    ),
    ('{"type":"track","event":7,"userId":"u","messageId":"m36"}', "numeric event"),
    (
        '{"type":"track","event":"E","userId":"u","timestamp":12,"messageId":"m37"}',
        "numeric timestamp",
    ),
    ('{"type":"track","event":"E","userId":"u","sentAt":"soon","messageId":"m38"}', "bad sentAt"),
    (
        '{"type":"track","event":"E","userId":"u","timestamp":"2026-11-27T10:00:00.1234567Z",'
        '"messageId":"m39"}',
        "7 fraction digits",
    ),
    (
        '{"type":"track","event":"E","userId":"u","timestamp":"2026-11-27T10:00:00z",'
        '"messageId":"m40"}',
        "lower-case z",
    ),
    (
        '{"type":"track","event":"E","userId":"u","timestamp":"2026-02-30T10:00:00Z",'
        '"messageId":"m41"}',
        "no such day",
    ),
    ('  {"type":"track","event":"E","userId":"u","messageId":"m42"}  ', "padded"),
    ('{"type":"identify","userId":"u","messageId":"m43","receivedAt":"nope"}', "bad receivedAt"),
    ('{"type":"identify","userId":"u","messageId":"m1"}', "duplicate of m1 again"),
    (
        '{"type":"page","anonymousId":"a","name":null,"messageId":"m44","category":"Docs"}',
        "null name, category",
    ),
    (
        '{"type":"track","event":"E","userId":"u","timestamp":"2026-11-27T02:00:00.123456-08:00",'
        '"sentAt":"2026-11-27T10:00:01.5+00:00","messageId":"m45"}',
        "micros, negative offset",
    ),
    (
        '{"type":"identify","anonymousId":"a9","messageId":"m46",'
        '"traits":{"address":{"city":"Zürich"},"tags":["a","b"]}}',
        "anonymous identify",
    ),
    (
        '{"type":"page","anonymousId":"a9","name":"Docs","category":"Help","messageId":"m47",'
        '"properties":{"url":"https://x.test/?q=1&r=\\u00e9"}}',
        "page with category",
    ),
    ('{"type":"screen","userId":-17,"name":"Main","messageId":"m48"}', "negative int id"),
    (
        '{"type":"track","event":"E","userId":"u","messageId":"m49","integrations":{},'
        '"context":{"library":{"name":"analytics-python","version":"2.3.0"}}}',
        "empty integrations",
    ),
    (
        '{"type":"track","event":"E","userId":"u","messageId":"m50","timestamp":"@T@",'
        '"sentAt":"@S@","receivedAt":"2026-11-27T10:00:07.000001Z"}',
        "micro receivedAt",
    ),
    (
        '{"type":"track","event":"E","userId":"u","messageId":"m51","properties":{"x":-Infinity}}',
        "-Infinity",
    ),
    (
        '{"type":"track","event":"E","userId":"u","messageId":"m52","properties":{"a":[1 ,\t]}}',
        "trailing comma and whitespace",
    ),
    ('{"type":"track","event":"Nancy infinite","userId":"u","messageId":"m53"}', "nan in text"),
    (
        '{"type":"track","event":"E","userId":"u","x":1,"x":2,"messageId":"m54"}',
        "repeated extra key (orjson keeps the last)",
    ),
    (
        '{"type":"track","event":"E","userId":"a","channel":"web","userId":"b","messageId":"m55"}',
        "extra key and a repeated known key",
    ),
]
CORPUS = [
    (line.replace("@T@", T).replace("@S@", S).replace("@X@", "x" * 101), why)
    for line, why in CORPUS
]


def _store(data: Path, clock: FrozenClock) -> Store:
    return Store(Settings(data=data), clock)


def _comparable(messages: list[Message], given: set[str]) -> list[Message]:
    """Generated messageIds are random: compare their shape, not their value."""
    out = []
    for m in messages:
        if m.message_id not in given and _UUID.match(m.message_id):
            m = dataclasses.replace(m, message_id="<generated>")
        out.append(m)
    return out


def _given_ids() -> set[str]:
    ids = set()
    for line, _ in CORPUS:
        try:
            raw = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if isinstance(raw, dict) and isinstance(raw.get("messageId"), str):
            ids.add(raw["messageId"])
    return ids


def _errors(errors: list[MessageError]) -> list[dict[str, Any]]:
    return [e.to_dict() for e in errors]


@pytest.fixture
def jsonl(tmp_path: Path) -> Path:
    path = tmp_path / "corpus.jsonl"
    path.write_bytes(b"\n".join(line.encode() for line, _ in CORPUS) + b"\n")
    return path


def test_corpus_covers_the_rules() -> None:
    assert len(CORPUS) >= 25


def test_jsonl_matches_the_per_message_path(
    tmp_path: Path, jsonl: Path, clock: FrozenClock
) -> None:
    expected_store = _store(tmp_path / "a", clock)
    chunk = parse_jsonl_chunk(jsonl.read_bytes(), received_at=clock.now(), source=str(jsonl))
    expected_result = expected_store.append("default", chunk.messages)
    expected = list(expected_store.read_messages("default"))
    expected_store.close()

    store = _store(tmp_path / "b", clock)
    report = import_file(store, jsonl)
    got = list(store.read_messages("default"))

    given = _given_ids()
    assert _comparable(got, given) == _comparable(expected, given)
    assert _errors(report.errors) == _errors(chunk.errors)
    assert report.accepted == expected_result.accepted
    assert report.duplicates == expected_result.duplicates == 2
    assert report.rejected == len(chunk.errors)
    assert report.read == len(chunk.messages) + len(chunk.errors)
    assert 25 <= report.accepted < report.read
    store.close()


def test_reimport_stores_nothing_new(tmp_path: Path, jsonl: Path, clock: FrozenClock) -> None:
    store = _store(tmp_path / "d", clock)
    first = import_file(store, jsonl)
    before = list(store.read_messages("default"))
    again = import_file(store, jsonl)
    # Only messages with a generated messageId are new each time (as over the Tracking API).
    generated = sum(1 for m in before if m.message_id not in _given_ids())
    assert again.accepted == generated
    assert again.duplicates == first.accepted + first.duplicates - generated
    assert len(list(store.read_messages("default"))) == len(before) + generated
    seqs = [m.seq for m in store.read_messages("default")]
    assert seqs == list(range(1, len(seqs) + 1))
    store.close()


def test_bulk_rows_continue_the_log_and_dedupe_the_api(
    tmp_path: Path, jsonl: Path, clock: FrozenClock
) -> None:
    store = _store(tmp_path / "e", clock)
    api = normalize(
        {"type": "track", "event": "Before", "userId": "u", "messageId": "m2"},
        received_at=clock.now(),
    )
    assert store.append("default", [api]).accepted == 1
    report = import_file(store, jsonl)
    assert report.duplicates == 3  # m2 was already in the log, m1 twice in the file
    after = normalize(
        {"type": "track", "event": "After", "userId": "u", "messageId": "m5"},
        received_at=clock.now(),
    )
    assert store.append("default", [after]).duplicates == 1
    fresh = normalize(
        {"type": "track", "event": "After", "userId": "u", "messageId": "new"},
        received_at=clock.now(),
    )
    assert store.append("default", [fresh]).accepted == 1
    seqs = [m.seq for m in store.read_messages("default")]
    assert seqs == list(range(1, len(seqs) + 1))
    store.close()


def test_other_spaces_are_separate(tmp_path: Path, jsonl: Path, clock: FrozenClock) -> None:
    store = _store(tmp_path / "f", clock)
    store.create_space("other")
    first = import_file(store, jsonl)
    other = import_file(store, jsonl, space="other")
    assert other.accepted == first.accepted
    store.close()


def test_oversized_message_is_rejected(tmp_path: Path, clock: FrozenClock) -> None:
    path = tmp_path / "big.jsonl"
    big = {"type": "track", "event": "E", "userId": "u", "properties": {"x": "y" * 40_000}}
    small = {"type": "track", "event": "E", "userId": "u", "properties": {"x": "y" * 9_000}}
    path.write_bytes(orjson.dumps(big) + b"\n" + orjson.dumps(small) + b"\n")
    store = _store(tmp_path / "g", clock)
    report = import_file(store, path)
    assert report.accepted == 1
    assert [(e.code, e.location) for e in report.errors] == [("message_too_large", f"{path}:1")]
    store.close()


def test_progress_and_last_line_without_newline(tmp_path: Path, clock: FrozenClock) -> None:
    path = tmp_path / "tail.jsonl"
    data = b'{"type":"track","event":"E","userId":"u"}\n{"type":"page","anonymousId":"a"}'
    path.write_bytes(data)
    seen: list[int] = []
    store = _store(tmp_path / "h", clock)
    report = import_file(store, path, progress=seen.append)
    assert report.accepted == 2
    assert sum(seen) == len(data)
    store.close()


def test_invalid_utf8_line_is_reported(tmp_path: Path, clock: FrozenClock) -> None:
    path = tmp_path / "bytes.jsonl"
    path.write_bytes(
        b'{"type":"track","event":"\xff","userId":"u"}\n{"type":"page","anonymousId":"a"}\n'
    )
    store = _store(tmp_path / "i", clock)
    report = import_file(store, path)
    assert report.accepted == 1
    assert [(e.code, e.location) for e in report.errors] == [("invalid_json", f"{path}:1")]
    store.close()


# -- Parquet ------------------------------------------------------------------------------------
_STRING_COLUMNS = (
    "type",
    "messageId",
    "timestamp",
    "sentAt",
    "receivedAt",
    "userId",
    "anonymousId",
    "event",
    "name",
    "category",
    "groupId",
    "previousId",
)


def _parquet_rows() -> list[dict[str, Any]]:
    """The corpus as Parquet rows: scalars as text, objects (or whatever is there) as JSON."""
    rows = []
    for line, _ in CORPUS:
        try:
            raw = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if not isinstance(raw, dict):
            continue
        row: dict[str, Any] = {}
        for key in _STRING_COLUMNS:
            value = raw.get(key)
            row[key] = value if value is None or isinstance(value, str) else orjson.dumps(value)
            if isinstance(row[key], bytes):
                row[key] = row[key].decode()
        for key in ("properties", "traits", "context", "integrations"):
            row[key] = None if key not in raw else orjson.dumps(raw[key]).decode()
        row["channel"] = raw.get("channel")
        rows.append(row)
    rows.append({"type": "track", "event": "E", "userId": "u", "properties": "null"})
    rows.append({"type": "track", "event": "E", "userId": "u", "properties": '{"a": 1 }'})
    rows.append({"type": "track", "event": "E", "userId": "u", "properties": "{ }"})
    spaced = '{ "k" : "v" , "n": [1, 2] }'
    rows.append({"type": "page", "name": "N", "anonymousId": "a", "properties": spaced})
    return rows


def _expected_parquet(path: Path, store: Store) -> tuple[list[Message], list[MessageError], Any]:
    messages, errors = [], []
    for number, raw in enumerate(parquet_rows(path), start=1):
        try:
            messages.append(
                normalize(
                    raw,
                    received_at=store.clock.now(),
                    path=f"{path}:row {number}",
                    trust_received_at=True,
                )
            )
        except MessageError as exc:
            errors.append(exc)
    return messages, errors, store.append("default", messages)


def _check_parquet(tmp_path: Path, path: Path, clock: FrozenClock) -> None:
    expected_store = _store(tmp_path / "pa", clock)
    _, errors, result = _expected_parquet(path, expected_store)
    expected = list(expected_store.read_messages("default"))
    expected_store.close()
    store = _store(tmp_path / "pb", clock)
    report = import_file(store, path)
    got = list(store.read_messages("default"))
    given = _given_ids()
    assert _comparable(got, given) == _comparable(expected, given)
    assert _errors(report.errors) == _errors(errors)
    assert (report.accepted, report.duplicates) == (result.accepted, result.duplicates)
    assert report.accepted >= 25
    again = import_file(store, path)
    assert again.accepted == sum(1 for m in got if _UUID.match(m.message_id))
    store.close()


def test_parquet_with_text_timestamps_matches(tmp_path: Path, clock: FrozenClock) -> None:
    path = tmp_path / "corpus.parquet"
    pq.write_table(pa.Table.from_pylist(_parquet_rows()), path)
    _check_parquet(tmp_path, path, clock)


def test_parquet_with_typed_columns_matches(tmp_path: Path, clock: FrozenClock) -> None:
    from datetime import datetime

    rows = []
    for number, row in enumerate(_parquet_rows()):
        typed = dict(row)
        for key in ("timestamp", "sentAt", "receivedAt"):
            try:
                typed[key] = datetime.fromisoformat(row[key]) if row.get(key) else None
            except (TypeError, ValueError):
                typed[key] = None
            if typed[key] is not None and typed[key].tzinfo is None:
                typed[key] = None
        typed["userId"] = number if number % 3 == 0 else None
        typed["anonymousId"] = typed.get("anonymousId") or f"a{number}"
        rows.append(typed)
    ts = pa.timestamp("us", tz="UTC")
    fields = [
        (k, ts if k in ("timestamp", "sentAt", "receivedAt") else pa.int64())
        if k in ("timestamp", "sentAt", "receivedAt", "userId")
        else (k, pa.string())
        for k in rows[0]
    ]
    path = tmp_path / "typed.parquet"
    pq.write_table(pa.Table.from_pylist(rows, schema=pa.schema(fields)), path)
    _check_parquet(tmp_path, path, clock)


def test_parquet_bad_json_text_is_reported(tmp_path: Path, clock: FrozenClock) -> None:
    path = tmp_path / "bad.parquet"
    rows = [
        {"type": "track", "event": "E", "userId": "u", "properties": "{bad"},
        {"type": "track", "event": "E", "userId": "u", "properties": '{"ok":1}'},
    ]
    pq.write_table(pa.Table.from_pylist(rows), path)
    store = _store(tmp_path / "j", clock)
    report = import_file(store, path)
    assert report.accepted == 1
    assert [(e.code, e.location) for e in report.errors] == [
        ("invalid_json", f"{path}:row 1.properties")
    ]
    store.close()


def test_clean_rows_are_vectorised(tmp_path: Path, jsonl: Path, clock: FrozenClock) -> None:
    store = _store(tmp_path / "k", clock)
    report = import_file(store, jsonl)
    # Left to normalize(): the invalid lines, 2 blank ones, and 7 valid but unusual ones
    # (a float id, 3 lines with a repeated key, a huge id, 7 fraction digits, a padded line).
    assert report.per_message == report.rejected + 2 + 7
    store.close()


def test_commit_observers_see_imported_messages(
    tmp_path: Path, jsonl: Path, clock: FrozenClock
) -> None:
    store = _store(tmp_path / "l", clock)
    seen: list[tuple[str, str, int]] = []

    def listener(space: str, messages: list[Message], first_seq: int) -> None:
        seen.extend((space, m.message_id, first_seq + i) for i, m in enumerate(messages))

    store.writer.add_listener(listener)
    report = import_file(store, jsonl)
    stored = [(m.message_id, m.seq) for m in store.read_messages("default")]
    assert [(mid, seq) for _, mid, seq in seen] == stored
    assert len(stored) == report.accepted
    store.close()


def test_bulk_import_rejects_timestamps_outside_the_supported_years(tmp_path: Path) -> None:
    from shoal.clock import SystemClock
    from shoal.config import Settings
    from shoal.store.bulk import import_file
    from shoal.store.store import Store

    lines = [
        '{"type":"track","userId":"u","event":"E","messageId":"a","timestamp":"0001-01-01T00:00:00+01:00"}',
        '{"type":"track","userId":"u","event":"E","messageId":"b","timestamp":"2026-01-01T00:00:00Z"}',
    ]
    file = tmp_path / "in.jsonl"
    file.write_text("\n".join(lines) + "\n")
    store = Store(Settings(data=tmp_path / "d"), SystemClock())
    try:
        report = import_file(store, file)
        assert (report.accepted, report.rejected) == (1, 1)
        assert report.errors[0].code == "invalid_timestamp"
        assert [m.message_id for m in store.read_messages("default")] == ["b"]
    finally:
        store.close()


# -- clean chunks: one statement judges and stores them --------------------------------------------
def _synthetic(path: Path, n: int, seed: int = 1) -> Path:
    from bench.data import write_jsonl

    return write_jsonl(path, n, seed=seed)


def _stored(store: Store) -> list[Message]:
    return list(store.read_messages("default"))


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_a_clean_file_is_stored_directly_as_the_per_message_path_would(
    tmp_path: Path, clock: FrozenClock, fmt: str
) -> None:
    source = _synthetic(tmp_path / "clean.jsonl", 3_000)
    path = source
    if fmt == "parquet":
        from bench.ingest import _parquet_from_jsonl

        path = tmp_path / "clean.parquet"
        _parquet_from_jsonl(source, path)
    expected_store = _store(tmp_path / "a", clock)
    messages = list(read_messages(path, received_at=clock.now()))
    expected_store.append("default", messages)
    expected = _stored(expected_store)
    expected_store.close()

    store = _store(tmp_path / "b", clock)
    ticks: list[int] = []
    report = import_file(store, path, progress=ticks.append)
    got = _stored(store)
    assert report.direct == report.accepted == len(messages) == 3_000
    assert sum(ticks) == (path.stat().st_size if fmt == "jsonl" else 3_000)
    assert got == expected
    assert [m.seq for m in got] == list(range(1, 3_001))
    store.close()


def test_a_messageid_already_in_the_log_sends_the_chunk_the_general_way(
    tmp_path: Path, clock: FrozenClock
) -> None:
    store = _store(tmp_path / "c", clock)
    first = import_file(store, _synthetic(tmp_path / "one.jsonl", 500))
    assert first.direct == 500
    old = _stored(store)[7].message_id
    lines = _synthetic(tmp_path / "two.jsonl", 500, seed=2).read_bytes().splitlines()
    lines[100] = orjson.dumps({**orjson.loads(lines[100]), "messageId": old})
    second_file = tmp_path / "two-dup.jsonl"
    second_file.write_bytes(b"\n".join(lines) + b"\n")
    second = import_file(store, second_file)
    assert (second.direct, second.accepted, second.duplicates) == (0, 499, 1)
    stored = _stored(store)
    assert [m.seq for m in stored] == list(range(1, 1_000))
    assert [m.message_id for m in stored].count(old) == 1
    store.close()


def test_a_messageid_repeated_in_the_file_keeps_the_first(
    tmp_path: Path, clock: FrozenClock
) -> None:
    lines = _synthetic(tmp_path / "s.jsonl", 300).read_bytes().splitlines()
    first = orjson.loads(lines[10])
    lines[200] = orjson.dumps({**orjson.loads(lines[200]), "messageId": first["messageId"]})
    path = tmp_path / "repeat.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    store = _store(tmp_path / "d", clock)
    report = import_file(store, path)
    assert (report.direct, report.accepted, report.duplicates) == (0, 299, 1)
    kept = [m for m in _stored(store) if m.message_id == first["messageId"]]
    assert len(kept) == 1 and kept[0].seq == 11
    store.close()


def test_a_parquet_file_with_one_bad_row_stores_the_rest(
    tmp_path: Path, clock: FrozenClock
) -> None:
    from bench.ingest import _parquet_from_jsonl

    lines = _synthetic(tmp_path / "s.jsonl", 400).read_bytes().splitlines()
    lines[123] = orjson.dumps({**orjson.loads(lines[123]), "type": "bogus"})
    source = tmp_path / "bad.jsonl"
    source.write_bytes(b"\n".join(lines) + b"\n")
    path = tmp_path / "bad.parquet"
    _parquet_from_jsonl(source, path)
    store = _store(tmp_path / "e", clock)
    report = import_file(store, path)
    assert (report.direct, report.accepted, report.rejected) == (0, 399, 1)
    assert report.errors[0].location == f"{path}:row 124.type"
    assert [m.seq for m in _stored(store)] == list(range(1, 400))
    store.close()


def test_a_parquet_file_duckdb_cannot_take_whole_goes_in_chunks(
    tmp_path: Path, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    import duckdb
    from bench.ingest import _parquet_from_jsonl

    from shoal.store import bulk

    path = tmp_path / "s.parquet"
    _parquet_from_jsonl(_synthetic(tmp_path / "s.jsonl", 300), path)
    real = bulk._insert_clean
    calls: list[int | None] = []

    def failing_once(writer: Any, cur: Any, chunk: Any, space: str, now: Any) -> bool:
        calls.append(None if chunk.table is None else chunk.rows)
        if chunk.table is None:  # the whole-file statement fails (as it would, rolled back)
            raise duckdb.ConversionException("a type the rules did not foresee")
        return real(writer, cur, chunk, space, now)

    monkeypatch.setattr(bulk, "_insert_clean", failing_once)
    store = _store(tmp_path / "f", clock)
    report = import_file(store, path)
    assert calls == [None, 300]  # whole file first, then the chunk
    assert (report.accepted, report.direct, report.rejected) == (300, 300, 0)
    assert [m.seq for m in _stored(store)] == list(range(1, 301))
    store.close()
