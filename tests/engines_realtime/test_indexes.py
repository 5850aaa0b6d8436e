"""What the core derives to evaluate less: the indexes the live world and the core keep (events
by name, the dates in events and traits) stay equal to what they index through late events,
merges and pruning; the timers fire at every instant a window, a session or a date comparator
can flip (checked against the reference a microsecond around each); and a core checkpointed
without the indexes derives them when loaded.
"""

from __future__ import annotations

import copyreg
import io
import pickle
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shoal.engines import values as V
from shoal.engines.realtime.core import Core
from shoal.engines.realtime.engine import outcomes
from shoal.engines.realtime.world import LiveWorld
from shoal.engines.reference import ReferenceEngine
from shoal.identity.resolve import message_order
from shoal.spec.message import Message
from tests.engines_realtime.test_differential import _compare, _requests
from tests.engines_sql.test_differential import NOW, OFFSETS, VALUES, account_messages

_settings = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _proxy(mapping: dict[Any, Any]) -> MappingProxyType[Any, Any]:
    return MappingProxyType(mapping)


def _roundtrip(value: Any) -> Any:
    """Through pickle as the compute service checkpoints (read-only mappings as dicts)."""
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = {
        **copyreg.dispatch_table,
        MappingProxyType: lambda m: (_proxy, (dict(m),)),
    }
    pickler.dump(value)
    return pickle.loads(buffer.getvalue())


def _check(world: LiveWorld) -> None:
    """Every index equals what it indexes, rebuilt from scratch."""
    for pid, profile in world.profiles.items():
        named: dict[str, list[Any]] = {}
        dates: dict[str, list[datetime]] = {}
        for event in profile.events:
            name = event.message.event_name or ""
            named.setdefault(name, []).append(event)
            if name in world.dated:
                found = [*V.dates_in(event.message.properties), *V.dates_in(event.message.context)]
                dates.setdefault(name, []).extend(found)
        assert profile.named is not None
        held = {name: events for name, events in profile.named.items() if events}
        assert held == named, pid
        for events in held.values():
            assert all(e.owner is profile for e in events)
        kept = {name: d for name, d in world.dates[pid].items() if d}
        assert kept == {name: sorted(d) for name, d in dates.items() if d}, pid
    assert world.dates.keys() == world.profiles.keys()


_DATES = ["2024-06-29", "2024-07-01T00:00:00+02:00", 1, None]
_WHO = [("u1", None), (None, "a1"), (None, "a2"), ("u1", "a1"), ("u2", "a2"), ("u1", "a2")]


@st.composite
def merging(draw: st.DrawFn) -> list[Message]:
    """Events of anonymous visitors who later log in: their profiles merge into users'."""
    out: list[Message] = []
    for i in range(draw(st.integers(0, 14))):
        user_id, anonymous_id = draw(st.sampled_from(_WHO))
        at = NOW - draw(st.sampled_from(OFFSETS))
        out.append(
            Message(
                type="track",
                event=draw(st.sampled_from(["A", "B", "C"])),
                message_id=f"x{i:02d}",
                timestamp=at,
                received_at=at,
                user_id=user_id,
                anonymous_id=anonymous_id,
                properties={"p": draw(st.sampled_from(_DATES)), "q": draw(st.sampled_from(VALUES))},
            )
        )
    return out


@_settings
@given(
    msgs=st.one_of(account_messages(), merging()),
    order=st.randoms(use_true_random=False),
    reaches=st.lists(st.sampled_from([timedelta(hours=1), timedelta(days=1)]), min_size=2),
)
def test_world_indexes_survive_late_events_merges_and_pruning(
    msgs: list[Message], order: Any, reaches: list[timedelta]
) -> None:
    world = LiveWorld({"A", "B"}, dated={"A"})
    horizons = {"A": reaches[0], "B": reaches[1]}
    shuffled = sorted(msgs, key=message_order)
    order.shuffle(shuffled)  # late events land between earlier ones
    now = NOW - timedelta(days=30)
    for msg in shuffled:
        applied = world.apply(msg)
        _check(world)
        now = max(now, msg.timestamp)
        if applied.profile is not None and applied.event is not None:
            world.prune(applied.profile, horizons, now)
            _check(world)


@_settings
@given(msgs=st.one_of(account_messages(), merging()), data=st.data())
def test_a_core_loaded_from_an_older_checkpoint_rebuilds_its_indexes(
    msgs: list[Message], data: Any
) -> None:
    """A checkpoint taken before the indexes existed lacks them: loading derives them, and the
    core goes on exactly as one that never stopped."""
    queries = [
        "event('A').where(property('p') = 1).within(1 day).count() >= 1",
        "event('B').last(property('p')).within_last(1 day)",
    ]
    requests = _requests([(f"d{i}", q, "users", False) for i, q in enumerate(queries)])
    ordered = sorted(msgs, key=message_order)
    cut = data.draw(st.integers(0, len(ordered)))
    live, old = Core(requests), Core(requests)
    for msg in ordered[:cut]:
        live.apply([msg], msg.timestamp)
        old.apply([msg], msg.timestamp)
    # What a checkpoint of the earlier code holds: no index on profiles (the field's default
    # when it is loaded), no compiled edges (set empty here: a compiled class cannot lose one).
    state = old.__getstate__()
    del state["_trait_dates"]
    for profile in old.world.profiles.values():
        profile.named = None
    for unit in old.units.values():
        unit.edges = []
    restored = Core.__new__(Core)
    restored.__setstate__(_roundtrip(state))
    _check(restored.world)
    for msg in ordered[cut:]:
        assert restored.apply([msg], msg.timestamp) == live.apply([msg], msg.timestamp)
    until = NOW + timedelta(days=4)
    assert restored.advance(until) == live.advance(until)
    assert outcomes(restored) == outcomes(live)


def test_a_date_just_reached_by_within_next_ends_a_microsecond_later() -> None:
    """An event time compared with ``within_next`` is inside the range only at that instant: the
    core must look again a microsecond later (it used to wait for the next edge of a window)."""
    at = NOW - timedelta(days=3)
    early = at - timedelta(hours=1)
    msgs = [
        Message(type="identify", user_id="u1", message_id="m0", timestamp=early, received_at=early),
        Message(
            type="track", event="A", user_id="u1", message_id="m1", timestamp=at, received_at=at
        ),
    ]
    query = "event('A').where(context('timestamp').within_next(1 day)).count() >= 1"
    requests = _requests([("r", query, "users", False)])
    tick = timedelta(microseconds=1)
    _compare(msgs, requests, [early, at, at + tick, at + timedelta(days=1) + tick])


def test_every_date_comparator_flips_where_the_core_looks() -> None:
    """Each of the four comparators relative to now, on a trait date and on an event time, with
    the reference checked a microsecond around every instant either could flip."""
    base = NOW - timedelta(days=3)
    trait_day = base + timedelta(days=1, hours=2)
    msgs = [
        Message(
            type="identify",
            user_id="u1",
            message_id="m0",
            timestamp=base,
            received_at=base,
            traits={"t": V.iso(trait_day)},
        ),
        Message(
            type="track",
            event="A",
            user_id="u1",
            message_id="m1",
            timestamp=base + timedelta(hours=1),
            received_at=base + timedelta(hours=1),
        ),
    ]
    span = timedelta(hours=5)
    tick = timedelta(microseconds=1)
    for op in ("within_last", "within_next", "before_last", "after_next"):
        for subject in ("trait('t')", "event('A').last(context('timestamp'))"):
            query = f"{subject}.{op}(5 hours)"
            requests = _requests([("r", query, "users", False)])
            instants = {base, base + timedelta(hours=1)}
            for moment in (trait_day, base + timedelta(hours=1)):
                for edge in (moment - span, moment, moment + span):
                    instants.update(edge + k * tick for k in (-1, 0, 1))
            _compare(msgs, requests, sorted(t for t in instants if t >= base))


def test_the_reference_agrees_on_the_regression_instants() -> None:
    """Guard for the test above: the reference itself flips where it says (not vacuous)."""
    at = NOW - timedelta(days=3)
    msgs = [
        Message(
            type="track", event="A", user_id="u1", message_id="m1", timestamp=at, received_at=at
        ),
    ]
    query = "event('A').where(context('timestamp').within_next(1 day)).count() >= 1"
    requests = _requests([("r", query, "users", False)])
    engine = ReferenceEngine()
    members = [
        engine.evaluate(msgs, requests, as_of=t)["r"].to_json()["members"]
        for t in (at, at + timedelta(microseconds=1))
    ]
    assert members == [["user_id:u1"], []]


# --- the instants the timers pick ----------------------------------------------------------------

_HOUR = timedelta(hours=1)
_TIMED = [
    "event('A').expires_after(1 hour).where(property('p') = 1).count()",
    "event('A').where(property('p') = 1).expires_after(1 hour).count()",
    "event('A').where(property('p') = 1).within(1 hour).count()",
    "event('A').within(1 hour).where(property('p') = 1).last(property('q'))",
    "event('A').where(property('p') = 1).between(1 hour, 2 hours).count()",
    "event('A').where(property('p') = 1).expires_after(1 hour).where(property('q') = 1)"
    ".within(1 hour).count()",
    "event('A').where(property('p') = 1).expires_after(1 hour).expires_after(20 minutes).count()",
    "event('A').where(event('B').where(property('p') = 1).within(1 hour).count() >= 1).count()",
    "event('A').where(property('p') = 1).where(event('A').within(parent: 1 hour).count() >= 1)"
    ".within(2 hours).count()",
    "event('A').where(context('timestamp').within_last(1 hour)).where(property('q') = 2).count()",
    "event('B').where(property('q') = 1).last(context('timestamp'))",
    "event('A').within(1 hour).expires_after(20 minutes).count()",
    "event('A').between(20 minutes, 2 hours).expires_after(20 minutes).count()",
    "event('A').where(event('B').where(property('p') = property(parent: 'p')).count() >= 1)"
    ".expires_after(20 minutes).count()",
    "event('A').where(property('q') = 1).expires_after(20 minutes).expires_after(40 minutes)"
    ".last(property('p'))",
]
_TIMED_AUDIENCES = [
    "event('A').where(property('p') = 1).last(context('timestamp')).within_next(1 hour)",
    "event('A').where(property('p') = 2).first(context('timestamp')).after_next(0 hours)",
    "event('A').where(property('p') = 1).within(1 hour).count() >= 2",
    "NOT event('B').where(property('q') = 2).expires_after(20 minutes).count() >= 1",
    "trait('ct').within_last(1 hour)",
    "trait('ct').before_last(20 minutes)",
]


@st.composite
def _timed_messages(draw: st.DrawFn) -> list[Message]:
    out: list[Message] = []
    for i in range(draw(st.integers(2, 9))):
        at = NOW - draw(st.integers(0, 8)) * timedelta(minutes=20)
        out.append(
            Message(
                type="track",
                event=draw(st.sampled_from(["A", "B"])),
                message_id=f"t{i:02d}",
                timestamp=at,
                received_at=at,
                user_id=draw(st.sampled_from(["u1", "u1", "u2"])),
                properties={"p": draw(st.sampled_from([1, 2])), "q": draw(st.sampled_from([1, 2]))},
            )
        )
    return out


@settings(_settings, max_examples=400)
@given(
    msgs=_timed_messages(),
    trait=st.sampled_from(_TIMED),
    audience=st.sampled_from(_TIMED_AUDIENCES),
)
def test_timers_fire_at_every_instant_a_filtered_stream_changes(
    msgs: list[Message], trait: str, audience: str
) -> None:
    """Windows and sessions behind ``where`` filters, date comparators on event times: checked
    a microsecond around every instant any of them could flip."""
    requests = _requests([("ct", trait, "users", False), ("aud", audience, "users", False)])
    instants: set[datetime] = set()
    spans = [timedelta(0), timedelta(minutes=20), _HOUR, 2 * _HOUR]
    for msg in msgs:
        for span in spans:
            for edge in (msg.timestamp + span, msg.timestamp - span):
                instants.update(edge + k * timedelta(microseconds=1) for k in (-1, 0, 1))
    first = min(m.timestamp for m in msgs)
    _compare(msgs, requests, sorted(t for t in instants if t >= first))


def test_a_session_ends_with_its_last_event_even_one_a_later_where_drops() -> None:
    """Only a ``where`` before ``expires_after`` keeps an event out of the session: the last
    event of the session decides when it ends even if a later ``where`` drops it."""
    t0 = NOW - timedelta(hours=3)
    msgs = [
        Message(
            type="track",
            event="A",
            message_id=f"m{i}",
            timestamp=at,
            received_at=at,
            user_id="u1",
            properties={"p": p},
        )
        for i, (at, p) in enumerate([(t0, 1), (t0 + timedelta(minutes=20), 2)])
    ]
    query = "event('A').expires_after(1 hour).where(property('p') = 1).count()"
    requests = _requests([("ct", query, "users", False)])
    end = t0 + timedelta(minutes=80)
    tick = timedelta(microseconds=1)
    _compare(msgs, requests, [t0, t0 + _HOUR + tick, end, end + tick, end + _HOUR])


def test_a_changed_trait_date_moves_the_timer() -> None:
    """The dates in a profile's traits are cached by its version: a new identify replaces them."""
    base = NOW - timedelta(days=3)
    first, second = base + timedelta(minutes=30), base + 2 * _HOUR
    msgs = [
        Message(
            type="identify",
            user_id="u1",
            message_id=f"m{i}",
            timestamp=at,
            received_at=at,
            traits={"t": V.iso(day)},
        )
        for i, (at, day) in enumerate([(base, first), (base + timedelta(minutes=10), second)])
    ]
    requests = _requests([("r", "trait('t').within_last(1 hour)", "users", False)])
    tick = timedelta(microseconds=1)
    instants = {base, base + timedelta(minutes=10)}
    for day in (first, second):
        for edge in (day, day + _HOUR):
            instants.update(edge + k * tick for k in (-1, 0, 1))
    _compare(msgs, requests, sorted(instants))
