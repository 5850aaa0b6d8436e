"""Reducers carried from one evaluation to the next (:mod:`shoal.engines.realtime.incremental`)
give, bit for bit, what they give computed from scratch: long in-order histories (the memo's
common case), then late events landing in the middle, windows sliding and pruning cutting the
front, a merge rebuilding the index, a checkpoint taken and loaded mid-stream. Each step is
compared with the same core with the memos off (results and changes, floats by their repr), and
at the end and at every checkpoint with the reference evaluator.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shoal.engines.realtime import incremental
from shoal.engines.realtime.core import Change, Core
from shoal.engines.realtime.engine import outcomes
from shoal.engines.realtime.incremental import EventList
from shoal.engines.reference import ReferenceEngine
from shoal.engines.universe import Event, Profile
from shoal.spec.message import Message
from tests.engines_realtime.test_differential import _requests
from tests.engines_realtime.test_indexes import _roundtrip
from tests.engines_sql.test_differential import NOW, _same

# 'A' is read without a window (never pruned), 'B' only through windows (pruned as they pass).
QUERIES = {
    "count": "event('A').count()",
    "sum": "event('A').sum(property('price'))",
    "avg": "event('A').avg(property('price'))",
    "min": "event('A').min(property('price'))",
    "max": "event('A').max(property('price') as number)",
    "max_text": "event('A').max(property('cat') as string)",
    "first": "event('A').first(property('cat'))",
    "last": "event('A').last(property('price'))",
    "mode": "event('A').mode(property('cat'), 2)",
    "unique": "event('A').unique(property('cat'))",
    "unique_count": "event('A').unique(property('cat')).count()",
    "where_count": "event('A').where(property('price') > 5).count()",
    "where_sum": "event('A').where(property('cat') = 'shoes').sum(property('price'))",
    "context_last": "event('A').last(context('ip'))",
    "w_count": "event('B').within(1 hour).count()",
    "w_where": "event('B').where(property('price') > 5).within(1 day).count()",
    "w_sum": "event('B').within(1 hour).sum(property('price'))",
    "w_avg": "event('B').within(1 day).avg(property('price'))",
    "w_min": "event('B').within(1 hour).min(property('price'))",
    "w_max": "event('B').between(10 minutes, 1 day).max(property('price'))",
    "w_min_text": "event('B').within(1 hour).min(property('cat') as string)",
    "w_mode": "event('B').within(1 hour).mode(property('cat'), 1)",
    "w_unique": "event('B').within(1 day).unique(property('cat'))",
    "w_unique_count": "event('B').within(1 hour).unique(property('cat')).count()",
    "w_first": "event('B').within(1 hour).first(property('cat'))",
    "w_last": "event('B').within(1 day).last(property('cat'))",
    "w_where_sum": "event('B').where(property('cat').one_of('shoes', 1)).within(1 day)"
    ".sum(property('price'))",
}
AUDIENCES = {
    "a_sum": "event('B').within(1 hour).sum(property('price')) >= 10",
    "a_count": "event('A').where(property('price') > 5).count() >= 3",
}

# Floats whose sum depends on the order they are added in, big and small ints, numeric text,
# and what a sum skips.
PRICES: list[Any] = [0, 1, 7, 250, -3, 0.1, 0.2, 0.7, 1e16, -1e16, 1e-7, 2.5, 10**20, "12.5"]
PRICES += ["3", "abc", None, True, [1], {"x": 1}]
CATS: list[Any] = ["shoes", "hats", "bags", "tops", 1, 2.0, True, None, [1, "a"], "1", ""]
STEPS = [
    timedelta(0),
    timedelta(seconds=1),
    timedelta(minutes=1),
    timedelta(minutes=10),
    timedelta(minutes=59, seconds=59, microseconds=999999),
    timedelta(hours=1),
    timedelta(hours=1, microseconds=1),
    timedelta(hours=3),
]
LATE = [timedelta(microseconds=1), timedelta(minutes=5), timedelta(minutes=50), timedelta(hours=5)]
USERS = ["u1", "u2"]

_settings = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@contextlib.contextmanager
def _from_scratch() -> Iterator[None]:
    incremental.ENABLED = False
    try:
        yield
    finally:
        incremental.ENABLED = True


@st.composite
def scripts(draw: st.DrawFn) -> list[tuple[str, Any]]:
    """Steps: ``("msg", message)`` applied at the clock, ``("late", message)`` timestamped
    before it, ``("advance", None)`` time passing, ``("checkpoint", None)``."""
    out: list[tuple[str, Any]] = []
    at = NOW - timedelta(days=3)
    anonymous = draw(st.booleans())  # a visitor whose events later merge into u1's
    merge_at = draw(st.integers(0, 60))
    for i in range(draw(st.integers(20, 120))):
        kind = draw(st.sampled_from(["msg"] * 6 + ["late", "advance", "checkpoint"]))
        at += draw(st.sampled_from(STEPS))
        if kind in ("advance", "checkpoint"):
            out.append((kind, at))
            continue
        user = draw(st.sampled_from(USERS))
        ts = at - draw(st.sampled_from(LATE)) if kind == "late" else at
        props = {"price": draw(st.sampled_from(PRICES)), "cat": draw(st.sampled_from(CATS))}
        anonymous_id = None
        if anonymous and kind == "msg" and i < merge_at and user == "u1":
            user, anonymous_id = None, "a1"  # identity only in order: the reference agrees
        message = Message(
            type="track",
            event=draw(st.sampled_from(["A", "B"])),
            message_id=f"m{i:03d}",
            timestamp=ts,
            received_at=at,
            user_id=user,
            anonymous_id=anonymous_id,
            properties=props,
            context={"ip": draw(st.sampled_from(["1.2.3.4", None, 5]))},
        )
        out.append((kind, message))
        if anonymous and i == merge_at:
            out.append(
                (
                    "msg",
                    Message(
                        type="identify",
                        message_id=f"merge{i:03d}",
                        timestamp=at,
                        received_at=at,
                        user_id="u1",
                        anonymous_id="a1",
                    ),
                )
            )
    return out


def _exact(results: dict[str, dict[str, Any]]) -> dict[str, list[tuple[str, str, str]]]:
    """Results as text with their types: 1 is not 1.0, and floats compare by every bit."""
    return {
        key: sorted((entity, type(v).__name__, repr(v)) for entity, v in held.items())
        for key, held in results.items()
    }


def _changes(changes: list[Change]) -> list[str]:
    return [repr(c) for c in changes]


def _against_reference(core: Core, seen: list[Message], at: datetime) -> None:
    got = {k: v.to_json() for k, v in outcomes(core).items()}
    want = {
        k: v.to_json()
        for k, v in ReferenceEngine().evaluate(seen, list(core.requests.values()), as_of=at).items()
    }
    for key in want:
        assert _same(got[key], want[key]), f"{key} at {at}\nref: {want[key]}\ngot: {got[key]}"


def _memos(core: Core) -> int:
    return sum(
        len(events.memo or {})
        for profile in core.world.profiles.values()
        for events in (profile.named or {}).values()
        if isinstance(events, EventList)
    )


def _run(script: list[tuple[str, Any]]) -> int:
    """Replays ``script`` through a core with memos and one without; returns the memos held at
    the end (the test must reach them)."""
    defs = [(k, q, "users", True) for k, q in QUERIES.items()]
    requests = _requests(defs + [(k, q, "users", True) for k, q in AUDIENCES.items()])
    carried, scratch = Core(requests), Core(requests)
    seen: list[Message] = []
    clock = NOW - timedelta(days=4)
    for kind, step in script:
        if kind == "checkpoint":
            clock = max(clock, step)
            got = carried.advance(clock)
            with _from_scratch():
                want = scratch.advance(clock)
            carried = _roundtrip(carried)
            _against_reference(carried, seen, clock)
        elif kind == "advance":
            clock = max(clock, step)
            got = carried.advance(clock)
            with _from_scratch():
                want = scratch.advance(clock)
        else:
            clock = max(clock, step.received_at)
            seen.append(step)
            got = carried.apply([step], clock)
            with _from_scratch():
                want = scratch.apply([step], clock)
        assert _changes(got) == _changes(want), (kind, step)
        assert _exact(carried.results) == _exact(scratch.results), (kind, step)
    for at in (clock, clock + timedelta(days=2)):  # timers due at the clock fire in advance()
        got = carried.advance(at)
        with _from_scratch():
            want = scratch.advance(at)
        assert _changes(got) == _changes(want)
        _against_reference(carried, seen, at)
    return _memos(carried)


@_settings
@given(script=scripts())
def test_carried_reducers_equal_reducers_from_scratch(script: list[tuple[str, Any]]) -> None:
    _run(script)


@pytest.mark.parametrize("continued", [True, False], ids=["sum-continued", "sum-refolded"])
def test_a_long_in_order_history_is_folded_in_not_reread(
    continued: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The memos are reached, and the checks above are not vacuous: 200 in-order events, a late
    one in the middle, then a window sliding past half of them. Sums are continued up to Python
    3.11 and refolded from 3.12 (compensated ``sum``): both ways are checked here."""
    monkeypatch.setattr(incremental, "_CONTINUED_SUM", continued)
    at = NOW - timedelta(days=2)
    script: list[tuple[str, Any]] = []
    for i in range(200):
        at += timedelta(minutes=1)
        message = Message(
            type="track",
            event="AB"[i % 2],
            message_id=f"m{i:03d}",
            timestamp=at,
            received_at=at,
            user_id="u1",
            properties={"price": PRICES[i % len(PRICES)], "cat": CATS[i % len(CATS)]},
        )
        script.append(("msg", message))
        if i == 150:
            late = Message(
                type="track",
                event="B",
                message_id="late",
                timestamp=at - timedelta(minutes=30, microseconds=1),
                received_at=at,
                user_id="u1",
                properties={"price": 0.1, "cat": "shoes"},
            )
            script.append(("late", late))
        if i == 170:
            script.append(("checkpoint", at))
    script.append(("advance", at + timedelta(minutes=45)))
    assert _run(script) >= len(QUERIES) - 1  # count() over a whole list needs no memo


def test_event_lists_report_every_change_but_appends_and_cuts_of_the_front() -> None:
    owner = Profile("use_x", "user_id:x", frozenset({"user_id"}))
    sample = [
        Event(
            Message(type="track", message_id=str(i), timestamp=NOW, received_at=NOW, event="A"),
            owner,
        )
        for i in range(11)
    ]
    events = EventList()
    for kind in ("append", "extend"):
        getattr(events, kind)([] if kind == "extend" else sample[10])
    assert (events.version, events.dropped) == (0, 0)
    events[:] = sample[:10]
    assert events.version == 1
    del events[:3]
    assert (events.version, events.dropped) == (1, 3)
    del events[2]
    events.insert(1, sample[10])
    events.sort(key=id)
    assert events.version == 4
    copy = _roundtrip(events)
    assert [e.message for e in copy] == [e.message for e in events] and copy.memo is None
