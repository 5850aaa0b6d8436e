"""Property tests: order independence without conflicts, idempotence, limits always hold."""

from __future__ import annotations

from collections import Counter
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from shoal.identity.extract import identifiers_of
from shoal.identity.graph import IdentityGraph
from shoal.identity.resolve import apply_message
from shoal.identity.rules import DEFAULT_RULES, IdentityRules, Limit
from shoal.spec.message import Message
from tests.identity.builders import at

UNLIMITED = IdentityRules(limits={"user_id": Limit(10**6)}, default_limit=Limit(10**6))

Partition = frozenset[frozenset[tuple[str, str]]]


@st.composite
def messages(draw: st.DrawFn) -> list[Message]:
    count = draw(st.integers(1, 14))
    out = []
    for i in range(count):
        user = draw(st.sampled_from([None, "u0", "u1", "u2", "null"]))
        anon = draw(st.sampled_from(["a0", "a1", "a2", "a3", "a4", "a5", "a6", "0"]))
        context: dict[str, Any] = {}
        email = draw(st.sampled_from([None, None, "e0", "e1"]))
        if email:
            context["traits"] = {"email": email}
        if draw(st.booleans()):
            context["device"] = {"type": "ios", "id": draw(st.sampled_from(["d0", "d1"]))}
        out.append(
            Message(
                type="track",
                event="E",
                message_id=f"m{i}",
                timestamp=at(i),
                received_at=at(i),
                user_id=user,
                anonymous_id=anon,
                context=context,
            )
        )
    return out


def apply_all(graph: IdentityGraph, batch: list[Message]) -> dict[str, str | None]:
    return {m.message_id: apply_message(graph, m) for m in batch}


def partition(graph: IdentityGraph) -> Partition:
    return frozenset(frozenset(graph.pairs(p)) for p in graph.profiles())


def components(batch: list[Message], rules: IdentityRules) -> Partition:
    """Oracle: connected components of "appear in the same message" (no limits at all)."""
    groups: list[set[tuple[str, str]]] = []
    for m in batch:
        ids = {p for p in identifiers_of(m, rules) if not rules.is_blocked(*p)}
        touching = [g for g in groups if g & ids]
        for g in touching:
            groups.remove(g)
            ids |= g
        if ids:
            groups.append(ids)
    return frozenset(frozenset(g) for g in groups)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_without_limits_the_partition_does_not_depend_on_order(data: st.DataObject) -> None:
    batch = data.draw(messages())
    shuffled = data.draw(st.permutations(batch))
    first, second = IdentityGraph(UNLIMITED), IdentityGraph(UNLIMITED)
    apply_all(first, batch)
    apply_all(second, shuffled)
    assert partition(first) == partition(second) == components(batch, UNLIMITED)


def snapshot(graph: IdentityGraph, placed: dict[str, str | None]) -> Any:
    final = {mid: None if p is None else graph.canonical(p) for mid, p in placed.items()}
    idents = {p: graph.identifiers(p) for p in graph.profiles()}
    return final, idents, list(graph.merges)


@settings(max_examples=200, deadline=None)
@given(messages())
def test_reapplying_the_same_messages_changes_nothing(batch: list[Message]) -> None:
    graph = IdentityGraph()
    placed = apply_all(graph, batch)
    before = snapshot(graph, placed)
    again = apply_all(graph, batch)
    assert snapshot(graph, placed) == before
    assert snapshot(graph, again) == before


@settings(max_examples=200, deadline=None)
@given(messages())
def test_default_limits_always_hold_and_identifiers_have_one_owner(batch: list[Message]) -> None:
    graph = IdentityGraph()
    placed = apply_all(graph, batch)
    owners: Counter[tuple[str, str]] = Counter()
    for p in graph.profiles():
        per_type = Counter(t for t, _ in graph.pairs(p))
        for id_type, n in per_type.items():
            assert n <= DEFAULT_RULES.limit(id_type).count
        owners.update(graph.pairs(p))
        for pair in graph.pairs(p):
            assert graph.profile_of(*pair) == p
    assert all(n == 1 for n in owners.values())
    # every message with a usable id lands on a profile holding at least one of its ids
    for m in batch:
        pid = placed[m.message_id]
        usable = {p for p in identifiers_of(m) if not DEFAULT_RULES.is_blocked(*p)}
        assert (pid is None) == (not usable)
        if pid is not None:
            assert usable & set(graph.pairs(pid))


@settings(max_examples=200, deadline=None)
@given(
    messages(),
    st.integers(1, 3),
    st.integers(0, 3),
    st.integers(2, 6),
)
def test_small_limits_and_graph_caps_always_hold(
    batch: list[Message], per_type: int, max_merges: int, max_identifiers: int
) -> None:
    rules = IdentityRules(
        default_limit=Limit(per_type), max_merges=max_merges, max_identifiers=max_identifiers
    )
    graph = IdentityGraph(rules)
    apply_all(graph, batch)
    absorbed: Counter[str] = Counter(graph.canonical(m.kept) for m in graph.merges)
    for p in graph.profiles():
        held = graph.pairs(p)
        assert len(held) <= max_identifiers
        assert absorbed[p] <= max_merges
        for id_type, n in Counter(t for t, _ in held).items():
            assert n <= rules.limit(id_type).count
    assert len(graph.merges) == len({m.absorbed for m in graph.merges})
