"""Differential test: DuckDB and the reference engine agree on random streams and definitions.

Streams are small: a few users and anonymous ids (identify calls merge them), mixed-type
properties and traits, and times on both sides of the window edges. Definitions come from a
small grammar of well-typed queries covering filters, funnels, reducers and comparators.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shoal.engines import Failure, Request, compile_request, run
from shoal.engines.reference import ReferenceEngine
from shoal.engines.sql.duckdb_engine import DuckDBEngine
from shoal.spec.message import Message
from tests.cases import values_match

NOW = datetime(2024, 6, 30, 12, tzinfo=UTC)
_US = timedelta(microseconds=1)
OFFSETS = [
    timedelta(0),
    _US,
    timedelta(hours=1),
    timedelta(hours=1) + _US,
    timedelta(days=1) - _US,
    timedelta(days=1),
    timedelta(days=1) + _US,
    timedelta(days=3),
    timedelta(days=7),
    timedelta(days=7) + _US,
    -timedelta(seconds=1),  # the future: invisible
]
VALUES: list[Any] = [
    0,
    1,
    2,
    2.5,
    -1,
    1e-07,  # floats whose text is in exponent form
    1e20,
    "1",
    "2.5",
    "02",
    "abc",
    "ABC",
    "",
    "true",
    "TRUE",
    True,
    False,
    None,
    [1, "abc"],
    [],
    {"x": 1},
    {"0": "abc", "x": [2]},
    "2024-06-29",
    "2024-06-30T11:00:00Z",
    "2024-07-01T00:00:00+02:00",
]

# --- streams ------------------------------------------------------------------------------------

_who = st.sampled_from(
    [("u1", None), ("u2", None), ("u3", "a1"), (None, "a1"), (None, "a2"), (None, None)]
)
_DEVICES = [
    {"device": {"type": "android", "id": "d1"}},  # a profile that is neither user nor anonymous
    {"device": {"type": "ios", "advertisingId": "ad1", "adTrackingEnabled": True}},  # a user
]


@st.composite
def messages(draw: st.DrawFn) -> list[Message]:
    out: list[Message] = []
    for i in range(draw(st.integers(0, 10))):
        user_id, anonymous_id = draw(_who)
        at = NOW - draw(st.sampled_from(OFFSETS))
        common: dict[str, Any] = {
            "message_id": f"m{i:02d}",
            "timestamp": at,
            "received_at": at + timedelta(seconds=draw(st.integers(0, 2))),
            "user_id": user_id,
            "anonymous_id": anonymous_id,
            "context": draw(st.sampled_from(_DEVICES))
            if user_id is None and not anonymous_id
            else {},
        }
        if draw(st.integers(0, 3)) == 0:
            traits = {"t": draw(st.sampled_from(VALUES))}
            out.append(Message(type="identify", traits=traits, **common))
        else:
            properties = {"p": draw(st.sampled_from(VALUES))}
            if draw(st.booleans()):
                properties["q"] = draw(st.sampled_from(VALUES))
            event = draw(st.sampled_from(["A", "B"]))
            out.append(Message(type="track", event=event, properties=properties, **common))
    return out


# --- definitions --------------------------------------------------------------------------------

_lit = st.sampled_from(["1", "2", "2.5", "'1'", "'abc'", "'true'", "'TRUE'", "0", "'02'"])
_event_value = st.sampled_from(
    [
        "property('p')",
        "property('q')",
        "property('p.x')",
        "property('p.0')",
        "trait('t')",
        "context('timestamp')",
    ]
)
_op = st.sampled_from(["=", "!=", ">", ">=", "<", "<="])
_call = st.sampled_from(
    [
        ".exists()",
        ".absent()",
        ".contains('a', '1')",
        ".omits('b')",
        ".one_of(1, 'abc')",
        ".none_of('abc', 2)",
        ".starts_with('a')",
        ".ends_with('c')",
        ".within_last(1 day)",
        ".before_date('2024-06-30')",
        ".after_date('2024-06-29T00:00:00Z')",
    ]
)


@st.composite
def comparison(draw: st.DrawFn, value: st.SearchStrategy[str]) -> str:
    shape = draw(st.integers(0, 2))
    if shape == 0:
        return f"{draw(value)} {draw(_op)} {draw(_lit)}"
    if shape == 1:  # a dynamic reference on the right
        return f"{draw(value)} {draw(_op)} {draw(value)}"
    return f"{draw(value)}{draw(_call)}"


_nested = st.sampled_from(
    [
        "event('B').within(parent: 1 day).count() >= 1",
        "event('B').where(property('p') = property(parent: 'p')).count() >= 1",
        "event('A').between(parent: 1 hour, 3 days).count() = 0",
        "event('A').count() >= 2",
        "event('B').within(parent: 1 day).sum(property(parent: 'p')) >= 1",
        "event('A').within(parent: 3 days).last(property('q')) = property('q')",
    ]
)


def _junction(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.builds(lambda a: f"NOT ({a})", inner),
        st.builds(lambda a, b: f"({a}) AND ({b})", inner, inner),
        st.builds(lambda a, b: f"({a}) OR ({b})", inner, inner),
    )


_event_cond = st.recursive(st.one_of(comparison(_event_value), _nested), _junction, max_leaves=3)
_filter = st.one_of(
    st.sampled_from(
        [
            ".within(1 day)",
            ".within(7 days)",
            ".between(1 hour, 3 days)",
            ".expires_after(1 hour)",
            ".expires_after(1 day)",
            ".sources({exclude: ['s1']})",
        ]
    ),
    st.builds(lambda c: f".where({c})", _event_cond),
)


@st.composite
def stream(draw: st.DrawFn) -> str:
    name = draw(st.sampled_from(["A", "B"]))
    return f"event('{name}')" + "".join(draw(st.lists(_filter, max_size=2)))


_reducer = st.sampled_from(
    [
        ".count()",
        ".sum(property('p'))",
        ".avg(property('p'))",
        ".min(property('p'))",
        ".max(property('p'))",
        ".min(property('p') as string)",
        ".max(property('q') as string)",
        ".first(property('p'))",
        ".last(property('q'))",
        ".mode(property('p'), 1)",
        ".mode(property('p'), 2)",
        ".unique(property('p'))",
        ".unique(property('p')).count()",
        ".mode(property('q') as array, 1)",
        ".first(context('timestamp'))",
        ".max(property('p.x') as number)",
    ]
)
_reducer_cmp = st.sampled_from(
    [
        ".count() >= 1",
        ".count() = 0",
        ".sum(property('p')) > 1",
        ".avg(property('p')) >= 1",
        ".min(property('p')) < 2",
        ".max(property('p') as string) = 'abc'",
        ".first(property('p')) = 1",
        ".last(property('p')).exists()",
        ".mode(property('p'), 1) = '1'",
        ".unique(property('p')).count() >= 2",
        ".sum(property('p')) >= trait('t')",
        ".last(property('q')) = trait('t')",
        ".first(context('timestamp')).within_last(1 day)",
    ]
)
_audience = st.recursive(
    st.one_of(
        st.builds(lambda s, r: s + r, stream(), _reducer_cmp),
        comparison(st.just("trait('t')")),
    ),
    _junction,
    max_leaves=3,
)
_trait = st.builds(lambda s, r: s + r, stream(), _reducer)


def _outcome(engine: Any, msgs: list[Message], query: str, include_anonymous: bool) -> Any:
    request = compile_request("d", query, include_anonymous=include_anonymous)
    assert not isinstance(request, Failure), (query, request)
    return run(engine, msgs, [request], as_of=NOW)["d"].to_json()


def _shape(value: Any) -> Any:
    """The value with every number replaced by its type: ``180`` and ``180.0`` print apart."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(v) for v in value]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return type(value).__name__
    return value


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    if "values" in a and "values" in b:
        return bool(values_match(a["values"], b["values"])) and _shape(a) == _shape(b)
    return a == b


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(msgs=messages(), query=st.one_of(_audience, _trait), include_anonymous=st.booleans())
def test_duckdb_matches_reference(msgs: list[Message], query: str, include_anonymous: bool) -> None:
    want = _outcome(ReferenceEngine(), msgs, query, include_anonymous)
    got = _outcome(DuckDBEngine(), msgs, query, include_anonymous)
    assert _same(got, want), f"{query}\nreference: {want}\nduckdb:    {got}"


def test_requests_are_well_formed() -> None:
    """The grammar only makes definitions the checker accepts (else the test above is vacuous)."""
    assert isinstance(compile_request("d", "event('A').within(1 day).count() >= 1"), Request)


# --- accounts and definitions read by key ---------------------------------------------------------


@st.composite
def account_messages(draw: st.DrawFn) -> list[Message]:
    """A user stream plus group calls linking users to accounts ``g1``/``g2`` with traits."""
    out = draw(messages())
    for i in range(draw(st.integers(0, 4))):
        user_id, anonymous_id = draw(_who)
        at = NOW - draw(st.sampled_from(OFFSETS))
        out.append(
            Message(
                type="group",
                message_id=f"g{i:02d}",
                timestamp=at,
                received_at=at,
                user_id=user_id,
                anonymous_id=anonymous_id,
                group_id=draw(st.sampled_from(["g1", "g2"])),
                traits={"t": draw(st.sampled_from(VALUES))},
            )
        )
    return out


_user_cond = st.one_of(
    st.builds(lambda s, r: s + r, stream(), _reducer_cmp), comparison(st.just("trait('t')"))
)
_account_audience = st.recursive(
    st.one_of(
        st.builds(lambda c: f"ANY ({c})", _user_cond),
        st.builds(lambda c: f"ALL ({c})", _user_cond),
        st.builds(lambda c: f"ALL NOT ({c})", _user_cond),
        comparison(st.just("trait('t')")),
    ),
    lambda inner: st.one_of(
        st.builds(lambda a, b: f"({a}) AND ({b})", inner, inner),
        st.builds(lambda a, b: f"({a}) OR ({b})", inner, inner),
    ),
    max_leaves=2,
)


def _outcomes(engine: Any, msgs: list[Message], defs: list[tuple[str, str, str]]) -> dict[str, Any]:
    compiled: list[Request | tuple[str, Failure]] = []
    for name, query, target in defs:
        request = compile_request(name, query, target=target)  # type: ignore[arg-type]
        assert not isinstance(request, Failure), (query, request)
        compiled.append(request)
    return {k: v.to_json() for k, v in run(engine, msgs, compiled, as_of=NOW).items()}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(msgs=account_messages(), query=st.one_of(_account_audience, _trait))
def test_accounts_match_reference(msgs: list[Message], query: str) -> None:
    defs = [("d", query, "accounts")]
    want = _outcomes(ReferenceEngine(), msgs, defs)
    got = _outcomes(DuckDBEngine(), msgs, defs)
    assert _same(got["d"], want["d"]), f"{query}\nreference: {want}\nduckdb:    {got}"


_reader = st.sampled_from(
    [
        "trait('r') = 'true'",
        "trait('r') = 'false'",
        "trait('r').absent()",
        "NOT trait('r') = 'true'",
        "event('A').where(trait('r') = 'false').count() >= 1",
    ]
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(msgs=messages(), referenced=_audience, reader=_reader)
def test_audience_history_matches_reference(
    msgs: list[Message], referenced: str, reader: str
) -> None:
    """``trait('<audience>')``: true for members, false for former members, else absent."""
    defs = [("r", referenced, "users"), ("d", reader, "users")]
    want = _outcomes(ReferenceEngine(), msgs, defs)
    got = _outcomes(DuckDBEngine(), msgs, defs)
    assert got == want, f"{referenced} / {reader}\nreference: {want}\nduckdb:    {got}"
