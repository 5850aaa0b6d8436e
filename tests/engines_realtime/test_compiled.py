"""The compiled evaluator (:mod:`shoal.engines.realtime.compiled`) equals the reference
``Evaluator.eval`` exactly — value and type — for every sub-expression of random definitions on
random streams, in every context the language can build (a profile, an account, an event, an event
under a parent), at several instants; on the whole case corpus; and for every comparator's short
paths against :mod:`shoal.engines.values` on every kind of value.
"""

from __future__ import annotations

import math
import pickle
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shoal.engines import Request, compile_request, plan
from shoal.engines import values as V
from shoal.engines.realtime.compiled import _static_test, compile_body, compile_expr
from shoal.engines.reference import Ctx, Evaluator, Session
from shoal.engines.universe import Event, World
from shoal.lang import ast
from shoal.spec.message import Message
from tests.cases import Case, load_cases
from tests.engines.support import load_stream
from tests.engines_realtime.test_differential import _instants, _requests
from tests.engines_sql.test_differential import (
    NOW,
    VALUES,
    _account_audience,
    _audience,
    _reader,
    _trait,
    account_messages,
    messages,
)

_EXPRS = (
    ast.Comparator,
    ast.And,
    ast.Or,
    ast.Not,
    ast.Any,
    ast.All,
    ast.Literal,
    ast.TraitRef,
    ast.Property,
    ast.ParentRef,
    ast.ContextRef,
    ast.Reducer,
)


def _identical(a: Any, b: Any) -> bool:
    """Equal and of the same type all the way down (``1`` is not ``1.0``, ``True`` not ``1``)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(_identical(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return bool(a == b)


def _outcome(run: Any, *args: Any) -> tuple[str, Any]:
    try:
        return ("value", run(*args))
    except Exception as exc:  # the same failure is part of "the same answer"
        return ("raises", type(exc))


def _contexts(session: Session, at: datetime) -> Iterator[Ctx]:
    """Every profile and account, each event of a profile alone, under the event before it, and
    under itself (a parent is never its own child)."""
    world = session.timeline.world(at)
    for profile in world.profiles.values():
        yield Ctx(profile=profile)
        previous: Event | None = None
        for event in profile.events:
            yield Ctx(profile=profile, events=(event,))
            yield Ctx(profile=profile, events=(event, event))
            if previous is not None:
                yield Ctx(profile=profile, events=(previous, event))
            previous = event
    for account in world.accounts.values():
        yield Ctx(account=account)


def _compare(session: Session, requests: Sequence[Request], instants: Sequence[datetime]) -> None:
    nodes = [
        (request.name, node)
        for request in requests
        for node in ast.walk(request.definition.body)
        if isinstance(node, _EXPRS)
    ]
    compiled = [compile_expr(node) for _, node in nodes]
    for at in instants:
        evaluator = Evaluator(session, at)
        world = session.timeline.world(at)
        for ctx in _contexts(session, at):
            for (name, node), fn in zip(nodes, compiled, strict=True):
                want = _outcome(evaluator.eval, node, ctx)
                # Streams read Profile.events, or Profile.named where the live world keeps it.
                for indexed in (False, True):
                    _index(world, indexed)
                    try:
                        got = _outcome(fn, ctx, session, at)
                    finally:
                        _index(world, False)
                    assert want[0] == got[0] and _identical(want[1], got[1]), (
                        f"{name} at {at.isoformat()} (indexed: {indexed}): {node}\nctx {ctx}\n"
                        f"reference: {want}\ncompiled:  {got}"
                    )


def _index(world: World, on: bool) -> None:
    """Give every profile of ``world`` the by-name index the live world keeps (or take it away)."""
    for profile in world.profiles.values():
        named: dict[str, list[Event]] | None = None
        if on:
            named = {}
            for event in profile.events:
                named.setdefault(event.message.event_name or "", []).append(event)
        profile.named = named


def _session(msgs: list[Message], requests: list[Request], instants: list[datetime]) -> Session:
    return Session(msgs, requests, horizon=max(instants))


def _some_instants(msgs: list[Message], draw: st.DrawFn) -> list[datetime]:
    """A handful of the differential test's instants (every one is costly here)."""
    picks = _instants(msgs, draw)
    chosen = draw(st.lists(st.sampled_from(picks), min_size=1, max_size=4, unique=True))
    return sorted({*chosen, NOW})


_settings = settings(
    max_examples=50,
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
def test_users_compiled_equals_reference(
    msgs: list[Message], audience: str, trait: str, include_anonymous: bool, data: Any
) -> None:
    requests = _requests(
        [("aud", audience, "users", include_anonymous), ("ct", trait, "users", include_anonymous)]
    )
    instants = _some_instants(msgs, data.draw)
    _compare(_session(msgs, requests, instants), requests, instants)


@_settings
@given(msgs=messages(), referenced=_audience, reader=_reader, data=st.data())
def test_definitions_read_by_key_compiled_equals_reference(
    msgs: list[Message], referenced: str, reader: str, data: Any
) -> None:
    """``trait('<audience>')``: true, false after leaving, absent — through ``Reader.read``."""
    requests = _requests([("r", referenced, "users", False), ("d", reader, "users", False)])
    instants = _some_instants(msgs, data.draw)
    _compare(_session(msgs, requests, instants), requests, instants)


@_settings
@given(
    msgs=account_messages(),
    query=st.one_of(_account_audience, _trait),
    user_audience=_audience,
    data=st.data(),
)
def test_accounts_compiled_equals_reference(
    msgs: list[Message], query: str, user_audience: str, data: Any
) -> None:
    requests = _requests(
        [
            ("u", user_audience, "users", False),
            ("d", query, "accounts", False),
            ("e", "ANY (trait('u') = 'true') OR trait('t').exists()", "accounts", False),
        ]
    )
    instants = _some_instants(msgs, data.draw)
    _compare(_session(msgs, requests, instants), requests, instants)


# --- the case corpus ----------------------------------------------------------------------------

CASES = load_cases()


def _case_requests(case: Case) -> list[Request]:
    compiled = []
    for d in case.definitions:
        item = compile_request(
            d.name, d.query, target=d.type, kind=d.kind, include_anonymous=d.include_anonymous
        )
        if isinstance(item, Request):
            compiled.append(item)
    ordered, _ = plan(compiled)
    return ordered


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_corpus_compiled_equals_reference(case: Case) -> None:
    requests = _case_requests(case)
    if not requests:
        return  # a case about a rejected definition: nothing to evaluate
    msgs = list(load_stream(case.stream_path))
    session = Session(msgs, requests, horizon=case.as_of)
    for request in requests:
        body = compile_body(request.definition)
        evaluator = Evaluator(session, case.as_of)
        for ctx in _contexts(session, case.as_of):
            if ctx.events:
                continue  # whole bodies: on profiles and accounts
            want = _outcome(evaluator.eval, request.definition.body, ctx)
            got = _outcome(body, ctx, session, case.as_of)
            assert want[0] == got[0] and _identical(want[1], got[1]), (
                f"{case.name} / {request.name}: {ctx}\nreference: {want}\ncompiled:  {got}"
            )
            # What the core calls: no Ctx built.
            if ctx.profile is not None:
                direct = _outcome(body.on_profile, ctx.profile, session, case.as_of)
            else:
                assert ctx.account is not None
                direct = _outcome(body.on_account, ctx.account, session, case.as_of)
            assert direct[0] == got[0] and _identical(direct[1], got[1])
    _compare(session, requests, [case.as_of])


# --- comparators on every kind of value ---------------------------------------------------------

_SUBJECTS: list[Any] = [
    *(v for v in VALUES if v is not None),
    math.nan,
    math.inf,
    -math.inf,
    10**30,
    "1e5",
    " 1",
    "nan",
    "inf",
    "-0",
    "2.50",
    "2024-06-30",
    [None, 2, "x"],
    [[1]],
    datetime(2024, 6, 30, tzinfo=UTC),
]
_LITERALS: list[Any] = [0, 1, 2, 2.5, -1, 1e20, "1", "2.5", "02", "abc", "", "true", "TRUE", "a"]
_STATIC_OPS = [
    "equals",
    "differs",
    "greater_than",
    "at_least",
    "less_than",
    "at_most",
    "contains",
    "omits",
    "starts_with",
    "ends_with",
    "one_of",
    "none_of",
]


def _reference_test(op: str, subject: Any, args: list[Any]) -> bool:
    """``Evaluator.comparator`` after its null check, literally."""
    if op == "equals":
        return V.equals(subject, args[0])
    if op == "differs":
        return V.differs(subject, args[0])
    if op in ("greater_than", "at_least", "less_than", "at_most"):
        return V.compare(op, subject, args[0])
    if op in ("starts_with", "ends_with"):
        return getattr(V, op)(subject, args[0])  # type: ignore[no-any-return]
    return getattr(V, op)(subject, args)  # type: ignore[no-any-return]


@pytest.mark.parametrize("op", _STATIC_OPS)
def test_comparator_short_paths_equal_values_module(op: str) -> None:
    arg_lists = [[lit] for lit in _LITERALS] + [["abc", 1], [2, "1", "x"]]
    for args in arg_lists:
        test = _static_test(op, args)
        for subject in _SUBJECTS:
            want = _reference_test(op, subject, args)
            got = test(subject)
            assert _identical(want, got), f"{op}{args} on {subject!r}: {want} != {got}"


# --- what random streams do not reach ------------------------------------------------------------

_T0 = datetime(2024, 6, 30, 12, tzinfo=UTC)


def _msg(i: int, kind: str, minutes: int, **fields: Any) -> Message:
    at = _T0 - timedelta(minutes=minutes)
    return Message(
        type=kind,  # type: ignore[arg-type]
        message_id=f"x{i:02d}",
        timestamp=at,
        received_at=at,
        user_id=fields.pop("user_id", "u1"),
        **fields,
    )


def test_pages_screens_and_sessions_compiled_equal_reference() -> None:
    msgs = [
        _msg(0, "page", 300, name="Home", properties={"p": 1}),
        _msg(1, "track", 200, event="Page Viewed", properties={"p": "2"}),
        _msg(2, "screen", 100, name="Cart", properties={"p": 3.5}),
        _msg(3, "track", 50, event="Screen Viewed", properties={"p": [1, 2]}),
        _msg(4, "track", 40, event="A", properties={"p": {"x": 1}}),
        _msg(5, "track", 39, event="A", properties={"p": "abc"}, context={"page": {"u": "/a"}}),
        _msg(6, "track", 10, event="A", properties={"p": 2}, user_id="u2"),
        _msg(7, "group", 5, group_id="g1", traits={"plan": "pro"}),
        _msg(8, "group", 5, group_id="g1", traits={}, user_id="u2"),
        # Only track calls match by their ``event`` field.
        _msg(9, "page", 20, event="A", name="Promo", properties={"p": 9}),
        _msg(10, "screen", 15, event="Page Viewed", properties={"p": 8}),
    ]
    queries = [
        "event('Page Viewed').count()",
        "event('Page Viewed').unique(property('name'))",
        "event('Screen Viewed').where(property('name') = 'Cart').count() >= 1",
        "event('Screen Viewed').last(property('p'))",
        "event('A').expires_after(30 minutes).count()",
        "event('A').expires_after(1 minute).within(2 hours).expires_after(1 hour).count()",
        "event('A').within(1 hour).within(45 minutes).between(30 minutes, 2 hours).count()",
        "event('A').first(context('page.u'))",
        "event('A').max(property('p.x'))",
        "event('A').where(event('Page Viewed').within(parent: 1 day).count() = 0).count()",
        "event('Page Viewed').where(event('A').between(parent: 1 hour, 1 day)"
        ".max(property(parent: 'p')) >= 1).count()",
        "event('A').mode(property('p') as string, 1)",
    ]
    requests = []
    for i, query in enumerate(queries):
        request = compile_request(f"q{i}", query)
        assert isinstance(request, Request), (query, request)
        requests.append(request)
    for i, query in enumerate(queries[:5]):  # account traits over every linked user's events
        request = compile_request(f"a{i}", query, target="accounts")
        if isinstance(request, Request):
            requests.append(request)
    session = Session(msgs, requests, horizon=_T0)
    _compare(session, requests, [_T0, _T0 - timedelta(minutes=45), _T0 + timedelta(minutes=31)])


def test_compiled_pickles_as_its_tree() -> None:
    """The core is checkpointed with pickle: a compiled body travels as its tree."""
    request = compile_request("d", "event('A').where(property('p') > 1).within(1 day).count()")
    assert isinstance(request, Request)
    body = compile_body(request.definition)
    loaded = pickle.loads(pickle.dumps(body))
    assert loaded.node == body.node
    msgs = [_msg(i, "track", i, event="A", properties={"p": i}) for i in range(4)]
    session = Session(msgs, [request], horizon=_T0)
    for profile in session.timeline.world(_T0).profiles.values():
        assert loaded.on_profile(profile, session, _T0) == body.on_profile(profile, session, _T0)
        assert loaded.on_profile(profile, session, _T0) == 2


def test_bounds_outside_the_datetime_range_behave_as_the_reference() -> None:
    """A window or span too wide for ``datetime`` (or ``timedelta``): the reference raises only
    when an event reaches it; so does the compiled form, and never at compile time."""
    msgs = [_msg(0, "track", 10, event="A", properties={"p": "2024-06-30"})]
    queries = [
        "event('A').within(999999 days).count()",
        "event('B').within(999999 days).count()",
        "event('A').within(99999999999 days).count()",
        "event('A').where(property('p').within_last(99999999999 days)).count()",
        "event('A').where(property('p').within_last(999999 days)).count()",
        "event('A').expires_after(99999999999 days).count()",
    ]
    requests = []
    for i, query in enumerate(queries):
        request = compile_request(f"q{i}", query)
        assert isinstance(request, Request), (query, request)
        requests.append(request)
        compile_body(request.definition)  # never raises
    session = Session(msgs, requests, horizon=_T0)
    _compare(session, requests, [_T0])
