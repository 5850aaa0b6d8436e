"""Definitions as code: the audiences and computed traits a server keeps live, from a file.

A YAML or TOML file holds a list ``definitions`` (TOML: ``[[definitions]]`` tables), each with::

    key: abandoned_cart          # required; what trait('<key>') and the change log use
    name: Abandoned cart         # optional display name (defaults to the key)
    type: audience               # audience | trait (computed trait)
    target: users                # users | accounts
    query: event('Product Added').within(1 day).count() >= 1
    space: default               # optional
    include_anonymous: false     # optional
    include_historical_data: true   # optional: false = only events from creation on count
    backfill_event_data_days: 30    # optional: only events from N days before creation count

The whole file is checked before anything is applied: every entry's fields, every query
(with its line and column), duplicate keys and reference cycles. One bad entry rejects the
file, with every problem listed, and the previous definitions stay in force.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import orjson
import yaml

from shoal.engines import Failure, Request, compile_request, plan
from shoal.errors import UserError
from shoal.lang.render import render_error

__all__ = [
    "Definition",
    "DefinitionFileError",
    "DefinitionSet",
    "load_definitions",
    "parse_definitions",
]

_FIELDS = {
    "key",
    "name",
    "type",
    "target",
    "query",
    "space",
    "include_anonymous",
    "include_historical_data",
    "backfill_event_data_days",
}


class DefinitionFileError(UserError):
    """The definitions file is unreadable or holds an invalid entry (nothing was applied)."""

    default_code = "invalid_definitions"

    def __init__(self, problems: list[str], *, location: str) -> None:
        self.problems = problems
        super().__init__("; ".join(problems), location=location)


@dataclass(frozen=True, slots=True)
class Definition:
    """One entry of the file, checked."""

    key: str
    name: str
    kind: Literal["audience", "trait"]
    target: Literal["users", "accounts"]
    query: str
    space: str = "default"
    include_anonymous: bool = False
    include_historical_data: bool = True
    backfill_event_data_days: int | None = None

    def request(self) -> Request:
        compiled = compile_request(
            self.key,
            self.query,
            target=self.target,
            kind=self.kind,
            include_anonymous=self.include_anonymous,
        )
        assert isinstance(compiled, Request), "checked when the file was loaded"
        return compiled

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "name": self.name,
            "type": self.kind,
            "target": self.target,
            "query": self.query,
            "space": self.space,
            "include_anonymous": self.include_anonymous,
            "include_historical_data": self.include_historical_data,
            "backfill_event_data_days": self.backfill_event_data_days,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Definition:
        """Inverse of :meth:`to_dict` (for definitions recorded in the log; already checked)."""
        return cls(
            key=d["key"],
            name=d["name"],
            kind=d["type"],
            target=d["target"],
            query=d["query"],
            space=d["space"],
            include_anonymous=d["include_anonymous"],
            include_historical_data=d["include_historical_data"],
            backfill_event_data_days=d["backfill_event_data_days"],
        )

    @property
    def fingerprint(self) -> str:
        """Changes whenever anything that affects results changes (not the display name)."""
        body = {k: v for k, v in self.to_dict().items() if k != "name"}
        return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class DefinitionSet:
    """Every definition of the file, checked, grouped by space in dependency order."""

    definitions: tuple[Definition, ...]

    def spaces(self) -> list[str]:
        return sorted({d.space for d in self.definitions})

    def of(self, space: str) -> list[Definition]:
        """The space's definitions, each after the ones it reads."""
        mine = {d.key: d for d in self.definitions if d.space == space}
        ordered, _ = plan([d.request() for d in mine.values()])
        return [mine[r.name] for r in ordered]


def load_definitions(path: Path) -> DefinitionSet:
    """Read and check ``path`` (``.yaml``/``.yml`` or ``.toml``)."""
    where = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DefinitionFileError(
            [f"cannot read the file: {exc.strerror}"], location=where
        ) from None
    return parse_definitions(text, fmt="toml" if path.suffix == ".toml" else "yaml", location=where)


def parse_definitions(text: str, *, fmt: Literal["yaml", "toml"], location: str) -> DefinitionSet:
    try:
        doc = tomllib.loads(text) if fmt == "toml" else yaml.safe_load(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise DefinitionFileError([f"not valid {fmt.upper()}: {exc}"], location=location) from None
    if doc is None:
        doc = {"definitions": []}
    if not isinstance(doc, dict) or not isinstance(doc.get("definitions", []), list):
        raise DefinitionFileError(
            ["the file must hold a list named `definitions`"], location=location
        )
    unknown = set(doc) - {"definitions"}
    if unknown:
        raise DefinitionFileError(
            [f"unknown top-level key `{sorted(unknown)[0]}` (only `definitions`)"],
            location=location,
        )
    problems: list[str] = []
    found: list[Definition] = []
    for index, entry in enumerate(doc.get("definitions", [])):
        at = f"definitions[{index}]"
        try:
            found.append(_entry(entry, at))
        except _Problem as problem:
            problems.append(str(problem))
    seen: dict[tuple[str, str], int] = {}
    for index, d in enumerate(found):
        if (d.space, d.key) in seen:
            problems.append(f"definitions: key `{d.key}` is defined twice in space `{d.space}`")
        seen[(d.space, d.key)] = index
    if not problems:
        for space in sorted({d.space for d in found}):
            mine = [d for d in found if d.space == space]
            _, failures = plan([d.request() for d in mine])
            problems.extend(f"definitions: `{k}`: {f.message}" for k, f in sorted(failures.items()))
    if problems:
        raise DefinitionFileError(problems, location=location)
    return DefinitionSet(tuple(found))


class _Problem(Exception):
    pass


def _entry(entry: Any, at: str) -> Definition:
    if not isinstance(entry, dict):
        raise _Problem(f"{at}: expected a table of fields, got {type(entry).__name__}")
    unknown = set(entry) - _FIELDS
    if unknown:
        raise _Problem(f"{at}: unknown field `{sorted(unknown)[0]}`")

    def text(name: str, default: str | None = None) -> str:
        value = entry.get(name, default)
        if not isinstance(value, str) or not value.strip():
            raise _Problem(f"{at}.{name}: expected a non-empty string")
        return value

    def flag(name: str, default: bool) -> bool:
        value = entry.get(name, default)
        if not isinstance(value, bool):
            raise _Problem(f"{at}.{name}: expected true or false")
        return value

    key = text("key")
    kind = text("type", "audience")
    if kind not in ("audience", "trait", "computed_trait"):
        raise _Problem(f"{at}.type: expected audience or trait, got {kind!r}")
    target = text("target", "users")
    if target not in ("users", "accounts"):
        raise _Problem(f"{at}.target: expected users or accounts, got {target!r}")
    days = entry.get("backfill_event_data_days")
    if days is not None and (isinstance(days, bool) or not isinstance(days, int) or days < 0):
        raise _Problem(f"{at}.backfill_event_data_days: expected a whole number of days ≥ 0")
    query = text("query")
    compiled = compile_request(
        key,
        query,
        target=target,  # type: ignore[arg-type]
        kind="trait" if kind != "audience" else "audience",
        include_anonymous=flag("include_anonymous", False),
    )
    if isinstance(compiled, Failure):
        rendered = (
            render_error(query, compiled.cause) if compiled.cause is not None else compiled.message
        )
        raise _Problem(f"{at}.query (`{key}`): {rendered}")
    return Definition(
        key=key,
        name=text("name", key),
        kind="trait" if kind != "audience" else "audience",
        target=target,  # type: ignore[arg-type]
        query=query,
        space=text("space", "default"),
        include_anonymous=flag("include_anonymous", False),
        include_historical_data=flag("include_historical_data", True),
        backfill_event_data_days=days,
    )
