"""Evaluation engines: one contract, several implementations (docs/eval.md).

An engine evaluates many audience and computed-trait definitions over one set of Segment messages
at an as-of instant (SEMANTICS.md). The reference engine (:mod:`shoal.engines.reference`) is the
oracle; SQL and real-time engines plug in through the same :class:`Engine` protocol and the
:data:`ENGINES` registry, and every engine runs the shared case corpus in ``tests/cases``.

What is common to every engine lives here, so no engine can get it differently:

* :func:`compile_request` turns definition text into a checked tree, deciding audience vs
  computed trait by the definition's type unless told;
* :func:`plan` orders definitions so that each comes after the ones it reads with ``trait('k')``
  and fails every definition in (or depending on) a reference cycle;
* :func:`run` plans, calls the engine and merges the failures back.

Pure: no I/O, nothing heavy imported (engines with heavy dependencies import them lazily).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from shoal.errors import DefinitionError
from shoal.lang import ast
from shoal.lang.check import check, references
from shoal.lang.parser import parse
from shoal.spec.message import Message

__all__ = [
    "ENGINES",
    "Engine",
    "Failure",
    "Members",
    "Outcome",
    "Request",
    "Values",
    "compile_request",
    "get_engine",
    "plan",
    "run",
]

Kind = Literal["audience", "trait"]
Target = Literal["users", "accounts"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Request:
    """One definition to evaluate; ``name`` is also the key other definitions read it by."""

    name: str
    definition: ast.Definition
    include_anonymous: bool = False


@dataclass(frozen=True, slots=True)
class Members:
    """An audience's members, by output name (SEMANTICS "Output form"), sorted."""

    names: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"members": list(self.names)}


@dataclass(frozen=True, slots=True)
class Values:
    """A computed trait's non-null values by output name (JSON-ready: str, number, list)."""

    values: Mapping[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"values": {k: self.values[k] for k in sorted(self.values)}}


@dataclass(frozen=True, slots=True, kw_only=True)
class Failure:
    """A definition that could not be evaluated; ``line``/``col`` are 1-based."""

    code: str
    message: str
    line: int = 1
    col: int = 1
    cause: DefinitionError | None = field(default=None, compare=False, repr=False)
    """The language error behind it, for rendering with its caret and hint."""

    def to_json(self) -> dict[str, Any]:
        return {
            "error": {
                "code": self.code,
                "message": self.message,
                "line": self.line,
                "col": self.col,
            }
        }

    @classmethod
    def of(cls, err: DefinitionError) -> Failure:
        return cls(code=err.code, message=err.message, line=err.line, col=err.col, cause=err)


Outcome = Members | Values | Failure


class Engine(Protocol):
    """Evaluates many definitions over one load of messages at one instant.

    ``requests`` come in dependency order (see :func:`plan`): a definition read with
    ``trait('k')`` is evaluated before its readers, and there are no cycles. The engine returns
    an outcome for every request; it may return :class:`Failure` for one it cannot handle.
    Messages are validated and normalised (``shoal.spec``); the engine applies the as-of cut,
    identity resolution and everything else in SEMANTICS.md itself.
    """

    name: str

    def evaluate(
        self, messages: Sequence[Message], requests: Sequence[Request], *, as_of: datetime
    ) -> dict[str, Outcome]: ...


#: Engine name → ``module:Class``; imported only when asked for, so heavy engines cost nothing.
ENGINES: dict[str, str] = {
    "reference": "shoal.engines.reference:ReferenceEngine",
    "duckdb": "shoal.engines.sql.duckdb_engine:DuckDBEngine",
    "realtime": "shoal.engines.realtime.engine:RealtimeEngine",
    "spark": "shoal.engines.sql.spark_engine:SparkEngine",
}


def get_engine(name: str, **options: Any) -> Engine:
    """A new engine by registry name (``options`` go to its constructor, e.g. the Spark
    engine's ``spark_master``); ``KeyError`` for an unknown one."""
    module_name, _, cls_name = ENGINES[name].partition(":")
    engine: Engine = getattr(importlib.import_module(module_name), cls_name)(**options)
    return engine


_BOOL_NODES = (ast.Comparator, ast.And, ast.Or, ast.Not, ast.Any, ast.All)


def compile_request(
    name: str,
    query: str,
    *,
    target: Target = "users",
    kind: Kind | None = None,
    include_anonymous: bool = False,
) -> Request | Failure:
    """Parse and check ``query``; without ``kind`` a condition is an audience, a value a trait."""
    try:
        tree = parse(query, kind=kind or "audience", target=target)
        if kind is None and not isinstance(tree.body, _BOOL_NODES):
            tree = ast.Definition(kind="trait", target=target, body=tree.body, span=tree.span)
        return Request(name=name, definition=check(tree), include_anonymous=include_anonymous)
    except DefinitionError as err:
        return Failure.of(err)


def plan(requests: Iterable[Request]) -> tuple[list[Request], dict[str, Failure]]:
    """Requests in dependency order, and failures for those in or behind a reference cycle.

    A definition reads another when it calls ``trait('<its name>')``. Every member of a cycle
    (a self-reference included) fails with ``reference_cycle``; one that reads a failed
    definition fails too, since it has nothing to read.
    """
    by_name = {r.name: r for r in requests}
    deps = {n: sorted(references(r.definition) & by_name.keys()) for n, r in by_name.items()}
    failures: dict[str, Failure] = {}
    for component in _cycles(deps):
        ring = " → ".join([*component, component[0]])
        for member in component:
            failures[member] = Failure(
                code="reference_cycle",
                message=f"the definition would create a cycle by referencing another: {ring}",
            )
    order: list[str] = []
    done: set[str] = set()

    def visit(name: str) -> None:
        if name in done:
            return
        done.add(name)
        for dep in deps[name]:
            visit(dep)
        if name in failures:
            return
        bad = [d for d in deps[name] if d in failures]
        if bad:
            failures[name] = Failure(
                code="invalid_reference", message=f"reads `{bad[0]}`, which cannot be evaluated"
            )
            return
        order.append(name)

    for name in sorted(by_name):
        visit(name)
    return [by_name[n] for n in order], failures


def _cycles(deps: Mapping[str, Sequence[str]]) -> list[list[str]]:
    """Strongly connected components that form a cycle (Tarjan), members sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in deps[v]:
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component: list[str] = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1 or v in deps[v]:
                found.append(sorted(component))

    for v in sorted(deps):
        if v not in index:
            strong(v)
    return found


def run(
    engine: Engine,
    messages: Sequence[Message],
    compiled: Iterable[Request | tuple[str, Failure]],
    *,
    as_of: datetime,
) -> dict[str, Outcome]:
    """Plan, evaluate and merge failures: the outcome of every named definition.

    ``compiled`` holds requests and ``(name, failure)`` pairs for definitions that did not
    compile; a definition reading a failed one fails as well.
    """
    requests: list[Request] = []
    failed: dict[str, Failure] = {}
    for item in compiled:
        if isinstance(item, Request):
            requests.append(item)
        else:
            failed[item[0]] = item[1]
    # A definition that reads one that did not compile cannot be evaluated either.
    changed = True
    while changed:
        changed = False
        for r in list(requests):
            bad = sorted(references(r.definition) & failed.keys())
            if bad:
                failed[r.name] = Failure(
                    code="invalid_reference", message=f"reads `{bad[0]}`, which is invalid"
                )
                requests.remove(r)
                changed = True
    ordered, cycle_failures = plan(requests)
    outcomes: dict[str, Outcome] = {**failed, **cycle_failures}
    if ordered:
        outcomes.update(engine.evaluate(messages, ordered, as_of=as_of))
    return outcomes
