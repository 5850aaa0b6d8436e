"""Resolve a batch of messages to their final profiles: what the reference evaluator calls.

SEMANTICS "Which events a stream holds": events belong to the profile that owns their
identifiers after every visible message has been applied in time order, so ``resolve`` applies
all of them first and only then maps each message to its canonical profile.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from shoal.identity.extract import identifiers_of, previous_id_of
from shoal.identity.graph import Identifier, IdentityGraph, Merge, ProfileId
from shoal.identity.rules import DEFAULT_RULES, IdentityRules
from shoal.spec.message import Message


def message_order(msg: Message) -> tuple[datetime, datetime, str]:
    """SEMANTICS ordering: event time, then ``receivedAt``, then ``messageId``."""
    return (msg.timestamp, msg.received_at, msg.message_id)


def apply_message(graph: IdentityGraph, msg: Message) -> ProfileId | None:
    """Fold one message into ``graph``; the profile it belongs to now (None: no usable id)."""
    return graph.observe(
        identifiers_of(msg, graph.rules),
        at=msg.timestamp,
        message_id=msg.message_id,
        alias=msg.type == "alias",
        previous_id=previous_id_of(msg),
    )


@dataclass(frozen=True, slots=True)
class ResolvedProfile:
    id: ProfileId
    name: str
    """SEMANTICS "Output form", e.g. ``user_id:u1``."""
    identifiers: tuple[Identifier, ...]


@dataclass(frozen=True, slots=True)
class Resolution:
    """The final state after every message.

    ``message_profiles`` maps each message id to its final canonical profile, or None when the
    message had no usable identifier. ``profiles`` holds canonical profiles only, oldest first.
    ``graph`` stays usable for lookups by identifier (do not feed it more messages if you keep
    this object: the other fields would go stale).
    """

    message_profiles: Mapping[str, ProfileId | None]
    profiles: Mapping[ProfileId, ResolvedProfile]
    merges: tuple[Merge, ...]
    graph: IdentityGraph

    def profile_of_message(self, message_id: str) -> ResolvedProfile | None:
        pid = self.message_profiles.get(message_id)
        return None if pid is None else self.profiles[pid]

    def profile_of(self, id_type: str, value: str) -> ResolvedProfile | None:
        pid = self.graph.profile_of(id_type, value)
        return None if pid is None else self.profiles[pid]

    def partition(self) -> frozenset[frozenset[tuple[str, str]]]:
        """The identifier sets of all profiles, order-free: handy for comparing engines."""
        return frozenset(
            frozenset((i.type, i.value) for i in p.identifiers) for p in self.profiles.values()
        )


def resolve(
    messages: Iterable[Message],
    *,
    rules: IdentityRules = DEFAULT_RULES,
    as_of: datetime | None = None,
) -> Resolution:
    """Apply ``messages`` in SEMANTICS order and report where each one ends up.

    With ``as_of``, messages whose time is after it are invisible (SEMANTICS "Time"): they merge
    nothing and get no entry in ``message_profiles``.
    """
    ordered = sorted(
        (m for m in messages if as_of is None or m.timestamp <= as_of), key=message_order
    )
    graph = IdentityGraph(rules)
    observe = graph.observe
    at_the_time: dict[str, ProfileId | None] = {}
    for msg in ordered:  # apply_message, inlined: this loop is the resolver's hot path
        at_the_time[msg.message_id] = observe(
            identifiers_of(msg, rules),
            at=msg.timestamp,
            message_id=msg.message_id,
            alias=msg.type == "alias",
            previous_id=msg.previous_id if msg.type == "alias" else None,
        )
    # Far fewer profiles than messages: follow each profile's merges once.
    canonical: dict[ProfileId | None, ProfileId | None] = {None: None}
    for pid in set(at_the_time.values()):
        if pid is not None:
            canonical[pid] = graph.canonical(pid)
    final = {mid: canonical[pid] for mid, pid in at_the_time.items()}
    profiles = {
        pid: ResolvedProfile(pid, graph.name(pid), tuple(graph.identifiers(pid)))
        for pid in graph.profiles()
    }
    return Resolution(final, profiles, tuple(graph.merges), graph)
