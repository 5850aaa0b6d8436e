"""What the compute service asks of a real-time core beyond applying events.

The same functions serve a core held in the server's own process and, run by
:mod:`.remote`'s child, a core held in the engine process: the service's difference between two
cores, its members listing, the results a recovery compares with the log, and checkpoint files.
"""

from __future__ import annotations

import os
import pickle
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from shoal import pickling
from shoal.engines import values as V
from shoal.engines.realtime import Change, Core
from shoal.spec.message import Message

__all__ = [
    "CHECKPOINT_VERSION",
    "Snapshot",
    "apply_each",
    "diff",
    "members",
    "read_checkpoint",
    "snapshot",
    "write_checkpoint",
]

CHECKPOINT_VERSION = 2
"""1: a header, then the whole space with its core. 2: a header, the space's positions and
definitions, then the core on its own (the process holding the core writes and reads it)."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A core's results with what it takes to name their entities (read by a recovery)."""

    results: dict[str, dict[str, Any]]
    accounts: dict[str, bool]
    """Definition key → whether its entities are accounts."""
    names: dict[str, str]
    """Profile id → its name, for every profile with a result."""

    def name_of(self, key: str, entity: str) -> str:
        if self.accounts[key]:
            return f"group_id:{entity}"
        return self.names.get(entity, entity)


def snapshot(core: Core) -> Snapshot:
    names: dict[str, str] = {}
    for key, results in core.results.items():
        if not core.units[key].accounts:
            for entity in results:
                if entity not in names:
                    names[entity] = core.name_of(key, entity)
    return Snapshot(
        {key: dict(results) for key, results in core.results.items()},
        {key: unit.accounts for key, unit in core.units.items()},
        names,
    )


def apply_each(core: Core, items: list[tuple[Message, datetime]], done: list[list[Change]]) -> None:
    """Each message applied on its own at its ``now``, in order; the changes of each appended
    to ``done`` as it goes (so a failure leaves those of the messages before it)."""
    for message, now in items:
        done.append(core.apply([message], now))


def diff(old: Core, new: Core, now: datetime) -> list[Change]:
    """The changes from ``old``'s results to ``new``'s, all at ``now`` with no cause."""
    changes: list[Change] = []
    for key in sorted(set(old.results) | set(new.results)):
        before = old.results.get(key, {})
        after = new.results.get(key, {})
        unit = new.units.get(key) or old.units[key]
        target = "accounts" if unit.accounts else "users"
        for entity in sorted(set(before) | set(after)):
            a, b = before.get(entity), after.get(entity)
            if a == b and type(a) is type(b):
                continue
            source = new if entity in after else old
            name = source.name_of(key, entity)
            changes.append(Change(key, target, entity, name, a, b, now, None))
    return changes


def members(core: Core, key: str) -> dict[str, Any] | None:
    """Current members (audience) or values (computed trait) by output name; None for a key
    the core does not hold."""
    results = core.results.get(key)
    if results is None:
        return None
    return {core.name_of(key, e): V.jsonable(v) for e, v in sorted(results.items())}


def write_checkpoint(path: Path, head: bytes, core: Core) -> None:
    """``head`` (the header and the space's fields, pickled) then ``core``, replacing ``path``
    only once all of it is on disk."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as fh:
        fh.write(head)
        pickling.pickler(fh).dump(core)
        fh.flush()
        os.fsync(fh.fileno())
    tmp.replace(path)


def read_checkpoint(path: Path, build: str) -> tuple[dict[str, Any], Core]:
    """The space's fields and its core from a checkpoint written by ``build``.

    Raises ``ValueError`` for another version or build before any of the core's objects is
    rebuilt (the two builds pickle some of them differently, see :mod:`shoal.native`).
    """
    with path.open("rb") as fh:
        header = pickle.load(fh)
        version = header.get("version")
        if version not in (1, CHECKPOINT_VERSION):
            raise ValueError(f"checkpoint version {version}")
        # Before the header had its own record, only interpreted builds wrote any.
        written = header.get("build", "interpreted")
        if written != build:
            raise ValueError(f"written by the {written} build, this runs the other")
        if version == 1:
            space = header["space"] if "space" in header else pickle.load(fh)
            # Fields added since may be unset on an old space: the caller fills them in.
            fields = {
                name: getattr(space, name)
                for name in space.__slots__
                if name != "core" and hasattr(space, name)
            }
            return fields, space.core
        fields = pickle.load(fh)
        core: Core = pickle.load(fh)
        return fields, core
