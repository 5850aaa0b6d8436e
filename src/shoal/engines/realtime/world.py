"""The live profiles and accounts, updated one message at a time.

The same objects the reference evaluator walks (:class:`~shoal.engines.universe.Profile`,
:class:`~shoal.engines.universe.Account`), kept current instead of rebuilt: an identity graph fed
in SEMANTICS order, each profile's events (only names some definition reads, in event order,
also by name in ``Profile.named``), and traits folded by event time per key, so a late identify
or a merge still leaves the latest value (or the latest removal) in place. Pure: no I/O, no
clock.
"""

from __future__ import annotations

import bisect
import operator
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from mypy_extensions import mypyc_attr

from shoal.engines import values as V
from shoal.engines.realtime.incremental import EventList
from shoal.engines.universe import USER_ID_TYPES, Account, Event, Profile
from shoal.identity import DEFAULT_RULES, IdentityGraph, IdentityRules, apply_message, group_id_of
from shoal.identity.resolve import message_order
from shoal.spec.message import Message

__all__ = ["Applied", "LiveWorld"]

#: The sort key of a message: SEMANTICS order (time, receivedAt, messageId).
Order = tuple[datetime, datetime, str]
_REMOVED = object()
_ts = operator.attrgetter("message.timestamp")


def _order_of(event: Event) -> Order:
    return message_order(event.message)


def _dates_of(msg: Message) -> Iterator[datetime]:
    """The date values of an event's properties and context (what a date comparator on
    ``property()``/``context()`` can read of it)."""
    yield from V.dates_in(msg.properties)
    yield from V.dates_in(msg.context)


@dataclass(slots=True)
class Applied:
    """What one message changed."""

    profile: str | None = None
    """The canonical profile it belongs to (None: no usable identifier)."""
    event: Event | None = None
    """The event it added to the profile (only names some definition reads)."""
    traits: bool = False
    """Whether the profile's custom traits changed."""
    became_user: bool = False
    """Whether the profile's identifier types changed (it may enter a USERS universe)."""
    merged: dict[str, str] = field(default_factory=dict)
    """Profiles absorbed into ``profile`` by this message, with the names they had."""
    account: str | None = None
    """The account a group call touched (traits or a new link)."""


@mypyc_attr(allow_interpreted_subclasses=True)
@dataclass(slots=True)
class _Traits:
    """Per key: the order of the call that set it last, and its value (or a removal)."""

    by_key: dict[str, tuple[Order, Any]] = field(default_factory=dict)

    def fold(self, order: Order, update: dict[str, Any], into: dict[str, Any]) -> bool:
        changed = False
        for key, value in update.items():
            held = self.by_key.get(key)
            if held is not None and held[0] > order:
                continue  # a later call already decided this key
            self.by_key[key] = (order, _REMOVED if value is None else value)
            changed |= self._settle(key, into)
        return changed

    def absorb(self, other: _Traits, into: dict[str, Any]) -> bool:
        changed = False
        for key, held in other.by_key.items():
            mine = self.by_key.get(key)
            if mine is None or held[0] > mine[0]:
                self.by_key[key] = held
                changed |= self._settle(key, into)
        return changed

    def _settle(self, key: str, into: dict[str, Any]) -> bool:
        value = self.by_key[key][1]
        if value is _REMOVED:
            return into.pop(key, _REMOVED) is not _REMOVED
        before = into.get(key, _REMOVED)
        into[key] = value
        return before is _REMOVED or before != value or type(before) is not type(value)


@mypyc_attr(allow_interpreted_subclasses=True)
class LiveWorld:
    """Profiles by canonical id and accounts by group id, as of the messages applied so far."""

    def __init__(
        self,
        read_events: Iterable[str],
        rules: IdentityRules = DEFAULT_RULES,
        *,
        dated: Iterable[str] = (),
    ) -> None:
        """``dated``: the event names to keep :attr:`dates` for (read by a definition that
        compares dates relative to now)."""
        self.read_events = frozenset(read_events)
        self.graph = IdentityGraph(rules)
        self.profiles: dict[str, Profile] = {}
        self.accounts: dict[str, Account] = {}
        self.links: dict[str, set[str]] = {}
        """Profile id → the group ids it is linked to."""
        self._traits: dict[str, _Traits] = {}
        self._account_traits: dict[str, _Traits] = {}
        self._orders: dict[str, list[Order]] = {}
        """Profile id → the order keys of its events (parallel to ``Profile.events``)."""
        self.versions: dict[str, int] = {}
        """Profile id → a number that grows whenever its events, traits or identifiers change
        (pruning aside): what was derived from an unchanged version still holds."""
        self.dated = frozenset(dated)
        self.dates: dict[str, dict[str, list[datetime]]] = {}
        """Profile id → event name → the date values in the properties and context of its
        retained events of that name, sorted (only names in ``dated``): walking every event for
        them at each evaluation is what the timers of date comparators would otherwise cost."""

    def is_user(self, pid: str, include_anonymous: bool) -> bool:
        profile = self.profiles.get(pid)
        return profile is not None and profile.is_user(include_anonymous)

    def apply(self, msg: Message) -> Applied:
        """Fold one message in; messages should come in SEMANTICS order (late ones still land by
        their time, but identity resolution sees them in arrival order)."""
        out = Applied()
        before = len(self.graph.merges)
        owner = apply_message(self.graph, msg)
        if owner is None:
            return out
        pid = self.graph.canonical(owner)
        out.profile = pid
        self.versions[pid] = self.versions.get(pid, 0) + 1
        for merge in self.graph.merges[before:]:
            absorbed = merge.absorbed
            kept = self.graph.canonical(merge.kept)
            if absorbed in self.profiles:
                out.merged[absorbed] = self.profiles[absorbed].name
                self._absorb(kept, absorbed)
        profile = self.profiles.get(pid)
        types = frozenset(t for t, _ in self.graph.pairs(pid))
        if profile is None:
            profile = self.profiles[pid] = Profile(pid, self.graph.name(pid), types, named={})
            self._traits[pid] = _Traits()
            self._orders[pid] = []
            self.dates[pid] = {}
            out.became_user = True
        elif types != profile.id_types:
            profile.id_types = types
            out.became_user = True
        # Any new identifier may rename the profile (SEMANTICS "Output form").
        profile.name = self.graph.name(pid)
        order = message_order(msg)
        name = msg.event_name
        if name is not None:
            if name in self.read_events:
                at = bisect.bisect_right(self._orders[pid], order)
                self._orders[pid].insert(at, order)
                out.event = Event(msg, profile)
                profile.events.insert(at, out.event)
                self._index(profile, name, out.event, order)
        elif msg.type == "identify":
            out.traits = self._traits[pid].fold(order, msg.traits, profile.traits)
        group_id = group_id_of(msg)
        if group_id is not None:
            account = self.accounts.get(group_id)
            if account is None:
                account = self.accounts[group_id] = Account(group_id)
                self._account_traits[group_id] = _Traits()
            self._account_traits[group_id].fold(order, msg.traits, account.traits)
            if profile not in account.users:
                account.users.append(profile)
                self.links.setdefault(pid, set()).add(group_id)
            out.account = group_id
        return out

    def _index(self, profile: Profile, name: str, event: Event, order: Order) -> None:
        """Add ``event`` (just inserted in ``profile.events``) to the profile's indexes."""
        named = profile.named
        assert named is not None
        same = named.get(name)
        if not same:  # none yet, or all pruned
            named[name] = EventList((event,))
        elif order >= _order_of(same[-1]):
            same.append(event)
        else:  # a late event: where ``events`` put it, after any with the same order
            at = bisect.bisect_right(same, order, key=_order_of)
            # Not ``same.insert``: compiled (shoal.native), that is the plain list's own insert,
            # which skips EventList's override telling the memos; item assignment dispatches.
            same[at:at] = [event]
        if name in self.dated:
            held = self.dates[profile.pid].setdefault(name, [])
            for when in _dates_of(event.message):
                bisect.insort(held, when)

    def reindex(self, *, dated: Iterable[str]) -> None:
        """Build every profile's indexes from its events (a world pickled without them)."""
        self.dated = frozenset(dated)
        self.dates = {}
        for pid, profile in self.profiles.items():
            profile.named = {}
            dates: dict[str, list[datetime]] = {}
            self.dates[pid] = dates
            for event in profile.events:
                name = event.message.event_name or ""
                profile.named.setdefault(name, EventList()).append(event)
                if name in self.dated:
                    dates.setdefault(name, []).extend(_dates_of(event.message))
            for held in dates.values():
                held.sort()

    def _absorb(self, kept_id: str, gone_id: str) -> None:
        self.versions.pop(gone_id, None)
        gone = self.profiles.pop(gone_id)
        kept = self.profiles[kept_id]
        orders = self._orders[kept_id]
        for order, event in zip(self._orders.pop(gone_id), gone.events, strict=True):
            at = bisect.bisect_right(orders, order)
            orders.insert(at, order)
            kept.events.insert(at, Event(event.message, kept))
        # The merged events are new Event objects (their owner changed): index them afresh.
        named: dict[str, list[Event]] = {}
        for event in kept.events:
            named.setdefault(event.message.event_name or "", EventList()).append(event)
        kept.named = named
        dates = self.dates[kept_id]
        for name, held in self.dates.pop(gone_id).items():
            dates[name] = sorted(dates.get(name, []) + held)
        self._traits[kept_id].absorb(self._traits.pop(gone_id), kept.traits)
        kept.id_types = frozenset(t for t, _ in self.graph.pairs(kept_id))
        for group_id in self.links.pop(gone_id, set()):
            users = self.accounts[group_id].users
            users.remove(gone)
            if kept not in users:
                users.append(kept)
            self.links.setdefault(kept_id, set()).add(group_id)

    def prune(self, pid: str, horizons: dict[str, timedelta], now: datetime) -> int:
        """Drop the profile's events no definition can read again at ``now`` or later."""
        profile = self.profiles[pid]
        named = profile.named
        assert named is not None
        gone: list[Event] = []
        for name, same in named.items():
            reach = horizons.get(name)
            if reach is None:
                cut = len(same)
            elif reach == timedelta.max:
                continue
            else:
                try:
                    cutoff = now - reach
                except OverflowError:
                    continue  # before the first instant there is: nothing is that old
                # Events of one name are in time order: the ones to drop are a prefix.
                cut = bisect.bisect_left(same, cutoff, key=_ts)
            if cut:
                if name in self.dated:
                    held = self.dates[pid][name]
                    for event in same[:cut]:
                        for when in _dates_of(event.message):
                            del held[bisect.bisect_left(held, when)]
                gone.extend(same[:cut])
                del same[:cut]
        if not gone:
            return 0
        dropped = {id(event) for event in gone}
        events, orders = profile.events, self._orders[pid]
        keep = [i for i, event in enumerate(events) if id(event) not in dropped]
        events[:] = [events[i] for i in keep]
        orders[:] = [orders[i] for i in keep]
        return len(gone)

    def user_types(self, pid: str) -> frozenset[str]:
        return self.profiles[pid].id_types & USER_ID_TYPES
