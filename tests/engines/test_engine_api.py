"""The engine contract: compiling, planning (dependency order, cycles), the registry."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime

import pytest

from shoal.engines import (
    ENGINES,
    Failure,
    Members,
    Request,
    Values,
    compile_request,
    get_engine,
    plan,
    run,
)
from shoal.engines.reference import ReferenceEngine
from shoal.engines.universe import Timeline
from shoal.identity import resolve
from shoal.spec.message import Message
from tests.cases import STREAMS_DIR
from tests.engines.support import load_stream

AT = datetime(2024, 6, 30, 12, tzinfo=UTC)


def _req(name: str, query: str) -> Request:
    compiled = compile_request(name, query)
    assert isinstance(compiled, Request), compiled
    return compiled


def test_kind_follows_the_definition_type() -> None:
    audience = _req("a", "event('X').count() >= 1")
    trait = _req("t", "event('X').count()")
    assert audience.definition.kind == "audience"
    assert trait.definition.kind == "trait"


def test_forced_kind_reports_the_checker_error() -> None:
    failure = compile_request("a", "event('X').count()", kind="audience")
    assert isinstance(failure, Failure)
    assert (failure.code, failure.line, failure.col) == ("expected_boolean", 1, 1)
    assert failure.cause is not None


def test_plan_orders_dependencies_first() -> None:
    reqs = [
        _req("c", "trait('b') = 'true'"),
        _req("b", "trait('a') > 1"),
        _req("a", "event('X').count()"),
    ]
    ordered, failures = plan(reqs)
    assert [r.name for r in ordered] == ["a", "b", "c"]
    assert failures == {}


def test_plan_fails_every_member_of_a_cycle_and_its_readers() -> None:
    reqs = [
        _req("x", "trait('y') = 'true'"),
        _req("y", "trait('z') = 'true'"),
        _req("z", "trait('x') = 'true'"),
        _req("reader", "trait('x') = 'true'"),
        _req("me", "trait('me') = 'true'"),
        _req("fine", "trait('plain_trait') = 1"),
    ]
    ordered, failures = plan(reqs)
    assert [r.name for r in ordered] == ["fine"]
    assert {n: f.code for n, f in failures.items()} == {
        "x": "reference_cycle",
        "y": "reference_cycle",
        "z": "reference_cycle",
        "me": "reference_cycle",
        "reader": "invalid_reference",
    }
    assert "x → y → z → x" in failures["x"].message


def test_run_fails_readers_of_invalid_definitions() -> None:
    bad = compile_request("bad", "trait('a') = ")
    assert isinstance(bad, Failure)
    reader = _req("reader", "trait('bad') = 'true'")
    outcomes = run(ReferenceEngine(), [], [("bad", bad), reader], as_of=AT)
    assert outcomes["bad"].to_json()["error"]["code"] == "unexpected_end"
    assert outcomes["reader"].to_json()["error"]["code"] == "invalid_reference"


def test_registry() -> None:
    assert "reference" in ENGINES
    assert get_engine("reference").name == "reference"
    with pytest.raises(KeyError):
        get_engine("nope")


def test_outcome_json_shapes() -> None:
    assert Members(("a",)).to_json() == {"members": ["a"]}
    assert Values({"b": 1, "a": 2}).to_json() == {"values": {"a": 2, "b": 1}}
    assert Failure(code="c", message="m", line=2, col=3).to_json() == {
        "error": {"code": "c", "message": "m", "line": 2, "col": 3}
    }


def _track(mid: str, ts: str, user: str | None = None, anon: str | None = None) -> Message:
    when = datetime.fromisoformat(ts)
    return Message(
        type="track",
        message_id=mid,
        timestamp=when,
        received_at=when,
        user_id=user,
        anonymous_id=anon,
        event="Visit",
    )


def test_history_follows_merges() -> None:
    """An anonymous visitor qualified (with anonymous users included) before logging in; the
    merged profile has left the audience since, so it reads false, not absent."""
    identify = Message(
        type="identify",
        message_id="id",
        timestamp=datetime(2024, 6, 20, tzinfo=UTC),
        received_at=datetime(2024, 6, 20, tzinfo=UTC),
        user_id="u",
        anonymous_id="a",
    )
    messages = [_track("v1", "2024-06-01T00:00:00+00:00", anon="a"), identify]
    recent = compile_request(
        "recent", "event('Visit').within(1 day).count() >= 1", include_anonymous=True
    )
    assert isinstance(recent, Request)
    reader = compile_request("left", "trait('recent') = 'false'", include_anonymous=True)
    assert isinstance(reader, Request)
    outcomes = run(ReferenceEngine(), messages, [recent, reader], as_of=AT)
    assert outcomes["recent"] == Members(())
    assert outcomes["left"] == Members(("user_id:u",))


def test_engines_import_without_heavy_dependencies() -> None:
    blocked = ["duckdb", "pyarrow", "fastapi", "starlette", "httpx", "typer", "orjson", "numpy"]
    code = (
        "import sys\n"
        + "".join(f"sys.modules[{name!r}] = None\n" for name in blocked)
        + "import shoal.engines, shoal.engines.reference\n"
        + "from shoal.engines import get_engine\n"
        + "assert get_engine('reference').name == 'reference'\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("stream", sorted(p.name for p in STREAMS_DIR.glob("*.jsonl")))
def test_incremental_worlds_match_identity_resolve(stream: str) -> None:
    """The timeline feeds one identity graph incrementally; at every instant its profiles must
    be exactly those of ``shoal.identity.resolve`` over the visible messages."""
    messages = load_stream(STREAMS_DIR / stream)
    timeline = Timeline(messages)
    instants = sorted({m.timestamp for m in messages}, reverse=True)  # backwards: forces resets
    for at in [*instants, *reversed(instants)]:
        world = timeline.world(at)
        resolution = resolve([m for m in messages if m.timestamp <= at])
        expected: dict[str, set[str]] = {}
        for mid, pid in resolution.message_profiles.items():
            if pid is not None:
                expected.setdefault(resolution.profiles[pid].name, set()).add(mid)
        assert {p.name: p.message_ids for p in world.profiles.values()} == expected
