"""The Spark engine: relations as Parquet, compiled definitions run as Spark SQL (docs/spark.md).

Identity resolution and trait folding happen in Python (``prepare.py``, as for DuckDB); the
relations of ``relations.py`` are written as Parquet into a *relations directory*, one
sub-directory per relation (``shoal_events/``, ``shoal_profiles/``, ...), JSON columns as text.
Spark reads them into temporary views of the same names, parsing JSON text into ``VARIANT``, and
runs the SQL that :class:`~shoal.engines.sql.dialects.SparkCompiler` prints. The only module of
``engines/sql`` that imports pyspark, and only when an engine is used.

:meth:`SparkEngine.evaluate` implements :class:`shoal.engines.Engine` (``shoal eval --engine
spark``); :meth:`SparkEngine.evaluate_relations` runs over a relations directory written earlier
(:func:`write_relations`), on any file system Spark reads, which is how a cluster job runs.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import weakref
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq
import sqlglot.expressions as sge

from shoal.engines import Engine, Members, Outcome, Request, Values
from shoal.engines.sql import relations as rel
from shoal.engines.sql.compiler import CompiledQuery, Compiler
from shoal.engines.sql.dialects import SparkCompiler
from shoal.engines.sql.prepare import Prepared
from shoal.engines.sql.runner import SQLEngine, ValueRow
from shoal.errors import UserError
from shoal.spec.message import Message

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = [
    "MEMBERSHIPS",
    "TINY_DATA_CONF",
    "TRAIT_VALUES",
    "SparkEngine",
    "spark_json",
    "spark_session",
    "write_relations",
]

MEMBERSHIPS = "shoal_memberships"
"""Output dataset: ``key``, ``target``, ``name`` (SEMANTICS output name) per audience member."""
TRAIT_VALUES = "shoal_trait_values"
"""Output dataset: ``key``, ``target``, ``name``, ``value`` (JSON text) per computed trait."""

#: Settings for tiny inputs (tests, a few thousand events): one partition, no adaptive
#: re-planning and no broadcast jobs, so that a query costs a fraction of a second.
TINY_DATA_CONF = {
    "spark.sql.shuffle.partitions": "1",
    "spark.sql.adaptive.enabled": "false",
    "spark.sql.autoBroadcastJoinThreshold": "-1",
    # Compiling generated code costs more than interpreting a few rows.
    "spark.sql.codegen.wholeStage": "false",
    "spark.sql.codegen.factoryMode": "NO_CODEGEN",
    "spark.ui.enabled": "false",
}

#: Session settings the compiled SQL relies on, set on every session the engine uses.
REQUIRED_CONF = {
    "spark.sql.session.timeZone": SparkCompiler.SESSION_TIME_ZONE,
    # Literals are printed with backslash escapes (sqlglot's Spark dialect).
    "spark.sql.parser.escapedStringLiterals": "false",
}

_ARROW_TYPES = {
    "BIGINT": pa.int64(),
    "TIMESTAMP": pa.timestamp("us", tz="UTC"),
    "BOOLEAN": pa.bool_(),
}
_SPARK_TYPES = {"BIGINT": "BIGINT", "TIMESTAMP": "TIMESTAMP", "BOOLEAN": "BOOLEAN"}
_OUTPUT_SCHEMAS = {
    MEMBERSHIPS: "key STRING, target STRING, name STRING",
    TRAIT_VALUES: "key STRING, target STRING, name STRING, value STRING",
}


def _pyspark_missing() -> UserError:
    return UserError(
        "the Spark engine needs pyspark (and Java 17+): pip install 'shoal[spark]'",
        code="missing_dependency",
    )


def spark_session(master: str | None = None, conf: Mapping[str, str] | None = None) -> SparkSession:
    """The process's SparkSession (Spark runs one per process), started on first use.

    Args:
        master: ``local[*]``, ``spark://host:7077``, ``yarn``, ...; None takes the master that
            ``spark-submit`` (or ``spark-defaults.conf``) gives, else ``local[*]``.
        conf: extra settings for a session started here (ignored when one is running).

    Raises:
        UserError: pyspark is not installed, or a session with another master is running.
    """
    try:
        from pyspark import SparkConf
        from pyspark.sql import SparkSession
    except ImportError:
        raise _pyspark_missing() from None
    session = SparkSession.getActiveSession()
    if session is None:
        defaults = SparkConf()  # spark-submit's settings, when it started this process
        chosen = master or defaults.get("spark.master") or "local[*]"
        builder = SparkSession.builder.appName("shoal").master(chosen)
        settings = {"spark.ui.showConsoleProgress": "false", **REQUIRED_CONF, **(conf or {})}
        for key, value in settings.items():
            builder = builder.config(key, value)
        session = builder.getOrCreate()
        session.sparkContext.setLogLevel("ERROR")
    elif master and session.sparkContext.master != master:
        raise UserError(
            f"a Spark session with master {session.sparkContext.master!r} already runs in this "
            f"process; cannot switch to {master!r}",
            code="invalid_config",
        )
    for key, value in REQUIRED_CONF.items():
        session.conf.set(key, value)
    return session


# --- relations as Parquet -------------------------------------------------------------------------


def _encode(value: Any) -> str:
    if isinstance(value, float):
        text = repr(value)
        # An exponent makes PARSE_JSON keep the number a DOUBLE (``1.0`` would become the
        # DECIMAL 1, an integer): floats must stay floats (``sum`` prints ``3.0``, not ``3``).
        return text if "e" in text else f"{text}e0"
    if isinstance(value, dict):
        items = sorted(value.items())
        return "{" + ",".join(f"{_encode(str(k))}:{_encode(v)}" for k, v in items) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_encode(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def spark_json(text: str) -> str:
    """JSON text as the Spark relations hold it: keys sorted, every float with an exponent.

    >>> spark_json('{"b": 1.0, "a": [2, 2.5, 1e-07, "x"]}')
    '{"a":[2,2.5e0,1e-07,"x"],"b":1.0e0}'
    """
    return _encode(json.loads(text))


#: The relations a relations directory holds (``shoal_values`` is optional, see
#: :meth:`SparkEngine.evaluate_relations`).
INPUTS = (rel.EVENTS, rel.PROFILES, rel.TRAITS, rel.ACCOUNTS, rel.LINKS)


def _relation_rows(prepared: Prepared) -> dict[str, list[tuple[Any, ...]]]:
    return {
        rel.EVENTS: prepared.events,
        rel.PROFILES: prepared.profiles,
        rel.TRAITS: prepared.traits,
        rel.ACCOUNTS: prepared.accounts,
        rel.LINKS: prepared.links,
    }


def _table(name: str, rows: Iterable[tuple[Any, ...]]) -> pa.Table:
    columns = rel.COLUMNS[name]
    json_at = [i for i, (c, t) in enumerate(columns) if t == "JSON"]
    data: list[list[Any]] = [[] for _ in columns]
    for row in rows:
        for i, cell in enumerate(row):
            data[i].append(cell)
    for i in json_at:
        data[i] = [None if cell is None else spark_json(cell) for cell in data[i]]
    for i, (_, kind) in enumerate(columns):
        if kind == "TIMESTAMP":
            data[i] = [cell.replace(tzinfo=UTC) for cell in data[i]]
    schema = pa.schema([(c, _ARROW_TYPES.get(t, pa.string())) for c, t in columns])
    return pa.Table.from_arrays(
        [pa.array(d, type=f.type) for d, f in zip(data, schema, strict=True)], schema=schema
    )


def write_relations(prepared: Prepared, directory: str | Path) -> Path:
    """Write ``prepared`` as a relations directory (replacing the relations already there).

    Each relation becomes ``<directory>/<relation>/part-0.parquet``: columns as in
    ``relations.COLUMNS``, times as UTC timestamps (microseconds), JSON as text
    (:func:`spark_json`). ``shoal_values`` is not written (an optional input of its own).
    """
    root = Path(directory)
    for name, rows in _relation_rows(prepared).items():
        target = root / name
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        pq.write_table(_table(name, rows), target / "part-0.parquet")
    return root


def _join(base: str, name: str) -> str:
    """``base/name`` for a local path or a URI (``hdfs://``, ``s3a://``) alike."""
    return f"{base.rstrip('/')}/{name}"


def _file_schema(name: str) -> str:
    """The Spark schema of a relation as :func:`write_relations` writes it (JSON as text)."""
    return ", ".join(f"{c} {_SPARK_TYPES.get(t, 'STRING')}" for c, t in rel.COLUMNS[name])


def _columns(name: str) -> list[str]:
    """The view's columns: JSON text parsed to VARIANT, the rest cast to the documented type
    (another writer may store times without a zone or ints narrower)."""
    out = []
    for column, kind in rel.COLUMNS[name]:
        if kind == "JSON":
            out.append(f"PARSE_JSON({column}) AS {column}")
        else:
            out.append(f"CAST({column} AS {_SPARK_TYPES.get(kind, 'STRING')}) AS {column}")
    return out


# --- the engine -----------------------------------------------------------------------------------


class SparkEngine(SQLEngine):
    """Evaluates definitions with Spark SQL.

    Args:
        spark_master: Spark master URL; default ``$SHOAL_SPARK_MASTER``, else what
            ``spark-submit`` gives, else ``local[*]``.
        relations: relations directory :meth:`evaluate` writes (default: a temporary one).
        output: directory (any Spark file system) where memberships and trait values are
            written as Parquet after each evaluation (:data:`MEMBERSHIPS`, :data:`TRAIT_VALUES`).
        conf: extra Spark settings for a session started by this engine.
        cache: keep the relations parsed in memory while definitions run (pays off once
            inputs are large; tiny ones run faster without).
    """

    name = "spark"
    compiler = SparkCompiler
    batch: int = 32
    """Most queries run as one Spark job (:meth:`fetch_many`)."""

    def __init__(
        self,
        *,
        spark_master: str | None = None,
        relations: str | Path | None = None,
        output: str | Path | None = None,
        conf: Mapping[str, str] | None = None,
        cache: bool = True,
    ) -> None:
        try:
            import pyspark  # noqa: F401  (fail here, clearly, rather than at the first query)
        except ImportError:
            raise _pyspark_missing() from None
        self.cache = cache
        self.master = spark_master or os.environ.get("SHOAL_SPARK_MASTER") or None
        self.conf = dict(conf or {})
        if relations is None:
            relations = tempfile.mkdtemp(prefix="shoal-spark-")
            weakref.finalize(self, shutil.rmtree, relations, True)
        self.relations = relations if "://" in str(relations) else Path(relations)
        self.output = None if output is None else str(output)
        self._values: list[tuple[str, str, str, str]] = []
        self._session: SparkSession | None = None

    @property
    def spark(self) -> SparkSession:
        if self._session is None:
            self._session = spark_session(self.master, self.conf)
        return self._session

    # --- relations ------------------------------------------------------------------------------

    def load(self, prepared: Prepared) -> None:
        if "://" in str(self.relations):
            raise UserError(
                "relations are written to a local directory; copy them to the cluster's file "
                "system afterwards (docs/spark.md)",
                code="invalid_config",
                location=str(self.relations),
            )
        write_relations(prepared, self.relations)
        self._register(str(self.relations), known=True)

    def _register(self, base: str, *, known: bool = False) -> None:
        """Temporary views over the relations under ``base``; ``shoal_values`` emptied.

        ``known``: written by :func:`write_relations`, so the schema need not be read from the
        files (which costs Spark most of a second).
        """
        catalog = self.spark.catalog
        for name in INPUTS:
            if catalog.tableExists(name) and catalog.isCached(name):
                catalog.uncacheTable(name)
            reader = self.spark.read.schema(_file_schema(name)) if known else self.spark.read
            frame = reader.parquet(_join(base, name))
            frame.selectExpr(*_columns(name)).createOrReplaceTempView(name)
            if self.cache:
                # Every definition scans the relations again: keep them parsed in memory
                # (lazily, on first use).
                catalog.cacheTable(name)
        self.clear_values()

    def clear_values(self) -> None:
        self._values = []
        self._register_values()

    def insert_values(self, rows: Sequence[ValueRow]) -> None:
        self._values.extend(
            (target, entity, key, _encode(value)) for target, entity, key, value in rows
        )
        self._register_values()

    def _register_values(self) -> None:
        columns = [c for c, _ in rel.COLUMNS[rel.VALUES]]
        table = pa.table(
            {
                c: pa.array([row[i] for row in self._values], pa.string())
                for i, c in enumerate(columns)
            }
        )
        frame = self.spark.createDataFrame(table)
        frame.selectExpr(*_columns(rel.VALUES)).createOrReplaceTempView(rel.VALUES)

    # --- queries --------------------------------------------------------------------------------

    def fetch(self, compiler: Compiler, query: CompiledQuery) -> list[tuple[str, Any, Any]]:
        assert isinstance(compiler, SparkCompiler)
        sql = compiler.sql(compiler.collectable(query), pretty=False)
        rows = [(e, v, i) for e, v, i in self.spark.sql(sql).collect()]
        return self._decode(query, rows)

    def fetch_many(
        self, queries: Sequence[tuple[Compiler, CompiledQuery]]
    ) -> list[list[tuple[str, Any, Any]]]:
        """Up to :attr:`batch` queries per Spark job, as one ``UNION ALL``: a job costs a tenth
        of a second or more however small the data, and history sampling runs hundreds."""
        out: list[list[tuple[str, Any, Any]]] = []
        for start in range(0, len(queries), self.batch):
            chunk = queries[start : start + self.batch]
            if len(chunk) == 1:
                out.append(self.fetch(*chunk[0]))
                continue
            parts: list[sge.Select] = []
            for part, (compiler, query) in enumerate(chunk):
                assert isinstance(compiler, SparkCompiler)
                inner = compiler.collectable(query).select.subquery("q")
                # One row type for every part: the value travels as JSON of a 1-field struct.
                boxed = sge.Anonymous(
                    this="TO_JSON",
                    expressions=[
                        sge.Anonymous(
                            this="NAMED_STRUCT",
                            expressions=[sge.Literal.string("v"), sge.column("value", "q")],
                        )
                    ],
                )
                parts.append(
                    sge.select(
                        sge.alias_(sge.Literal.number(part), "part"),
                        sge.column("entity_id", "q"),
                        sge.alias_(boxed, "value"),
                        sge.column("integral", "q"),
                    ).from_(inner)
                )
            union: sge.Query = parts[0]
            for more in parts[1:]:
                union = sge.union(union, more, distinct=False)
            results: list[list[tuple[str, Any, Any]]] = [[] for _ in chunk]
            for part, entity, boxed_value, integral in self.spark.sql(
                SparkCompiler.render(union)
            ).collect():
                value = json.loads(boxed_value).get("v")
                results[part].append((entity, value, integral))
            for (_, query), rows in zip(chunk, results, strict=True):
                out.append(self._decode(query, rows))
        return out

    @staticmethod
    def _decode(
        query: CompiledQuery, rows: list[tuple[str, Any, Any]]
    ) -> list[tuple[str, Any, Any]]:
        if query.kind == "json":
            return [(e, None if v is None else json.loads(v), i) for e, v, i in rows]
        if query.kind == "list":
            return [(e, None if v is None else list(v), i) for e, v, i in rows]
        return rows

    # --- entry points ---------------------------------------------------------------------------

    def evaluate(
        self, messages: Sequence[Message], requests: Sequence[Request], *, as_of: datetime
    ) -> dict[str, Outcome]:
        out = super().evaluate(messages, requests, as_of=as_of)
        self._write_output(requests, out)
        return out

    def evaluate_relations(
        self, relations: str | Path, requests: Sequence[Request], *, as_of: datetime
    ) -> dict[str, Outcome]:
        """Evaluate over a relations directory written earlier, e.g. on HDFS or S3.

        The relations are a snapshot at ``as_of`` (:func:`write_relations` of
        ``prepare(messages, as_of=...)``); ``requests`` come in dependency order (engines.plan).
        A ``shoal_values`` relation there, if any, holds earlier results: rows of definitions
        not evaluated now are read by key as they are, and an audience evaluated now reads
        ``false`` for the entities it has a row for that are no longer members.
        """
        base = str(relations)
        self._register(base)
        seeded = self._seed(base)
        names = {
            str(pid): str(name)
            for pid, name in self.spark.sql(
                f"SELECT profile_id, name FROM {rel.PROFILES}"
            ).toLocalIterator()
        }

        def former(request: Request) -> set[str]:
            target = request.definition.target
            return {e for t, e, k, _ in seeded if k == request.name and t == target}

        out = self.run_requests(requests, as_of, names, former)
        self._write_output(requests, out)
        return out

    def over_relations(self, relations: str | Path) -> Engine:
        """An :class:`~shoal.engines.Engine` that ignores the messages it is given and
        evaluates over ``relations`` instead (for :func:`shoal.engines.run`, which plans)."""
        return _OverRelations(self, str(relations))

    def _seed(self, base: str) -> list[tuple[str, str, str, str]]:
        """``shoal_values`` rows found under ``base`` (none when there is no such relation)."""
        from pyspark.errors import AnalysisException

        try:
            frame = self.spark.read.parquet(_join(base, rel.VALUES))
        except AnalysisException:
            return []
        columns = [c for c, _ in rel.COLUMNS[rel.VALUES]]
        seeded = [(t, e, k, v) for t, e, k, v in frame.select(*columns).collect()]
        self._values = list(seeded)
        self._register_values()
        return seeded

    def _write_output(self, requests: Sequence[Request], outcomes: Mapping[str, Outcome]) -> None:
        """Memberships and trait values as Parquet under ``output`` (replacing earlier ones)."""
        if self.output is None:
            return
        members: list[tuple[str, str, str]] = []
        values: list[tuple[str, str, str, str]] = []
        for request in requests:
            outcome = outcomes.get(request.name)
            target = request.definition.target
            if isinstance(outcome, Members):
                members.extend((request.name, target, n) for n in outcome.names)
            elif isinstance(outcome, Values):
                values.extend(
                    (request.name, target, n, json.dumps(v, ensure_ascii=False))
                    for n, v in sorted(outcome.values.items())
                )
        for name, rows in ((MEMBERSHIPS, members), (TRAIT_VALUES, values)):
            frame: DataFrame = self.spark.createDataFrame(rows, schema=_OUTPUT_SCHEMAS[name])
            frame.coalesce(1).write.mode("overwrite").parquet(_join(self.output, name))


class _OverRelations:
    """See :meth:`SparkEngine.over_relations`."""

    name = "spark"

    def __init__(self, engine: SparkEngine, relations: str) -> None:
        self.engine = engine
        self.relations = relations

    def evaluate(
        self, messages: Sequence[Message], requests: Sequence[Request], *, as_of: datetime
    ) -> dict[str, Outcome]:
        return self.engine.evaluate_relations(self.relations, requests, as_of=as_of)
