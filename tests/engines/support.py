"""Running corpus cases on an engine in-process."""

from __future__ import annotations

import functools
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

from shoal.engines import Engine, Failure, Outcome, Request, compile_request, run
from shoal.spec.message import Message
from tests.cases import Case, Expect, values_match

#: ``receivedAt`` for messages that carry none. Fixed, so that no test reads the wall clock; the
#: corpus gives every message a ``timestamp``, so this only breaks ties (then messageId does).
RECEIVED_AT = datetime(2030, 1, 1, tzinfo=UTC)


@functools.cache
def load_stream(path: Path) -> tuple[Message, ...]:
    from shoal.spec.importer import read_messages

    return tuple(read_messages(path, received_at=RECEIVED_AT))


def run_case(engine: Engine, case: Case) -> Outcome:
    compiled: list[Request | tuple[str, Failure]] = []
    for d in case.definitions:
        item = compile_request(
            d.name, d.query, target=d.type, kind=d.kind, include_anonymous=d.include_anonymous
        )
        compiled.append(item if isinstance(item, Request) else (d.name, item))
    outcomes = run(engine, load_stream(case.stream_path), compiled, as_of=case.as_of)
    return outcomes[case.name]


def batches(cases: list[Case]) -> list[tuple[Path, datetime, list[Case]]]:
    """Cases grouped by (stream, as_of), split so that no batch holds one name twice: each batch
    is one evaluation of many definitions over one load."""
    groups: dict[tuple[Path, datetime], list[list[Case]]] = defaultdict(list)
    for case in cases:
        found = groups[(case.stream_path, case.as_of)]
        names = {d.name for d in case.definitions}
        for batch in found:
            if not names & {d.name for c in batch for d in c.definitions}:
                batch.append(case)
                break
        else:
            found.append([case])
    return [(s, a, b) for (s, a), bs in groups.items() for b in bs]


def run_batch(
    engine: Engine, stream: Path, as_of: datetime, cases: list[Case]
) -> dict[str, Outcome]:
    """Every definition of ``cases`` in one ``run``: the outcome of each by name."""
    compiled: list[Request | tuple[str, Failure]] = []
    for case in cases:
        for d in case.definitions:
            item = compile_request(
                d.name, d.query, target=d.type, kind=d.kind, include_anonymous=d.include_anonymous
            )
            compiled.append(item if isinstance(item, Request) else (d.name, item))
    return run(engine, load_stream(stream), compiled, as_of=as_of)


def outcome_json(outcome: Outcome) -> dict[str, object]:
    return outcome.to_json()


def matches(expect: Expect, actual: dict[str, object]) -> bool:
    """Whether an outcome in its JSON form (as ``shoal eval --cases`` prints) meets ``expect``."""
    if expect.error is not None:
        error = actual.get("error")
        return isinstance(error, dict) and error.get("code") == expect.error
    if expect.members is not None:
        return actual.get("members") == sorted(expect.members)
    return "values" in actual and values_match(actual["values"], expect.values)
