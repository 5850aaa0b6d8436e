"""Storage layout study (`python -m bench.layout`): what reading a property costs.

Over the events of a `shoal synth` dataset (built with the bulk path, as `bench.batch` does)
it times four property reads, each written the way the compiler writes it (SEMANTICS coercions:
a price may be ``129.99`` or ``"129.99"``), over several storages of the same data:

- ``json``: the ``properties`` JSON column, JSON Pointer extraction (the compiler today);
- ``varchar``: the same text in a VARCHAR column (DuckDB's JSON type is VARCHAR underneath);
- ``json, plain cast``: JSON extraction without the coercion rules (``TRY_CAST(->> AS DOUBLE)``),
  to separate parsing from the rules;
- ``struct``: properties parsed once into a STRUCT (``json_transform``, every field VARCHAR so
  mixed types survive) and the rules applied to the field;
- ``promoted``: the layout's typed columns (``engines/sql/layout.py``);
- ``typed table``: a hand-made table with DOUBLE/VARCHAR columns (the baseline).

and, for the promoted layout, the physical order of the events table (as loaded, i.e. by time,
versus sorted by ``event_name, ts``). Prints a markdown section; appends it to
``bench/RESULTS.md`` unless ``--no-record``.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import sqlglot.expressions as sge

from bench.batch import (
    AS_OF,
    CASES,
    END,
    RESULTS,
    TYPED_TABLES,
    _literals,
    definition,
    generate,
    label,
    layout_for,
    load_average,
    parse_size,
    timed,
)
from bench.machine import machine
from shoal.engines.sql import bulk
from shoal.engines.sql.dialects import DuckDBCompiler
from shoal.engines.sql.layout import Layout, compiler_for, shape_stats
from shoal.engines.sql.values import Val

NOW = datetime(2026, 11, 28, tzinfo=UTC)


def views(table: str, path: str) -> dict[str, str]:
    """The compiler's numeric view, string form and text view of ``table.properties``'
    ``path``."""
    compiler = DuckDBCompiler(now=NOW)
    v = Val(compiler.json_get(sge.column("properties", table=table), (path,)), "json")
    num, text = compiler.num(v), compiler.text(v)
    assert num is not None and text is not None
    return {
        "num": num.sql("duckdb"),
        "form": compiler.string_form(v).sql("duckdb"),
        "text": text.sql("duckdb"),
    }


def queries(table: str, price: str, category: str, product: str, profile: str) -> list[str]:
    """Four property reads over ``table`` given SQL for the price's numeric view, the
    category's string form and the product's text view."""
    viewed = f"{table}.event_name = 'Product Viewed'"
    return [
        f"SELECT count(*) FROM {table} WHERE {viewed} AND coalesce({price} > 100, false)",
        f"SELECT {profile}, sum({price}) FROM {table} WHERE {viewed} GROUP BY 1",
        f"SELECT {profile}, {category}, count(*) FROM {table} WHERE {viewed} GROUP BY 1, 2",
        f"SELECT count(*) FROM {table} AS v JOIN {table} AS a ON a.profile_id = v.profile_id"
        f" AND {product.replace(table + '.', 'a.')} = {product.replace(table + '.', 'v.')}"
        " AND a.ts BETWEEN v.ts AND v.ts + INTERVAL 1 DAY"
        f" WHERE {viewed.replace(table + '.', 'v.')} AND a.event_name = 'Product Added'",
    ]


def materialise(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    con.execute(f"CREATE OR REPLACE TEMP TABLE study_result AS {sql}")


QUERY_NAMES = (
    "filter: price > 100",
    "sum(price) per profile",
    "group by category",
    "join on product_id (funnel core)",
)


def access_variants(con: duckdb.DuckDBPyConnection, layout: Layout) -> dict[str, list[str]]:
    promoted = {"/".join(p.path): p for p in layout.promoted}
    e = "shoal_events"
    json_views = {k: views(e, k) for k in ("price", "category", "product_id")}
    con.execute(
        "CREATE OR REPLACE TABLE study_varchar AS SELECT profile_id, ts, event_name,"
        " CAST(properties AS VARCHAR) AS properties FROM shoal_events"
    )
    varchar_views = {k: views("study_varchar", k) for k in ("price", "category", "product_id")}
    fields = "{" + ", ".join(f'"{k}": "VARCHAR"' for k in ("price", "category", "product_id")) + "}"
    con.execute(
        "CREATE OR REPLACE TABLE study_struct AS SELECT profile_id, ts, event_name,"
        f" json_transform(properties, '{fields}') AS p FROM shoal_events"
    )
    num_pattern = r"[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?"
    struct_price = (
        f"CASE WHEN regexp_full_match(study_struct.p.price, '{num_pattern}')"
        " THEN TRY_CAST(study_struct.p.price AS DOUBLE) END"
    )

    def pp(path: str, view: str) -> str:
        return f"{e}.{promoted[path].column(view)}"

    return {
        "json (compiler today)": queries(
            e,
            json_views["price"]["num"],
            json_views["category"]["form"],
            json_views["product_id"]["text"],
            f"{e}.profile_id",
        ),
        "varchar holding JSON": queries(
            "study_varchar",
            varchar_views["price"]["num"],
            varchar_views["category"]["form"],
            varchar_views["product_id"]["text"],
            "study_varchar.profile_id",
        ),
        "json, plain cast (no coercion rules)": queries(
            e,
            f"TRY_CAST({e}.properties->>'price' AS DOUBLE)",
            f"{e}.properties->>'category'",
            f"{e}.properties->>'product_id'",
            f"{e}.profile_id",
        ),
        "struct column (VARCHAR fields)": queries(
            "study_struct",
            struct_price,
            "study_struct.p.category",
            "study_struct.p.product_id",
            "study_struct.profile_id",
        ),
        "promoted typed columns (layout)": queries(
            e,
            pp("price", "num"),
            pp("category", "form"),
            pp("product_id", "eq"),
            f"{e}.profile_id",
        ),
        "typed table (hand-made)": queries(
            "typed_events",
            "typed_events.price",
            "typed_events.category",
            "typed_events.product_id",
            "typed_events.profile_id",
        ),
    }


def order_variants(
    con: duckdb.DuckDBPyConnection, layout: Layout, repeat: int
) -> list[tuple[str, float, float]]:
    """Total layout-compiled time of the bench.batch definitions over the events as loaded and
    sorted by ``event_name, ts`` (hand-written typed table sorted alike)."""
    out = []
    for order in ("as loaded (time order)", "sorted by event_name, ts"):
        if order.startswith("sorted"):
            con.execute(
                "CREATE OR REPLACE TABLE shoal_events AS FROM shoal_events ORDER BY event_name, ts"
            )
            for statement in TYPED_TABLES:
                con.execute(statement)
        shoal = hand = 0.0
        targets = {c.name: c.target for c in CASES}
        for case in CASES:
            if case.name == "big_spenders":
                continue  # reads shoal_values, filled by bench.batch only
            compiler = compiler_for(DuckDBCompiler, layout, now=AS_OF, definitions=targets)
            sql = compiler.sql(compiler.compile(definition(case)), pretty=False)
            shoal += timed(
                lambda sql=sql: con.execute(f"CREATE OR REPLACE TEMP TABLE r AS {sql}"), repeat
            )
            hand_sql = case.hand.format(**_literals())
            hand += timed(
                lambda h=hand_sql: con.execute(f"CREATE OR REPLACE TEMP TABLE h AS {h}"), repeat
            )
        out.append((order, shoal, hand))
    return out


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=parse_size, default=10_000_000, help="messages")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--database", type=Path, help="reuse a database bench.batch-style built")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args(argv)
    load_start = load_average()
    layout = layout_for(CASES)
    work = Path(tempfile.mkdtemp(prefix="shoal-bench-layout-"))
    try:
        if args.database is None:
            con = duckdb.connect(str(work / "study.duckdb"))
            paths = generate(args.size, work)
            bulk.load_parquet(con, paths, received_at=END)
            bulk.build(con, as_of=AS_OF, layout=layout, cluster=False)
            con.execute(f"DROP TABLE {bulk.STAGED}")
            for statement in TYPED_TABLES:
                con.execute(statement)
        else:
            copy = work / "study.duckdb"
            shutil.copy(args.database, copy)
            con = duckdb.connect(str(copy))
        shapes = con.execute(shape_stats(layout).sql(dialect="duckdb")).fetchall()[0]
        assert shapes is not None
        layout = layout.with_shapes(shapes)
        counted = con.execute("SELECT count(*) FROM shoal_events").fetchall()[0]
        events = int(counted[0]) if counted else 0
        rows = []
        for name, sqls in access_variants(con, layout).items():
            times = [timed(lambda q=q: materialise(con, q), args.repeat) for q in sqls]
            rows.append((name, times))
        orders = order_variants(con, layout, args.repeat)
        con.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    base = rows[-1][1]
    lines = [
        f"## Storage layout study (bench.layout) — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"Machine: {machine()}; DuckDB {duckdb.__version__}; {events:,} events "
        f"({label(args.size)} messages of `shoal synth`, 90 days). Load average {load_start} "
        f"at the start, {load_average()} at the end. Seconds, best of {args.repeat}; in "
        "brackets the ratio to the typed table.",
        "",
        "| storage | " + " | ".join(QUERY_NAMES) + " |",
        "|---|" + "---:|" * len(QUERY_NAMES),
    ]
    for name, times in rows:
        cells = [f"{t:.3f} ({t / b:.1f}x)" for t, b in zip(times, base, strict=True)]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Physical order of the events (all bench.batch definitions but `big_spenders`, compiled "
        "with the promoted layout, against the hand-written queries over a typed table in the "
        "same order):",
        "",
        "| events order | Shoal (layout) s | hand-written s | ratio |",
        "|---|---:|---:|---:|",
        *(f"| {o} | {s:.3f} | {h:.3f} | {s / h:.2f} |" for o, s, h in orders),
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if not args.no_record:
        with args.results.open("a") as handle:
            handle.write("\n" + text)
    return text


if __name__ == "__main__":
    main()
