"""Reducers over a profile's events of one name, carried forward from one evaluation to the next
instead of recomputed from the whole list.

The live world keeps each profile's events of one name in an :class:`EventList`. A reducer whose
stream is that list cut by a window (two bisections) and filtered by conditions about the event
alone remembers, on the list itself, what it made of the events it has seen: the value each kept
event contributes (so nothing is extracted or tested twice) and its running result. In-order
events only append, and a window only moves forward, so the next evaluation folds in the new
events and drops the ones the window left. Anything else bumps the list's version (a late event
inserted in the middle, an edit, a sort), and the memo starts over from the window.

Results are the full computation's to the bit: sums and extremes are left folds continued in
the same order (up to 3.11, ``sum(new, acc)`` is ``sum(old + new)``: CPython's ``sum`` is then a
plain left fold of ``+`` from 0, its fast paths exact; ``min(acc, *new)`` replaces on the same
strict comparison ``min(old + new)`` does), and when the window drops values from the front of a
fold it is redone over the values kept. Counts per text (mode, unique) are integers, so they are
decremented.
"""

from __future__ import annotations

import bisect
import operator
import sys
from array import array
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, SupportsIndex

from mypy_extensions import mypyc_attr

from shoal.engines.universe import Event, Profile
from shoal.spec.message import Message

__all__ = ["ENABLED", "EventList", "reducer"]

ENABLED = True
"""Off: every reducer computes from scratch (tests compare the two)."""

_MAX_MEMOS = 256
"""Memos one list holds at most: a list outliving the definitions compiled for it (a core built
again over the same world) would otherwise keep the memos of every earlier compilation."""

_SHORT = 8
"""Lists shorter than this are reduced from scratch: as fast as a memo there, and not worth the
few hundred bytes one costs per reducer and profile."""

_CONTINUED_SUM = sys.version_info < (3, 12)
"""From 3.12 ``sum`` of floats is compensated (Neumaier): ``sum(new, acc)`` is then not
``sum(old + new)`` to the bit, so a sum is refolded over the kept values (still never
re-extracted or re-tested)."""

_ts = operator.attrgetter("message.timestamp")
_bisect_left = bisect.bisect_left
_bisect_right = bisect.bisect_right

Keep = Callable[[Message], Any]
"""What an event contributes to a reducer (None: nothing), from its message."""
Bounds = Callable[[datetime, Event | None], tuple[datetime | None, datetime | None, str | None]]
Full = Callable[..., Any]


# mypyc compiles no subclass of a builtin type: this one stays an ordinary Python class.
@mypyc_attr(native_class=False)
class EventList(list[Event]):
    """A profile's events of one name, in time order, with what reducers remember of them.

    ``version`` grows with every change other than an append at the end or a cut of the front
    (the two in-order changes a memo can follow); ``dropped`` counts the events cut from the
    front, so that ``index + dropped`` names an event for as long as it is held.
    """

    __slots__ = ("dropped", "memo", "version")

    def __init__(self, events: Iterable[Event] = ()) -> None:
        super().__init__(events)
        self.version = 0
        self.dropped = 0
        self.memo: dict[object, _Memo] | None = None  # most lists never hold one

    def __reduce__(self) -> tuple[type[EventList], tuple[list[Event]]]:
        # Memos are rebuilt on demand: a checkpoint holds the events alone.
        return (EventList, (list(self),))

    def _changed(self) -> None:
        self.version += 1

    def __delitem__(self, key: SupportsIndex | slice) -> None:
        if isinstance(key, slice):
            start, stop, step = key.indices(len(self))
            if start == 0 and step == 1:
                list.__delitem__(self, key)
                self.dropped += max(stop, 0)
                return
        list.__delitem__(self, key)
        self._changed()

    def __setitem__(self, key: Any, value: Any) -> None:
        list.__setitem__(self, key, value)
        self._changed()

    def insert(self, index: SupportsIndex, event: Event) -> None:
        list.insert(self, index, event)
        self._changed()

    def pop(self, index: SupportsIndex = -1) -> Event:
        self._changed()
        return list.pop(self, index)

    def remove(self, event: Event) -> None:
        list.remove(self, event)
        self._changed()

    def clear(self) -> None:
        list.clear(self)
        self._changed()

    def sort(self, *args: Any, **kwargs: Any) -> None:
        list.sort(self, *args, **kwargs)
        self._changed()

    def reverse(self) -> None:
        list.reverse(self)
        self._changed()

    def __imul__(self, n: SupportsIndex) -> EventList:
        list.__imul__(self, n)
        self._changed()
        return self


class _Memo:
    """What one reducer made of the events ``[start, upto)`` of one list (``index + dropped``):
    ``pos``/``vals`` the events it kept and their contributions, and its result over the first
    ``n`` of them (``acc``, or ``counts`` per text)."""

    __slots__ = ("acc", "counts", "n", "pos", "start", "upto", "vals", "version")

    def __init__(self, version: int, start: int) -> None:
        self.version = version
        self.start = start
        self.upto = start
        self.pos = array("q")  # not a list: an int object per entry would double the memo
        self.vals: list[Any] = []
        self.n = 0
        self.acc: Any = 0
        self.counts: dict[str, int] | None = None

    def trim(self, start: int) -> None:
        """Forget what lies before ``start`` (the window moved past it)."""
        self.start = start
        pos = self.pos
        if not pos or pos[0] >= start:
            return
        k = _bisect_left(pos, start)
        vals = self.vals
        if k <= self.n and self.counts:
            counts = self.counts
            for v in vals[:k]:
                c = counts[v] - 1
                if c:
                    counts[v] = c
                else:
                    del counts[v]
            self.n -= k
        else:
            # A fold cannot be undone exactly (floats): it is redone over what is kept.
            self.n, self.acc, self.counts = 0, 0, None
        del pos[:k]
        del vals[:k]

    def extend(
        self, events: list[Event], i: int, j: int, dropped: int, test: Any, keep: Keep
    ) -> None:
        pos, vals = self.pos, self.vals
        k = i + dropped
        for x in events[i:j]:
            m = x.message
            if test is None or test(m):
                v = keep(m)
                if v is not None:
                    pos.append(k)
                    vals.append(v)
            k += 1
        self.upto = j + dropped


Finish = Callable[[_Memo, int], Any]
"""The reducer's result over the first ``b`` kept values of a memo (``b`` > 0)."""


def _first(memo: _Memo, b: int) -> Any:
    return memo.vals[0]


def _last(memo: _Memo, b: int) -> Any:
    return memo.vals[b - 1]


def _count(memo: _Memo, b: int) -> Any:
    return b


def _sum(memo: _Memo, b: int) -> Any:
    n = memo.n
    if n == b:
        return memo.acc
    if n > b or not _CONTINUED_SUM:  # the window's end moved back: start over
        n, memo.acc = 0, 0
    memo.acc = acc = sum(memo.vals[n:b], memo.acc)
    memo.n = b
    return acc


def _avg(memo: _Memo, b: int) -> Any:
    return _sum(memo, b) / b


def _extreme(pick: Callable[..., Any]) -> Finish:
    def extreme(memo: _Memo, b: int) -> Any:
        n = memo.n
        if n == b:
            return memo.acc
        fresh = n == 0 or n > b  # nothing folded yet, or the window's end moved back
        acc = pick(memo.vals[:b]) if fresh else pick(memo.acc, *memo.vals[n:b])
        memo.acc, memo.n = acc, b
        return acc

    return extreme


def _counted(memo: _Memo, b: int) -> dict[str, int]:
    n, counts = memo.n, memo.counts
    if counts is None or n > b:
        n = 0
        counts = memo.counts = {}
    if n < b:
        for v in memo.vals[n:b]:
            counts[v] = counts.get(v, 0) + 1
        memo.n = b
    return counts


def _mode(least: int) -> Finish:
    def mode(memo: _Memo, b: int) -> Any:
        qualified = [(-n, text) for text, n in _counted(memo, b).items() if n >= least]
        return min(qualified)[1] if qualified else None

    return mode


def _unique(memo: _Memo, b: int) -> Any:
    return sorted(_counted(memo, b))


def _unique_count(memo: _Memo, b: int) -> Any:
    return len(_counted(memo, b))


def finisher(kind: str, numeric: bool, least: int) -> Finish:
    """``kind``'s result from a memo; ``numeric``: min/max over numbers (else over texts)."""
    if kind == "count":
        return _count
    if kind == "first":
        return _first
    if kind == "last":
        return _last
    if kind == "sum":
        return _sum
    if kind == "avg":
        return _avg
    if kind == "min":
        return _extreme(min)
    if kind == "max":
        return _extreme(max)
    if kind == "mode":
        return _mode(least)
    if kind == "unique":
        return _unique
    assert kind == "unique_count", kind
    return _unique_count


def reducer(
    *,
    name: str,
    bounds: Bounds | None,
    test: Callable[[Message], bool] | None,
    keep: Keep,
    finish: Finish,
    empty: Any,
    full: Full,
) -> Full:
    """A reducer over a profile's events called ``name`` in the window ``bounds`` (None: all of
    them) that pass ``test``, each contributing ``keep(message)``; ``empty`` is its result on no
    value. ``full`` is the reducer computed from scratch: for every case this does not follow
    (an event or account being evaluated, a view that is not an :class:`EventList`, a window
    outside the datetime range, an error on the way, whose report is the full computation's)."""
    token = object()
    counting = finish is _count and test is None

    def incremental(
        r: Any, now: datetime, p: Profile | None, a: Any, e: Event | None, q: Any
    ) -> Any:
        if e is not None or p is None or not ENABLED:
            return full(r, now, p, a, e, q)
        named = p.named
        events = named.get(name) if named is not None else None
        if type(events) is not EventList or len(events) < _SHORT:
            return full(r, now, p, a, e, q)
        if bounds is None:
            i, j = 0, len(events)
        else:
            try:
                lo, hi, _ = bounds(now, None)
            except OverflowError:
                return full(r, now, p, a, e, q)
            i = _bisect_left(events, lo, key=_ts)
            j = _bisect_right(events, hi, key=_ts)
        if i >= j:
            return empty
        if counting:
            return j - i
        dropped = events.dropped
        start, end = i + dropped, j + dropped
        memos = events.memo
        if memos is None:
            memos = events.memo = {}
        memo = memos.get(token)
        if (
            memo is None
            or memo.version != events.version
            or start < memo.start
            or start > memo.upto
        ):
            if len(memos) >= _MAX_MEMOS:
                memos.clear()
            memo = memos[token] = _Memo(events.version, start)
        elif start > memo.start:
            memo.trim(start)
        if end > memo.upto:
            try:
                memo.extend(events, memo.upto - dropped, j, dropped, test, keep)
            except Exception:
                del memos[token]
                return full(r, now, p, a, e, q)
            b = len(memo.pos)
        elif end == memo.upto:
            b = len(memo.pos)
        else:
            b = _bisect_left(memo.pos, end)
        if not b:
            return empty
        return finish(memo, b)

    return incremental
