"""IdentityGraph: flat matching, limits, conflicts, blocked values, alias, graph limits."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from shoal.identity.graph import IdentityGraph, Merge, profile_id_for, profile_name
from shoal.identity.rules import Blocked, IdentityRules, Limit
from tests.identity.builders import Feeder, at

U1, U2 = ("user_id", "u1"), ("user_id", "u2")
A1, A2, A3 = ("anonymous_id", "a1"), ("anonymous_id", "a2"), ("anonymous_id", "a3")
JANE = ("email", "jane@x.io")


def pairs(graph: IdentityGraph, pid: str | None) -> set[tuple[str, str]]:
    assert pid is not None
    return set(graph.pairs(pid))


# -- flat matching (§6.2) -------------------------------------------------------------------------
def test_no_match_creates_a_profile_named_after_its_first_identifier() -> None:
    g = IdentityGraph()
    pid = Feeder(g)(A1, U1)
    assert pid == profile_id_for("user_id", "u1")
    assert re.fullmatch(r"use_[0-9A-Za-z]{27}", pid)
    assert pairs(g, pid) == {U1, A1}
    assert g.profiles() == [pid] and len(g) == 1


def test_one_match_attaches_new_identifiers() -> None:
    g = IdentityGraph()
    feed = Feeder(g)
    p = feed(A1)
    assert feed(A1, U1) == p
    assert feed(U1, JANE) == p
    assert pairs(g, p) == {A1, U1, JANE}
    assert g.profile_of("email", "jane@x.io") == p
    assert g.merges == []


def test_several_matches_merge_into_the_oldest_profile() -> None:
    g = IdentityGraph()
    feed = Feeder(g)
    old = feed(A1)
    new = feed(U1)
    assert old is not None and new is not None and old != new
    assert feed(U1, A1) == old
    assert pairs(g, old) == {A1, U1}
    assert g.canonical(new) == old
    assert g.profile_of(*U1) == old
    assert g.merges == [Merge(old, new, at(3), "m3", "identifiers")]
    assert g.profiles() == [old]


def test_canonical_follows_chains_of_merges() -> None:
    g = IdentityGraph()
    feed = Feeder(g)
    first, second, third = feed(A1), feed(A2), feed(A3)
    assert feed(A2, A3) == second  # third → second
    assert feed(A1, A3) == first  # second (holding third) → first
    assert g.canonical(third) == g.canonical(second) == first
    assert pairs(g, third) == {A1, A2, A3}
    assert [(m.kept, m.absorbed) for m in g.merges] == [(second, third), (first, second)]
    assert g.canonical("use_unknown") == "use_unknown"


def test_profile_ids_do_not_depend_on_the_graph_or_run() -> None:
    ids = []
    for _ in range(2):
        g = IdentityGraph()
        feed = Feeder(g)
        ids.append([feed(A1), feed(U2, A2), feed(JANE)])
    assert ids[0] == ids[1]
    assert ids[0][1] == profile_id_for("user_id", "u2")  # the highest-priority id names it


# -- limits and conflicts (§6.3) ------------------------------------------------------------------
def test_spec_worked_example_conflicting_user_id_starts_a_new_profile() -> None:
    g = IdentityGraph()
    feed = Feeder(g)
    jane = feed(("user_id", "abc123"), JANE)
    other = feed(("user_id", "abc456"), JANE)
    # 2 user_ids would break limit 1 → the event's lowest-priority id (email) is dropped and
    # the lookup retried with user_id abc456 alone: no match, new profile.
    assert other != jane
    assert pairs(g, jane) == {("user_id", "abc123"), JANE}
    assert pairs(g, other) == {("user_id", "abc456")}
    assert g.merges == []


def test_priority_decides_which_identifier_is_dropped() -> None:
    g = IdentityGraph(IdentityRules(priority=("email", "user_id")))
    feed = Feeder(g)
    jane = feed(("user_id", "abc123"), JANE)
    # email now outranks user_id: abc456 is dropped and the event joins jane's profile.
    assert feed(("user_id", "abc456"), JANE) == jane
    assert pairs(g, jane) == {("user_id", "abc123"), JANE}
    assert g.profile_of("user_id", "abc456") is None


def test_shared_anonymous_id_does_not_merge_two_users() -> None:
    # Merge protection (§6.2): a1 was not reset on logout.
    g = IdentityGraph()
    feed = Feeder(g)
    p1 = feed(U1, A1)
    p2 = feed(U2)
    assert feed(U2, A1) == p2  # a1 dropped; u2's own profile
    assert pairs(g, p1) == {U1, A1} and pairs(g, p2) == {U2}
    assert g.merges == []


def test_anonymous_ids_are_limited_to_five() -> None:
    g = IdentityGraph()
    feed = Feeder(g)
    p = feed(U1)
    for i in range(5):
        assert feed(U1, ("anonymous_id", f"a{i}")) == p
    # a sixth would break the limit: dropped, the event still resolves to u1.
    assert feed(U1, ("anonymous_id", "a5")) == p
    assert len(pairs(g, p)) == 6
    assert g.profile_of("anonymous_id", "a5") is None
    # alone, the sixth anonymous id starts its own profile.
    assert feed(("anonymous_id", "a5")) != p


def test_a_merge_that_would_break_a_limit_is_refused() -> None:
    g = IdentityGraph(IdentityRules(default_limit=Limit(2)))
    feed = Feeder(g)
    p = feed(A1, A2)
    q = feed(A3, ("email", "e"))
    # joining would give 3 anonymous ids: drop a3 (lowest priority, later in the message) → p.
    assert feed(A1, A3) == p
    assert g.merges == [] and g.canonical(q) == q


def test_the_message_itself_may_not_exceed_a_limit() -> None:
    g = IdentityGraph()
    pid = Feeder(g)(U2, U1, A1)  # two user_ids in one message (custom externalIds)
    assert pairs(g, pid) == {U2}  # a1 (lowest priority) then u1 (later in the message) dropped


def test_periodic_limits_let_old_values_age_out() -> None:
    rules = IdentityRules(limits={"anonymous_id": Limit(2, timedelta(days=7))})
    g = IdentityGraph(rules)
    p = g.observe([U1, A1], at=at(0), message_id="m1")
    assert g.observe([U1, A2], at=at(60), message_id="m2") == p
    assert g.observe([U1, A3], at=at(120), message_id="m3") == p
    assert g.profile_of(*A3) is None  # two in the last week already
    assert g.observe([U1, A3], at=at(0) + timedelta(days=7), message_id="m4") == p
    assert g.profile_of(*A3) == p  # a1 (first seen a week ago) no longer counts
    assert g.rules.limit("user_id") == Limit(1)


# -- blocked values (§6.3) ------------------------------------------------------------------------
def test_blocked_values_are_never_identifiers() -> None:
    g = IdentityGraph()
    feed = Feeder(g)
    p = feed(("user_id", "null"), A1)
    q = feed(("user_id", "null"), A2)
    assert p != q  # "null" did not join them
    assert pairs(g, p) == {A1}
    assert g.profile_of("user_id", "null") is None
    assert feed.maybe(("user_id", "0000"), ("anonymous_id", "anonymous")) is None
    assert feed.maybe(("user_id", "")) is None


def test_per_type_blocked_values() -> None:
    g = IdentityGraph(IdentityRules(blocked_by_type={"email": Blocked(exact=frozenset({"x@y"}))}))
    feed = Feeder(g)
    p = feed(U1, ("email", "x@y"))
    assert pairs(g, p) == {U1}
    assert feed(("anonymous_id", "x@y")) is not None


# -- alias (§6.4, §8.6) ---------------------------------------------------------------------------
def test_alias_does_not_merge_when_off_as_in_segment() -> None:
    g = IdentityGraph(IdentityRules(alias_merges=False))
    feed = Feeder(g)
    anon = feed(A1)
    user = feed(U1)
    assert feed(U1, alias=True, previous_id="a1") == user
    assert g.canonical(anon) == anon and g.merges == []


def test_alias_merges_when_enabled() -> None:
    g = IdentityGraph(IdentityRules(alias_merges=True))
    feed = Feeder(g)
    anon = feed(A1)
    user = feed(U1)
    assert feed(U1, alias=True, previous_id="a1") == anon  # the older profile survives
    assert g.canonical(user) == anon
    assert pairs(g, anon) == {A1, U1}
    assert g.merges[0].reason == "alias"


def test_alias_previous_id_type() -> None:
    g = IdentityGraph(IdentityRules(alias_merges=True))
    feed = Feeder(g)
    feed(U1)
    assert g.previous_type("u1") == "user_id"
    assert g.previous_type("never-seen") == "anonymous_id"
    # an unknown previousId becomes an anonymous id of the new user's profile
    p = feed(U2, alias=True, previous_id="old-anon")
    assert pairs(g, p) == {U2, ("anonymous_id", "old-anon")}
    # a previous user id cannot join: two user ids break the limit; previousId is dropped
    assert feed(U2, alias=True, previous_id="u1") == p
    assert len(g.merges) == 0


def test_blocked_previous_id_is_ignored() -> None:
    g = IdentityGraph(IdentityRules(alias_merges=True))
    p = Feeder(g)(U1, alias=True, previous_id="null")
    assert pairs(g, p) == {U1}


# -- graph limits (§6.4) --------------------------------------------------------------------------
def test_merge_cap_stops_merges_but_events_still_resolve() -> None:
    g = IdentityGraph(IdentityRules(max_merges=2))
    feed = Feeder(g)
    p = feed(A1)
    for i in (2, 3):
        feed(("anonymous_id", f"a{i}"))
        assert feed(A1, ("anonymous_id", f"a{i}")) == p
    assert len(g.merges) == 2
    q = feed(("anonymous_id", "a4"))
    # a third merge is refused; the event resolves to the profile of its highest-priority match
    assert feed(A1, ("anonymous_id", "a4")) == p
    assert feed(("anonymous_id", "a4"), ("email", "e")) == q  # email is fresh, a4 matched q
    assert len(g.merges) == 2 and g.canonical(q) == q
    assert g.profile_of("email", "e") == q


def test_limits_are_checked_before_graph_limits() -> None:
    # Spec §6.2: rules first, "then enforce graph limits". The conflict on user_id drops the
    # device id and the anonymous id, even though the merge cap alone would keep the device id.
    g = IdentityGraph(IdentityRules(max_merges=0))
    feed = Feeder(g)
    p = feed(U1, A1)
    q = feed(U2, A1, ("ios.id", "d0"))
    assert q != p and pairs(g, q) == {U2}
    assert feed(U2, A1, ("ios.id", "d0")) == q and pairs(g, q) == {U2}  # and again


def test_identifier_cap_stops_new_mappings() -> None:
    g = IdentityGraph(IdentityRules(max_identifiers=3))
    feed = Feeder(g)
    p = feed(U1, A1)
    assert feed(U1, A2, A3) == p  # room for one more: a2 (priority/value order) only
    assert pairs(g, p) == {U1, A1, A2}
    assert feed(U1, ("email", "e")) == p
    assert g.profile_of("email", "e") is None
    q = feed(JANE)
    assert feed(U1, JANE) == p  # merging would exceed 3 identifiers: refused
    assert g.canonical(q) == q


# -- identifiers and names ------------------------------------------------------------------------
def test_identifiers_record_first_and_last_seen_in_any_arrival_order() -> None:
    g = IdentityGraph()
    p = g.observe([U1], at=at(10), message_id="late")
    g.observe([U1], at=at(5), message_id="early")
    g.observe([U1], at=at(20), message_id="latest")
    assert p is not None
    [ident] = g.identifiers(p)
    assert (ident.first_seen, ident.last_seen, ident.first_message_id) == (at(5), at(20), "early")
    assert g.identifiers("use_unknown") == []


def test_identifiers_are_listed_in_naming_order() -> None:
    g = IdentityGraph()
    p = Feeder(g)(A1, ("ios.id", "d"), JANE, U1, ("android.id", "x"))
    assert p is not None
    assert [i.type for i in g.identifiers(p)] == [
        "user_id", "email", "android.id", "ios.id", "anonymous_id"
    ]  # fmt: skip
    assert g.name(p) == "user_id:u1"


def test_profile_name_priority() -> None:
    assert profile_name([A1, JANE]) == "email:jane@x.io"
    assert profile_name([A1, ("ios.idfa", "z"), ("android.id", "y")]) == "android.id:y"
    assert profile_name([A2, A1]) == "anonymous_id:a1"  # smallest value among equals
    assert profile_name([("email", "b@x"), ("email", "a@x"), U1]) == "user_id:u1"
    assert profile_name([("phone", "1"), ("email", "b@x"), ("email", "a@x")]) == "email:a@x"
    with pytest.raises(ValueError):
        profile_name([])
