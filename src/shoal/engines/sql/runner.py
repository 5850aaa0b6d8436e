"""What every SQL engine does around its queries, whatever runs them (DuckDB, Spark).

:class:`SQLEngine` implements :class:`shoal.engines.Engine` once: it prepares the relations
(``prepare.py``), runs each compiled definition in dependency order, turns rows into outcomes,
stores the results that other definitions read by key in ``shoal_values`` and, for audiences
read by key, works out who was a member before (the audience *history*). A concrete engine only
says how to load relations, run one compiled query and write ``shoal_values`` rows.

No database is imported here.
"""

from __future__ import annotations

import bisect
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, ClassVar

from shoal.engines import Failure, Members, Outcome, Request, Values
from shoal.engines.sql.compiler import CompiledQuery, Compiler, Target
from shoal.engines.sql.prepare import Prepared, prepare
from shoal.engines.sql.values import UnsupportedError, duration_of
from shoal.engines.values import dates_in
from shoal.identity.resolve import message_order
from shoal.lang import ast
from shoal.lang.check import references
from shoal.spec.message import Message

__all__ = ["Rows", "SQLEngine", "ValueRow"]

_TICK = timedelta(microseconds=1)

Rows = list[tuple[str, Any]]
"""Rows of one definition at one instant: (entity id, value); audiences keep members only."""

ValueRow = tuple[str, str, str, Any]
"""A ``shoal_values`` row: (target, entity id, key, value as a JSON-ready Python value)."""


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


class SQLEngine(ABC):
    """An engine that evaluates compiled definitions over the relations of ``relations.py``.

    One evaluation at a time per instance (the relations are replaced on every call).
    """

    name: ClassVar[str]
    compiler: ClassVar[type[Compiler]]
    """The dialect compiler whose SQL :meth:`fetch` runs."""

    # --- what an engine provides ---------------------------------------------------------------

    @abstractmethod
    def load(self, prepared: Prepared) -> None:
        """Replace the input relations with ``prepared``'s rows; ``shoal_values`` emptied."""

    @abstractmethod
    def clear_values(self) -> None:
        """Empty ``shoal_values``."""

    @abstractmethod
    def insert_values(self, rows: Sequence[ValueRow]) -> None:
        """Append rows to ``shoal_values``."""

    @abstractmethod
    def fetch(self, compiler: Compiler, query: CompiledQuery) -> list[tuple[str, Any, Any]]:
        """Run ``query``: ``(entity_id, value, integral)`` rows, ``value`` as Python reads it
        (a JSON value decoded, a list as a list, an event time as ISO-8601 UTC text with Z)."""

    def fetch_many(
        self, queries: Sequence[tuple[Compiler, CompiledQuery]]
    ) -> list[list[tuple[str, Any, Any]]]:
        """:meth:`fetch` for queries that do not depend on each other, in order. An engine that
        pays per query (Spark: a job each) runs them together."""
        return [self.fetch(compiler, query) for compiler, query in queries]

    # --- the Engine protocol --------------------------------------------------------------------

    def evaluate(
        self, messages: Sequence[Message], requests: Sequence[Request], *, as_of: datetime
    ) -> dict[str, Outcome]:
        """Every request at ``as_of``; ``requests`` come in dependency order (engines.plan)."""
        targets: dict[str, Target] = {r.name: r.definition.target for r in requests}
        read = self._read(requests)
        failed: dict[str, Failure] = {}
        # Audiences read by key need their history: "false" once a member has left.
        ever = self._history(messages, requests, read, as_of, targets, failed)
        prepared = prepare(messages, as_of=as_of)
        self.load(prepared)

        def former(request: Request) -> set[str]:
            seen = ever.get(request.name, set())
            if request.definition.target == "users":
                return {prepared.message_profiles[m] for m in seen}
            return set(seen)

        return self.run_requests(requests, as_of, prepared.names, former, failed)

    def run_requests(
        self,
        requests: Sequence[Request],
        as_of: datetime,
        names: Mapping[str, str],
        former: Callable[[Request], set[str]],
        failed: dict[str, Failure] | None = None,
    ) -> dict[str, Outcome]:
        """Run ``requests`` over the loaded relations, storing what others read by key.

        Args:
            names: profile id → output name.
            former: ``former(request) -> set`` of entity ids that were members of the audience
                ``request`` before ``as_of`` (they read ``false`` when no longer members).
            failed: failures found so far (a definition reading one fails too).
        """
        targets: dict[str, Target] = {r.name: r.definition.target for r in requests}
        read = self._read(requests)
        failed = {} if failed is None else failed
        out: dict[str, Outcome] = {}
        # Definitions of one level read none of each other, so they run together.
        for level in self._levels(requests):
            runnable: list[Request] = []
            for request in level:
                bad = sorted(references(request.definition) & failed.keys())
                if request.name in failed or bad:
                    failure = failed.get(request.name) or Failure(
                        code="invalid_reference",
                        message=f"reads `{bad[0]}`, which cannot be evaluated",
                    )
                    failed[request.name] = out[request.name] = failure
                else:
                    runnable.append(request)
            results = self._run_many([(r, as_of) for r in runnable], targets)
            for request, rows in zip(runnable, results, strict=True):
                if isinstance(rows, Failure):
                    failed[request.name] = out[request.name] = rows
                    continue
                out[request.name] = self._outcome(request.definition, rows, names)
                if request.name in read:
                    self._store(request, rows, former(request))
        return out

    @staticmethod
    def _levels(requests: Sequence[Request]) -> list[list[Request]]:
        """``requests`` (in dependency order) grouped by depth: a level reads only earlier ones."""
        depth: dict[str, int] = {}
        levels: list[list[Request]] = []
        for request in requests:
            deps = [depth[k] for k in references(request.definition) if k in depth]
            depth[request.name] = level = 1 + max(deps, default=-1)
            if level == len(levels):
                levels.append([])
            levels[level].append(request)
        return levels

    @staticmethod
    def _read(requests: Sequence[Request]) -> set[str]:
        """Names of the requests that another request reads by key."""
        by_name = {r.name for r in requests}
        return {ref for r in requests for ref in references(r.definition) if ref in by_name}

    def make_compiler(
        self, *, now: datetime, definitions: Mapping[str, Target], include_anonymous: bool
    ) -> Compiler:
        """The compiler of one run (an engine may read promoted columns: ``layout.py``)."""
        return self.compiler(now=now, definitions=definitions, include_anonymous=include_anonymous)

    def _run_many(
        self, runs: Sequence[tuple[Request, datetime]], targets: Mapping[str, Target]
    ) -> list[Rows | Failure]:
        """Each request at its instant, in one :meth:`fetch_many`; a failure for a request the
        compiler cannot handle."""
        compiled: list[tuple[Compiler, CompiledQuery]] = []
        results: list[Rows | Failure] = []
        for request, now in runs:
            compiler = self.make_compiler(
                now=now, definitions=targets, include_anonymous=request.include_anonymous
            )
            try:
                compiled.append((compiler, compiler.compile(request.definition)))
                results.append([])
            except UnsupportedError as err:
                results.append(Failure(code="unsupported", message=str(err)))
        fetched = iter(self.fetch_many(compiled))
        for i, ((request, _), result) in enumerate(zip(runs, results, strict=True)):
            if not isinstance(result, Failure):
                results[i] = self._rows(request, next(fetched))
        return results

    @staticmethod
    def _rows(request: Request, fetched: list[tuple[str, Any, Any]]) -> Rows:
        out: Rows = []
        for entity, value, integral in fetched:
            if integral and isinstance(value, float) and value.is_integer():
                value = int(value)  # an integer sum/min/max, as the reference prints it
            if value is None or (request.definition.kind == "audience" and not value):
                continue
            out.append((entity, value))
        return out

    @staticmethod
    def _outcome(definition: ast.Definition, rows: Rows, names: Mapping[str, str]) -> Outcome:
        def name(entity: str) -> str:
            if definition.target == "accounts":
                return f"group_id:{entity}"
            return names[entity]

        if definition.kind == "audience":
            return Members(tuple(sorted(name(e) for e, _ in rows)))
        return Values({name(e): v for e, v in rows})

    def _store(self, request: Request, rows: Rows, former: set[str]) -> None:
        """Write a result to ``shoal_values`` for the definitions that read it by key.

        An audience writes ``true`` for members and ``false`` for ``former`` members that are
        members no longer.
        """
        definition = request.definition
        values: Rows = list(rows)
        if definition.kind == "audience":
            members = {e for e, _ in rows}
            values = [(e, True) for e in sorted(members)]
            values += [(e, False) for e in sorted(former - members)]
        if values:
            self.insert_values([(definition.target, e, request.name, v) for e, v in values])

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
        """Who was ever a member, before ``as_of``, of each audience that is read by key
        (group ids, or earliest message ids of user profiles: a profile at an earlier instant
        is part of the later profile that holds its earliest message).

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
        # Consecutive samples that see the same messages share one load.
        groups: list[tuple[int, list[datetime]]] = []
        for at in samples:
            visible = bisect.bisect_right(times, at)
            if groups and groups[-1][0] == visible:
                groups[-1][1].append(at)
            else:
                groups.append((visible, [at]))
        # The chain's first level reads nothing of the chain: it runs at every sample of a load
        # at once. Deeper levels read what each sample stores, so they run sample by sample.
        level_one = self._levels(chain)[0]
        ever: dict[str, set[str]] = {r.name: set() for r in audiences}
        for visible, instants in groups:
            prepared = prepare(ordered[:visible], as_of=instants[0])
            self.load(prepared)
            runs = [r for r in level_one if r.name not in failed]
            batch = iter(self._run_many([(r, at) for at in instants for r in runs], targets))
            for index, at in enumerate(instants):
                if index:
                    self.clear_values()
                early = {r.name: next(batch) for r in runs}
                for r in chain:
                    if r.name in failed:
                        continue
                    if r.name in early:
                        rows = early[r.name]
                    else:
                        rows = self._run_many([(r, at)], targets)[0]
                    if isinstance(rows, Failure):
                        failed[r.name] = rows
                        continue
                    self._record(r, rows, prepared, ever)
        return ever

    def _record(
        self, r: Request, rows: Rows, prepared: Prepared, ever: dict[str, set[str]]
    ) -> None:
        """Store one history sample's result and add its members to ``ever``."""
        seen = ever.get(r.name, set())
        if r.definition.target == "users":
            self._store(r, rows, {prepared.message_profiles[m] for m in seen})
        else:
            self._store(r, rows, set(seen))
        if r.name in ever:
            for entity, _ in rows:
                target = r.definition.target
                ever[r.name].add(entity if target == "accounts" else prepared.reps[entity])
