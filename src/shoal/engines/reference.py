"""The reference engine: SEMANTICS.md read literally, over plain Python lists.

It is the oracle every other engine is compared with, so it is written to be obviously right,
not fast: each definition is evaluated per profile (or account) by walking the syntax tree over
the profile's event list, with the rules of :mod:`shoal.engines.values`.

The one subtle part is reading an audience by key. SEMANTICS: ``trait('aud')`` is ``true`` while
the profile is a member, ``false`` after it left and absent if it never was one. "Was a member"
needs the audience at earlier instants. Membership can only change where some bound flips: at a
message time, or a message time or a date value shifted by a duration of the definition (or of
one it reads). So the audience is evaluated at each such edge and one microsecond (the clock's
resolution) either side — every constant stretch of time is sampled — using the profiles as they
were then (:class:`~shoal.engines.universe.Timeline`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from shoal.engines import Failure, Members, Outcome, Request, Values
from shoal.engines import values as V
from shoal.engines.universe import Account, Event, Profile, Timeline, World
from shoal.lang import ast
from shoal.spec.message import Message

__all__ = ["Ctx", "Evaluator", "Reader", "ReferenceEngine", "Session"]

_TICK = timedelta(microseconds=1)
_UNIT_SECONDS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}


def duration(node: ast.Duration) -> timedelta:
    """Days are 24 hours: no calendar or time-zone logic (SEMANTICS "Time")."""
    return timedelta(seconds=node.amount * _UNIT_SECONDS[node.unit])


class ReferenceEngine:
    """The :class:`~shoal.engines.Engine` that defines the right answers."""

    name = "reference"

    def evaluate(
        self, messages: Sequence[Message], requests: Sequence[Request], *, as_of: datetime
    ) -> dict[str, Outcome]:
        session = Session(messages, requests, horizon=as_of)
        out: dict[str, Outcome] = {}
        for request in requests:
            try:
                out[request.name] = session.outcome(request.name, as_of)
            except RecursionError:
                out[request.name] = Failure(code="too_deep", message="definition nests too deeply")
        return out


# Results of one definition at one instant: entity key (profile id or group id) → value.
# Audiences hold True for members only.
_Result = dict[str, Any]


class Session:
    """Definitions evaluated over one timeline, memoised per (definition, instant)."""

    def __init__(
        self, messages: Sequence[Message], requests: Sequence[Request], *, horizon: datetime
    ) -> None:
        # Past memberships are only ever asked about before ``horizon`` (the latest as-of).
        self.horizon = horizon
        self.timeline = Timeline(messages)
        self.requests = {r.name: r for r in requests}
        self._results: dict[tuple[str, datetime], _Result] = {}
        self._histories: dict[str, list[tuple[datetime, set[str]]]] = {}

    # --- results ---------------------------------------------------------------------------

    def outcome(self, name: str, now: datetime) -> Outcome:
        request = self.requests[name]
        world = self.timeline.world(now)
        result = self.result(name, now)
        names = self._names(world, request.definition.target)
        if request.definition.kind == "audience":
            return Members(tuple(sorted(names[key] for key in result)))
        return Values({names[key]: V.jsonable(v) for key, v in result.items() if v is not None})

    @staticmethod
    def _names(world: World, target: str) -> dict[str, str]:
        if target == "accounts":
            return {gid: a.name for gid, a in world.accounts.items()}
        return {pid: p.name for pid, p in world.profiles.items()}

    def result(self, name: str, now: datetime) -> _Result:
        key = (name, now)
        cached = self._results.get(key)
        if cached is None:
            cached = self._evaluate(self.requests[name], now)
            self._results[key] = cached
        return cached

    def _evaluate(self, request: Request, now: datetime) -> _Result:
        world = self.timeline.world(now)
        definition = request.definition
        ev = Evaluator(self, now)
        out: _Result = {}
        if definition.target == "accounts":
            for gid, account in world.accounts.items():
                value = ev.eval(definition.body, Ctx(account=account))
                if definition.kind == "audience":
                    if value is True:
                        out[gid] = True
                else:
                    out[gid] = value
            return out
        for pid, profile in world.profiles.items():
            if not profile.is_user(request.include_anonymous):
                continue
            value = ev.eval(definition.body, Ctx(profile=profile))
            if definition.kind == "audience":
                if value is True:
                    out[pid] = True
            else:
                out[pid] = value
        return out

    # --- reading definitions by key ----------------------------------------------------------

    def read(self, name: str, now: datetime, entity: Profile | Account) -> Any:
        """``trait(name)`` for a defined audience or computed trait, as ``entity`` sees it."""
        key = entity.group_id if isinstance(entity, Account) else entity.pid
        result = self.result(name, now)
        if self.requests[name].definition.kind == "trait":
            return result.get(key)
        if key in result:
            return True
        return False if self._was_member(name, now, entity) else None

    def _was_member(self, name: str, now: datetime, entity: Profile | Account) -> bool:
        for at, members in self._history(name):
            if at >= now:
                break
            if isinstance(entity, Account):
                if entity.group_id in members:
                    return True
            elif members & entity.message_ids:
                return True
        return False

    def _history(self, name: str) -> list[tuple[datetime, set[str]]]:
        """Members of audience ``name`` at every sample instant, oldest first.

        Users are recorded by ``Profile.rep`` so that a later (possibly merged) profile can
        tell whether any part of it was a member; accounts by group id.
        """
        cached = self._histories.get(name)
        if cached is not None:
            return cached
        accounts = self.requests[name].definition.target == "accounts"
        history: list[tuple[datetime, set[str]]] = []
        for at in self._samples(name):
            world = self.timeline.world(at)
            members = self.result(name, at)
            if accounts:
                history.append((at, set(members)))
            else:
                history.append((at, {world.profiles[pid].rep for pid in members}))
        self._histories[name] = history
        return history

    def _samples(self, name: str) -> list[datetime]:
        """Instants around every edge where a membership of ``name`` could change."""
        spans = {timedelta(0)} | {duration(d) for d in self._durations(name)}
        messages = [m for m in self.timeline.messages if m.timestamp < self.horizon]
        if not messages:
            return []
        # Windows on events end a span after the event; date comparators on values (traits,
        # properties) change a span before or after the date.
        edges = {m.timestamp + span for m in messages for span in spans}
        dates = {
            d for m in messages for p in (m.traits, m.properties, m.context) for d in V.dates_in(p)
        }
        edges.update(d + sign * span for d in dates for span in spans for sign in (1, -1))
        first = messages[0].timestamp  # before it nothing exists, so nobody is a member
        samples = {e + k * _TICK for e in edges for k in (-1, 0, 1)}
        return sorted(at for at in samples if first <= at < self.horizon)

    def _durations(self, name: str, seen: set[str] | None = None) -> Iterator[ast.Duration]:
        """Durations measured from now in ``name`` and every definition it reads."""
        seen = set() if seen is None else seen
        if name in seen:
            return
        seen.add(name)
        definition = self.requests[name].definition
        for node in ast.walk(definition):
            if isinstance(node, ast.Within | ast.Between) and not node.parent:
                yield from (
                    (node.duration,) if isinstance(node, ast.Within) else (node.start, node.end)
                )
            elif isinstance(node, ast.ExpiresAfter):
                yield node.duration
            elif isinstance(node, ast.Comparator):
                yield from (a for a in node.args if isinstance(a, ast.Duration))
            elif isinstance(node, ast.TraitRef) and node.key in self.requests:
                yield from self._durations(node.key, seen)


@dataclass(frozen=True, slots=True)
class Ctx:
    """Where an expression is evaluated: a profile, an account, and the enclosing events."""

    profile: Profile | None = None
    account: Account | None = None
    events: tuple[Event, ...] = ()

    def inner(self, event: Event) -> Ctx:
        return Ctx(self.profile, self.account, (*self.events, event))


class Reader(Protocol):
    """What an :class:`Evaluator` asks of its caller: the definitions it may read by key, and
    their values as an entity sees them at ``now`` (the real-time engine supplies its own)."""

    @property
    def requests(self) -> Mapping[str, Request]: ...

    def read(self, name: str, now: datetime, entity: Profile | Account) -> Any: ...


class Evaluator:
    """One definition body on one profile or account at ``now``, SEMANTICS.md read literally."""

    def __init__(self, session: Reader, now: datetime) -> None:
        self.session = session
        self.now = now

    def eval(self, node: ast.Expr, ctx: Ctx) -> Any:
        if isinstance(node, ast.Comparator):
            return self.comparator(node, ctx)
        if isinstance(node, ast.And):
            return all(self.eval(op, ctx) is True for op in node.operands)
        if isinstance(node, ast.Or):
            return any(self.eval(op, ctx) is True for op in node.operands)
        if isinstance(node, ast.Not):
            return self.eval(node.operand, ctx) is not True
        if isinstance(node, ast.Any | ast.All):
            return self.quantifier(node, ctx)
        return self.value(node, ctx)

    def quantifier(self, node: ast.Any | ast.All, ctx: Ctx) -> bool:
        account = ctx.account
        if account is None:
            return False  # the checker allows ANY/ALL only in ACCOUNTS definitions
        results = [self.eval(node.operand, Ctx(profile=u)) is True for u in account.users]
        if isinstance(node, ast.Any):
            return any(results)
        return bool(results) and all(results)

    # --- values ------------------------------------------------------------------------------

    def value(self, node: ast.Value, ctx: Ctx) -> Any:
        if isinstance(node, ast.Literal):
            return node.value
        if isinstance(node, ast.TraitRef):
            return self.trait(node, ctx)
        if isinstance(node, ast.Property):
            return V.walk_path(ctx.events[-1].message.properties, node.path) if ctx.events else None
        if isinstance(node, ast.ParentRef):
            if len(ctx.events) < 2:
                return None
            return V.walk_path(ctx.events[-2].message.properties, node.path)
        if isinstance(node, ast.ContextRef):
            if not ctx.events:
                return None
            event = ctx.events[-1]
            if node.path == ("timestamp",):
                return event.ts
            return V.walk_path(event.message.context, node.path)
        return self.reduce(node, ctx)

    def trait(self, node: ast.TraitRef, ctx: Ctx) -> Any:
        # Inside where(), the trait of the profile that owns the event; else the profile's; for
        # an account outside ANY/ALL, the account's.
        entity: Profile | Account | None = ctx.events[-1].owner if ctx.events else ctx.profile
        if entity is None:
            entity = ctx.account
        if entity is None:
            return None
        target = "accounts" if isinstance(entity, Account) else "users"
        request = self.session.requests.get(node.key)
        if request is not None and request.definition.target == target:
            value = self.session.read(node.key, self.now, entity)
        else:
            value = entity.traits.get(node.key)
        return V.walk_path(value, node.path)

    # --- streams -----------------------------------------------------------------------------

    def stream(self, node: ast.EventStream, ctx: Ctx) -> list[Event]:
        if node.source != "event":
            return []  # entity() streams come from a warehouse; messages hold none
        if ctx.events:
            owners = [ctx.events[-1].owner]  # a nested chain reads the enclosing event's owner
        elif ctx.profile is not None:
            owners = [ctx.profile]
        elif ctx.account is not None:
            owners = ctx.account.users  # account traits read the events of all linked users
        else:
            owners = []
        events = [e for p in owners for e in p.events if e.message.event_name == node.name]
        if len(owners) > 1:
            events.sort(key=lambda e: (e.ts, e.message.received_at, e.message.message_id))
        for flt in node.filters:
            events = self.filter(flt, events, ctx)
        return events

    def filter(self, flt: ast.Filter, events: list[Event], ctx: Ctx) -> list[Event]:
        if isinstance(flt, ast.Where):
            return [e for e in events if self.eval(flt.condition, ctx.inner(e)) is True]
        if isinstance(flt, ast.Within | ast.Between):
            if isinstance(flt, ast.Within):
                lo, hi = timedelta(0), duration(flt.duration)
            else:
                a, b = duration(flt.start), duration(flt.end)
                lo, hi = min(a, b), max(a, b)
            if not flt.parent:
                return [e for e in events if self.now - hi <= e.ts <= self.now - lo]
            if not ctx.events:
                return []
            parent = ctx.events[-1]
            return [
                e
                for e in events
                if parent.ts + lo <= e.ts <= parent.ts + hi
                and e.message.message_id != parent.message.message_id
            ]
        if isinstance(flt, ast.ExpiresAfter):
            return self.session_window(events, duration(flt.duration))
        return events  # sources(): Shoal records no source id per message yet

    def session_window(self, events: list[Event], gap: timedelta) -> list[Event]:
        """The current session: the trailing run of events with gaps of at most ``gap``, and
        only while the last one is at most ``gap`` before now."""
        if not events or self.now - events[-1].ts > gap:
            return []
        start = len(events) - 1
        while start > 0 and events[start].ts - events[start - 1].ts <= gap:
            start -= 1
        return events[start:]

    # --- reducers ----------------------------------------------------------------------------

    def reduce(self, node: ast.Reducer, ctx: Ctx) -> Any:
        events = self.stream(node.stream, ctx)
        if node.kind == "count":
            return len(events)
        arg = node.arg
        assert arg is not None
        found = [v for v in (self.value(arg, ctx.inner(e)) for e in events) if v is not None]
        kind = node.kind
        if kind == "first":
            return found[0] if found else None
        if kind == "last":
            return found[-1] if found else None
        if kind in ("unique", "unique_count"):
            distinct = sorted({V.string_form(v) for v in found})
            if kind == "unique_count":
                return len(distinct)
            return distinct or None
        if kind == "mode":
            counts: dict[str, int] = {}
            for v in found:
                text = V.string_form(v)
                counts[text] = counts.get(text, 0) + 1
            qualified = [(-n, text) for text, n in counts.items() if n >= (node.min_count or 1)]
            return min(qualified)[1] if qualified else None
        if kind in ("min", "max") and node.cast == "string":
            texts = [V.string_form(v) for v in found]
            if not texts:
                return None
            return min(texts) if kind == "min" else max(texts)
        numbers = [n for n in (V.as_number(v) for v in found) if n is not None]
        if not numbers:
            return None
        if kind == "sum":
            return sum(numbers)
        if kind == "avg":
            return sum(numbers) / len(numbers)
        return min(numbers) if kind == "min" else max(numbers)

    # --- comparators -------------------------------------------------------------------------

    def comparator(self, node: ast.Comparator, ctx: Ctx) -> bool:
        subject = self.value(node.subject, ctx)
        op = node.op
        if op == "exists":
            return subject is not None
        if op == "absent":
            return subject is None
        if subject is None:
            return False
        if op in ("within_last", "within_next", "before_last", "after_next"):
            span = node.args[0]
            assert isinstance(span, ast.Duration)
            return V.date_test(op, subject, duration(span), self.now)
        args = [self.value(a, ctx) for a in node.args if not isinstance(a, ast.Duration)]
        return V.apply_comparator(op, subject, args, self.now)
