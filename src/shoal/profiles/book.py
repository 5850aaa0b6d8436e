"""The profile book of one space: identity graph + traits, external ids, events, accounts.

Pure (no I/O): ``apply(message)`` folds one stored message in; readers ask for a profile by any
identifier. Traits are "latest by event time": each trait remembers the time of the message that
set it, so a late-arriving older identify never overwrites a newer value, and ``null`` removes a
trait only when it is the newest word on it. On a merge the absorbed profile's traits, events and
account links move to the surviving profile, keeping the newer value of each trait.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from shoal.identity.extract import group_id_of
from shoal.identity.graph import IdentityGraph
from shoal.identity.resolve import apply_message
from shoal.identity.rules import DEFAULT_RULES, IdentityRules
from shoal.spec.message import Message

Collection = Literal["users", "accounts"]


@dataclass(slots=True)
class TraitValue:
    """A trait's value (None = removed) and which message set it, when."""

    value: Any
    updated_at: datetime
    message_id: str


@dataclass(slots=True)
class EventRef:
    """Where a profile's event sits in the log, enough to sort and filter without reading it."""

    timestamp: datetime
    seq: int
    name: str | None
    """``event('X')`` name; None for identify, group and alias calls."""


@dataclass(slots=True)
class Link:
    created_at: datetime
    message_id: str


@dataclass(slots=True)
class Record:
    """What Shoal knows about one user profile or account."""

    id: str
    created_at: datetime
    updated_at: datetime
    first_message_id: str
    last_message_id: str
    traits: dict[str, TraitValue] = field(default_factory=dict)
    events: list[EventRef] = field(default_factory=list)
    links: dict[str, Link] = field(default_factory=dict)
    """users: group_id → link; accounts: user profile id → link."""

    def visible_traits(self) -> dict[str, TraitValue]:
        return {k: t for k, t in sorted(self.traits.items()) if t.value is not None}

    def touch(self, message: Message) -> None:
        if message.timestamp < self.created_at:
            self.created_at = message.timestamp
            self.first_message_id = message.message_id
        if message.timestamp >= self.updated_at:
            self.updated_at = message.timestamp
            self.last_message_id = message.message_id


def _new_record(rid: str, message: Message) -> Record:
    return Record(
        id=rid,
        created_at=message.timestamp,
        updated_at=message.timestamp,
        first_message_id=message.message_id,
        last_message_id=message.message_id,
    )


def _set_traits(record: Record, traits: dict[str, Any], message: Message) -> None:
    for key, value in traits.items():
        current = record.traits.get(key)
        if current is None or message.timestamp >= current.updated_at:
            record.traits[key] = TraitValue(value, message.timestamp, message.message_id)


def _merge_traits(into: Record, other: Record) -> None:
    for key, trait in other.traits.items():
        current = into.traits.get(key)
        if current is None or trait.updated_at > current.updated_at:
            into.traits[key] = trait


class ProfileBook:
    """All profiles and accounts of one space."""

    def __init__(self, rules: IdentityRules = DEFAULT_RULES) -> None:
        self.graph = IdentityGraph(rules)
        self.users: dict[str, Record] = {}
        self.accounts: dict[str, Record] = {}
        self._merges_seen = 0
        self.applied = 0

    # -- writing ----------------------------------------------------------------------------------
    def apply_all(self, messages: Iterable[Message]) -> None:
        for message in messages:
            self.apply(message)

    def apply(self, message: Message, seq: int | None = None) -> None:
        """Fold one stored message (log position ``seq``) into the book, in log order."""
        self.applied += 1
        profile_id = apply_message(self.graph, message)
        self._absorb_merges()
        if profile_id is None:
            return
        record = self.users.get(profile_id)
        if record is None:
            record = self.users[profile_id] = _new_record(profile_id, message)
        record.touch(message)
        if message.type == "identify":
            _set_traits(record, message.traits, message)
        record.events.append(
            EventRef(message.timestamp, message.seq if seq is None else seq, message.event_name)
        )
        if message.type == "group":
            group_id = group_id_of(message)
            if group_id is not None:
                self._apply_group(record, group_id, message)

    def _apply_group(self, user: Record, group_id: str, message: Message) -> None:
        account = self.accounts.get(group_id)
        if account is None:
            account = self.accounts[group_id] = _new_record(group_id, message)
        account.touch(message)
        _set_traits(account, message.traits, message)
        if group_id not in user.links:
            user.links[group_id] = Link(message.timestamp, message.message_id)
        if user.id not in account.links:
            account.links[user.id] = Link(message.timestamp, message.message_id)

    def _absorb_merges(self) -> None:
        merges = self.graph.merges
        while self._merges_seen < len(merges):
            merge = merges[self._merges_seen]
            self._merges_seen += 1
            kept = self.graph.canonical(merge.kept)
            absorbed = self.users.pop(merge.absorbed, None)
            if absorbed is None or absorbed.id == kept:
                continue
            target = self.users.get(kept)
            if target is None:
                absorbed.id = kept
                self.users[kept] = absorbed
                target = absorbed
            else:
                _merge_traits(target, absorbed)
                target.events.extend(absorbed.events)
                for group_id, link in absorbed.links.items():
                    target.links.setdefault(group_id, link)
                if absorbed.created_at < target.created_at:
                    target.created_at = absorbed.created_at
                    target.first_message_id = absorbed.first_message_id
                if absorbed.updated_at > target.updated_at:
                    target.updated_at = absorbed.updated_at
                    target.last_message_id = absorbed.last_message_id
            for group_id in absorbed.links:
                account = self.accounts.get(group_id)
                if account is not None and merge.absorbed in account.links:
                    account.links.setdefault(kept, account.links.pop(merge.absorbed))

    def forget(self, profile_id: str) -> None:
        """Drop a user profile entirely (deletion); its identifiers stay known to the graph only
        until the caller rebuilds the book from the remaining log."""
        record = self.users.pop(profile_id, None)
        if record is None:
            return
        for group_id in record.links:
            account = self.accounts.get(group_id)
            if account is not None:
                account.links.pop(profile_id, None)

    # -- reading ----------------------------------------------------------------------------------
    def find(self, collection: Collection, id_type: str, value: str) -> Record | None:
        """The profile an identifier belongs to (accounts: only ``group_id``)."""
        if collection == "accounts":
            return self.accounts.get(value) if id_type == "group_id" else None
        profile_id = self.graph.profile_of(id_type, value)
        if profile_id is None:
            return None
        return self.users.get(self.graph.canonical(profile_id))

    def user_profiles(self) -> Iterator[Record]:
        return iter(self.users.values())
