"""What each definition reads, decided once from its syntax tree: the routing table.

The real-time engine re-evaluates a definition for a profile only when something it reads has
changed (an event name it streams, a custom trait, a definition it reads by key, the profile's
set of identifiers or accounts) or when time alone can change its result (a window edge, a date
comparator). Everything here is static analysis of the checked tree: pure, no state.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta

from shoal.lang import ast
from shoal.pickling import Reduced, reduce_frozen

__all__ = ["UNBOUNDED", "Admission", "Route", "admissions", "horizons", "route"]

_UNIT_SECONDS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}

UNBOUNDED: timedelta = timedelta.max
"""Horizon of a stream whose events can matter at any age (no window relative to now)."""
_TICK = timedelta(microseconds=1)
"""The clock's resolution: ``now > t`` first holds at ``t + _TICK``."""


def duration(node: ast.Duration) -> timedelta:
    """Days are 24 hours: no calendar or time-zone logic (SEMANTICS "Time")."""
    return timedelta(seconds=node.amount * _UNIT_SECONDS[node.unit])


@dataclass(frozen=True, slots=True)
class Route:
    """The inputs of one definition."""

    events: frozenset[str]
    """Event names any of its streams read (``event('X')``)."""
    traits: bool
    """Whether it reads a custom trait (a ``trait()`` key that is not a definition)."""
    reads: frozenset[str]
    """Keys of the definitions it reads with ``trait()``."""
    spans: tuple[timedelta, ...]
    """Durations measured from now (windows, sessions, date comparators), with zero: a result
    can change without a new message only at an event time or a date value shifted by one."""
    dates: bool
    """Whether a date comparator relative to now reads values: then dates found in traits,
    properties and context are edges too."""
    edges: tuple[tuple[str, tuple[timedelta, ...], tuple[ast.Expr, ...], bool], ...]
    """Per stream: after an event of its name at ``t`` that meets its conditions, the instants
    where time alone can flip the result are ``t + offset`` for these offsets (positive,
    ascending); see :func:`route`. When the last item is true, only the last such event has
    them (a session's end) — provided every condition reads the event's message alone: one that
    reads anything else may reject the last event of the name but not an earlier one."""
    date_offsets: tuple[timedelta, ...]
    """The same for a date value ``d`` a date comparator reads: ``d + offset`` (any sign)."""

    def __reduce__(self) -> Reduced:
        return reduce_frozen(self)  # the same in both builds (shoal.pickling)


_NOW_DATE_OPS = frozenset({"within_last", "within_next", "before_last", "after_next"})


def route(definition: ast.Definition, defined: Mapping[str, ast.Definition]) -> Route:
    """The routing entry of ``definition``; ``defined`` holds every definition by key.

    Without a message, a result can only change where one of the tests relative to now that it
    is made of changes, and each of those is a step in now (times have microsecond resolution):

    * ``within(d)``: ``now - d <= t`` ends at ``t + d + 1µs`` (``t <= now`` always holds);
    * ``between(a, b)``, ``lo``/``hi`` the smaller/larger: ``t <= now - lo`` starts at
      ``t + lo``, ``now - hi <= t`` ends at ``t + hi + 1µs``;
    * ``expires_after(g)``: ``now - t > g`` (``t`` the session's last event) starts at
      ``t + g + 1µs``;
    * on a date ``d``: ``within_last(s)`` (``now - s <= d <= now``) at ``d`` and ``d + s + 1µs``;
      ``within_next(s)`` (``now <= d <= now + s``) at ``d - s`` and ``d + 1µs``; ``before_last(s)``
      (``d <= now - s``) at ``d + s``; ``after_next(s)`` (``d >= now + s``) at ``d - s + 1µs``.

    Each window or session applies to the events of its own stream, and an event time is a date
    too where ``context('timestamp')`` reads it. Windows with ``parent:`` are relative to the
    enclosing event, not to now.
    """
    events: set[str] = set()
    traits = False
    reads: set[str] = set()
    spans = {timedelta(0)}
    dates = False
    date_offsets: set[timedelta] = set()
    for node in ast.walk(definition):
        if isinstance(node, ast.EventStream) and node.source == "event":
            events.add(node.name)
        elif isinstance(node, ast.TraitRef):
            if node.key in defined:
                reads.add(node.key)
            else:
                traits = True
        elif isinstance(node, ast.Within) and not node.parent:
            spans.add(duration(node.duration))
        elif isinstance(node, ast.Between) and not node.parent:
            spans.update((duration(node.start), duration(node.end)))
        elif isinstance(node, ast.ExpiresAfter):
            spans.add(duration(node.duration))
        elif isinstance(node, ast.Comparator):
            for arg in node.args:
                if isinstance(arg, ast.Duration):
                    spans.add(duration(arg))
            if node.op in _NOW_DATE_OPS:
                dates = True
                span = node.args[0]
                assert isinstance(span, ast.Duration)
                date_offsets.update(_date_steps(node.op, duration(span)))
    # Per stream: its name, its where conditions before any expires_after (an event failing one
    # is never in the stream, so its edges cannot matter to it), and its offsets.
    offsets: dict[tuple[str, tuple[ast.Expr, ...], bool], set[timedelta]] = {}
    for node in ast.walk(definition):
        if not isinstance(node, ast.Reducer) or node.stream.source != "event":
            continue
        conditions: list[ast.Expr] = []
        found: set[timedelta] = set()
        last: set[timedelta] = set()
        first = True
        steady = True  # no window in the first segment: its events do not change with now
        for flt in node.stream.filters:
            if isinstance(flt, ast.Within | ast.Between) and first:
                steady = False
            if isinstance(flt, ast.Within) and not flt.parent:
                found.add(duration(flt.duration) + _TICK)
            elif isinstance(flt, ast.Between) and not flt.parent:
                lo, hi = sorted((duration(flt.start), duration(flt.end)))
                found.update((lo, hi + _TICK))
            elif isinstance(flt, ast.ExpiresAfter):
                # Over a fixed set of events a session only ends, a gap after its last one.
                (last if first and steady else found).add(duration(flt.duration) + _TICK)
                first = False
            elif isinstance(flt, ast.Where) and first:
                conditions.append(flt.condition)
        # A context('timestamp') here reads an event of this stream (its reducer's argument, a
        # where on it) or of one nested in it: a superset either way.
        if any(isinstance(n, ast.ContextRef) and n.path == ("timestamp",) for n in ast.walk(node)):
            found.update(date_offsets)
        for held, only_last in ((found, False), (last, True)):
            held = {o for o in held if o > timedelta(0)}
            if held:
                key = (node.stream.name, tuple(conditions), only_last)
                offsets.setdefault(key, set()).update(held)
    return Route(
        events=frozenset(events),
        traits=traits,
        reads=frozenset(reads),
        spans=tuple(sorted(spans)),
        dates=dates,
        edges=tuple(
            (name, tuple(sorted(found)), conditions, last)
            for (name, conditions, last), found in offsets.items()
        ),
        date_offsets=tuple(sorted(date_offsets)),
    )


def _date_steps(op: str, span: timedelta) -> tuple[timedelta, ...]:
    """Where ``d.<op>(span)`` can flip, relative to ``d`` (see :func:`route`)."""
    if op == "within_last":
        return (timedelta(0), span + _TICK)
    if op == "within_next":
        return (-span, _TICK)
    if op == "before_last":
        return (span,)
    return (_TICK - span,)  # after_next


def horizons(definition: ast.Definition) -> Iterator[tuple[str, timedelta]]:
    """(event name, how far back from now an event of that name can still matter).

    A stream with a window relative to now (``within``/``between`` without ``parent:``) only
    ever holds events inside it, so older ones can be dropped for good: now only grows. A stream
    nested in another's ``where`` with a ``parent:`` window reaches that far past its parent's
    own horizon; any other stream (no window, or nested without one) can reach all history.
    """
    yield from _horizons(definition.body, None)


def _horizons(node: ast.Node, outer: timedelta | None) -> Iterator[tuple[str, timedelta]]:
    if isinstance(node, ast.EventStream):
        reach = _reach(node, outer)
        if node.source == "event":
            yield node.name, reach
        for flt in node.filters:
            if isinstance(flt, ast.Where):
                yield from _horizons(flt.condition, reach)
        return
    for child in ast.children(node):
        yield from _horizons(child, outer)


def _reach(stream: ast.EventStream, outer: timedelta | None) -> timedelta:
    best = UNBOUNDED
    for flt in stream.filters:
        if isinstance(flt, ast.Within | ast.Between):
            spans = (
                (duration(flt.duration),)
                if isinstance(flt, ast.Within)
                else (duration(flt.start), duration(flt.end))
            )
            if not flt.parent:
                best = min(best, max(spans))
            elif outer is not None and outer != UNBOUNDED:
                # A child is at most hi after its parent, and never after now: its parent's
                # horizon bounds it (children before their parent never count).
                best = min(best, outer)
    return best


#: Per event name, one entry per stream of that name in a definition: the ``where`` conditions
#: an event must meet to be held by that stream, or None when any event may matter to it.
Admission = dict[str, list[tuple[ast.Expr, ...] | None]]


def admissions(definition: ast.Definition) -> Admission:
    """Which events of a name can change the definition's result at all.

    A stream holds only events that pass its ``where`` filters, so an event that fails them in
    every stream of its name leaves the result as it was (time passing is the timers' job). Only
    conditions about the event itself qualify: one that reads a nested stream or a parent
    property depends on other events, and a ``where`` after ``expires_after`` comes too late
    (the session is cut over every event of the name).
    """
    out: Admission = {}
    for node in ast.walk(definition):
        if not isinstance(node, ast.EventStream) or node.source != "event":
            continue
        conditions: list[ast.Expr] = []
        for flt in node.filters:
            if isinstance(flt, ast.ExpiresAfter):
                break
            if isinstance(flt, ast.Where):
                if not _about_the_event(flt.condition):
                    conditions = []
                    break
                conditions.append(flt.condition)
        out.setdefault(node.name, []).append(tuple(conditions) if conditions else None)
    return out


def _about_the_event(condition: ast.Expr) -> bool:
    """Whether the condition depends only on the event (and its owner's traits, whose changes are
    routed on their own). One relative to now (``within_last`` …) can flip later without any
    message: an event it rejects now may count later, so it cannot screen events."""
    return not any(
        isinstance(n, ast.EventStream | ast.ParentRef | ast.Any | ast.All)
        or (isinstance(n, ast.Comparator) and n.op in _NOW_DATE_OPS)
        for n in ast.walk(condition)
    )
