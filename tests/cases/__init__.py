"""The shared, engine-neutral case corpus (format: docs/eval.md "Case corpus").

``streams/<name>.jsonl`` hold Segment messages as the Tracking API takes them (explicit
``messageId`` and ``timestamp``). Each ``*.yaml`` file lists cases with file-level defaults::

    stream: shop                      # default for every case below
    as_of: "2024-06-30T12:00:00Z"
    type: users                       # users | accounts
    cases:
      - name: some_case               # unique over the corpus; also its key for trait('...')
        query: "event('X').count() >= 1"
        kind: audience                # optional: audience | trait (default: by the query's type)
        include_anonymous: false      # optional
        defs:                         # optional: other definitions evaluated in the same batch
          - {name: other, query: "...", type: users, kind: trait}
        expect: {members: [user_id:a]} | {values: {user_id:a: 3}} | {error: code}

Every expectation was written by hand from SEMANTICS.md, never by running an engine.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import yaml

__all__ = ["CASES_DIR", "Case", "Def", "Expect", "load_cases", "values_match"]

CASES_DIR = Path(__file__).parent
STREAMS_DIR = CASES_DIR / "streams"

Kind = Literal["audience", "trait"]
Target = Literal["users", "accounts"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Def:
    """A definition evaluated in the same batch as a case (so the case can read it by name)."""

    name: str
    query: str
    type: Target = "users"
    kind: Kind | None = None
    include_anonymous: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Expect:
    members: tuple[str, ...] | None = None
    values: dict[str, Any] | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Case:
    name: str
    file: str
    stream: str
    as_of: datetime
    type: Target
    query: str
    expect: Expect
    kind: Kind | None = None
    include_anonymous: bool = False
    defs: tuple[Def, ...] = field(default_factory=tuple)

    @property
    def stream_path(self) -> Path:
        return STREAMS_DIR / f"{self.stream}.jsonl"

    @property
    def definitions(self) -> tuple[Def, ...]:
        """The case itself first, then its ``defs``."""
        own = Def(
            name=self.name,
            query=self.query,
            type=self.type,
            kind=self.kind,
            include_anonymous=self.include_anonymous,
        )
        return (own, *self.defs)


def _expect(raw: dict[str, Any], where: str) -> Expect:
    if set(raw) == {"members"}:
        return Expect(members=tuple(raw["members"]))
    if set(raw) == {"values"}:
        return Expect(values=dict(raw["values"]))
    if set(raw) == {"error"}:
        return Expect(error=str(raw["error"]))
    raise ValueError(f"{where}: expect needs exactly one of members, values, error")


def load_cases(directory: Path = CASES_DIR) -> list[Case]:
    """Every case of every ``*.yaml`` file in ``directory``, in file then listing order."""
    cases: list[Case] = []
    seen: set[str] = set()
    for path in sorted(directory.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        for raw in doc["cases"]:
            where = f"{path.name}:{raw.get('name')}"
            name = raw["name"]
            if name in seen:
                raise ValueError(f"{where}: duplicate case name")
            seen.add(name)
            case_type = raw.get("type", doc.get("type", "users"))
            include_anonymous = bool(raw.get("include_anonymous", False))
            defs = tuple(
                Def(
                    name=d["name"],
                    query=d["query"],
                    type=d.get("type", case_type),
                    kind=d.get("kind"),
                    include_anonymous=bool(d.get("include_anonymous", include_anonymous)),
                )
                for d in raw.get("defs", ())
            )
            case = Case(
                name=name,
                file=path.name,
                stream=raw.get("stream", doc.get("stream")),
                as_of=datetime.fromisoformat(raw.get("as_of", doc.get("as_of"))),
                type=case_type,
                kind=raw.get("kind"),
                include_anonymous=include_anonymous,
                query=raw["query"],
                defs=defs,
                expect=_expect(raw["expect"], where),
            )
            if not case.stream_path.is_file():
                raise ValueError(f"{where}: no stream {case.stream_path}")
            cases.append(case)
    return cases


def values_match(actual: Any, expected: Any) -> bool:
    """Equal, with numbers compared within 1e-9 relative error (docs/eval.md)."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        return actual is expected
    if isinstance(expected, int | float) and isinstance(actual, int | float):
        return math.isclose(actual, expected, rel_tol=1e-9, abs_tol=0.0)
    if isinstance(expected, list) and isinstance(actual, list):
        return len(actual) == len(expected) and all(
            values_match(a, e) for a, e in zip(actual, expected, strict=True)
        )
    if isinstance(expected, dict) and isinstance(actual, dict):
        return actual.keys() == expected.keys() and all(
            values_match(actual[k], expected[k]) for k in expected
        )
    return bool(actual == expected)
