"""The incremental core: messages and the passing of time in, changes out.

:class:`Core` holds the live world (:mod:`.world`), the current result of every definition for
every profile or account it has evaluated, who was ever a member of each audience, and a timer
queue. Its two operations are the whole contract::

    core.apply(messages, now)  -> [Change, ...]   # messages visible at now, then re-evaluate
    core.advance(until)        -> [Change, ...]   # fire every timer due at or before until

Nothing here does I/O or reads a clock: the caller says what time it is, so the same inputs
always give the same changes (what replay after a crash relies on).

Re-evaluation is exact, not approximate. A definition is evaluated for one entity over the
retained events by its body compiled to closures (:mod:`.compiled`, checked against the reference
:class:`~shoal.engines.reference.Evaluator` sub-expression by sub-expression), so the only
real-time-specific questions are *when* to evaluate and *what to keep*:

* when: after a message that touches something the definition reads (:mod:`.routes`), after a
  definition it reads changed for the same entity (in dependency order, within the same step),
  and at every instant where time alone can flip it — an event time or a date value shifted by
  one of the offsets :func:`.routes.route` derives from its windows and date comparators (each
  one of the instants the reference samples);
* what: only events whose names some definition reads, and only as far back as the widest
  window that reads them (:func:`.routes.horizons`).
"""

from __future__ import annotations

import bisect
import heapq
import json
import operator
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from mypy_extensions import mypyc_attr

from shoal.engines import Request
from shoal.engines import values as V
from shoal.engines.realtime.compiled import Compiled, MessageFilter, compile_body, compile_expr
from shoal.engines.realtime.incremental import EventList
from shoal.engines.realtime.routes import Admission, Route, admissions, horizons, route
from shoal.engines.realtime.world import LiveWorld
from shoal.engines.universe import Account, Event, Profile
from shoal.pickling import Reduced, reduce_frozen
from shoal.spec.message import Message

__all__ = ["Change", "Core"]

_TICK = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class Change:
    """One definition's result for one entity changed at ``at``.

    Audiences: ``old``/``new`` are ``True`` (member) or ``None``; computed traits: the values
    (``None`` = absent). ``cause`` is the message id that caused it, or ``None`` when time did
    (a window edge) or a merge retired the entity.
    """

    key: str
    target: str
    entity: str
    """Profile id (users) or group id (accounts)."""
    name: str
    """The entity's output name at ``at`` (``user_id:ann``, ``group_id:acme``)."""
    old: Any
    new: Any
    at: datetime
    cause: str | None

    @property
    def kind(self) -> str:
        if self.old is True and self.new is None:
            return "exited"
        if self.new is True and self.old is None:
            return "entered"
        return "changed"

    def __reduce__(self) -> Reduced:
        return reduce_frozen(self)  # the same in both builds (shoal.pickling)


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is b
    if type(a) is not type(b):
        return False
    if isinstance(a, list | dict):
        return json.dumps(a, sort_keys=True, default=str) == json.dumps(
            b, sort_keys=True, default=str
        )
    return bool(a == b)


_Edges = list[tuple[str, tuple[timedelta, ...], MessageFilter, bool]]


def _edges(route: Route) -> _Edges:
    """``route.edges`` with the conditions compiled (what :meth:`Core._next_edge` runs)."""
    out: _Edges = []
    for name, offsets, conditions, last in route.edges:
        held = MessageFilter(conditions)
        out.append((name, offsets, held, last and held.exact))
    return out


@mypyc_attr(allow_interpreted_subclasses=True)
class _Unit:
    """One definition as the core runs it."""

    __slots__ = (
        "accounts",
        "admission",
        "admitting",
        "audience",
        "body",
        "cross",
        "dependents",
        "edges",
        "order",
        "request",
        "route",
        "since",
    )

    def __init__(self, request: Request, order: int, route: Route, since: datetime | None) -> None:
        self.request = request
        self.order = order
        self.route = route
        self.admission: Admission = admissions(request.definition)
        self.admitting: dict[str, list[tuple[Compiled, ...] | None]] = {
            name: [None if c is None else tuple(map(compile_expr, c)) for c in conditions]
            for name, conditions in self.admission.items()
        }
        """``admission`` with its conditions compiled (what :meth:`Core._admits` runs)."""
        self.body = compile_body(request.definition)
        """The definition's body compiled once: :meth:`Core._evaluate` runs it, not the tree."""
        self.since = since
        """Events before this instant do not count (a definition created without history)."""
        self.edges = _edges(route)
        self.accounts = request.definition.target == "accounts"
        self.audience = request.definition.kind == "audience"
        self.dependents: list[_Unit] = []
        self.cross: list[_Unit] = []


# bench.realtime --profile subclasses the core to time its evaluations.
@mypyc_attr(allow_interpreted_subclasses=True)
class Core:
    """Live results of ``requests`` (in dependency order, see :func:`shoal.engines.plan`)."""

    def __init__(
        self, requests: Sequence[Request], *, since: Mapping[str, datetime] | None = None
    ) -> None:
        """``since``: per definition key, the instant before which events do not count for it
        (``includeHistoricalData: false`` or ``backfillEventDataDays``)."""
        defined = {r.name: r.definition for r in requests}
        since = since or {}
        self.requests: dict[str, Request] = {r.name: r for r in requests}
        self.units = {
            r.name: _Unit(r, i, route(r.definition, defined), since.get(r.name))
            for i, r in enumerate(requests)
        }
        for unit in self.units.values():
            for key in unit.route.reads:
                self.units[key].dependents.append(unit)
        for unit in self.units.values():
            # Account definitions that read this users' definition (inside ANY/ALL).
            unit.cross = [r for r in unit.dependents if r.accounts and not unit.accounts]
        read_events: set[str] = set()
        self.horizons: dict[str, timedelta] = {}
        for r in requests:
            for name, reach in horizons(r.definition):
                read_events.add(name)
                self.horizons[name] = max(self.horizons.get(name, timedelta(0)), reach)
        self.world = LiveWorld(read_events, dated=self._dated())
        self.results: dict[str, dict[str, Any]] = {name: {} for name in self.units}
        """Definition key → entity → current value (audiences: ``True`` for members only)."""
        self.ever: dict[str, set[str]] = {
            name: set() for name, u in self.units.items() if u.audience
        }
        """Audience key → entities that were members at some earlier instant."""
        self.now: datetime | None = None
        self._timers: list[tuple[datetime, int, str, str]] = []
        self._due: dict[tuple[str, str], datetime] = {}
        self._edges: dict[tuple[str, str], tuple[int, datetime | None]] = {}
        """(key, entity) → (profile version, next edge) when it was last computed."""
        self._trait_dates: dict[str, tuple[int, list[datetime]]] = {}
        """Profile id → (profile version, the dates in its custom traits, sorted)."""
        self._by_event: dict[str, list[_Unit]] = {}
        for unit in self.units.values():
            for name in unit.route.events:
                self._by_event.setdefault(name, []).append(unit)
        self._trait_readers = [u for u in self.units.values() if u.route.traits]
        self._reader = _Reader(self)
        self._only: set[str] | None = None
        """While backfilling: the only definitions evaluated event by event (see backfill)."""
        self._pending: list[Message] = []
        """Messages from the future (``timestamp`` after now), applied when now reaches them."""

    # --- the contract --------------------------------------------------------------------------

    def apply(self, messages: Iterable[Message], now: datetime) -> list[Change]:
        """Fold in messages received at ``now`` and re-evaluate what they touched at ``now``.

        Timers due before ``now`` fire first. A message timestamped after ``now`` waits until
        ``now`` reaches it (SEMANTICS: it is not yet visible).
        """
        changes = self.advance(now - _TICK) if self.now is not None else []
        self.now = max(self.now, now) if self.now is not None else now
        dirty: dict[tuple[str, str], str | None] = {}
        for msg in messages:
            if msg.timestamp > self.now:
                heapq.heappush(self._timers, (msg.timestamp, -1, "", ""))
                self._pending.append(msg)
                continue
            self._fold(msg, dirty, changes)
        changes.extend(self._settle(dirty, self.now))
        return changes

    def advance(self, until: datetime) -> list[Change]:
        """Move time forward to ``until``, firing every timer due at or before it in order."""
        changes: list[Change] = []
        while self._timers and self._timers[0][0] <= until:
            at = self._timers[0][0]
            dirty: dict[tuple[str, str], str | None] = {}
            while self._timers and self._timers[0][0] == at:
                _, order, key, entity = heapq.heappop(self._timers)
                if order == -1:
                    continue  # a future message became visible: handled below
                if self._due.get((key, entity)) == at:
                    del self._due[(key, entity)]
                    dirty[(key, entity)] = None
            self.now = at if self.now is None else max(self.now, at)
            ready = [m for m in self._pending if m.timestamp <= at]
            if ready:
                self._pending = [m for m in self._pending if m.timestamp > at]
                for msg in sorted(ready, key=lambda m: (m.timestamp, m.received_at, m.message_id)):
                    self._fold(msg, dirty, changes)
            changes.extend(self._settle(dirty, at))
        if self.now is None or until > self.now:
            self.now = until
        return changes

    def backfill(self, messages: Iterable[Message], until: datetime) -> None:
        """Build the state from stored history in bulk, then evaluate everything at ``until``.

        ``messages`` come in SEMANTICS order (time, receivedAt, messageId); they may be a
        stream. Only the audiences read by key (and what they read) are evaluated message by
        message — their "was a member" needs the past; every other definition is evaluated once,
        at ``until``, over the final state, which gives the same result as a full replay.
        """
        history: set[str] = set()
        stack = [k for k, u in self.units.items() if u.audience and u.dependents]
        while stack:
            key = stack.pop()
            if key not in history:
                history.add(key)
                stack.extend(self.units[key].route.reads)
        self._only = history
        try:
            batch: list[Message] = []
            for msg in messages:
                if msg.timestamp > until:
                    continue
                if batch and msg.timestamp != batch[0].timestamp:
                    self.apply(batch, batch[0].timestamp)
                    batch = []
                batch.append(msg)
            if batch:
                self.apply(batch, batch[0].timestamp)
            self.advance(until)
        finally:
            self._only = None
        dirty: dict[tuple[str, str], str | None] = {}
        for key, unit in self.units.items():
            for entity in self.world.accounts if unit.accounts else self.world.profiles:
                dirty[(key, entity)] = None
        self._settle(dirty, until)

    # --- reading -------------------------------------------------------------------------------

    def value(self, key: str, entity: str) -> Any:
        return self.results[key].get(entity)

    def name_of(self, key: str, entity: str) -> str:
        if self.units[key].accounts:
            return f"group_id:{entity}"
        profile = self.world.profiles.get(entity)
        return profile.name if profile is not None else entity

    def next_timer(self) -> datetime | None:
        """When :meth:`advance` next has work to do (None: nothing scheduled)."""
        while self._timers:
            at, order, key, entity = self._timers[0]
            if order == -1 or self._due.get((key, entity)) == at:
                return at
            heapq.heappop(self._timers)  # superseded by a later evaluation
        return None

    def state_size(self) -> dict[str, int]:
        """Counts that bound the memory the core holds."""
        return {
            "profiles": len(self.world.profiles),
            "accounts": len(self.world.accounts),
            "events": sum(len(p.events) for p in self.world.profiles.values()),
            "results": sum(len(r) for r in self.results.values()),
            "timers": len(self._due),
            "pending": len(self._pending),
        }

    # --- folding messages ----------------------------------------------------------------------

    def _fold(
        self, msg: Message, dirty: dict[tuple[str, str], str | None], out: list[Change]
    ) -> None:
        applied = self.world.apply(msg)
        pid = applied.profile
        if pid is None:
            return
        cause = msg.message_id
        for gone, name in applied.merged.items():
            out.extend(self._retire(gone, name, pid, msg.timestamp))
        touched: list[_Unit] = []
        event = applied.event
        if applied.merged or applied.became_user:
            touched = [u for u in self.units.values() if not u.accounts]
        else:
            if event is not None:
                name = event.message.event_name or ""
                touched.extend(
                    u for u in self._by_event.get(name, ()) if self._admits(u, name, event)
                )
            if applied.traits:
                touched.extend(self._trait_readers)
        only = self._only
        for unit in touched:
            if only is not None and unit.request.name not in only:
                continue
            if unit.accounts:
                for gid in self.world.links.get(pid, ()):
                    dirty.setdefault((unit.request.name, gid), cause)
            else:
                dirty.setdefault((unit.request.name, pid), cause)
        linked = self.world.links.get(pid, set())
        if applied.account is not None:
            linked = linked | {applied.account}
        if linked and (applied.merged or applied.became_user or applied.account is not None):
            for unit in self.units.values():
                if unit.accounts and (only is None or unit.request.name in only):
                    for gid in linked:
                        dirty.setdefault((unit.request.name, gid), cause)
        if event is not None:
            self.world.prune(pid, self.horizons, self.now or msg.timestamp)

    def _admits(self, unit: _Unit, name: str, event: Event) -> bool:
        """Whether some stream of ``unit`` would hold ``event`` (else it cannot change)."""
        now = self.now or event.ts
        for conditions in unit.admitting.get(name, ()):
            if conditions is None:
                return True
            if all(c.on_event(event, self._reader, now) is True for c in conditions):
                return True
        return False

    def _retire(self, gone: str, name: str, kept: str, at: datetime) -> Iterator[Change]:
        """A merge folded profile ``gone`` into ``kept``: ``gone``'s results end, its past
        memberships become ``kept``'s (SEMANTICS: a merged history is one history)."""
        self._trait_dates.pop(gone, None)
        for key, unit in self.units.items():
            if unit.accounts:
                continue
            if key in self.ever and gone in self.ever[key]:
                self.ever[key].discard(gone)
                self.ever[key].add(kept)
            old = self.results[key].pop(gone, None)
            self._due.pop((key, gone), None)
            if old is not None:
                yield Change(key, "users", gone, name, old, None, at, None)

    # --- evaluating ----------------------------------------------------------------------------

    def _settle(self, dirty: dict[tuple[str, str], str | None], now: datetime) -> list[Change]:
        """Evaluate the dirty (definition, entity) pairs at ``now`` in dependency order; a
        changed result dirties its readers for the same entity (and the accounts it is linked
        to), which come later in the order, so one pass settles everything."""
        changes: list[Change] = []
        units, results, only = self.units, self.results, self._only
        # The dirty pairs in order; readers dirtied on the way go to a heap merged in.
        ordered = sorted((units[k].order, k, e) for k, e in dirty)
        causes = dict(dirty)
        later: list[tuple[int, str, str]] = []
        seen: set[tuple[str, str]] = set()
        i, n = 0, len(ordered)
        while i < n or later:
            if later and (i >= n or later[0] < ordered[i]):
                _, key, entity = heapq.heappop(later)
                if (key, entity) in seen:
                    continue
            else:
                _, key, entity = ordered[i]
                i += 1
                if later and (key, entity) in seen:
                    continue
            seen.add((key, entity))
            unit = units[key]
            held = results[key]
            old = held.get(entity)
            new = self._evaluate(unit, entity, now)
            if new is None:
                if old is not None:
                    del held[entity]
            else:
                held[entity] = new
                if new is True and unit.audience:
                    self.ever[key].add(entity)
            self._schedule(unit, entity, now)
            if old is new or _same(old, new):
                continue
            cause = causes.get((key, entity))
            target = "accounts" if unit.accounts else "users"
            changes.append(
                Change(key, target, entity, self.name_of(key, entity), old, new, now, cause)
            )
            for reader in unit.dependents:
                name = reader.request.name
                if reader.accounts != unit.accounts or (only is not None and name not in only):
                    continue
                heapq.heappush(later, (reader.order, name, entity))
                causes.setdefault((name, entity), cause)
            for reader in unit.cross:
                name = reader.request.name
                if only is not None and name not in only:
                    continue
                for gid in self.world.links.get(entity, ()):
                    heapq.heappush(later, (reader.order, name, gid))
                    causes.setdefault((name, gid), cause)
        return changes

    def _evaluate(self, unit: _Unit, entity: str, now: datetime) -> Any:
        if unit.accounts:
            account = self.world.accounts.get(entity)
            if account is None:
                return None
            if unit.since is not None:
                account = _account_since(account, unit.since)
            value = unit.body.on_account(account, self._reader, now)
        else:
            profile = self.world.profiles.get(entity)
            if profile is None or not profile.is_user(unit.request.include_anonymous):
                return None
            if unit.since is not None:
                profile = _profile_since(profile, unit.since)
            value = unit.body.on_profile(profile, self._reader, now)
        if unit.audience:
            return True if value is True else None
        return value

    # --- timers --------------------------------------------------------------------------------

    def _schedule(self, unit: _Unit, entity: str, now: datetime) -> None:
        """Queue the next instant after ``now`` where time alone could change the result."""
        route = unit.route
        if not unit.edges and not route.date_offsets:
            return  # only messages change it
        key = unit.request.name
        cacheable = not unit.accounts and not (route.dates and route.reads)
        if cacheable:
            version = self.world.versions.get(entity, 0)
            held = self._edges.get((key, entity))
            if held is not None and held[0] == version and (held[1] is None or held[1] > now):
                return  # nothing it reads changed and its next edge is still ahead
        nxt = self._next_edge(unit, entity, now)
        if cacheable:
            self._edges[(key, entity)] = (version, nxt)
        if nxt is None:
            self._due.pop((key, entity), None)
            return
        if self._due.get((key, entity)) == nxt:
            return
        self._due[(key, entity)] = nxt
        heapq.heappush(self._timers, (nxt, unit.order, key, entity))

    def _next_edge(self, unit: _Unit, entity: str, now: datetime) -> datetime | None:
        edges, shifts = unit.edges, unit.route.date_offsets
        if not edges and not shifts:
            return None  # nothing relative to now: only messages change it
        profiles = self._profiles_of(unit, entity)
        best: datetime | None = None
        if edges:
            for profile in profiles:
                named = profile.named
                assert named is not None
                for name, offsets, held, last in edges:
                    events = named.get(name)
                    if not events:
                        continue
                    test = held.test
                    if last:
                        at = _last_edge(events, offsets, now, test)
                        if at is not None and (best is None or at < best):
                            best = at
                    else:
                        for offset in offsets:
                            at = _first_edge(events, offset, now, test)
                            if at is not None and (best is None or at < best):
                                best = at
        if shifts:
            for dates in self._dates(unit, entity, profiles):
                for offset in shifts:
                    at = _first_shift(dates, offset, now)
                    if at is not None and (best is None or at < best):
                        best = at
        return best

    def _profiles_of(self, unit: _Unit, entity: str) -> list[Profile]:
        if unit.accounts:
            account = self.world.accounts.get(entity)
            return list(account.users) if account is not None else []
        profile = self.world.profiles.get(entity)
        return [profile] if profile is not None else []

    def _dates(
        self, unit: _Unit, entity: str, profiles: list[Profile]
    ) -> Iterator[Sequence[datetime]]:
        """The date values the unit's date comparators can read, as sorted lists."""
        world = self.world
        for profile in profiles:
            pid = profile.pid
            version = world.versions.get(pid, 0)
            held = self._trait_dates.get(pid)
            if held is None or held[0] != version:
                held = self._trait_dates[pid] = (version, sorted(V.dates_in(profile.traits)))
            if held[1]:
                yield held[1]
            by_name = world.dates.get(pid, {})
            for name in unit.route.events:
                dates = by_name.get(name)
                if dates:
                    yield dates
        extra: list[datetime] = []
        if unit.accounts:
            account = world.accounts.get(entity)
            if account is not None:
                extra.extend(V.dates_in(account.traits))
        # Values of the definitions it reads (a computed trait holding a date).
        for key in unit.route.reads:
            for profile in profiles:
                extra.extend(V.dates_in(self.results[key].get(profile.pid)))
            if unit.accounts:
                extra.extend(V.dates_in(self.results[key].get(entity)))
        if extra:
            extra.sort()
            yield extra

    def __getstate__(self) -> dict[str, Any]:
        # Compiled (shoal.native), a core has no __dict__: its attributes are named in
        # __mypyc_attrs__. Either way the state is the same mapping of attribute to value.
        names = getattr(type(self), "__mypyc_attrs__", None) or vars(self)
        return {n: getattr(self, n) for n in names if not n.startswith("__") and hasattr(self, n)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        for name, value in state.items():
            setattr(self, name, value)
        if "_trait_dates" not in state:
            self._upgrade()
        else:
            self._carry_lists()

    def _carry_lists(self) -> None:
        """A core checkpointed when the index held plain lists: reducers fold in new events
        only over :class:`.incremental.EventList` (on plain ones they compute from scratch)."""
        for profile in self.world.profiles.values():
            # getattr: a core is also unpickled inside its own reader, and there before the
            # profiles of a checkpoint older than the index (which the outer load upgrades).
            named = getattr(profile, "named", None)
            if named is not None:
                for name, events in named.items():
                    if type(events) is not EventList:
                        named[name] = EventList(events)

    def _upgrade(self) -> None:
        """A core checkpointed before the indexes existed: derive them (and the routes that now
        carry the offsets) from the state it holds."""
        defined = {k: r.definition for k, r in self.requests.items()}
        for unit in self.units.values():
            unit.route = route(unit.request.definition, defined)
            unit.edges = _edges(unit.route)
        self._trait_dates = {}
        self.world.reindex(dated=self._dated())

    def _dated(self) -> set[str]:
        """The event names whose date values some definition's date comparators can read."""
        return {n for u in self.units.values() if u.route.date_offsets for n in u.route.events}


def _profile_since(profile: Profile, since: datetime) -> Profile:
    """The profile as a definition created at ``since`` without history sees it: the same
    identity and traits, only the events from ``since`` on."""
    view = Profile(profile.pid, profile.name, profile.id_types, profile.traits)
    view.events = profile.events[bisect.bisect_left(profile.events, since, key=_ts) :]
    if profile.named is not None:
        view.named = {
            name: events[bisect.bisect_left(events, since, key=_ts) :]
            for name, events in profile.named.items()
        }
    return view


def _account_since(account: Account, since: datetime) -> Account:
    return Account(
        account.group_id, account.traits, [_profile_since(u, since) for u in account.users]
    )


_ts = operator.attrgetter("message.timestamp")


def _first_edge(
    events: list[Event], offset: timedelta, now: datetime, test: Callable[[Message], bool] | None
) -> datetime | None:
    """The earliest ``t + offset`` after ``now`` for ``t`` the time of an event in ``events``
    (in time order) that passes ``test``; None when there is none within the datetime range."""
    try:
        i = bisect.bisect_right(events, now - offset, key=_ts)
    except OverflowError:  # now - offset is outside the range: below it, every t is after it
        if offset < timedelta(0):
            return None
        i = 0
    n = len(events)
    if test is not None:
        while i < n and not test(events[i].message):
            i += 1
    if i == n:
        return None
    try:
        return events[i].message.timestamp + offset
    except OverflowError:
        return None  # later than any instant there is


def _last_edge(
    events: list[Event],
    offsets: tuple[timedelta, ...],
    now: datetime,
    test: Callable[[Message], bool] | None,
) -> datetime | None:
    """The earliest ``t + offset`` after ``now`` for ``t`` the time of the last event in
    ``events`` that passes ``test``; None when there is none within the datetime range."""
    i = len(events) - 1
    if test is not None:
        while i >= 0 and not test(events[i].message):
            i -= 1
    if i < 0:
        return None
    t = events[i].message.timestamp
    for offset in offsets:  # ascending
        try:
            at = t + offset
        except OverflowError:
            return None
        if at > now:
            return at
    return None


def _first_shift(dates: Sequence[datetime], offset: timedelta, now: datetime) -> datetime | None:
    """The earliest ``d + offset`` after ``now`` for ``d`` in ``dates`` (ascending); None when
    there is none within the datetime range."""
    try:
        i = bisect.bisect_right(dates, now - offset)
    except OverflowError:
        if offset < timedelta(0):
            return None
        i = 0
    if i == len(dates):
        return None
    try:
        return dates[i] + offset
    except OverflowError:
        return None


@mypyc_attr(allow_interpreted_subclasses=True)  # pickled with the core (shoal.native)
class _Reader:
    """The core as the evaluator's :class:`~shoal.engines.reference.Reader`: a definition read
    by key is its current value; an audience is ``false`` for a former member."""

    __slots__ = ("core",)

    def __init__(self, core: Core) -> None:
        self.core = core

    @property
    def requests(self) -> Mapping[str, Request]:
        return self.core.requests

    def read(self, name: str, now: datetime, entity: Profile | Account) -> Any:
        key = entity.group_id if isinstance(entity, Account) else entity.pid
        value = self.core.results[name].get(key)
        if not self.core.units[name].audience:
            return value
        if value is True:
            return True
        return False if key in self.core.ever[name] else None
