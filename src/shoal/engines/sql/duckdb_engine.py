"""The DuckDB engine: load the input relations from messages, run compiled definitions.

The only module of ``engines/sql`` that imports duckdb (and pyarrow, to load rows in bulk). It
implements :class:`shoal.engines.Engine`; ``shoal eval --engine duckdb`` uses it.

>>> from datetime import datetime, UTC
>>> from shoal.engines import Request
>>> from shoal import lang
>>> d = lang.compile_definition("event('X').count() >= 1")
>>> at = datetime(2024, 1, 1, tzinfo=UTC)
>>> DuckDBEngine().evaluate([], [Request(name="a", definition=d)], as_of=at)
{'a': Members(names=())}
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import duckdb
import pyarrow as pa

from shoal.engines import Failure, Members, Outcome, Request, Values
from shoal.engines.sql import relations as rel
from shoal.engines.sql.compiler import Target
from shoal.engines.sql.dialects import DuckDBCompiler
from shoal.engines.sql.prepare import Prepared, prepare
from shoal.engines.sql.values import UnsupportedError, duration_of
from shoal.engines.values import dates_in
from shoal.identity.resolve import message_order
from shoal.lang import ast
from shoal.lang.check import references
from shoal.spec.message import Message

__all__ = ["DuckDBEngine"]

_TICK = timedelta(microseconds=1)
_ARROW_TYPES = {"BIGINT": pa.int64(), "TIMESTAMP": pa.timestamp("us"), "BOOLEAN": pa.bool_()}

#: Rows of one definition at one instant: (entity id, value); audiences keep members only.
_Rows = list[tuple[str, Any]]


def _durations(definition: ast.Definition) -> Iterator[timedelta]:
    """Durations measured from now: where a membership can change relative to a time."""
    for node in ast.walk(definition):
        if isinstance(node, ast.Within) and not node.parent:
            yield duration_of(node.duration)
        elif isinstance(node, ast.Between) and not node.parent:
            yield from (duration_of(node.start), duration_of(node.end))
        elif isinstance(node, ast.ExpiresAfter):
            yield duration_of(node.duration)
        elif isinstance(node, ast.Comparator):
            yield from (duration_of(a) for a in node.args if isinstance(a, ast.Duration))


class DuckDBEngine:
    """Evaluates definitions with DuckDB, in memory unless ``database`` names a file.

    One evaluation at a time per instance (the relations are replaced on every call).
    """

    name = "duckdb"

    def __init__(self, database: str = ":memory:") -> None:
        self.con = duckdb.connect(database)
        # Relations hold naive UTC; pin the zone so TIMESTAMPTZ casts of dates are UTC too.
        self.con.execute("SET TimeZone = 'UTC'")

    # --- loading --------------------------------------------------------------------------------

    def load(self, prepared: Prepared) -> None:
        """Replace the input relations with ``prepared``'s rows (``shoal_values`` emptied)."""
        rows = {
            rel.EVENTS: prepared.events,
            rel.PROFILES: prepared.profiles,
            rel.TRAITS: prepared.traits,
            rel.ACCOUNTS: prepared.accounts,
            rel.LINKS: prepared.links,
            rel.VALUES: [],
        }
        for name, columns in rel.COLUMNS.items():
            names = [c for c, _ in columns]
            schema = pa.schema([(c, _ARROW_TYPES.get(t, pa.string())) for c, t in columns])
            data = pa.Table.from_pylist(
                [dict(zip(names, row, strict=True)) for row in rows[name]], schema=schema
            )
            self.con.register("shoal_input", data)
            # JSON travels as text and is cast on the way in; names come from relations.py only.
            casts = ", ".join(f"CAST({c} AS {t}) AS {c}" for c, t in columns)
            self.con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT {casts} FROM shoal_input")
            self.con.unregister("shoal_input")

    # --- the Engine protocol --------------------------------------------------------------------

    def evaluate(
        self, messages: Sequence[Message], requests: Sequence[Request], *, as_of: datetime
    ) -> dict[str, Outcome]:
        """Every request at ``as_of``; ``requests`` come in dependency order (engines.plan)."""
        by_name = {r.name: r for r in requests}
        targets: dict[str, Target] = {r.name: r.definition.target for r in requests}
        read = {ref for r in requests for ref in references(r.definition) if ref in by_name}
        failed: dict[str, Failure] = {}
        # Audiences read by key need their history: "false" once a member has left.
        ever = self._history(messages, requests, read, as_of, targets, failed)
        prepared = prepare(messages, as_of=as_of)
        self.load(prepared)
        out: dict[str, Outcome] = {}
        for request in requests:
            bad = sorted(references(request.definition) & failed.keys())
            if request.name in failed or bad:
                failure = failed.get(request.name) or Failure(
                    code="invalid_reference", message=f"reads `{bad[0]}`, which cannot be evaluated"
                )
                failed[request.name] = out[request.name] = failure
                continue
            try:
                rows = self._run(request, as_of, targets)
            except UnsupportedError as err:
                failed[request.name] = Failure(code="unsupported", message=str(err))
                out[request.name] = failed[request.name]
                continue
            out[request.name] = self._outcome(request.definition, rows, prepared)
            if request.name in read:
                self._store(request, rows, prepared, ever.get(request.name, set()))
        return out

    def _run(self, request: Request, now: datetime, targets: Mapping[str, Target]) -> _Rows:
        compiler = DuckDBCompiler(
            now=now, definitions=targets, include_anonymous=request.include_anonymous
        )
        query = compiler.compile(request.definition)
        rows = self.con.execute(compiler.sql(query, pretty=False)).fetchall()
        out: _Rows = []
        for entity, value, integral in rows:
            if integral and isinstance(value, float) and value.is_integer():
                value = int(value)  # an integer sum/min/max, as the reference prints it
            if value is None or (request.definition.kind == "audience" and not value):
                continue
            if query.kind == "json":
                value = json.loads(value)
            elif query.kind == "list":
                value = list(value)
            elif query.kind == "time":
                # The reference's form of an event time: ISO-8601 UTC with Z.
                value = value.isoformat() + "Z"
            out.append((entity, value))
        return out

    @staticmethod
    def _outcome(definition: ast.Definition, rows: _Rows, prepared: Prepared) -> Outcome:
        def name(entity: str) -> str:
            if definition.target == "accounts":
                return f"group_id:{entity}"
            return prepared.names[entity]

        if definition.kind == "audience":
            return Members(tuple(sorted(name(e) for e, _ in rows)))
        return Values({name(e): v for e, v in rows})

    def _store(self, request: Request, rows: _Rows, prepared: Prepared, ever: set[str]) -> None:
        """Write a result to ``shoal_values`` for the definitions that read it by key.

        An audience writes ``true`` for members and ``false`` for entities that were members
        at an earlier instant (``ever``: group ids, or earliest message ids of user profiles).
        """
        definition = request.definition
        values: _Rows = list(rows)
        if definition.kind == "audience":
            members = {e for e, _ in rows}
            if definition.target == "users":
                former = {prepared.message_profiles[m] for m in ever}
            else:
                former = set(ever)
            values = [(e, True) for e in sorted(members)]
            values += [(e, False) for e in sorted(former - members)]
        if values:
            self.con.executemany(
                f"INSERT INTO {rel.VALUES} VALUES (?, ?, ?, CAST(? AS JSON))",
                [(definition.target, e, request.name, json.dumps(v)) for e, v in values],
            )

    # --- audience history -----------------------------------------------------------------------

    def _history(
        self,
        messages: Sequence[Message],
        requests: Sequence[Request],
        read: set[str],
        as_of: datetime,
        targets: Mapping[str, Target],
        failed: dict[str, Failure],
    ) -> dict[str, set[str]]:
        """Who was ever a member, before ``as_of``, of each audience that is read by key.

        Membership only changes where a bound flips: at a message time, or a message time or a
        date value shifted by a duration of the definitions. Sampling each such edge and one
        microsecond either side samples every constant stretch (as the reference engine does);
        at each sample the read audiences (and what they read) are evaluated in order over the
        profiles as they were then, each seeing the history gathered so far.
        """
        audiences = [r for r in requests if r.name in read and r.definition.kind == "audience"]
        if not audiences or not messages:
            return {}
        by_name = {r.name: r for r in requests}
        needed: set[str] = set()
        stack = [r.name for r in audiences]
        while stack:
            name = stack.pop()
            if name not in needed:
                needed.add(name)
                stack.extend(k for k in references(by_name[name].definition) if k in by_name)
        chain = [r for r in requests if r.name in needed]
        spans = {timedelta(0)}
        for r in chain:
            spans.update(_durations(r.definition))
        ordered = sorted(messages, key=message_order)
        earlier = [m for m in ordered if m.timestamp < as_of]
        if not earlier:
            return {}
        # Windows on events end a span after the event; date comparators on values change a
        # span before or after the date.
        edges = {m.timestamp + span for m in earlier for span in spans}
        dates = {
            d for m in earlier for p in (m.traits, m.properties, m.context) for d in dates_in(p)
        }
        edges.update(d + sign * span for d in dates for span in spans for sign in (1, -1))
        first = earlier[0].timestamp  # before it nothing exists, so nobody is a member
        samples = sorted(
            at for at in {e + k * _TICK for e in edges for k in (-1, 0, 1)} if first <= at < as_of
        )
        times = [m.timestamp for m in ordered]
        ever: dict[str, set[str]] = {r.name: set() for r in audiences}
        loaded: tuple[int, Prepared] | None = None
        for at in samples:
            visible = bisect.bisect_right(times, at)
            if loaded is None or loaded[0] != visible:
                loaded = (visible, prepare(ordered[:visible], as_of=at))
                self.load(loaded[1])
            else:
                self.con.execute(f"DELETE FROM {rel.VALUES}")
            prepared = loaded[1]
            for r in chain:
                if r.name in failed:
                    continue
                try:
                    rows = self._run(r, at, targets)
                except UnsupportedError as err:
                    failed[r.name] = Failure(code="unsupported", message=str(err))
                    continue
                self._store(r, rows, prepared, ever.get(r.name, set()))
                if r.name in ever:
                    for entity, _ in rows:
                        target = r.definition.target
                        ever[r.name].add(entity if target == "accounts" else prepared.reps[entity])
        return ever
