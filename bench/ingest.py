"""Ingest benchmark: durable HTTP ingest vs parse-only, and bulk import vs raw DuckDB copies.

``python -m bench.ingest`` (``make bench``) runs, in one go and on loopback:

1. a real ``shoal serve --bench-endpoints`` subprocess, loaded by ``bench.loadgen`` (a process of
   its own) with 100-message batches over keep-alive connections: first ``/bench/parse-only``
   (everything ``/v1/batch`` does except storing), then ``/v1/batch``; afterwards ``shoal stats``
   must count exactly the acknowledged events;
2. ``import_file`` of generated JSON Lines and Parquet files into a fresh store, next to DuckDB
   copying the same files into a table with no validation at all, and the per-message path.

It prints a markdown table and appends it, dated and with the machine, to ``bench/RESULTS.md``.
Data is generated into a temporary directory and deleted afterwards.
"""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from bench.data import write_jsonl
from bench.machine import machine

RESULTS = Path(__file__).with_name("RESULTS.md")
_HEADER = """# Benchmark results

Appended by `python -m bench.ingest` (`make bench`); newest last. Each section is one run on one
machine: compare rows within a section, not across machines.
"""


@dataclass
class Row:
    what: str
    rate: float
    unit: str = "events/s"
    p50_ms: float | None = None
    p99_ms: float | None = None
    note: str = ""


# -- the server -----------------------------------------------------------------------------------
def _shoal(*args: str, timeout: float = 120) -> Any:
    out = subprocess.run(
        [sys.executable, "-m", "shoal", *args],
        check=True,
        capture_output=True,
        timeout=timeout,
    )
    return orjson.loads(out.stdout)


@contextlib.contextmanager
def serve(data: Path) -> Iterator[str]:
    """A ``shoal serve`` subprocess on a free port; yields its URL once it answers."""
    log = (data.parent / "server.log").open("wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "shoal",
            "serve",
            "--data",
            str(data),
            "--port",
            "0",
            "--bench-endpoints",
            "--log-level",
            "warning",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        url = _wait_for_server(data, proc)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _wait_for_server(data: Path, proc: subprocess.Popen[bytes]) -> str:
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"shoal serve exited with {proc.returncode}; see server.log")
        info = data / "server.json"
        if info.exists():
            with contextlib.suppress(OSError, ValueError, httpx.HTTPError):
                url = str(orjson.loads(info.read_bytes())["url"])
                httpx.get(url + "/openapi.json", timeout=2)
                return url
        time.sleep(0.05)  # polling for readiness, bounded by the deadline
    raise RuntimeError("shoal serve did not come up within 60 s")


def _load(url: str, key: str, seconds: float, connections: int, run_id: str) -> dict[str, Any]:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.loadgen",
            "--url",
            url,
            "--key",
            key,
            "--seconds",
            str(seconds),
            "--connections",
            str(connections),
            "--run-id",
            run_id,
        ],
        check=True,
        capture_output=True,
        timeout=seconds + 120,
        cwd=Path(__file__).parent.parent,
    )
    result: dict[str, Any] = orjson.loads(out.stdout)
    if result["errors"]:
        print(f"warning: {result['errors']} failed requests: {result['first_error']}")
    return result


def http_bench(tmp: Path, seconds: float, connections: int) -> tuple[list[Row], dict[str, Any]]:
    data = tmp / "serve-data"
    with serve(data) as url:
        key = _shoal("keys", "--json", "--data", str(data))[0]["write_key"]
        _load(url + "/bench/parse-only", key, min(2.0, seconds), connections, "warm")
        parse = _load(url + "/bench/parse-only", key, seconds, connections, "parse")
        durable = _load(url + "/v1/batch", key, seconds, connections, "durable")
        stats = _shoal("stats", "--data", str(data))
    ratio = durable["events_per_s"] / parse["events_per_s"] if parse["events_per_s"] else 0.0
    check = {
        "acked": durable["acked_events"],
        "stored": stats["events"],
        "equal": stats["events"] == durable["acked_events"],
    }
    note = f"{connections} conns, {durable['batch']}-event batches, {durable['body_bytes']} B"
    rows = [
        Row(
            "HTTP /bench/parse-only (baseline)",
            parse["events_per_s"],
            p50_ms=parse["p50_ms"],
            p99_ms=parse["p99_ms"],
            note=note,
        ),
        Row(
            "HTTP /v1/batch, durable",
            durable["events_per_s"],
            p50_ms=durable["p50_ms"],
            p99_ms=durable["p99_ms"],
            note=f"{ratio:.0%} of parse-only; stats {stats['events']:,} = acked "
            f"{durable['acked_events']:,}: {check['equal']}",
        ),
    ]
    return rows, check


# -- bulk import ----------------------------------------------------------------------------------
def _parquet_from_jsonl(jsonl: Path, parquet: Path) -> None:
    """The ``shoal synth`` layout: typed UTC timestamps, objects as JSON text."""
    import duckdb

    con = duckdb.connect()
    objects = ("properties", "traits", "context", "integrations")
    strings = ("type", "messageId", "userId", "anonymousId", "event", "name", "groupId")
    columns = {c: "VARCHAR" for c in strings} | {c: "JSON" for c in objects}
    columns |= {"timestamp": "VARCHAR", "sentAt": "VARCHAR"}
    spec = "{" + ", ".join(f"'{k}': '{v}'" for k, v in columns.items()) + "}"
    select = ", ".join(
        [f'"{c}"' for c in strings]
        + [f'CAST("{c}" AS TIMESTAMPTZ) AS "{c}"' for c in ("timestamp", "sentAt")]
        + [f'CAST("{c}" AS VARCHAR) AS "{c}"' for c in objects]
    )
    con.execute(
        f"COPY (SELECT {select} FROM read_ndjson('{jsonl}', columns = {spec})) "
        f"TO '{parquet}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 100000)"
    )
    con.close()


def _timed(fn: Any) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def _raw_copy(source_sql: str, db: Path) -> float:
    import duckdb

    con = duckdb.connect(str(db))
    try:
        return _timed(lambda: con.execute(f"CREATE TABLE t AS SELECT * FROM {source_sql}"))
    finally:
        con.close()


def _import(path: Path, data: Path) -> tuple[float, Any]:
    from shoal.clock import SystemClock
    from shoal.config import Settings
    from shoal.store.bulk import import_file
    from shoal.store.store import Store

    store = Store(Settings(data=data), SystemClock())
    try:
        started = time.perf_counter()
        report = import_file(store, path)
        return time.perf_counter() - started, report
    finally:
        store.close()


def _per_message(path: Path, data: Path) -> float:
    """The old path: orjson + normalize per line, then the writer (as ``/admin/import`` does)."""
    from shoal.clock import SystemClock
    from shoal.config import Settings
    from shoal.spec.importer import parse_jsonl_chunk
    from shoal.store.store import Store

    store = Store(Settings(data=data), SystemClock())
    try:
        started = time.perf_counter()
        with path.open("rb") as handle:
            while chunk := handle.read(8 << 20):
                chunk += handle.readline()
                parsed = parse_jsonl_chunk(chunk, received_at=store.clock.now())
                store.append("default", parsed.messages)
        return time.perf_counter() - started
    finally:
        store.close()


def import_bench(tmp: Path, events: int, per_message_events: int) -> list[Row]:
    jsonl = write_jsonl(tmp / "events.jsonl", events)
    parquet = tmp / "events.parquet"
    _parquet_from_jsonl(jsonl, parquet)
    rows: list[Row] = []
    raw_json = _raw_copy(f"read_ndjson_objects('{jsonl}')", tmp / "raw-json.duckdb")
    rows.append(Row("DuckDB read_ndjson_objects → table (baseline)", events / raw_json))
    seconds, report = _import(jsonl, tmp / "import-jsonl")
    assert report.accepted == events, report.to_dict()
    rows.append(
        Row(
            "shoal import JSONL (vectorised)",
            events / seconds,
            note=f"{events:,} events, {jsonl.stat().st_size / 1e6:.0f} MB; "
            f"{events / raw_json / (events / seconds):.1f}x the raw copy's time",
        )
    )
    raw_parquet = _raw_copy(f"read_parquet('{parquet}')", tmp / "raw-parquet.duckdb")
    rows.append(Row("DuckDB read_parquet → table (baseline)", events / raw_parquet))
    seconds, report = _import(parquet, tmp / "import-parquet")
    assert report.accepted == events, report.to_dict()
    rows.append(
        Row(
            "shoal import Parquet (vectorised)",
            events / seconds,
            note=f"{events:,} events, {parquet.stat().st_size / 1e6:.0f} MB; "
            f"{events / raw_parquet / (events / seconds):.1f}x the raw copy's time",
        )
    )
    if per_message_events:
        small = write_jsonl(tmp / "small.jsonl", per_message_events, seed=2)
        seconds = _per_message(small, tmp / "per-message")
        rows.append(
            Row(
                "per-message path JSONL (old import)",
                per_message_events / seconds,
                note=f"{per_message_events:,} events",
            )
        )
    return rows


# -- report ---------------------------------------------------------------------------------------
def table(rows: list[Row]) -> str:
    def ms(value: float | None) -> str:
        return "" if value is None else f"{value:.1f}"

    lines = [
        "| measure | rate | p50 ms | p99 ms | notes |",
        "|---|---:|---:|---:|---|",
    ]
    lines += [
        f"| {r.what} | {r.rate:,.0f} {r.unit} | {ms(r.p50_ms)} | {ms(r.p99_ms)} | {r.note} |"
        for r in rows
    ]
    return "\n".join(lines)


def append_results(path: Path, text: str, args: argparse.Namespace) -> None:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    mode = " (--quick)" if args.quick else ""
    section = (
        f"\n## {stamp}{mode}\n\nMachine: {machine(load=True)}. Load generator: `bench.loadgen`, "
        f"{args.connections} connections, {args.seconds:g} s per endpoint. "
        f"Import: {args.events:,} events.\n\n{text}\n"
    )
    if not path.exists():
        path.write_text(_HEADER)
    with path.open("a") as handle:
        handle.write(section)


def main(argv: list[str] | None = None) -> list[Row]:
    parser = argparse.ArgumentParser(description="Shoal ingest benchmark")
    parser.add_argument("--quick", action="store_true", help="A short smoke run.")
    parser.add_argument("--seconds", type=float, help="Load per endpoint [20; quick 3].")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--events", type=int, help="Events per import file [1M; quick 20k].")
    parser.add_argument("--per-message-events", type=int, help="[100k; quick 5k].")
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--skip-import", action="store_true")
    parser.add_argument("--results", type=Path, default=RESULTS, help="Markdown file to append.")
    args = parser.parse_args(argv)
    args.seconds = args.seconds or (3.0 if args.quick else 20.0)
    args.events = args.events or (20_000 if args.quick else 1_000_000)
    if args.per_message_events is None:
        args.per_message_events = 5_000 if args.quick else 100_000
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="shoal-bench-") as name:
        tmp = Path(name)
        if not args.skip_http:
            http_rows, check = http_bench(tmp, args.seconds, args.connections)
            rows += http_rows
            print(
                f"shoal stats events = {check['stored']:,}; acknowledged = {check['acked']:,}"
                f" → {'OK' if check['equal'] else 'MISMATCH'}"
            )
        if not args.skip_import:
            rows += import_bench(tmp, args.events, args.per_message_events)
    text = table(rows)
    print(text)
    append_results(args.results, text, args)
    return rows


if __name__ == "__main__":
    main()
