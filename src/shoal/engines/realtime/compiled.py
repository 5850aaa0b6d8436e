"""Definition bodies compiled once into nested closures that answer what the reference evaluator
answers, without walking the tree again.

The real-time core evaluates one definition for one entity after nearly every event.
:meth:`Evaluator.eval <shoal.engines.reference.Evaluator.eval>` walks the syntax tree each time:
a type test per node, a :class:`~shoal.engines.reference.Ctx` per nested event, a new list per
filter. Here that walk happens once, at compile time, and everything static is hoisted out of
what runs per evaluation: durations are ``timedelta`` values, literal arguments are classified
(their number, their text), paths are bound, the windows of a stream become one interval (cut
by bisection out of the events of the stream's name where the profile keeps them by name, as the
live world does; else tested in the single pass that picks the entity's events by name), and
``AND``/``OR`` stop at the first operand that decides them.

The answers are the reference's to the value, type included (it is the oracle;
``tests/engines_realtime/test_compiled.py`` compares the two on random streams and definitions
and on the whole case corpus). Two rewrites could otherwise change an outcome, and both fall back
to the reference's own step-by-step code: a window bound outside the ``datetime`` range (the
reference raises ``OverflowError`` only if an event reaches that filter), and a duration too
large for ``timedelta`` (the reference raises when the stream or comparator is evaluated, not
when the definition is compiled).

Calling convention of a compiled expression: ``fn(reader, now, profile, account, event,
parent)``, where ``event`` and ``parent`` are the last two events of ``Ctx.events`` (``None``
when there are fewer): the language never reaches further out than ``property(parent: ...)``.
"""

from __future__ import annotations

import bisect
import math
import operator
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from shoal.engines import values as V
from shoal.engines.realtime import incremental
from shoal.engines.reference import Ctx, Reader, duration
from shoal.engines.universe import Account, Event, Profile
from shoal.lang import ast
from shoal.spec.message import Message

__all__ = ["Compiled", "MessageFilter", "compile_body", "compile_expr"]

Fn = Callable[[Reader, datetime, Profile | None, Account | None, Event | None, Event | None], Any]
"""A compiled expression: ``(reader, now, profile, account, event, parent) -> value``."""
StreamFn = Callable[
    [Reader, datetime, Profile | None, Account | None, Event | None, Event | None], list[Event]
]
Found = Callable[[list[Event], Event | None], list[Any]]
"""A reducer argument: the non-null values it takes on the stream's events, in order."""
Test = Callable[[Any], bool]
"""A comparator with static arguments, on a non-null subject."""
MessageTest = Callable[[Message], bool]
"""A ``where`` condition about the event alone, on its message."""

# event('Page Viewed') and event('Screen Viewed') also hold page and screen calls
# (Message.event_name); for every other name, a match is a track call with that event.
_PSEUDO_EVENTS = frozenset({"Page Viewed", "Screen Viewed"})
_NOW_DATE_OPS = frozenset({"within_last", "within_next", "before_last", "after_next"})
_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "greater_than": operator.gt,
    "at_least": operator.ge,
    "less_than": operator.lt,
    "at_most": operator.le,
}
_NO_TIME = datetime.min
"""``now`` for comparators that do not read it."""
_isfinite = math.isfinite
_bisect_left = bisect.bisect_left
_bisect_right = bisect.bisect_right
_ts = operator.attrgetter("message.timestamp")
_as_number = V.as_number
_walk = V.walk_path


class Compiled:
    """One compiled expression. ``compiled(ctx, reader, now)`` is
    ``Evaluator(reader, now).eval(node, ctx)``; the ``on_*`` methods skip building a ``Ctx``."""

    __slots__ = ("fn", "node")

    def __init__(self, node: ast.Expr) -> None:
        self.node = node
        self.fn: Fn = _expr(node)

    def __reduce__(self) -> tuple[type[Compiled], tuple[ast.Expr]]:
        # Closures do not pickle (the core is checkpointed with pickle): keep the tree and
        # compile it again when loaded.
        return (Compiled, (self.node,))

    def __call__(self, ctx: Ctx, reader: Reader, now: datetime) -> Any:
        events = ctx.events
        n = len(events)
        event = events[-1] if n else None
        parent = events[-2] if n > 1 else None
        return self.fn(reader, now, ctx.profile, ctx.account, event, parent)

    def on_profile(self, profile: Profile, reader: Reader, now: datetime) -> Any:
        """As with ``Ctx(profile=profile)``."""
        return self.fn(reader, now, profile, None, None, None)

    def on_account(self, account: Account, reader: Reader, now: datetime) -> Any:
        """As with ``Ctx(account=account)``."""
        return self.fn(reader, now, None, account, None, None)

    def on_event(self, event: Event, reader: Reader, now: datetime) -> Any:
        """As with ``Ctx(profile=event.owner, events=(event,))``: a ``where`` condition on it."""
        return self.fn(reader, now, event.owner, None, event, None)


class MessageFilter:
    """What of a stream's ``where`` conditions reads only the event's own message, as one test
    of the message: an event that fails it is never held by the stream. The other conditions
    are left out (as if always true); ``test`` is None when none qualifies."""

    __slots__ = ("conditions", "exact", "test")

    def __init__(self, conditions: tuple[ast.Expr, ...]) -> None:
        self.conditions = conditions
        tests = [_message_test(c) for c in conditions]
        self.test: MessageTest | None = _all_of([t for t in tests if t is not None])
        self.exact = all(t is not None for t in tests)
        """Whether ``test`` is all of the conditions (each reads the message alone)."""

    def __reduce__(self) -> tuple[type[MessageFilter], tuple[tuple[ast.Expr, ...]]]:
        return (MessageFilter, (self.conditions,))  # closures do not pickle


def compile_body(definition: ast.Definition) -> Compiled:
    """The body of a checked definition, compiled."""
    return Compiled(definition.body)


def compile_expr(node: ast.Expr) -> Compiled:
    """Any expression (a ``where`` condition, say), compiled."""
    return Compiled(node)


# --- booleans ------------------------------------------------------------------------------------


def _expr(node: ast.Expr) -> Fn:
    if isinstance(node, ast.Comparator):
        return _comparator(node)
    if isinstance(node, ast.And):
        return _and(tuple(_expr(op) for op in node.operands))
    if isinstance(node, ast.Or):
        return _or(tuple(_expr(op) for op in node.operands))
    if isinstance(node, ast.Not):
        inner = _expr(node.operand)
        return lambda r, now, p, a, e, q: inner(r, now, p, a, e, q) is not True
    if isinstance(node, ast.Any | ast.All):
        return _quantifier(node)
    return _value(node)


def _and(ops: tuple[Fn, ...]) -> Fn:
    if len(ops) == 2:
        first, second = ops
        return lambda r, now, p, a, e, q: (
            first(r, now, p, a, e, q) is True and second(r, now, p, a, e, q) is True
        )

    def all_of(r: Reader, now: datetime, p: Any, a: Any, e: Any, q: Any) -> bool:
        return all(op(r, now, p, a, e, q) is True for op in ops)

    return all_of


def _or(ops: tuple[Fn, ...]) -> Fn:
    if len(ops) == 2:
        first, second = ops
        return lambda r, now, p, a, e, q: (
            first(r, now, p, a, e, q) is True or second(r, now, p, a, e, q) is True
        )

    def any_of(r: Reader, now: datetime, p: Any, a: Any, e: Any, q: Any) -> bool:
        return any(op(r, now, p, a, e, q) is True for op in ops)

    return any_of


def _quantifier(node: ast.Any | ast.All) -> Fn:
    operand = _expr(node.operand)
    if isinstance(node, ast.Any):

        def any_user(r: Reader, now: datetime, p: Any, a: Account | None, e: Any, q: Any) -> bool:
            if a is None:
                return False  # the checker allows ANY/ALL only in ACCOUNTS definitions
            return any(operand(r, now, u, None, None, None) is True for u in a.users)

        return any_user

    def all_users(r: Reader, now: datetime, p: Any, a: Account | None, e: Any, q: Any) -> bool:
        if a is None or not a.users:
            return False
        return all(operand(r, now, u, None, None, None) is True for u in a.users)

    return all_users


# --- values --------------------------------------------------------------------------------------


def _value(node: ast.Value) -> Fn:
    if isinstance(node, ast.Literal):
        constant = node.value
        return lambda r, now, p, a, e, q: constant
    if isinstance(node, ast.TraitRef):
        return _trait(node)
    if isinstance(node, ast.Property):
        path = node.path
        if len(path) == 1:
            key = path[0]

            def property1(r: Reader, now: datetime, p: Any, a: Any, e: Event | None, q: Any) -> Any:
                if e is None:
                    return None
                props = e.message.properties
                return props.get(key) if isinstance(props, dict) else None

            return property1
        return lambda r, now, p, a, e, q: None if e is None else _walk(e.message.properties, path)
    if isinstance(node, ast.ParentRef):
        path = node.path
        return lambda r, now, p, a, e, q: None if q is None else _walk(q.message.properties, path)
    if isinstance(node, ast.ContextRef):
        path = node.path
        if path == ("timestamp",):
            return lambda r, now, p, a, e, q: None if e is None else e.message.timestamp
        return lambda r, now, p, a, e, q: None if e is None else _walk(e.message.context, path)
    return _reducer(node)


def _path(path: tuple[str, ...]) -> Callable[[Any], Any]:
    if not path:
        return lambda value: value
    if len(path) == 1:
        key = path[0]
        return lambda value: value.get(key) if isinstance(value, dict) else None
    return lambda value: _walk(value, path)


def _trait(node: ast.TraitRef) -> Fn:
    key = node.key
    walk = _path(node.path)

    def trait(
        r: Reader, now: datetime, p: Profile | None, a: Account | None, e: Event | None, q: Any
    ) -> Any:
        # Inside where(), the trait of the profile that owns the event; else the profile's; for
        # an account outside ANY/ALL, the account's.
        entity: Profile | Account | None = e.owner if e is not None else p
        if entity is None:
            entity = a
            if entity is None:
                return None
        target = "accounts" if isinstance(entity, Account) else "users"
        request = r.requests.get(key)
        if request is not None and request.definition.target == target:
            return walk(r.read(key, now, entity))
        return walk(entity.traits.get(key))

    return trait


# --- reducers ------------------------------------------------------------------------------------


def _reducer(node: ast.Reducer) -> Fn:
    full = _full_reducer(node)
    fast = _incremental(node, full)
    return full if fast is None else fast


def _full_reducer(node: ast.Reducer) -> Fn:
    stream = _stream(node.stream)
    kind = node.kind
    if kind == "count":
        return lambda r, now, p, a, e, q: len(stream(r, now, p, a, e, q))
    arg = node.arg
    assert arg is not None
    found = _found(arg)
    finish = _finish(node)
    return lambda r, now, p, a, e, q: finish(found(stream(r, now, p, a, e, q), e))


def _incremental(node: ast.Reducer, full: Fn) -> Fn | None:
    """The reducer carried over from one evaluation to the next (:mod:`.incremental`), when its
    stream is one name's events cut by windows relative to now and filtered by conditions about
    the event alone, and its argument is the event's own: what a profile's evaluation can fold
    in event by event. None otherwise."""
    stream = node.stream
    if stream.source != "event" or isinstance(node.arg, ast.ParentRef):
        return None
    if any(isinstance(flt, ast.ExpiresAfter) for flt in stream.filters):
        return None
    try:
        segment = _Segment(stream.filters, None, stream.name)
    except OverflowError:
        return None  # a duration beyond timedelta: the full form raises where the reference does
    if not segment.simple:
        return None
    kind = node.kind
    keep = _keep(node)
    numeric = not (kind in ("min", "max") and node.cast == "string")
    return incremental.reducer(
        name=stream.name,
        bounds=segment.bounds if segment.windowed else None,
        test=segment.test,
        keep=keep,
        finish=incremental.finisher(kind, numeric, node.min_count or 1),
        empty=0 if kind in ("count", "unique_count") else None,
        full=full,
    )


def _keep(node: ast.Reducer) -> Callable[[Message], Any]:
    """What one event contributes to the reducer (None: nothing), as ``_found`` then
    ``_finish`` take it: the argument's value, as a number or a text where the reducer reads
    one."""
    arg, kind = node.arg, node.kind
    if arg is None:
        return lambda m: True
    assert not isinstance(arg, ast.ParentRef)
    path = arg.path
    value: Callable[[Message], Any]
    if isinstance(arg, ast.Property):
        if len(path) == 1:
            key = path[0]
            value = lambda m: props.get(key) if isinstance(props := m.properties, dict) else None  # noqa: E731
        else:
            value = lambda m: _walk(m.properties, path)  # noqa: E731
    elif path == ("timestamp",):
        value = lambda m: m.timestamp  # noqa: E731
    else:
        value = lambda m: _walk(m.context, path)  # noqa: E731
    if kind in ("first", "last"):
        return value
    if kind in ("mode", "unique", "unique_count") or (
        kind in ("min", "max") and node.cast == "string"
    ):
        string_form = V.string_form
        return lambda m: None if (v := value(m)) is None else string_form(v)
    # sum, avg, min, max over numbers
    return lambda m: None if (v := value(m)) is None else v if type(v) is int else _as_number(v)


def _found(arg: ast.Property | ast.ParentRef | ast.ContextRef) -> Found:
    """The reducer's argument on each event (``ctx.inner(event)``), nulls dropped."""
    path = arg.path
    if isinstance(arg, ast.Property):
        if len(path) == 1:
            key = path[0]
            return lambda events, e: [
                v
                for x in events
                if isinstance(props := x.message.properties, dict)
                and (v := props.get(key)) is not None
            ]
        return lambda events, e: [
            v for x in events if (v := _walk(x.message.properties, path)) is not None
        ]
    if isinstance(arg, ast.ParentRef):
        # The parent of every event of the stream is the event enclosing the stream.
        def parent(events: list[Event], e: Event | None) -> list[Any]:
            if e is None or not events:
                return []
            v = _walk(e.message.properties, path)
            return [] if v is None else [v] * len(events)

        return parent
    if path == ("timestamp",):
        return lambda events, e: [v for x in events if (v := x.message.timestamp) is not None]
    return lambda events, e: [
        v for x in events if (v := _walk(x.message.context, path)) is not None
    ]


def _numbers(found: list[Any]) -> list[int | float]:
    return [n for v in found if (n := v if type(v) is int else _as_number(v)) is not None]


def _finish(node: ast.Reducer) -> Callable[[list[Any]], Any]:
    """What the reducer makes of the non-null values, as in ``Evaluator.reduce``."""
    kind = node.kind
    if kind == "first":
        return lambda found: found[0] if found else None
    if kind == "last":
        return lambda found: found[-1] if found else None
    if kind == "unique_count":
        return lambda found: len({V.string_form(v) for v in found})
    if kind == "unique":
        return lambda found: sorted({V.string_form(v) for v in found}) or None
    if kind == "mode":
        least = node.min_count or 1

        def mode(found: list[Any]) -> Any:
            counts: dict[str, int] = {}
            for v in found:
                text = v if type(v) is str else V.string_form(v)
                counts[text] = counts.get(text, 0) + 1
            qualified = [(-n, text) for text, n in counts.items() if n >= least]
            return min(qualified)[1] if qualified else None

        return mode
    if kind in ("min", "max") and node.cast == "string":
        pick = min if kind == "min" else max
        return lambda found: pick([V.string_form(v) for v in found]) if found else None
    if kind == "sum":

        def total(found: list[Any]) -> Any:
            numbers = _numbers(found)
            return sum(numbers) if numbers else None

        return total
    if kind == "avg":

        def mean(found: list[Any]) -> Any:
            numbers = _numbers(found)
            return sum(numbers) / len(numbers) if numbers else None

        return mean
    extreme = min if kind == "min" else max

    def numeric(found: list[Any]) -> Any:
        numbers = _numbers(found)
        return extreme(numbers) if numbers else None

    return numeric


# --- streams -------------------------------------------------------------------------------------

# A segment's bounds at one evaluation: the interval event times must fall in (None: no window)
# and the id of the parent message, which never counts as its own child (None: no parent window).
_Bounds = tuple[datetime | None, datetime | None, str | None]
_NOTHING = (None, None, None)
Select = Callable[
    [list[Event], _Bounds, Reader, datetime, Profile | None, Account | None, Event | None],
    list[Event],
]


class _Empty(Exception):
    """A ``parent:`` window outside any event: the stream holds nothing."""


def _order(event: Event) -> tuple[datetime, datetime, str]:
    m = event.message
    return (m.timestamp, m.received_at, m.message_id)


def _session(events: list[Event], gap: timedelta, now: datetime) -> list[Event]:
    """``Evaluator.session_window``: the trailing run of events with gaps of at most ``gap``,
    while the last one is at most ``gap`` before now."""
    if not events or now - events[-1].message.timestamp > gap:
        return []
    start = len(events) - 1
    while start > 0 and (
        events[start].message.timestamp - events[start - 1].message.timestamp <= gap
    ):
        start -= 1
    return events[start:]


class _Segment:
    """Consecutive per-event filters (windows, ``where``, ``sources``) of a stream, up to an
    ``expires_after``: each keeps an event or not on its own, so together they are one test."""

    __slots__ = ("bounds", "gap", "pick", "select", "simple", "test", "windowed")

    def __init__(
        self,
        filters: Sequence[ast.Filter],
        gap: timedelta | None,
        name: str | None,
    ) -> None:
        self.gap = gap
        """The ``expires_after`` that ends the segment (None for the last one)."""
        now_windows: list[tuple[timedelta, timedelta]] = []
        parent_windows: list[tuple[timedelta, timedelta]] = []
        conditions: list[Fn] = []
        tests: list[MessageTest] = []
        for flt in filters:
            if isinstance(flt, ast.Where):
                test = _message_test(flt.condition)
                if test is None:
                    conditions.append(_expr(flt.condition))
                else:
                    tests.append(test)
            elif isinstance(flt, ast.Within | ast.Between):
                if isinstance(flt, ast.Within):
                    lo, hi = timedelta(0), duration(flt.duration)
                else:
                    a, b = duration(flt.start), duration(flt.end)
                    lo, hi = min(a, b), max(a, b)
                (parent_windows if flt.parent else now_windows).append((lo, hi))
        self.bounds = _bounds(now_windows, parent_windows)
        windowed, parented = bool(now_windows or parent_windows), bool(parent_windows)
        test, fns = _all_of(tests), tuple(conditions)
        self.windowed = windowed
        self.test = test
        """The conditions about the event alone, as one test of its message."""
        self.simple = not parented and not fns
        """Whether an event is held or not depends on the event and now alone."""
        self.select = _selector(name, windowed, parented, test, fns)
        rest: Select | None = None
        if parented or fns:
            rest = _selector(None, False, parented, test, fns)
        elif test is not None:
            rest = _tested(test)
        self.pick = _picker(windowed, rest)
        """``select`` on the events of the stream's name alone, in time order
        (``Profile.named``): the window is two bisections, not a test per event."""


def _bounds(
    now_windows: list[tuple[timedelta, timedelta]],
    parent_windows: list[tuple[timedelta, timedelta]],
) -> Callable[[datetime, Event | None], _Bounds]:
    """The intersection of the segment's windows at ``now`` under the enclosing event.

    Raises ``OverflowError`` when a bound leaves the datetime range, ``_Empty`` for a parent
    window without an enclosing event.
    """
    if not now_windows and not parent_windows:
        return lambda now, e: _NOTHING
    if len(now_windows) == 1 and not parent_windows:
        ((lo, hi),) = now_windows
        return lambda now, e: (now - hi, now - lo, None)

    def bounds(now: datetime, e: Event | None) -> _Bounds:
        lows: list[datetime] = []
        highs: list[datetime] = []
        for lo, hi in now_windows:
            lows.append(now - hi)
            highs.append(now - lo)
        pid = None
        if parent_windows:
            if e is None:
                raise _Empty
            ts = e.message.timestamp
            for lo, hi in parent_windows:
                lows.append(ts + lo)
                highs.append(ts + hi)
            pid = e.message.message_id
        return (max(lows), min(highs), pid)

    return bounds


def _selector(
    name: str | None,
    windowed: bool,
    parented: bool,
    test: MessageTest | None,
    conditions: tuple[Fn, ...],
) -> Select:
    """One pass over ``events``: the name (when given), the interval, the parent, the ``where``
    conditions about the event alone (``test``), the other ones (each as ``ctx.inner(event)``)."""
    track = name is not None and name not in _PSEUDO_EVENTS
    if track and not parented and not conditions:
        if not windowed:
            if test is None:
                return lambda events, bounds, r, now, p, a, e: [
                    x for x in events if (m := x.message).event == name and m.type == "track"
                ]
            return lambda events, bounds, r, now, p, a, e: [
                x
                for x in events
                if (m := x.message).event == name and m.type == "track" and test(m)
            ]

        def named_in_window(
            events: list[Event], bounds: _Bounds, r: Any, now: Any, p: Any, a: Any, e: Any
        ) -> list[Event]:
            lo: datetime = bounds[0]  # type: ignore[assignment]
            hi: datetime = bounds[1]  # type: ignore[assignment]
            if test is None:
                return [
                    x
                    for x in events
                    if (m := x.message).event == name
                    and m.type == "track"
                    and lo <= m.timestamp <= hi
                ]
            return [
                x
                for x in events
                if (m := x.message).event == name
                and m.type == "track"
                and lo <= m.timestamp <= hi
                and test(m)
            ]

        return named_in_window

    def select(
        events: list[Event],
        bounds: _Bounds,
        r: Reader,
        now: datetime,
        p: Profile | None,
        a: Account | None,
        e: Event | None,
    ) -> list[Event]:
        lo, hi, pid = bounds
        out = []
        for x in events:
            m = x.message
            if name is not None:
                if track:
                    if m.event != name or m.type != "track":
                        continue
                elif m.event_name != name:
                    continue
            if windowed and not lo <= m.timestamp <= hi:  # type: ignore[operator]
                continue
            if parented and m.message_id == pid:
                continue
            if test is not None and not test(m):
                continue
            for condition in conditions:
                if condition(r, now, p, a, x, e) is not True:
                    break
            else:
                out.append(x)
        return out

    return select


def _tested(test: MessageTest) -> Select:
    return lambda events, bounds, r, now, p, a, e: [x for x in events if test(x.message)]


def _picker(windowed: bool, rest: Select | None) -> Select:
    """``select`` for a list of events of the right name in time order: the events in the
    bounds, sliced out, then ``rest`` (the other filters; None when there are none)."""
    if not windowed:
        if rest is None:
            return lambda events, bounds, r, now, p, a, e: events[:]
        return rest

    def pick(
        events: list[Event],
        bounds: _Bounds,
        r: Reader,
        now: datetime,
        p: Profile | None,
        a: Account | None,
        e: Event | None,
    ) -> list[Event]:
        lo, hi, _ = bounds
        i = _bisect_left(events, lo, key=_ts)
        j = _bisect_right(events, hi, key=_ts)
        if i >= j:
            return []
        if rest is None:
            return events[i:j]
        return rest(events[i:j], bounds, r, now, p, a, e)

    return pick


# --- conditions about the event alone ------------------------------------------------------------


def _message_test(node: ast.Expr) -> MessageTest | None:
    """A ``where`` condition that reads only the event's own properties and context with literal
    arguments, as a test of its message (what ``eval(node, ctx.inner(event)) is True`` gives);
    None for any other condition."""
    if isinstance(node, ast.And | ast.Or):
        tests = [_message_test(op) for op in node.operands]
        if any(t is None for t in tests):
            return None
        parts = [t for t in tests if t is not None]
        return _all_of(parts) if isinstance(node, ast.And) else _any_of(parts)
    if isinstance(node, ast.Not):
        inner = _message_test(node.operand)
        return None if inner is None else (lambda m: not inner(m))
    if not isinstance(node, ast.Comparator):
        return None
    subject = node.subject
    if isinstance(subject, ast.Property):
        path, in_context = subject.path, False
    elif isinstance(subject, ast.ContextRef) and subject.path != ("timestamp",):
        path, in_context = subject.path, True
    else:
        return None
    op = node.op
    if op in _NOW_DATE_OPS or op in ("before_date", "after_date"):
        return None  # they read now (or a date): left to the general form
    if not all(isinstance(arg, ast.Literal) for arg in node.args):
        return None
    if op == "exists" or op == "absent":
        present = op == "exists"
        get = _path(path)
        if in_context:
            return lambda m: (get(m.context) is not None) is present
        return lambda m: (get(m.properties) is not None) is present
    test = _static_test(op, [arg.value for arg in node.args if isinstance(arg, ast.Literal)])
    if len(path) == 1 and not in_context:
        key = path[0]

        def property_test(m: Message) -> bool:
            props = m.properties
            if not isinstance(props, dict):
                return False
            v = props.get(key)
            return v is not None and test(v)

        return property_test
    get = _path(path)
    if in_context:
        return lambda m: (v := get(m.context)) is not None and test(v)
    return lambda m: (v := get(m.properties)) is not None and test(v)


def _all_of(tests: Sequence[MessageTest]) -> MessageTest | None:
    if not tests:
        return None
    if len(tests) == 1:
        return tests[0]
    if len(tests) == 2:
        first, second = tests
        return lambda m: first(m) and second(m)
    return lambda m: all(t(m) for t in tests)


def _any_of(tests: Sequence[MessageTest]) -> MessageTest:
    if len(tests) == 2:
        first, second = tests
        return lambda m: first(m) or second(m)
    return lambda m: any(t(m) for t in tests)


def _stream(node: ast.EventStream) -> StreamFn:
    if node.source != "event":
        return lambda r, now, p, a, e, q: []  # entity() streams come from a warehouse
    name = node.name
    pieces: list[list[ast.Filter]] = [[]]
    gaps: list[timedelta] = []
    try:
        for flt in node.filters:
            if isinstance(flt, ast.ExpiresAfter):
                gaps.append(duration(flt.duration))
                pieces.append([])
            else:
                pieces[-1].append(flt)
        segments = [
            _Segment(piece, gaps[i] if i < len(gaps) else None, name if i == 0 else None)
            for i, piece in enumerate(pieces)
        ]
    except OverflowError:
        # A duration beyond timedelta: the reference raises when (and only if) it evaluates the
        # stream, so do exactly what it does.
        return _slow_stream(node)
    fallback: list[StreamFn] = []

    def slow(
        r: Reader,
        now: datetime,
        p: Profile | None,
        a: Account | None,
        e: Event | None,
        q: Event | None,
    ) -> list[Event]:
        if not fallback:  # compiled on first use: nested streams would compile it twice each
            fallback.append(_slow_stream(node))
        return fallback[0](r, now, p, a, e, q)

    first = segments[0]
    first_bounds, first_select, first_pick = first.bounds, first.select, first.pick
    rest = segments[1:]
    none: list[Event] = []

    def of(
        owner: Profile,
        bounds: _Bounds,
        r: Reader,
        now: datetime,
        p: Profile | None,
        a: Account | None,
        e: Event | None,
    ) -> list[Event]:
        """The first segment over one linked user's events (an account's stream)."""
        named = owner.named
        if named is None:
            return first_select(owner.events, bounds, r, now, p, a, e)
        return first_pick(named.get(name, none), bounds, r, now, p, a, e)

    def stream(
        r: Reader,
        now: datetime,
        p: Profile | None,
        a: Account | None,
        e: Event | None,
        q: Event | None,
    ) -> list[Event]:
        try:
            bounds = first_bounds(now, e)
            later = [s.bounds(now, e) for s in rest] if rest else None
        except OverflowError:
            return slow(r, now, p, a, e, q)
        except _Empty:
            return []
        owner = e.owner if e is not None else p
        if owner is not None:
            named = owner.named
            if named is None:
                events = first_select(owner.events, bounds, r, now, p, a, e)
            else:
                events = first_pick(named.get(name, none), bounds, r, now, p, a, e)
        elif a is not None:
            users = a.users  # account traits read the events of all linked users
            events = []
            for u in users:
                events.extend(of(u, bounds, r, now, p, a, e))
            if len(users) > 1:
                events.sort(key=_order)
        else:
            return []
        if later is not None:
            gap = first.gap
            for segment, bounds in zip(rest, later, strict=True):
                assert gap is not None
                events = _session(events, gap, now)
                events = segment.select(events, bounds, r, now, p, a, e)
                gap = segment.gap
        return events

    return stream


def _slow_stream(node: ast.EventStream) -> StreamFn:
    """``Evaluator.stream`` step by step (filter by filter, durations computed when reached),
    with ``where`` conditions compiled: for bounds outside the datetime range."""
    name = node.name
    filters = [
        (flt, _expr(flt.condition) if isinstance(flt, ast.Where) else None) for flt in node.filters
    ]

    def stream(
        r: Reader,
        now: datetime,
        p: Profile | None,
        a: Account | None,
        e: Event | None,
        q: Event | None,
    ) -> list[Event]:
        if node.source != "event":
            return []
        owners: list[Profile] = []
        if e is not None:
            owners = [e.owner]
        elif p is not None:
            owners = [p]
        elif a is not None:
            owners = a.users
        events = [x for o in owners for x in o.events if x.message.event_name == name]
        if len(owners) > 1:
            events.sort(key=_order)
        for flt, condition in filters:
            if condition is not None:
                events = [x for x in events if condition(r, now, p, a, x, e) is True]
            elif isinstance(flt, ast.Within | ast.Between):
                if isinstance(flt, ast.Within):
                    lo, hi = timedelta(0), duration(flt.duration)
                else:
                    lo_, hi_ = duration(flt.start), duration(flt.end)
                    lo, hi = min(lo_, hi_), max(lo_, hi_)
                if not flt.parent:
                    events = [x for x in events if now - hi <= x.message.timestamp <= now - lo]
                elif e is None:
                    events = []
                else:
                    ts, pid = e.message.timestamp, e.message.message_id
                    events = [
                        x
                        for x in events
                        if ts + lo <= x.message.timestamp <= ts + hi and x.message.message_id != pid
                    ]
            elif isinstance(flt, ast.ExpiresAfter):
                events = _session(events, duration(flt.duration), now)
        return events

    return stream


# --- comparators ---------------------------------------------------------------------------------


def _comparator(node: ast.Comparator) -> Fn:
    subject = _value(node.subject)
    op = node.op
    if op == "exists":
        return lambda r, now, p, a, e, q: subject(r, now, p, a, e, q) is not None
    if op == "absent":
        return lambda r, now, p, a, e, q: subject(r, now, p, a, e, q) is None
    if op in _NOW_DATE_OPS:
        span_node = node.args[0]
        assert isinstance(span_node, ast.Duration)
        try:
            span: timedelta | None = duration(span_node)
        except OverflowError:
            span = None  # raise as the reference does: only on a non-null subject

        def dated(r: Reader, now: datetime, p: Any, a: Any, e: Any, q: Any) -> bool:
            s = subject(r, now, p, a, e, q)
            if s is None:
                return False
            return V.date_test(op, s, duration(span_node) if span is None else span, now)

        return dated
    arg_nodes = [arg for arg in node.args if not isinstance(arg, ast.Duration)]
    if all(isinstance(arg, ast.Literal) for arg in arg_nodes):
        values = [arg.value for arg in arg_nodes if isinstance(arg, ast.Literal)]
        if op in ("before_date", "after_date"):
            limit = values[0]
            return lambda r, now, p, a, e, q: (
                (s := subject(r, now, p, a, e, q)) is not None and V.date_test(op, s, limit, now)
            )
        test = _static_test(op, values)
        return lambda r, now, p, a, e, q: (s := subject(r, now, p, a, e, q)) is not None and test(s)
    arg_fns = [_value(arg) for arg in arg_nodes]

    def dynamic(r: Reader, now: datetime, p: Any, a: Any, e: Any, q: Any) -> bool:
        s = subject(r, now, p, a, e, q)
        if s is None:
            return False
        return _apply(op, s, [f(r, now, p, a, e, q) for f in arg_fns], now)

    return dynamic


def _apply(op: str, subject: Any, args: list[Any], now: datetime) -> bool:
    """``Evaluator.comparator`` once the subject (not null) and the arguments are known."""
    return V.apply_comparator(op, subject, args, now)


def _static_test(op: str, args: list[Any]) -> Test:
    """The comparator on a non-null subject with its literal arguments bound. Scalars of the
    common types take a short path that gives what :mod:`~shoal.engines.values` gives; anything
    else (arrays, booleans, dates) goes to :mod:`~shoal.engines.values` itself."""
    if op == "equals":
        return _equals(args[0])
    if op == "differs":
        return _differs(args[0])
    if op in _ORDER:
        return _compare(op, args[0])
    if op == "one_of":
        tests = [_equals(arg) for arg in args]
        return lambda s: any(t(s) for t in tests)
    if op == "contains":
        needles = [V.string_form(arg) for arg in args if arg is not None]

        def contains(s: Any) -> bool:
            if type(s) is str:
                return any(n in s for n in needles)
            return V.contains(s, args)

        return contains
    if op == "starts_with":
        prefix = V.string_form(args[0])
        return lambda s: s.startswith(prefix) if type(s) is str else V.starts_with(s, args[0])
    if op == "ends_with":
        suffix = V.string_form(args[0])
        return lambda s: s.endswith(suffix) if type(s) is str else V.ends_with(s, args[0])
    return lambda s: _apply(op, s, args, _NO_TIME)  # omits, none_of (no time involved)


def _scalar_equals(arg: Any) -> Test | None:
    """``values._scalar_equals(v, arg)`` for ``v`` an int, float or str (the caller checks),
    when ``arg`` is an int, float or str literal; None for other literals."""
    if type(arg) not in (str, int, float):
        return None
    right = _as_number(arg)
    text = arg if type(arg) is str else None

    def same(v: Any) -> bool:
        t = type(v)
        if t is int:
            return right is not None and v == right
        if t is float:
            return right is not None and _isfinite(v) and v == right
        if right is not None:
            left = _as_number(v)
            if left is not None:
                return bool(left == right)
        return text is not None and v == text

    return same


def _equals(arg: Any) -> Test:
    same = _scalar_equals(arg)
    if same is None or arg is None:
        return lambda s: V.equals(s, arg)
    return lambda s: same(s) if type(s) in (int, float, str) else V.equals(s, arg)


def _differs(arg: Any) -> Test:
    same = _scalar_equals(arg)
    if same is None or arg is None:
        return lambda s: V.differs(s, arg)
    return lambda s: (not same(s)) if type(s) in (int, float, str) else V.differs(s, arg)


def _compare(op: str, arg: Any) -> Test:
    right = _as_number(arg)
    if right is None:
        return lambda s: False  # values.compare: a side that is not a number makes it false
    test = _ORDER[op]

    def compare(s: Any) -> bool:
        t = type(s)
        if t is int:
            return test(s, right)
        if t is float:
            return _isfinite(s) and test(s, right)
        if t is str:
            left = _as_number(s)
            return left is not None and test(left, right)
        return V.compare(op, s, arg)

    return compare
