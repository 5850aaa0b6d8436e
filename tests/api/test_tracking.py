"""The Tracking API over real HTTP on loopback: every route, every rejection path."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from shoal.clock import FrozenClock
from shoal.spec.message import Message
from tests.support import LiveServer, live_server


@pytest.fixture
def srv(tmp_path: Path, clock: FrozenClock) -> Iterator[LiveServer]:
    with live_server(tmp_path / "data", clock) as server:
        yield server


def stored(server: LiveServer, space: str = "default") -> list[Message]:
    return list(server.store.read_messages(space))


def post(
    server: LiveServer, path: str, body: Any, *, key: str | None = "default", **kw: Any
) -> httpx.Response:
    auth = (server.write_key if key == "default" else key, "") if key else None
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    headers = {"content-type": "application/json", **kw.pop("headers", {})}
    return httpx.post(server.url + path, content=content, auth=auth, headers=headers, **kw)


CALLS = {
    "identify": {"userId": "u1", "traits": {"email": "a@x.io", "plan": "pro"}},
    "track": {"userId": "u1", "event": "Order Completed", "properties": {"revenue": 10.5}},
    "page": {"anonymousId": "a1", "name": "Home", "properties": {"url": "https://x.io/"}},
    "screen": {"userId": "u1", "name": "Settings"},
    "group": {"userId": "u1", "groupId": "g1", "traits": {"plan": "business"}},
    "alias": {"userId": "u1", "previousId": "a1"},
}


@pytest.mark.parametrize("kind", sorted(CALLS))
def test_each_single_call_route_stores_the_message(srv: LiveServer, kind: str) -> None:
    body = {**CALLS[kind], "messageId": f"m-{kind}", "timestamp": "2026-11-28T11:00:00Z"}
    response = post(srv, f"/v1/{kind}", body)
    assert response.status_code == 200, response.text
    assert response.json() == {"success": True}
    (message,) = stored(srv)
    assert message.type == kind
    assert message.message_id == f"m-{kind}"
    assert message.received_at == srv.store.clock.now()
    assert message.timestamp.isoformat() == "2026-11-28T11:00:00+00:00"


def test_page_name_is_readable_as_property(srv: LiveServer) -> None:
    post(srv, "/v1/page", CALLS["page"])
    (message,) = stored(srv)
    assert message.properties == {"url": "https://x.io/", "name": "Home"}
    assert message.event_name == "Page Viewed"


def test_timestamp_is_corrected_with_sent_at(srv: LiveServer) -> None:
    # The client's clock runs 1 h behind: sentAt = now - 1h; the event happened 5 s before send.
    now = srv.store.clock.now()
    sent = now - timedelta(hours=1)
    body = {
        **CALLS["track"],
        "timestamp": (sent - timedelta(seconds=5)).isoformat(),
        "sentAt": sent.isoformat(),
    }
    assert post(srv, "/v1/track", body).status_code == 200
    (message,) = stored(srv)
    assert message.timestamp == now - timedelta(seconds=5)
    assert message.original_timestamp == sent - timedelta(seconds=5)


def test_missing_timestamp_defaults_to_received_at_and_message_id_is_generated(
    srv: LiveServer,
) -> None:
    assert post(srv, "/v1/track", CALLS["track"]).status_code == 200
    (message,) = stored(srv)
    assert message.timestamp == srv.store.clock.now()
    assert len(message.message_id) == 36


def test_batch_with_write_key_in_body_and_shared_context(srv: LiveServer) -> None:
    body = {
        "writeKey": srv.write_key,
        "sentAt": "2026-11-28T12:00:00Z",
        "context": {"library": {"name": "curl"}, "locale": "en"},
        "batch": [
            {**CALLS["track"], "type": "track", "messageId": "b1", "context": {"locale": "fr"}},
            {**CALLS["identify"], "type": "identify", "messageId": "b2"},
        ],
    }
    response = post(srv, "/v1/batch", body, key=None)
    assert response.status_code == 200, response.text
    first, second = stored(srv)
    assert first.context == {"library": {"name": "curl"}, "locale": "fr"}
    assert second.context == {"library": {"name": "curl"}, "locale": "en"}


def test_import_route_is_batch(srv: LiveServer) -> None:
    body = {"batch": [{**CALLS["track"], "type": "track"}]}
    assert post(srv, "/v1/import", body).status_code == 200
    assert len(stored(srv)) == 1


@pytest.mark.parametrize("encode", [False, True])
def test_gzip_bodies(srv: LiveServer, encode: bool) -> None:
    raw = orjson.dumps({"batch": [{**CALLS["track"], "type": "track"}]})
    headers = {"content-encoding": "gzip"} if encode else {}
    response = post(srv, "/v1/batch", gzip.compress(raw) if encode else raw, headers=headers)
    assert response.status_code == 200
    assert len(stored(srv)) == 1


def test_duplicate_message_ids_are_stored_once(srv: LiveServer) -> None:
    body = {**CALLS["track"], "messageId": "same"}
    for _ in range(3):
        assert post(srv, "/v1/track", body).status_code == 200
    batch = {"batch": [{**body, "type": "track"}, {**body, "type": "track"}]}
    assert post(srv, "/v1/batch", batch).status_code == 200
    assert [m.message_id for m in stored(srv)] == ["same"]


def test_dedupe_survives_a_restart(tmp_path: Path, clock: FrozenClock) -> None:
    body = {**CALLS["track"], "messageId": "persisted"}
    with live_server(tmp_path / "d", clock) as first:
        assert post(first, "/v1/track", body).status_code == 200
    clock.advance(timedelta(hours=23))
    with live_server(tmp_path / "d", clock) as second:
        assert post(second, "/v1/track", body).status_code == 200
        assert len(stored(second)) == 1


def test_dedupe_of_imported_history_survives_a_restart(tmp_path: Path, clock: FrozenClock) -> None:
    """Imported rows keep their old receivedAt; they are remembered from when they were stored."""
    from tests.support import ADMIN_TOKEN

    old = {
        "type": "track",
        "userId": "u1",
        "event": "Old",
        "messageId": "historic",
        "timestamp": "2020-01-01T00:00:00Z",
        "receivedAt": "2020-01-01T00:00:00Z",
    }
    with live_server(tmp_path / "d", clock) as first:
        response = httpx.post(
            f"{first.url}/admin/import",
            content=orjson.dumps(old),
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        )
        assert response.json()["accepted"] == 1
    clock.advance(timedelta(hours=1))
    with live_server(tmp_path / "d", clock) as second:
        body = {k: v for k, v in old.items() if k != "receivedAt"}
        assert post(second, "/v1/track", body).status_code == 200
        assert [m.message_id for m in stored(second)] == ["historic"]


def test_spaces_are_isolated(srv: LiveServer) -> None:
    other = srv.store.create_space("shop")
    assert (
        post(
            srv, "/v1/track", {**CALLS["track"], "messageId": "x"}, key=other.write_key
        ).status_code
        == 200
    )
    assert stored(srv, "default") == []
    assert [m.message_id for m in stored(srv, "shop")] == ["x"]
    # The same messageId in another space is a different message.
    assert post(srv, "/v1/track", {**CALLS["track"], "messageId": "x"}).status_code == 200
    assert len(stored(srv, "default")) == 1


def test_context_direct_records_the_caller_ip(srv: LiveServer) -> None:
    post(srv, "/v1/track", {**CALLS["track"], "context": {"direct": True}})
    (message,) = stored(srv)
    assert message.context["ip"] == "127.0.0.1"


# -- rejections: status, error body, nothing stored ---------------------------------------------

REJECTIONS: list[tuple[str, str, Any, dict[str, Any], int, str, str | None]] = [
    # (id, path, body, headers, status, code, location)
    ("bad-json", "/v1/track", b'{"userId": "u1",', {}, 400, "invalid_json", "body"),
    ("not-object", "/v1/track", b"[1, 2]", {}, 400, "invalid_body", "$"),
    (
        "bad-gzip",
        "/v1/batch",
        b"not gzip",
        {"content-encoding": "gzip"},
        400,
        "invalid_gzip",
        "body",
    ),
    (
        "oversize-message",
        "/v1/track",
        {**CALLS["track"], "properties": {"blob": "x" * 33_000}},
        {},
        400,
        "message_too_large",
        "body",
    ),
    (
        "oversize-batch",
        "/v1/batch",
        {"batch": [{**CALLS["track"], "type": "track", "properties": {"b": "x" * 20_000}}] * 26},
        {},
        400,
        "batch_too_large",
        "body",
    ),
    (
        "too-many-messages",
        "/v1/batch",
        {"batch": [{"type": "track", "userId": "u", "event": "E"}] * 2_501},
        {},
        400,
        "batch_too_many_messages",
        "$.batch",
    ),
    ("batch-not-array", "/v1/batch", {"batch": {"a": 1}}, {}, 400, "invalid_batch", "$.batch"),
    ("no-ids", "/v1/track", {"event": "E"}, {}, 400, "no_user_anon_id", "$.userId"),
    ("no-event", "/v1/track", {"userId": "u"}, {}, 400, "missing_event", "$.event"),
    ("no-group-id", "/v1/group", {"userId": "u"}, {}, 400, "missing_group_id", "$.groupId"),
    (
        "no-previous-id",
        "/v1/alias",
        {"userId": "u"},
        {},
        400,
        "missing_previous_id",
        "$.previousId",
    ),
    (
        "user-id-object",
        "/v1/track",
        {"userId": {"a": 1}, "event": "E"},
        {},
        400,
        "invalid_type",
        "$.userId",
    ),
    (
        "properties-array",
        "/v1/track",
        {"userId": "u", "event": "E", "properties": [1]},
        {},
        400,
        "invalid_type",
        "$.properties",
    ),
    ("event-number", "/v1/track", {"userId": "u", "event": 5}, {}, 400, "invalid_type", "$.event"),
    (
        "naive-timestamp",
        "/v1/track",
        {"userId": "u", "event": "E", "timestamp": "2026-01-01T00:00:00"},
        {},
        400,
        "invalid_timestamp",
        "$.timestamp",
    ),
    (
        "garbage-timestamp",
        "/v1/track",
        {"userId": "u", "event": "E", "timestamp": "yesterday"},
        {},
        400,
        "invalid_timestamp",
        "$.timestamp",
    ),
    (
        "long-message-id",
        "/v1/track",
        {"userId": "u", "event": "E", "messageId": "m" * 101},
        {},
        400,
        "message_id_too_long",
        "$.messageId",
    ),
    (
        "bad-batch-type",
        "/v1/batch",
        {"batch": [{"type": "purchase", "userId": "u"}]},
        {},
        400,
        "invalid_messages",
        None,
    ),
    (
        "bad-batch-sent-at",
        "/v1/batch",
        {"sentAt": 3, "batch": []},
        {},
        400,
        "invalid_timestamp",
        "$.sentAt",
    ),
    (
        "unsupported-encoding",
        "/v1/track",
        {"userId": "u", "event": "E"},
        {"content-encoding": "br"},
        400,
        "unsupported_encoding",
        "header:Content-Encoding",
    ),
]


@pytest.mark.parametrize(
    ("path", "body", "headers", "status", "code", "location"),
    [r[1:] for r in REJECTIONS],
    ids=[r[0] for r in REJECTIONS],
)
def test_rejections(
    srv: LiveServer,
    path: str,
    body: Any,
    headers: dict[str, str],
    status: int,
    code: str,
    location: str | None,
) -> None:
    response = post(srv, path, body, headers=headers)
    assert response.status_code == status
    error = response.json()
    assert error["success"] is False
    assert error["code"] == code
    assert error["status"] == status
    assert error["message"]
    assert error.get("location") == location
    assert stored(srv) == []


def test_one_bad_message_rejects_nothing_else(srv: LiveServer) -> None:
    body = {
        "batch": [
            {"type": "track", "userId": "u", "event": "A", "messageId": "ok1"},
            {"type": "track", "userId": "u", "messageId": "bad"},
            {"type": "identify", "anonymousId": "a", "messageId": "ok2"},
            {"type": "page", "messageId": "bad2"},
        ]
    }
    response = post(srv, "/v1/batch", body)
    assert response.status_code == 400
    error = response.json()
    assert error["code"] == "invalid_messages"
    assert (error["accepted"], error["rejected"]) == (2, 2)
    assert [(e["code"], e["location"]) for e in error["errors"]] == [
        ("missing_event", "$.batch[1].event"),
        ("no_user_anon_id", "$.batch[3].userId"),
    ]
    assert [m.message_id for m in stored(srv)] == ["ok1", "ok2"]


def test_oversized_message_inside_a_batch_is_rejected_alone(srv: LiveServer) -> None:
    big = {"type": "track", "userId": "u", "event": "E", "properties": {"b": "x" * 40_000}}
    small = {"type": "track", "userId": "u", "event": "E", "messageId": "small"}
    response = post(srv, "/v1/batch", {"batch": [big, small]})
    assert response.status_code == 400
    assert response.json()["errors"][0] == {
        "code": "message_too_large",
        "message": response.json()["errors"][0]["message"],
        "location": "$.batch[0]",
    }
    assert [m.message_id for m in stored(srv)] == ["small"]


@pytest.mark.parametrize(
    ("auth", "body_key", "code"),
    [
        (None, None, "missing_write_key"),
        (("nope", ""), None, "invalid_write_key"),
        (None, "nope", "invalid_write_key"),
    ],
)
def test_missing_or_unknown_write_key_is_401(
    srv: LiveServer, auth: tuple[str, str] | None, body_key: str | None, code: str
) -> None:
    body: dict[str, Any] = {**CALLS["track"]}
    if body_key:
        body["writeKey"] = body_key
    response = httpx.post(srv.url + "/v1/track", content=orjson.dumps(body), auth=auth)
    assert response.status_code == 401
    assert response.json()["code"] == code
    assert response.headers["www-authenticate"].startswith("Basic")
    assert stored(srv) == []


def test_basic_auth_without_colon_is_accepted(srv: LiveServer) -> None:
    import base64

    token = base64.b64encode(srv.write_key.encode()).decode()
    response = httpx.post(
        srv.url + "/v1/track",
        content=orjson.dumps(CALLS["track"]),
        headers={"authorization": f"Basic {token}"},
    )
    assert response.status_code == 200


def test_parse_only_endpoint_stores_nothing(srv: LiveServer) -> None:
    response = post(srv, "/bench/parse-only", {"batch": [{**CALLS["track"], "type": "track"}]})
    assert response.status_code == 200
    assert stored(srv) == []


def test_openapi_document_lists_every_route(srv: LiveServer) -> None:
    doc = httpx.get(srv.url + "/openapi.json").json()
    for path in [*(f"/v1/{k}" for k in CALLS), "/v1/batch", "/v1/import", "/admin/stats"]:
        assert path in doc["paths"], path
    assert "/bench/parse-only" not in doc["paths"]


def test_admin_api_needs_the_admin_token(srv: LiveServer) -> None:
    assert httpx.get(srv.url + "/admin/stats").status_code == 401
    ok = httpx.get(srv.url + "/admin/stats", headers={"authorization": "Bearer test-admin-token"})
    assert ok.json()["events"] == 0


def test_unknown_route_uses_the_error_shape(srv: LiveServer) -> None:
    response = httpx.get(srv.url + "/v1/nothing")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_an_extreme_timestamp_is_rejected_and_the_store_still_restarts(
    tmp_path: Path, clock: FrozenClock
) -> None:
    batch = {
        "batch": [
            {"type": "identify", "userId": "u1", "timestamp": "0001-01-01T00:00:00+01:00"},
            {
                "type": "track",
                "userId": "u1",
                "event": "E",
                "timestamp": "0001-01-01T00:00:00Z",
                "sentAt": "9999-01-01T00:00:00Z",
            },
            {"type": "track", "userId": "u1", "event": "E", "messageId": "fine"},
        ]
    }
    with live_server(tmp_path / "d", clock) as first:
        response = post(first, "/v1/batch", batch)
        assert response.status_code == 400
        assert [e["code"] for e in response.json()["errors"]] == ["invalid_timestamp"] * 2
    with live_server(tmp_path / "d", clock) as second:
        assert [m.message_id for m in stored(second)] == ["fine"]


def test_a_non_ascii_admin_token_is_a_401(srv: LiveServer) -> None:
    response = httpx.get(
        srv.url + "/admin/stats", headers={"authorization": "Bearer \u00e9".encode()}
    )
    assert response.status_code == 401


def test_an_oversized_gzip_body_is_refused_before_it_is_read_whole(srv: LiveServer) -> None:
    import os

    noise = os.urandom(600_000)  # incompressible: the compressed body itself is over the limit
    response = post(srv, "/v1/batch", gzip.compress(noise), headers={"content-encoding": "gzip"})
    assert response.status_code == 400
    assert response.json()["code"] == "batch_too_large"
    assert stored(srv) == []
