"""resolve(): time order, final canonical profiles, visibility, the cross-device scenario."""

from __future__ import annotations

from shoal.identity.graph import IdentityGraph
from shoal.identity.resolve import apply_message, message_order, resolve
from shoal.identity.rules import IdentityRules
from shoal.spec.message import Message
from tests.identity.builders import at, msg


def cross_device_story() -> list[Message]:
    """Anonymous browsing, sign-in, a second device, then an alias from an older anonymous id."""
    phone = {"device": {"type": "ios", "id": "iphone-1"}}
    return [
        msg(mid="e1", minute=1, anonymous_id="web-anon"),
        msg("page", mid="e2", minute=2, anonymous_id="web-anon", name="Home"),
        msg(
            "identify",
            mid="e3",
            minute=3,
            anonymous_id="web-anon",
            user_id="u1",
            traits={"email": "jane@x.io"},
        ),
        msg(mid="e4", minute=4, anonymous_id="app-anon", context=phone),
        msg(mid="e5", minute=5, anonymous_id="app-anon", user_id="u1", context=phone),
        msg(mid="e6", minute=6, anonymous_id="old-anon"),
        msg("alias", mid="e7", minute=7, user_id="u1", previous_id="old-anon"),
    ]


EVERYTHING = {
    ("user_id", "u1"),
    ("email", "jane@x.io"),
    ("ios.id", "iphone-1"),
    ("anonymous_id", "app-anon"),
    ("anonymous_id", "old-anon"),
    ("anonymous_id", "web-anon"),
}


def test_scenario_with_alias_merges_ends_in_one_profile() -> None:
    result = resolve(cross_device_story(), rules=IdentityRules(alias_merges=True))
    assert len(result.profiles) == 1
    [profile] = result.profiles.values()
    assert {(i.type, i.value) for i in profile.identifiers} == EVERYTHING
    assert profile.name == "user_id:u1"
    assert set(result.message_profiles.values()) == {profile.id}
    assert [m.reason for m in result.merges] == ["identifiers", "alias"]


def test_scenario_by_the_spec_alias_leaves_the_old_anonymous_id_alone() -> None:
    result = resolve(cross_device_story(), rules=IdentityRules(alias_merges=False))
    assert len(result.profiles) == 2
    user = result.profile_of("user_id", "u1")
    assert user is not None and user.name == "user_id:u1"
    assert {(i.type, i.value) for i in user.identifiers} == EVERYTHING - {
        ("anonymous_id", "old-anon")
    }
    for mid in ("e1", "e2", "e3", "e4", "e5", "e7"):
        assert result.message_profiles[mid] == user.id
    old = result.profile_of_message("e6")
    assert old is not None and old.name == "anonymous_id:old-anon"


def test_events_before_a_merge_belong_to_the_merged_profile() -> None:
    messages = [
        msg(mid="a", minute=1, anonymous_id="x"),
        msg(mid="b", minute=2, user_id="u1"),
        msg("identify", mid="c", minute=3, anonymous_id="x", user_id="u1"),
    ]
    result = resolve(messages)
    assert result.message_profiles["a"] == result.message_profiles["b"]
    assert len(result.profiles) == 1 and len(result.merges) == 1


def _shared(mid: str, minute: float, received: float, user: str) -> Message:
    return Message(
        type="track",
        event="E",
        message_id=mid,
        timestamp=at(minute),
        received_at=at(received),
        user_id=user,
        anonymous_id="shared",
    )


def test_messages_apply_in_time_then_received_at_then_message_id_order() -> None:
    b = _shared("b", 1, 3, "u3")
    a = _shared("a", 1, 3, "u2")
    z = _shared("z", 1, 2, "u1")
    earliest = _shared("y", 0, 9, "u0")
    assert sorted([b, a, z, earliest], key=message_order) == [earliest, z, a, b]
    result = resolve([b, a, z])
    # z (received first) claims "shared" for u1; a and b cannot join two user ids.
    shared = result.profile_of("anonymous_id", "shared")
    assert shared is not None and shared.name == "user_id:u1"
    assert result.message_profiles["a"] != shared.id
    # with an earlier event time, u0 claims it whatever it was received
    shared = resolve([b, a, z, earliest]).profile_of("anonymous_id", "shared")
    assert shared is not None and shared.name == "user_id:u0"


def test_as_of_hides_later_messages() -> None:
    messages = [
        msg(mid="a", minute=1, anonymous_id="x"),
        msg(mid="b", minute=2, user_id="u1"),
        msg("identify", mid="c", minute=3, anonymous_id="x", user_id="u1"),
    ]
    result = resolve(messages, as_of=at(2))
    assert "c" not in result.message_profiles
    assert result.message_profiles["a"] != result.message_profiles["b"]
    assert result.merges == ()


def test_messages_without_usable_identifiers_resolve_to_none() -> None:
    result = resolve([msg(mid="a", anonymous_id="null"), msg(mid="b", user_id="u1")])
    assert result.message_profiles["a"] is None
    assert result.profile_of_message("a") is None
    assert result.profile_of("user_id", "nobody") is None


def test_partition_is_order_free() -> None:
    result = resolve(cross_device_story(), rules=IdentityRules(alias_merges=False))
    assert frozenset({("anonymous_id", "old-anon")}) in result.partition()
    assert len(result.partition()) == 2
    assert len(resolve(cross_device_story()).partition()) == 1


def test_apply_message_uses_the_graph_rules() -> None:
    graph = IdentityGraph(IdentityRules(trait_identifiers={"phone": "phone"}))
    pid = apply_message(graph, msg("identify", mid="1", user_id="u1", traits={"phone": "+1"}))
    assert pid == graph.profile_of("phone", "+1")
