"""Batch engine benchmark (`python -m bench.batch`): compiled definitions vs hand-written SQL.

For each size (``--sizes 1M,10M,50M`` by default) it:

1. generates `shoal synth` data (90 days; sizes above 10M as several 10M shards with their own
   seeds, so generation memory stays bounded) into a temporary directory;
2. builds the SQL engine's relations with the bulk path (``engines/sql/bulk.py``) in a DuckDB
   file, with the chosen layout's promoted columns (``engines/sql/layout.py``);
3. builds the hand-written world: ``typed_events`` / ``typed_accounts`` (typed columns);
4. runs every definition of ``bench/batch_cases.py`` three ways, each materialised into a temp
   table and timed (best of ``--repeat``, more runs for a query of milliseconds, fewer for one
   over 10 s): Shoal's compiled SQL over the plain JSON relations,
   the same with the promoted layout, and the hand-written query over typed columns; checks
   that all three give the same members / values; samples peak RSS during the runs;
5. optionally (pyspark installed, size <= ``--spark-max``) writes the relations directory and
   runs the compiled Spark SQL on a local session.

It prints a markdown report and appends it to ``bench/RESULTS.md`` (``--no-record`` to skip).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import psutil

from bench.batch_cases import CASES, TYPED_TABLES, BatchCase
from bench.machine import machine
from shoal import lang
from shoal.engines.sql import bulk
from shoal.engines.sql import relations as rel
from shoal.engines.sql.compiler import Target
from shoal.engines.sql.dialects import DuckDBCompiler
from shoal.engines.sql.layout import Layout, Promoted, compiler_for
from shoal.lang import ast
from shoal.synth import SynthConfig, write_file

END = datetime(2026, 11, 28, tzinfo=UTC)
AS_OF = END
DAYS = 90
MESSAGES_PER_USER = 71.1
"""What `shoal synth` generates per user over 90 days (measured: 20,000 users → 1.42M)."""
SHARD_MESSAGES = 10_000_000
SIZES = {"1M": 1_000_000, "10M": 10_000_000, "50M": 50_000_000}
RESULTS = Path(__file__).parent / "RESULTS.md"


# --- small helpers --------------------------------------------------------------------------------


def parse_size(text: str) -> int:
    """``1M``, ``250k``, ``50000`` → a number of messages."""
    text = text.strip().upper()
    scale = {"K": 1_000, "M": 1_000_000}.get(text[-1:], 1)
    return int(float(text.rstrip("KM")) * scale)


def label(size: int) -> str:
    if size >= 1_000_000 and size % 1_000_000 == 0:
        return f"{size // 1_000_000}M"
    if size >= 1_000 and size % 1_000 == 0:
        return f"{size // 1_000}k"
    return str(size)


def load_average() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


class PeakRss:
    """Samples this process's RSS every 10 ms while active (DuckDB runs outside the GIL)."""

    def __init__(self) -> None:
        self.process = psutil.Process()
        self.peak = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            self._stop.wait(0.01)

    @contextmanager
    def watch(self) -> Iterator[None]:
        self._stop.clear()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        try:
            yield
        finally:
            self._stop.set()
            self._thread.join()
            self.peak = max(self.peak, self.process.memory_info().rss)


def timed(fn: Callable[[], Any], repeat: int, budget: float = 10.0) -> float:
    """Best of ``repeat`` runs; a query of a few milliseconds runs until ``budget`` / 50 s
    have passed (at most 10 x ``repeat`` times), since a scheduler hiccup is as long as it is;
    a slow one stops once ``budget`` seconds have been spent (after one run at least)."""
    best = float("inf")
    spent = 0.0
    runs = 0
    while runs < repeat or (spent < budget / 50 and runs < 10 * repeat):
        started = time.perf_counter()
        fn()
        took = time.perf_counter() - started
        best, spent, runs = min(best, took), spent + took, runs + 1
        if spent >= budget:
            break
    return best


# --- data -----------------------------------------------------------------------------------------


def generate(size: int, directory: Path) -> list[Path]:
    """`shoal synth` files holding about ``size`` messages (10M-message shards)."""
    shards = max(1, -(-size // SHARD_MESSAGES))
    users = max(1, round(size / MESSAGES_PER_USER / shards))
    paths = []
    for shard in range(shards):
        path = directory / f"synth-{shard}.parquet"
        write_file(SynthConfig(users, DAYS, 101 + shard, END), path)
        paths.append(path)
    return paths


def layout_for(cases: tuple[BatchCase, ...]) -> Layout:
    """The chosen layout: promote every property path the saved definitions read."""
    return Layout.for_definitions(definition(c) for c in cases)


def definition(case: BatchCase) -> ast.Definition:
    return lang.compile_definition(case.query, kind=case.kind, target=case.target)


# --- one size -------------------------------------------------------------------------------------


@dataclass
class CaseResult:
    name: str
    default_s: float
    layout_s: float
    hand_s: float
    same: bool
    rows: int
    peak_mb: float
    spark_s: float | None = None
    spark_same: bool | None = None


@dataclass
class SizeResult:
    size: int
    messages: int = 0
    events: int = 0
    profiles: int = 0
    steps: dict[str, float] = field(default_factory=dict)
    identity: str = ""
    build_peak_mb: float = 0.0
    cases: list[CaseResult] = field(default_factory=list)
    spark_note: str = ""


def _literals() -> dict[str, str]:
    def ts(moment: datetime) -> str:
        return f"TIMESTAMP '{moment.replace(tzinfo=None).isoformat(sep=' ')}'"

    return {
        "now": ts(AS_OF),
        **{f"d{n}": ts(AS_OF - timedelta(days=n)) for n in (7, 30, 90)},
    }


def _same(con: duckdb.DuckDBPyConnection, case: BatchCase, shoal: str, hand: str) -> bool:
    """Whether a Shoal result table (``entity_id, value, integral``) answers like the hand
    query's table (members, or values within 1e-9 relative error)."""
    if case.compare == "members":
        got = f"SELECT entity_id FROM {shoal} WHERE value"
        want = f"SELECT entity_id FROM {hand}"
        diff = con.execute(
            f"SELECT (SELECT count(*) FROM ({got} EXCEPT {want})),"
            f" (SELECT count(*) FROM ({want} EXCEPT {got}))"
        ).fetchall()[0]
        return diff == (0, 0)
    if case.compare == "number":
        differ = "abs(s.value - h.value) > 1e-9 * greatest(1, abs(h.value))"
    else:
        differ = "s.value <> h.value"
    bad = con.execute(
        f"SELECT count(*) FROM (SELECT * FROM {shoal} WHERE value IS NOT NULL) AS s"
        f" FULL JOIN {hand} AS h USING (entity_id)"
        f" WHERE s.value IS NULL OR h.value IS NULL OR {differ}"
    ).fetchall()[0]
    return bad == (0,)


def run_cases(
    con: duckdb.DuckDBPyConnection, layout: Layout, repeat: int, rss: PeakRss
) -> list[CaseResult]:
    targets: dict[str, Target] = {c.name: c.target for c in CASES}
    literals = _literals()
    out = []
    for case in CASES:
        d = definition(case)
        times: dict[str, float] = {}
        rss.peak = 0
        with rss.watch():
            for variant, chosen in (("default", None), ("layout", layout)):
                compiler = compiler_for(DuckDBCompiler, chosen, now=AS_OF, definitions=targets)
                sql = compiler.sql(compiler.compile(d), pretty=False)
                table = f"r_{case.name}_{variant}"
                times[variant] = timed(
                    lambda sql=sql, table=table: con.execute(
                        f"CREATE OR REPLACE TEMP TABLE {table} AS {sql}"
                    ),
                    repeat,
                )
            hand = case.hand.format(**literals)
            times["hand"] = timed(
                lambda hand=hand, case=case: con.execute(
                    f"CREATE OR REPLACE TEMP TABLE h_{case.name} AS {hand}"
                ),
                repeat,
            )
        same = all(
            _same(con, case, f"r_{case.name}_{v}", f"h_{case.name}") for v in ("default", "layout")
        )
        rows = con.execute(f"SELECT count(*) FROM h_{case.name}").fetchall()[0]
        if case.kind == "trait":
            # Later definitions read it by key (runner._store writes the same rows).
            con.execute(
                f"INSERT INTO {rel.VALUES} SELECT '{case.target}', entity_id, '{case.name}',"
                f" to_json(value) FROM r_{case.name}_default WHERE value IS NOT NULL"
            )
        out.append(
            CaseResult(
                case.name,
                times["default"],
                times["layout"],
                times["hand"],
                same,
                int(rows[0]) if rows else 0,
                rss.peak / 2**20,
            )
        )
        print(
            f"  {case.name:28s} default {times['default']:7.3f}s  layout {times['layout']:7.3f}s"
            f"  hand {times['hand']:7.3f}s  same={same}",
            flush=True,
        )
    return out


def run_spark(
    con: duckdb.DuckDBPyConnection, directory: Path, result: SizeResult, memory: str
) -> None:
    """Compiled Spark SQL on a local session over the relations directory (forced with the
    ``noop`` sink); answers compared with DuckDB's default run."""
    from shoal.engines import Members, Request, Values
    from shoal.engines.sql.dialects import SparkCompiler
    from shoal.engines.sql.spark_engine import SparkEngine

    started = time.perf_counter()
    bulk.write_relations(con, directory)
    write_s = time.perf_counter() - started
    engine = SparkEngine(conf={"spark.driver.memory": memory})
    requests = [Request(name=c.name, definition=definition(c)) for c in CASES]
    started = time.perf_counter()
    outcomes = engine.evaluate_relations(directory, requests, as_of=AS_OF)
    all_s = time.perf_counter() - started
    targets: dict[str, Target] = {c.name: c.target for c in CASES}
    by_name = {c.name: c for c in result.cases}
    for case in CASES:
        outcome = outcomes[case.name]
        table = f"r_{case.name}_default"
        name = "'group_id:' || r.entity_id" if case.target == "accounts" else "p.name"
        join = (
            ""
            if case.target == "accounts"
            else " JOIN shoal_profiles AS p ON p.profile_id = r.entity_id"
        )
        if isinstance(outcome, Members):
            rows = con.execute(f"SELECT {name} FROM {table} AS r{join} WHERE r.value").fetchall()
            same = sorted(r[0] for r in rows) == list(outcome.names)
        elif isinstance(outcome, Values):
            rows = con.execute(
                f"SELECT {name} FROM {table} AS r{join} WHERE r.value IS NOT NULL"
            ).fetchall()
            same = sorted(r[0] for r in rows) == sorted(outcome.values)
        else:
            same = False
        compiler = SparkCompiler(now=AS_OF, definitions=targets)
        sql = compiler.sql(compiler.collectable(compiler.compile(definition(case))), pretty=False)
        spark_s = timed(
            lambda sql=sql: engine.spark.sql(sql).write.format("noop").mode("overwrite").save(), 1
        )
        by_name[case.name].spark_s = spark_s
        by_name[case.name].spark_same = same
    result.spark_note = (
        f"Spark local[*]: relations directory written in {write_s:.1f} s; all {len(CASES)} "
        f"definitions through `SparkEngine.evaluate_relations` in {all_s:.1f} s (answers compared "
        "with DuckDB by member names / valued profiles); per-definition times are the compiled "
        "query alone, run once after that pass (warm session), forced with the `noop` sink. The "
        f"JVM (spark.driver.memory {memory}) is not in the peak RSS column."
    )


def run_size(size: int, args: argparse.Namespace, work: Path) -> SizeResult:
    result = SizeResult(size)
    rss = PeakRss()
    print(f"== {label(size)} messages", flush=True)
    built = work / "build.json"
    if built.exists():
        # A kept build (--keep): the relations and typed tables are already in the file.
        saved = json.loads(built.read_text())
        for name in ("messages", "events", "profiles", "steps", "identity", "build_peak_mb"):
            setattr(result, name, saved[name])
        con = duckdb.connect(str(work / "bench.duckdb"))
        con.execute(f"SET memory_limit = '{args.memory_limit}'")
        con.execute(f"SET temp_directory = '{work / 'spill'}'")
        layout = Layout(tuple(Promoted(s, tuple(p), x, a, o) for s, p, x, a, o in saved["layout"]))
        con.execute(f"DELETE FROM {rel.VALUES}")  # the traits the last run wrote, written again
        print(f"  reused the build in {work}", flush=True)
    else:
        con, layout = build_size(size, args, work, result, rss)
        built.write_text(
            json.dumps(
                {
                    "messages": result.messages,
                    "events": result.events,
                    "profiles": result.profiles,
                    "steps": result.steps,
                    "identity": result.identity,
                    "build_peak_mb": result.build_peak_mb,
                    "layout": [
                        [p.source, p.path, p.prefix, p.arrays, p.objects] for p in layout.promoted
                    ],
                }
            )
        )
    result.cases = run_cases(con, layout, args.repeat, rss)
    if args.spark and size <= args.spark_max:
        if importlib.util.find_spec("pyspark") is None:
            result.spark_note = "Spark: n/a (pyspark not installed)"
        else:
            try:
                run_spark(con, work / "relations", result, args.spark_memory)
            except ImportError as exc:
                result.spark_note = f"Spark: n/a ({exc})"
    elif args.spark:
        result.spark_note = f"Spark: not run above {label(args.spark_max)} messages (--spark-max)"
    con.close()
    return result


def build_size(
    size: int, args: argparse.Namespace, work: Path, result: SizeResult, rss: PeakRss
) -> tuple[duckdb.DuckDBPyConnection, Layout]:
    """Generate ``size`` messages and build the relations and typed tables in ``work``."""
    layout = layout_for(CASES)
    with rss.watch():
        started = time.perf_counter()
        paths = generate(size, work)
        result.steps["generate"] = time.perf_counter() - started
        con = duckdb.connect(str(work / "bench.duckdb"))
        con.execute(f"SET memory_limit = '{args.memory_limit}'")
        con.execute(f"SET temp_directory = '{work / 'spill'}'")
        started = time.perf_counter()
        result.messages = bulk.load_parquet(con, paths, received_at=END)
        result.steps["stage"] = time.perf_counter() - started
        for path in paths:
            path.unlink()  # the staged table holds them now
        report = bulk.build(con, as_of=AS_OF, layout=layout)
        result.steps.update(report.seconds)
        result.events = report.events
        result.profiles = report.identity.profiles
        result.identity = (
            f"{report.identity.keys:,} identity keys, {report.identity.applied:,} messages applied "
            f"to the graph, {report.identity.rounds} round(s), {report.identity.every:,} key(s) "
            "unsettled by their first message (all their messages applied)"
        )
        con.execute(f"DROP TABLE {bulk.STAGED}")
        started = time.perf_counter()
        for statement in TYPED_TABLES:
            con.execute(statement)
        result.steps["typed tables (baseline ETL)"] = time.perf_counter() - started
        con.execute("CHECKPOINT")
    result.build_peak_mb = rss.peak / 2**20
    print(f"  built: {result.steps}", flush=True)
    assert report.layout is not None  # the layout with its shapes measured on this data
    return con, report.layout


# --- report ---------------------------------------------------------------------------------------


def _s(seconds: float | None) -> str:
    if seconds is None:
        return "n/a"
    return f"{seconds:.3f}" if seconds < 10 else f"{seconds:.1f}"


def report(results: list[SizeResult], args: argparse.Namespace, load_start: str) -> str:
    layout = layout_for(CASES)
    promoted = ", ".join(f"`{p.source}.{'.'.join(p.path)}`" for p in layout.promoted)
    lines = [
        f"## Batch engine (bench.batch) — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"Machine: {machine()}; DuckDB {duckdb.__version__}, memory_limit {args.memory_limit}. "
        f"Load average {load_start} at the start, {load_average()} at the end (other work on "
        "the machine skews the numbers).",
        "",
        f"`python -m bench.batch --sizes {args.sizes} --repeat {args.repeat}`. `shoal synth` "
        f"data over {DAYS} days, as of its end. Times are the best of {args.repeat} (a query "
        "under 0.2 s: of as many runs as fit in 0.2 s, up to 10x; a query over 10 s: once), "
        "each query materialised into a temp table. *default*: compiled SQL over the JSON "
        "relations; "
        f"*layout*: the same definitions compiled against promoted columns ({promoted}); "
        "*hand*: hand-written DuckDB SQL over typed columns, same run. *same*: all three give "
        "identical members / values. Peak RSS is the process's during that definition's runs.",
        "",
        "### Building the relations (bulk path)",
        "",
        "| messages | events | profiles | step seconds | total s | messages/s | peak RSS MB |",
        "|---:|---:|---:|---|---:|---:|---:|",
    ]
    for r in results:
        steps = "; ".join(f"{k} {v:.1f}" for k, v in r.steps.items())
        build = sum(v for k, v in r.steps.items() if k not in ("generate",) and "typed" not in k)
        lines.append(
            f"| {r.messages:,} | {r.events:,} | {r.profiles:,} | {steps} | {build:.1f} | "
            f"{r.messages / build:,.0f} | {r.build_peak_mb:,.0f} |"
        )
    lines += ["", *(f"- {label(r.size)}: {r.identity}." for r in results)]
    for r in results:
        lines += [
            "",
            f"### {label(r.size)} messages ({r.events:,} events)",
            "",
            "| definition | default s | layout s | hand s | layout / hand | default / hand | "
            "same | rows | peak RSS MB | Spark s |",
            "|---|---:|---:|---:|---:|---:|---|---:|---:|---:|",
        ]
        for c in r.cases:
            spark = _s(c.spark_s)
            if c.spark_same is False:
                spark += " (differs)"
            lines.append(
                f"| {c.name} | {_s(c.default_s)} | {_s(c.layout_s)} | {_s(c.hand_s)} | "
                f"{c.layout_s / c.hand_s:.2f} | {c.default_s / c.hand_s:.2f} | "
                f"{'yes' if c.same else '**NO**'} | {c.rows:,} | {c.peak_mb:,.0f} | {spark} |"
            )
        total = [sum(getattr(c, f) for c in r.cases) for f in ("default_s", "layout_s", "hand_s")]
        lines.append(
            f"| **all** | {_s(total[0])} | {_s(total[1])} | {_s(total[2])} | "
            f"{total[1] / total[2]:.2f} | {total[0] / total[2]:.2f} | | | | |"
        )
        if r.spark_note:
            lines += ["", r.spark_note]
    if len(results) > 1:
        sizes = [label(r.size) for r in results]
        lines += [
            "",
            "### Growth: seconds per million events (layout / hand)",
            "",
            "| definition | " + " | ".join(sizes) + " |",
            "|---|" + "---:|" * len(results),
        ]
        for i, case in enumerate(CASES):
            cells = [
                f"{r.cases[i].layout_s / (r.events / 1e6):.3f} / "
                f"{r.cases[i].hand_s / (r.events / 1e6):.3f}"
                for r in results
            ]
            lines.append(f"| {case.name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> list[SizeResult]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1M,10M,50M", help="comma-separated message counts")
    parser.add_argument("--repeat", type=int, default=3, help="runs per query (best is kept)")
    parser.add_argument("--memory-limit", default="8GB", help="DuckDB memory_limit")
    parser.add_argument("--spark", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--spark-max", type=parse_size, default=50_000_000)
    parser.add_argument(
        "--spark-memory", default="12g", help="spark.driver.memory of the local session"
    )
    parser.add_argument("--workdir", type=Path, default=None, help="default: a temp dir")
    parser.add_argument(
        "--keep",
        type=Path,
        default=None,
        help="build each size in KEEP/<size> and keep it; a kept build is reused",
    )
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--no-record", action="store_true", help="do not append to RESULTS.md")
    args = parser.parse_args(argv)
    sizes = [parse_size(s) for s in args.sizes.split(",") if s.strip()]
    load_start = load_average()
    results = []
    for size in sizes:
        if args.keep is not None:
            work = args.keep / label(size)
            work.mkdir(parents=True, exist_ok=True)
            results.append(run_size(size, args, work))
            continue
        work = Path(tempfile.mkdtemp(prefix="shoal-bench-batch-", dir=args.workdir))
        try:
            results.append(run_size(size, args, work))
        finally:
            shutil.rmtree(work, ignore_errors=True)
    text = report(results, args, load_start)
    print(text)
    if not args.no_record:
        with args.results.open("a") as handle:
            handle.write("\n" + text)
    return results


if __name__ == "__main__":
    main()
