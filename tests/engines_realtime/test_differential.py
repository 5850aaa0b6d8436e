"""Differential test: during a replay, the live results equal the reference evaluator's at
random instants — message times, a microsecond either side of window edges, and in between.

Streams and definitions come from the DuckDB differential test's strategies (identities that
merge, mixed-type properties and traits, times around the window edges).
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shoal.engines import Failure, Request, compile_request, plan
from shoal.engines.realtime.core import Core
from shoal.engines.realtime.engine import outcomes
from shoal.engines.reference import ReferenceEngine
from shoal.identity.resolve import message_order
from shoal.spec.message import Message
from tests.engines_sql.test_differential import (
    NOW,
    _account_audience,
    _audience,
    _reader,
    _same,
    _trait,
    account_messages,
    messages,
)

_US = timedelta(microseconds=1)
_EDGES = [timedelta(0), timedelta(hours=1), timedelta(days=1), timedelta(days=3)]


def _requests(defs: list[tuple[str, str, str, bool]]) -> list[Request]:
    compiled = []
    for name, query, target, anonymous in defs:
        request = compile_request(name, query, target=target, include_anonymous=anonymous)  # type: ignore[arg-type]
        assert not isinstance(request, Failure), (query, request)
        compiled.append(request)
    ordered, failures = plan(compiled)
    assert not failures
    return ordered


def _instants(msgs: list[Message], draw: st.DrawFn) -> list[datetime]:
    """Check points: every message time, edges of the windows in the grammar a tick either side
    of some message time, and a few random instants in between."""
    times = sorted({m.timestamp for m in msgs}) or [NOW]
    picks = set(times)
    for ts in times:
        span = draw(st.sampled_from(_EDGES))
        picks.update(ts + span + k * _US for k in (-1, 0, 1))
    lo, hi = times[0] - timedelta(hours=1), NOW + timedelta(days=4)
    for _ in range(draw(st.integers(0, 3))):
        seconds = draw(st.integers(0, int((hi - lo).total_seconds())))
        picks.add(lo + timedelta(seconds=seconds))
    return sorted(picks)


def _compare_backfill(msgs: list[Message], requests: list[Request], at: datetime) -> None:
    """Building the state in bulk (``Core.backfill``) gives the reference's answer too."""
    core = Core(requests)
    core.backfill(sorted(msgs, key=message_order), at)
    got = {k: v.to_json() for k, v in outcomes(core).items()}
    want = {k: v.to_json() for k, v in ReferenceEngine().evaluate(msgs, requests, as_of=at).items()}
    for key in want:
        assert _same(got[key], want[key]), (
            f"backfill at {at.isoformat()} {key}: {requests}\nreference: {want[key]}\n"
            f"realtime:  {got[key]}"
        )


def _compare(msgs: list[Message], requests: list[Request], instants: list[datetime]) -> None:
    _compare_backfill(msgs, requests, instants[len(instants) // 2])
    core = Core(requests)
    ordered = sorted(msgs, key=message_order)
    i = 0
    for at in instants:
        due = []
        while i < len(ordered) and ordered[i].timestamp <= at:
            due.append(ordered[i])
            i += 1
        for ts, group in itertools.groupby(due, key=lambda m: m.timestamp):
            core.apply(list(group), ts)
        core.advance(at)
        got = {k: v.to_json() for k, v in outcomes(core).items()}
        want = {
            k: v.to_json() for k, v in ReferenceEngine().evaluate(msgs, requests, as_of=at).items()
        }
        for key in want:
            assert _same(got[key], want[key]), (
                f"at {at.isoformat()} {key}: {requests}\nreference: {want[key]}\n"
                f"realtime:  {got[key]}"
            )


_settings = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@_settings
@given(
    msgs=messages(),
    audience=_audience,
    trait=_trait,
    include_anonymous=st.booleans(),
    data=st.data(),
)
def test_users_match_reference_at_every_instant(
    msgs: list[Message], audience: str, trait: str, include_anonymous: bool, data: Any
) -> None:
    requests = _requests(
        [("aud", audience, "users", include_anonymous), ("ct", trait, "users", include_anonymous)]
    )
    _compare(msgs, requests, _instants(msgs, data.draw))


@_settings
@given(msgs=messages(), referenced=_audience, reader=_reader, data=st.data())
def test_audience_history_matches_reference(
    msgs: list[Message], referenced: str, reader: str, data: Any
) -> None:
    """``trait('<audience>')`` (true / false after leaving / absent) read live, at every instant."""
    requests = _requests([("r", referenced, "users", False), ("d", reader, "users", False)])
    _compare(msgs, requests, _instants(msgs, data.draw))


@_settings
@given(msgs=account_messages(), query=st.one_of(_account_audience, _trait), data=st.data())
def test_accounts_match_reference_at_every_instant(
    msgs: list[Message], query: str, data: Any
) -> None:
    requests = _requests([("d", query, "accounts", False)])
    _compare(msgs, requests, _instants(msgs, data.draw))


def test_a_where_relative_to_now_admits_events_it_rejects_today() -> None:
    """Found by the test above: an event the filter rejects at arrival counts a day later."""
    from shoal.spec.message import Message

    at = NOW - timedelta(days=3)
    early = at - timedelta(hours=1)  # the profile exists already: the event alone routes
    msgs = [
        Message(type="identify", user_id="u1", message_id="m0", timestamp=early, received_at=early),
        Message(
            type="track", event="A", user_id="u1", message_id="m1", timestamp=at, received_at=at
        ),
    ]
    query = "event('A').where(NOT context('timestamp').within_last(1 day)).count() >= 1"
    requests = _requests([("r", query, "users", False)])
    _compare(msgs, requests, [early, at, at + timedelta(days=1, microseconds=1)])
