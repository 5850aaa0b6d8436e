"""The profiles and accounts that the visible messages describe at one instant.

SEMANTICS.md "Time", "Which events a stream holds" and "Traits, audiences and the profile
universe": only messages at or before the instant exist; identities are resolved over them in
time order; each event belongs to its message's final profile; custom traits are the latest
identify value (group value for accounts), and null removes one.
"""

from __future__ import annotations

import bisect
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mypy_extensions import mypyc_attr

from shoal.identity import DEFAULT_RULES, IdentityGraph, apply_message, group_id_of
from shoal.identity.resolve import message_order
from shoal.pickling import Reduced, reduce_frozen
from shoal.spec.message import Message

__all__ = ["USER_ID_TYPES", "Account", "Event", "Profile", "Timeline", "World"]

#: Identifier types that make a profile a user (SEMANTICS: USERS definitions range over these).
USER_ID_TYPES = frozenset({"user_id", "email", "android.idfa", "ios.idfa"})


@dataclass(frozen=True, slots=True)
class Event:
    """An event of a stream and the profile that owns it (read by ``trait()`` in ``where``)."""

    message: Message
    owner: Profile

    @property
    def ts(self) -> datetime:
        return self.message.timestamp

    def __reduce__(self) -> Reduced:
        return reduce_frozen(self)  # the same in both builds (shoal.pickling)


@mypyc_attr(allow_interpreted_subclasses=True)
@dataclass(eq=False, slots=True)
class Profile:
    """A canonical profile at one instant; mutable only while its :class:`World` is built."""

    pid: str
    name: str
    id_types: frozenset[str]
    traits: dict[str, Any] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    message_ids: set[str] = field(default_factory=set)
    rep: str = ""
    """Its earliest message id: a profile of an earlier instant whose ``rep`` is in a later
    profile's ``message_ids`` is part of that later profile (merges only ever join)."""
    named: dict[str, list[Event]] | None = None
    """``events`` grouped by ``Message.event_name``, each list in ``events`` order, when the
    profile's owner keeps that index (the real-time world does, so that a stream reads only its
    name's events); None when it does not."""

    def is_user(self, include_anonymous: bool) -> bool:
        if self.id_types & USER_ID_TYPES:
            return True
        return include_anonymous and "anonymous_id" in self.id_types


@mypyc_attr(allow_interpreted_subclasses=True)
@dataclass(eq=False, slots=True)
class Account:
    group_id: str
    traits: dict[str, Any] = field(default_factory=dict)
    users: list[Profile] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"group_id:{self.group_id}"


@dataclass(frozen=True, slots=True)
class World:
    """Profiles (by id) and accounts (by group id) of the messages visible at ``at``."""

    at: datetime
    profiles: dict[str, Profile]
    accounts: dict[str, Account]

    @classmethod
    def build(
        cls,
        visible: Sequence[Message],
        owners: Sequence[str | None],
        graph: IdentityGraph,
        at: datetime,
    ) -> World:
        """The world of ``visible`` (the messages at or before ``at``, in SEMANTICS order).

        ``graph`` holds exactly those messages applied in that order, and ``owners[i]`` is the
        profile ``visible[i]`` resolved to when applied: the message belongs to that profile's
        canonical profile now, as in :func:`shoal.identity.resolve`.
        """
        profiles: dict[str, Profile] = {
            pid: Profile(pid, graph.name(pid), frozenset(t for t, _ in graph.pairs(pid)))
            for pid in graph.profiles()
        }
        accounts: dict[str, Account] = {}
        for msg, owner in zip(visible, owners, strict=True):  # time order: later values win
            if owner is None:
                continue  # no usable identifier: belongs to nobody
            profile = profiles[graph.canonical(owner)]
            if not profile.rep:
                profile.rep = msg.message_id
            profile.message_ids.add(msg.message_id)
            if msg.event_name is not None:
                profile.events.append(Event(msg, profile))
            elif msg.type == "identify":
                _set_traits(profile.traits, msg.traits)
            group_id = group_id_of(msg)
            if group_id is not None:
                account = accounts.setdefault(group_id, Account(group_id))
                _set_traits(account.traits, msg.traits)
                if profile not in account.users:
                    account.users.append(profile)
        return cls(at, profiles, accounts)


def _set_traits(traits: dict[str, Any], update: dict[str, Any]) -> None:
    for key, value in update.items():
        if value is None:
            traits.pop(key, None)
        else:
            traits[key] = value


class Timeline:
    """All messages, and the :class:`World` at any instant.

    Identities are resolved incrementally: one identity graph is fed the messages in SEMANTICS
    order, and the world at an instant is read off the graph once the messages up to it are in.
    That is what :func:`shoal.identity.resolve` does for a prefix, without starting over for
    every instant (the reference engine asks for many instants when it reads audiences by key).
    Going back in time starts a fresh graph. Recent worlds are cached.
    """

    def __init__(self, messages: Sequence[Message], *, cache_size: int = 128) -> None:
        self.messages = sorted(messages, key=message_order)
        self._times = [m.timestamp for m in self.messages]
        self._worlds: OrderedDict[int, World] = OrderedDict()
        self._cache_size = cache_size
        self._graph = IdentityGraph(DEFAULT_RULES)
        self._owners: list[str | None] = []

    def world(self, at: datetime) -> World:
        count = bisect.bisect_right(self._times, at)
        world = self._worlds.get(count)
        if world is not None:
            self._worlds.move_to_end(count)
            return world
        if count < len(self._owners):
            self._graph = IdentityGraph(DEFAULT_RULES)
            self._owners = []
        while len(self._owners) < count:
            self._owners.append(apply_message(self._graph, self.messages[len(self._owners)]))
        world = World.build(self.messages[:count], self._owners, self._graph, at)
        self._worlds[count] = world
        if len(self._worlds) > self._cache_size:
            self._worlds.popitem(last=False)
        return world
