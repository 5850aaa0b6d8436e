"""Field rules and normalisation of one message."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shoal.errors import MessageError
from shoal.spec.normalize import normalize

NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)


def test_numeric_ids_become_strings() -> None:
    message = normalize({"type": "group", "userId": 42, "groupId": 7}, received_at=NOW)
    assert (message.user_id, message.group_id) == ("42", "7")


def test_empty_ids_count_as_missing() -> None:
    with pytest.raises(MessageError) as err:
        normalize({"type": "identify", "userId": "", "anonymousId": None}, received_at=NOW)
    assert err.value.code == "no_user_anon_id"


def test_unknown_top_level_fields_are_kept() -> None:
    message = normalize(
        {"type": "track", "userId": "u", "event": "E", "channel": "server", "version": 2},
        received_at=NOW,
    )
    assert message.extra == {"channel": "server", "version": 2}


def test_endpoint_type_wins_over_body_type() -> None:
    message = normalize(
        {"type": "identify", "userId": "u", "event": "E"}, received_at=NOW, type_hint="track"
    )
    assert message.type == "track"


def test_batch_sent_at_applies_when_the_message_has_none() -> None:
    message = normalize(
        {"type": "track", "userId": "u", "event": "E", "timestamp": "2026-11-28T10:00:00Z"},
        received_at=NOW,
        batch_sent_at=datetime(2026, 11, 28, 10, 0, 30, tzinfo=UTC),
    )
    assert message.timestamp == NOW - timedelta(seconds=30)


def test_original_timestamp_is_used_when_timestamp_is_absent() -> None:
    message = normalize(
        {
            "type": "track",
            "userId": "u",
            "event": "E",
            "originalTimestamp": "2026-11-28T09:00:00+02:00",
        },
        received_at=NOW,
    )
    assert message.timestamp == datetime(2026, 11, 28, 7, tzinfo=UTC)


def test_import_keeps_a_received_at_the_message_carries() -> None:
    raw = {
        "type": "track",
        "userId": "u",
        "event": "E",
        "timestamp": "2025-01-01T00:00:00Z",
        "sentAt": "2025-01-01T00:00:09Z",
        "receivedAt": "2025-01-01T00:00:10Z",
    }
    message = normalize(raw, received_at=NOW, trust_received_at=True)
    assert message.received_at == datetime(2025, 1, 1, 0, 0, 10, tzinfo=UTC)
    assert message.timestamp == datetime(2025, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "code", "location"),
    [
        ("text", "invalid_message", "$"),
        ({"userId": "u"}, "missing_type", "$.type"),
        ({"type": "Track", "userId": "u"}, "invalid_type", "$.type"),
        ({"type": "track", "userId": True, "event": "E"}, "invalid_type", "$.userId"),
        ({"type": "track", "userId": "u", "event": ""}, "missing_event", "$.event"),
        ({"type": "alias", "previousId": "a", "anonymousId": "x"}, "missing_user_id", "$.userId"),
        ({"type": "identify", "userId": "u", "traits": "x"}, "invalid_type", "$.traits"),
        ({"type": "identify", "userId": "u", "context": 1}, "invalid_type", "$.context"),
        ({"type": "identify", "userId": "u", "messageId": 5}, "invalid_type", "$.messageId"),
        ({"type": "identify", "userId": "u", "sentAt": "soon"}, "invalid_timestamp", "$.sentAt"),
        ({"type": "page", "userId": "u", "name": ["a"]}, "invalid_type", "$.name"),
    ],
)
def test_field_rules(raw: object, code: str, location: str) -> None:
    with pytest.raises(MessageError) as err:
        normalize(raw, received_at=NOW)
    assert (err.value.code, err.value.location) == (code, location)


def test_import_corrects_an_original_timestamp_with_the_carried_received_at() -> None:
    raw = {
        "type": "track",
        "userId": "u",
        "event": "E",
        "originalTimestamp": "2025-01-01T00:00:00Z",
        "sentAt": "2025-01-01T00:01:00Z",
        "receivedAt": "2025-01-01T05:00:30Z",
    }
    message = normalize(raw, received_at=NOW, trust_received_at=True)
    assert message.timestamp == datetime(2025, 1, 1, 4, 59, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("timestamp", "0001-01-01T00:00:00+01:00"),
        ("timestamp", "9999-12-31T23:59:59-01:00"),
        ("timestamp", "1700-01-01T00:00:00Z"),
        ("sentAt", "9999-01-01T00:00:00Z"),
    ],
)
def test_timestamps_outside_the_supported_years_are_rejected(field: str, value: str) -> None:
    raw = {"type": "track", "userId": "u", "event": "E", "timestamp": "2026-01-01T00:00:00Z"}
    with pytest.raises(MessageError) as err:
        normalize({**raw, field: value}, received_at=NOW)
    assert (err.value.code, err.value.location) == ("invalid_timestamp", f"$.{field}")
