"""Where identifiers come from in a message (spec §6.1, §8.5–8.6)."""

from __future__ import annotations

from typing import Any

import pytest

from shoal.identity.extract import group_id_of, identifiers_of, previous_id_of
from shoal.identity.rules import IdentityRules
from tests.identity.builders import msg


def test_user_and_anonymous_ids() -> None:
    m = msg(mid="1", user_id="u1", anonymous_id="a1")
    assert identifiers_of(m) == [("user_id", "u1"), ("anonymous_id", "a1")]


def test_email_from_identify_traits() -> None:
    m = msg("identify", mid="1", user_id="u1", traits={"email": "jane@x.io"})
    assert ("email", "jane@x.io") in identifiers_of(m)


def test_email_from_context_traits_on_any_call() -> None:
    m = msg(mid="1", anonymous_id="a1", context={"traits": {"email": "jane@x.io"}})
    assert identifiers_of(m) == [("email", "jane@x.io"), ("anonymous_id", "a1")]


def test_identify_traits_email_wins_over_context_traits() -> None:
    m = msg(
        "identify",
        mid="1",
        user_id="u1",
        traits={"email": "new@x.io"},
        context={"traits": {"email": "old@x.io"}},
    )
    assert [v for t, v in identifiers_of(m) if t == "email"] == ["new@x.io"]


def test_group_traits_email_belongs_to_the_account() -> None:
    m = msg("group", mid="1", user_id="u1", group_id="g1", traits={"email": "sales@acme.io"})
    assert identifiers_of(m) == [("user_id", "u1")]


def test_properties_email_is_not_an_identifier_by_default() -> None:
    m = msg(mid="1", user_id="u1", properties={"email": "jane@x.io"})
    assert identifiers_of(m) == [("user_id", "u1")]


@pytest.mark.parametrize("kind", ["ios", "android", "iOS"])
def test_device_ids(kind: str) -> None:
    device = {"type": kind, "id": "d1", "advertisingId": "ad1", "adTrackingEnabled": True,
              "token": "tok"}  # fmt: skip
    m = msg(mid="1", anonymous_id="a1", context={"device": device})
    k = kind.lower()
    assert identifiers_of(m) == [
        (f"{k}.id", "d1"),
        (f"{k}.idfa", "ad1"),
        (f"{k}.push_token", "tok"),
        ("anonymous_id", "a1"),
    ]


@pytest.mark.parametrize("enabled", [False, None, "true"])
@pytest.mark.parametrize("kind", ["ios", "android"])
def test_advertising_id_needs_ad_tracking_enabled(kind: str, enabled: Any) -> None:
    device = {"type": kind, "advertisingId": "ad1", "adTrackingEnabled": enabled}
    m = msg(mid="1", anonymous_id="a1", context={"device": device})
    assert identifiers_of(m) == [("anonymous_id", "a1")]


@pytest.mark.parametrize("device", [{"id": "d1"}, {"type": "web", "id": "d1"}, {"type": 3}, "x"])
def test_device_ids_need_a_mobile_device_type(device: Any) -> None:
    m = msg(mid="1", user_id="u1", context={"device": device})
    assert identifiers_of(m) == [("user_id", "u1")]


def test_ga_client_id_from_integrations() -> None:
    top = msg(mid="1", user_id="u1", integrations={"Google Analytics": {"clientId": "123.456"}})
    ctx = msg(
        mid="2", user_id="u1", context={"integrations": {"Google Analytics": {"clientId": "9.9"}}}
    )
    assert ("ga_client_id", "123.456") in identifiers_of(top)
    assert ("ga_client_id", "9.9") in identifiers_of(ctx)


def test_external_ids_need_all_four_fields_users_collection_and_lowercase_type() -> None:
    external = [
        {"id": "+1555", "type": "phone", "collection": "users", "encoding": "none"},
        {"id": "x", "type": "phone", "collection": "users"},  # no encoding
        {"id": "y", "type": "Phone", "collection": "users", "encoding": "none"},  # uppercase
        {"id": "acct", "type": "crm_id", "collection": "accounts", "encoding": "none"},
        {"id": "g", "type": "group_id", "collection": "users", "encoding": "none"},
        {"id": 42, "type": "member_no", "collection": "users", "encoding": "none"},
        {"type": "phone", "collection": "users", "encoding": "none"},
        "not an object",
    ]
    m = msg(mid="1", user_id="u1", context={"externalIds": external})
    assert identifiers_of(m) == [("user_id", "u1"), ("phone", "+1555"), ("member_no", "42")]


def test_configured_trait_identifiers_accept_camel_and_snake_case() -> None:
    rules = IdentityRules(trait_identifiers={"phone": "phoneNumber"})
    snake = msg("identify", mid="1", user_id="u1", traits={"phone_number": "+1"})
    camel = msg(mid="2", user_id="u1", properties={"phoneNumber": "+2"})
    ctx = msg(mid="3", user_id="u1", context={"traits": {"phoneNumber": "+3"}})
    assert ("phone", "+1") in identifiers_of(snake, rules)
    assert ("phone", "+2") in identifiers_of(camel, rules)
    assert ("phone", "+3") in identifiers_of(ctx, rules)
    assert identifiers_of(camel) == [("user_id", "u1")]  # not configured → not an identifier


def test_duplicates_are_removed_and_non_strings_skipped() -> None:
    external = [{"id": "a1", "type": "anonymous_id", "collection": "users", "encoding": "none"}]
    m = msg(
        mid="1",
        anonymous_id="a1",
        context={"externalIds": external, "traits": {"email": {"not": "a string"}}},
    )
    assert identifiers_of(m) == [("anonymous_id", "a1")]


def test_blocked_values_are_still_extracted() -> None:
    # Blocking is the graph's rule; the payload keeps the value (spec §6.3).
    assert identifiers_of(msg(mid="1", user_id="null")) == [("user_id", "null")]


def test_group_id_of() -> None:
    assert group_id_of(msg("group", mid="1", user_id="u", group_id="g1")) == "g1"
    assert group_id_of(msg("group", mid="1", user_id="u", group_id="g" * 501)) is None
    assert group_id_of(msg(mid="1", user_id="u", group_id="g1")) is None
    assert ("group_id", "g1") not in identifiers_of(
        msg("group", mid="1", user_id="u", group_id="g1")
    )


def test_previous_id_of_alias_calls_only() -> None:
    alias = msg("alias", mid="1", user_id="u1", previous_id="a1")
    assert previous_id_of(alias) == "a1"
    assert identifiers_of(alias) == [("user_id", "u1")]
    assert previous_id_of(msg(mid="2", user_id="u1", previous_id="a1")) is None
