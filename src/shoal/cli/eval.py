"""`shoal eval`: evaluate definitions over a file of Segment messages (docs/eval.md).

Two forms, one contract for every engine:

* ``shoal eval --events FILE [options] QUERY`` prints an audience's members, one per line, or a
  computed trait's ``name<TAB>json`` lines, sorted by name;
* ``shoal eval --events FILE --cases CASES.json`` evaluates many definitions over one load and
  prints one JSON object ``{name: {"members": [...]} | {"values": {...}} | {"error": {...}}}``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from shoal.cli.common import friendly, print_json, settings
from shoal.clock import SystemClock
from shoal.engines import (
    ENGINES,
    Engine,
    Failure,
    Members,
    Request,
    Values,
    compile_request,
    get_engine,
    run,
)
from shoal.errors import InputFileError
from shoal.spec.message import Message

EngineName = StrEnum("EngineName", {name: name for name in ENGINES})  # type: ignore[misc]
DEFAULT_ENGINE = EngineName("reference")


class Target(StrEnum):
    USERS = "users"
    ACCOUNTS = "accounts"


class Kind(StrEnum):
    AUDIENCE = "audience"
    TRAIT = "trait"


#: The name a single QUERY is evaluated under (it only matters for self-references).
QUERY_NAME = "query"


def parse_instant(text: str, where: str) -> datetime:
    """An ISO-8601 instant with a zone, or a day (midnight UTC)."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise InputFileError(f"{text!r} is not an ISO-8601 timestamp", location=where) from None
    if parsed.tzinfo is None:
        if len(text) == 10:
            return parsed.replace(tzinfo=UTC)
        raise InputFileError(f"{text!r} has no time zone; add 'Z' for UTC", location=where)
    return parsed


def read_events(path: Path, now: datetime) -> list[Message]:
    """Messages of a JSON Lines or Parquet file, validated and normalised like `shoal import`."""
    from shoal.spec.importer import read_messages

    return list(read_messages(path, received_at=now))


def _cases(path: Path) -> tuple[str | None, list[dict[str, Any]]]:
    try:
        doc = orjson.loads(path.read_bytes())
    except OSError as exc:
        raise InputFileError(f"cannot read: {exc.strerror}", location=str(path)) from None
    except orjson.JSONDecodeError as exc:
        raise InputFileError(f"invalid JSON: {exc}", location=str(path)) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("cases"), list):
        raise InputFileError('expected {"as_of": ISO, "cases": [...]}', location=str(path))
    for i, case in enumerate(doc["cases"]):
        if not (
            isinstance(case, dict)
            and isinstance(case.get("name"), str)
            and isinstance(case.get("query"), str)
        ):
            raise InputFileError(
                "each case needs a string name and query", location=f"{path}:cases[{i}]"
            )
        if case.get("type", "users") not in ("users", "accounts") or case.get("kind") not in (
            None,
            "audience",
            "trait",
        ):
            raise InputFileError(
                "type is users|accounts, kind is audience|trait", location=f"{path}:cases[{i}]"
            )
    names = [case["name"] for case in doc["cases"]]
    if len(set(names)) != len(names):
        duplicate = next(n for n in names if names.count(n) > 1)
        raise InputFileError(f"case name {duplicate!r} is used twice", location=str(path))
    as_of = doc.get("as_of")
    return (as_of if isinstance(as_of, str) else None), doc["cases"]


def _compile(cases: list[dict[str, Any]]) -> Iterator[Request | tuple[str, Failure]]:
    for case in cases:
        item = compile_request(
            case["name"],
            case["query"],
            target=case.get("type", "users"),
            kind=case.get("kind"),
            include_anonymous=bool(case.get("include_anonymous", False)),
        )
        yield item if isinstance(item, Request) else (case["name"], item)


def _engine(name: str, events: Path | None, spark: dict[str, str | None]) -> Engine:
    """The engine to run; for Spark with its settings, and over a relations directory when
    there are no messages to prepare."""
    if name != "spark":
        return get_engine(name)
    master = settings(spark_master=spark["spark_master"]).spark_master
    options = {"relations": spark["relations"], "output": spark["output"]}
    engine = get_engine(name, spark_master=master, **options)
    if events is None:
        from shoal.engines.sql.spark_engine import SparkEngine

        assert isinstance(engine, SparkEngine) and spark["relations"] is not None
        return engine.over_relations(spark["relations"])
    return engine


def register(app: typer.Typer) -> None:
    @app.command("eval")
    @friendly
    def eval_(
        events: Annotated[
            Path | None,
            typer.Option(
                "--events",
                help="Segment messages: JSON Lines (.jsonl) or Parquet. Omit with "
                "--engine spark --relations DIR to evaluate relations written earlier.",
            ),
        ] = None,
        query: Annotated[
            str | None,
            typer.Argument(help="The definition text; `-` reads stdin. Omit with --cases."),
        ] = None,
        as_of: Annotated[
            str | None,
            typer.Option(
                "--as-of",
                help="Evaluate at this ISO-8601 instant (default: now; with --cases: the file's).",
            ),
        ] = None,
        target: Annotated[
            Target, typer.Option("--type", help="Evaluate over users or accounts.")
        ] = Target.USERS,
        kind: Annotated[
            Kind | None,
            typer.Option(
                "--kind",
                help="Force audience or computed trait (default: a condition is an audience, "
                "a value a computed trait).",
            ),
        ] = None,
        engine: Annotated[
            EngineName, typer.Option("--engine", help="Evaluation engine.")
        ] = DEFAULT_ENGINE,
        include_anonymous: Annotated[
            bool,
            typer.Option(
                "--include-anonymous", help="Profiles known only by anonymous_id count too."
            ),
        ] = False,
        cases: Annotated[
            Path | None,
            typer.Option(
                "--cases",
                help='Evaluate every definition of {"as_of", "cases": [{name, type, query}]} '
                "and print one JSON object.",
            ),
        ] = None,
        spark_master: Annotated[
            str | None,
            typer.Option(
                "--spark-master",
                help="Spark master URL [env SHOAL_SPARK_MASTER; default: spark-submit's, "
                "else local[*]]. With --engine spark.",
            ),
        ] = None,
        relations: Annotated[
            str | None,
            typer.Option(
                "--relations",
                help="With --engine spark: relations directory (docs/spark.md); written there "
                "from --events, else read from there.",
            ),
        ] = None,
        output: Annotated[
            str | None,
            typer.Option(
                "--output",
                help="With --engine spark: write memberships and trait values as Parquet here.",
            ),
        ] = None,
    ) -> None:
        """Evaluate an audience or computed trait over a file of Segment messages."""
        from shoal import lang

        now = SystemClock().now()
        spark_options = {"spark_master": spark_master, "relations": relations, "output": output}
        if engine.value != "spark" and any(v is not None for v in spark_options.values()):
            raise typer.BadParameter("--spark-master, --relations and --output need --engine spark")
        if events is None and relations is None:
            raise typer.BadParameter("give --events FILE (or --engine spark --relations DIR)")
        chosen = _engine(engine.value, events, spark_options)
        if cases is not None:
            if query is not None:
                raise typer.BadParameter("give either QUERY or --cases, not both")
            file_as_of, listed = _cases(cases)
            text = as_of or file_as_of
            at = parse_instant(text, "--as-of" if as_of else f"{cases}:as_of") if text else now
            messages = read_events(events, now) if events is not None else []
            outcomes = run(chosen, messages, _compile(listed), as_of=at)
            print_json({c["name"]: outcomes[c["name"]].to_json() for c in listed})
            return
        if query is None and events is not None and relations is not None:
            # --engine spark --events F --relations DIR alone: only write the relations, for
            # a later run (a cluster job) to read.
            from shoal.engines.sql.prepare import prepare
            from shoal.engines.sql.spark_engine import write_relations

            at = parse_instant(as_of, "--as-of") if as_of else now
            written = write_relations(prepare(read_events(events, now), as_of=at), relations)
            typer.echo(f"relations as of {at.isoformat()} written to {written}")
            return
        if query is None:
            raise typer.BadParameter("give a QUERY or --cases FILE")
        text = sys.stdin.read() if query == "-" else query
        compiled = compile_request(
            QUERY_NAME,
            text,
            target=target.value,
            kind=kind.value if kind else None,
            include_anonymous=include_anonymous,
        )
        if isinstance(compiled, Failure):
            assert compiled.cause is not None  # compile failures always carry the language error
            typer.echo(lang.render_error(text, compiled.cause), err=True)
            raise typer.Exit(2)
        at = parse_instant(as_of, "--as-of") if as_of else now
        messages = read_events(events, now) if events is not None else []
        outcome = run(chosen, messages, [compiled], as_of=at)[QUERY_NAME]
        if isinstance(outcome, Failure):
            typer.echo(f"error[{outcome.code}]: {outcome.message}", err=True)
            raise typer.Exit(2)
        if isinstance(outcome, Members):
            for name in outcome.names:
                typer.echo(name)
            return
        assert isinstance(outcome, Values)
        for name in sorted(outcome.values):
            typer.echo(f"{name}\t{orjson.dumps(outcome.values[name]).decode()}")
