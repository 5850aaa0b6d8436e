"""IdentityRules: spec §6.3 defaults, limits, blocked values, parsing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shoal.errors import ConfigError
from shoal.identity.rules import DEFAULT_RULES, Blocked, IdentityRules, Limit


def test_default_limits_are_one_user_id_and_five_of_everything_else() -> None:
    assert DEFAULT_RULES.limit("user_id") == Limit(1)
    assert DEFAULT_RULES.limit("email") == Limit(5)
    assert DEFAULT_RULES.limit("anonymous_id") == Limit(5)
    assert DEFAULT_RULES.limit("some_custom_type") == Limit(5)


def test_default_priority_is_user_id_email_then_alphabetical() -> None:
    types = ["ios.idfa", "anonymous_id", "email", "android.id", "user_id", "ga_client_id"]
    ranked = sorted(types, key=DEFAULT_RULES.rank)
    assert ranked == ["user_id", "email", "android.id", "anonymous_id", "ga_client_id", "ios.idfa"]


def test_explicit_priority_puts_unlisted_types_after_listed_ones() -> None:
    rules = IdentityRules(priority=("email", "phone", "user_id"))
    ranked = sorted(["anonymous_id", "user_id", "phone", "email", "android.id"], key=rules.rank)
    assert ranked == ["email", "phone", "user_id", "android.id", "anonymous_id"]


def test_graph_limits_default_to_the_spec() -> None:
    assert (DEFAULT_RULES.max_merges, DEFAULT_RULES.max_identifiers) == (100, 1000)
    assert DEFAULT_RULES.alias_merges is True


@pytest.mark.parametrize(
    "value", ["null", "-1", "anonymous", "undefined", "0", "000", "-", "0-0-0", ""]
)
def test_suggested_blocked_values_are_blocked_for_every_type(value: str) -> None:
    assert DEFAULT_RULES.is_blocked("user_id", value)
    assert DEFAULT_RULES.is_blocked("email", value)


@pytest.mark.parametrize("value", ["abc123", "10", "NULL", "a-0", "u1", "void"])
def test_ordinary_values_are_not_blocked(value: str) -> None:
    assert not DEFAULT_RULES.is_blocked("user_id", value)


def test_per_type_blocks_apply_to_that_type_only() -> None:
    rules = IdentityRules(blocked_by_type={"email": Blocked(patterns=(r"@example\.com$",))})
    assert rules.is_blocked("email", "x@example.com")
    assert not rules.is_blocked("user_id", "x@example.com")
    assert rules.is_blocked("email", "null")  # the global list still applies


def test_limit_parse() -> None:
    assert Limit.parse("1 ever") == Limit(1)
    assert Limit.parse("5") == Limit(5)
    assert Limit.parse("5 Weekly") == Limit(5, timedelta(days=7))
    assert Limit.parse("3 monthly") == Limit(3, timedelta(days=30))
    assert Limit.parse("2 annually") == Limit(2, timedelta(days=365))


@pytest.mark.parametrize("text", ["", "five", "5 fortnightly", "5 weekly extra", "0"])
def test_limit_parse_rejects_nonsense(text: str) -> None:
    with pytest.raises(ConfigError):
        Limit.parse(text)


def test_from_dict_round_trips_every_setting() -> None:
    rules = IdentityRules.from_dict(
        {
            "priority": ["user_id", "phone", "email"],
            "limits": {"anonymous_id": "5 weekly", "phone": "1"},
            "default_limit": "3",
            "blocked": {"exact": ["void"], "patterns": ["^x+$"]},
            "blocked_by_type": {"email": {"exact": ["a@b.c"]}},
            "max_merges": 7,
            "max_identifiers": 50,
            "alias_merges": True,
            "trait_identifiers": {"phone": "phoneNumber"},
        }
    )
    assert rules.priority == ("user_id", "phone", "email")
    assert rules.limit("anonymous_id") == Limit(5, timedelta(days=7))
    assert rules.limit("phone") == Limit(1)
    assert rules.limit("user_id") == Limit(1)  # limits are laid over the spec's
    assert rules.limit("email") == Limit(3)
    assert rules.is_blocked("user_id", "void") and rules.is_blocked("user_id", "xxx")
    assert not rules.is_blocked("user_id", "null")  # blocked replaces the suggested list
    assert rules.is_blocked("email", "a@b.c")
    assert (rules.max_merges, rules.max_identifiers, rules.alias_merges) == (7, 50, True)
    assert dict(rules.trait_identifiers) == {"phone": "phoneNumber"}
    assert IdentityRules.from_dict({}) == DEFAULT_RULES


def test_from_dict_rejects_unknown_keys_and_bad_patterns() -> None:
    with pytest.raises(ConfigError, match="unknown identity setting"):
        IdentityRules.from_dict({"limit": {}})
    with pytest.raises(ConfigError, match="pattern"):
        IdentityRules.from_dict({"blocked": {"patterns": ["("]}})
    with pytest.raises(ConfigError):
        IdentityRules(priority=("email", "email"))


def test_rules_are_immutable() -> None:
    with pytest.raises(TypeError):
        DEFAULT_RULES.limits["user_id"] = Limit(2)  # type: ignore[index]


def test_several_patterns_each_block() -> None:
    blocked = Blocked(patterns=(r"^test-", r"@example\.com$"))
    assert blocked.matches("test-1") and blocked.matches("a@example.com")
    assert not blocked.matches("real@x.io")
    flagged = Blocked(patterns=("^x$", "(?i)^test"))  # global flags cannot be joined
    assert flagged.matches("TEST-1") and flagged.matches("x") and not flagged.matches("y")
