"""Profile API over real HTTP: every route, paging, every error status, isolation, deletion."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from shoal.clock import FrozenClock
from tests.support import LiveServer, live_server


def at(day: int, hour: int = 0) -> str:
    return f"2026-11-{day:02d}T{hour:02d}:00:00Z"


# The scenario: anonymous browsing, sign-up, a second device, then an alias of an old anon id.
SCENARIO: list[dict[str, Any]] = [
    {"type": "page", "anonymousId": "a1", "name": "Home", "timestamp": at(1), "messageId": "e1"},
    {
        "type": "track",
        "anonymousId": "a1",
        "event": "Product Viewed",
        "timestamp": at(1, 1),
        "properties": {"price": 120},
        "messageId": "e2",
    },
    {
        "type": "identify",
        "anonymousId": "a1",
        "userId": "u1",
        "timestamp": at(2),
        "traits": {"email": "ada@x.io", "plan": "pro", "name": "Ada", "address": {"city": "Oslo"}},
        "messageId": "e3",
    },
    {
        "type": "track",
        "userId": "u1",
        "anonymousId": "a2",
        "event": "Order Completed",
        "timestamp": at(3),
        "properties": {"revenue": 120},
        "context": {"device": {"type": "ios", "id": "dev-ios-1"}},
        "messageId": "e4",
    },
    {
        "type": "screen",
        "anonymousId": "a2",
        "name": "Cart",
        "timestamp": at(3, 1),
        "messageId": "e5",
    },
    {
        "type": "track",
        "anonymousId": "a3",
        "event": "Signed Up",
        "timestamp": at(1, 5),
        "messageId": "e6",
    },
    {"type": "alias", "userId": "u1", "previousId": "a3", "timestamp": at(4), "messageId": "e7"},
    {
        "type": "identify",
        "userId": "u1",
        "timestamp": at(5),
        "traits": {"plan": "business", "name": None},
        "messageId": "e8",
    },
    # A late, older identify must not overwrite the newer plan.
    {
        "type": "identify",
        "userId": "u1",
        "timestamp": at(1),
        "traits": {"plan": "free"},
        "messageId": "e9",
    },
    {
        "type": "group",
        "userId": "u1",
        "groupId": "acme",
        "timestamp": at(5, 1),
        "traits": {"plan": "enterprise", "employees": 40},
        "messageId": "e10",
    },
    {"type": "group", "userId": "u2", "groupId": "acme", "timestamp": at(5, 2), "messageId": "e11"},
    {
        "type": "group",
        "userId": "u1",
        "groupId": "globex",
        "timestamp": at(5, 3),
        "messageId": "e12",
    },
]


@pytest.fixture
def srv(tmp_path: Path, clock: FrozenClock) -> Iterator[LiveServer]:
    with live_server(tmp_path / "data", clock) as server:
        response = httpx.post(
            server.url + "/v1/batch",
            content=orjson.dumps({"batch": SCENARIO}),
            auth=(server.write_key, ""),
        )
        assert response.status_code == 200, response.text
        yield server


def get(srv: LiveServer, path: str, token: str | None = "default", **params: Any) -> httpx.Response:
    auth = (srv.access_token if token == "default" else token, "") if token else None
    return httpx.get(f"{srv.url}/v1/spaces/default/collections/{path}", params=params, auth=auth)


def test_one_profile_holds_the_whole_journey(srv: LiveServer) -> None:
    events = get(srv, "users/profiles/user_id:u1/events", limit=100).json()
    assert [e["message_id"] for e in events["data"]] == ["e5", "e4", "e6", "e2", "e1"]
    ids = get(srv, "users/profiles/user_id:u1/external_ids", limit=100).json()["data"]
    assert {(i["type"], i["id"]) for i in ids} == {
        ("user_id", "u1"),
        ("anonymous_id", "a1"),
        ("anonymous_id", "a2"),
        ("anonymous_id", "a3"),
        ("email", "ada@x.io"),
        ("ios.id", "dev-ios-1"),
    }
    # Any identifier finds the same profile.
    for ident in ["anonymous_id:a3", "email:ada@x.io", "ios.id:dev-ios-1", "anonymous_id:a1"]:
        assert (
            get(srv, f"users/profiles/{ident}/events", limit=100).json()["data"] == events["data"]
        )


def test_traits_latest_by_event_time_and_null_removes(srv: LiveServer) -> None:
    body = get(srv, "users/profiles/user_id:u1/traits").json()
    assert body["traits"] == {"address": {"city": "Oslo"}, "email": "ada@x.io", "plan": "business"}
    assert body["cursor"]["has_more"] is False
    verbose = get(srv, "users/profiles/user_id:u1/traits", verbose="true", include="plan").json()
    assert verbose["traits"] == {
        "plan": {"value": "business", "source_id": "default", "updated_at": "2026-11-05T00:00:00Z"}
    }


def test_limit_one_walks_every_trait_through_next(srv: LiveServer) -> None:
    seen: dict[str, Any] = {}
    params: dict[str, Any] = {"limit": 1}
    for _ in range(10):
        body = get(srv, "users/profiles/user_id:u1/traits", **params).json()
        assert len(body["traits"]) == 1
        seen.update(body["traits"])
        if not body["cursor"]["has_more"]:
            break
        params["next"] = body["cursor"]["next"]
    assert list(seen) == ["address", "email", "plan"]


def test_events_filters_sort_and_paging(srv: LiveServer) -> None:
    path = "users/profiles/user_id:u1/events"
    include = get(srv, path, include="Order Completed,Signed Up").json()["data"]
    assert [e["event"] for e in include] == ["Order Completed", "Signed Up"]
    exclude = get(srv, path, exclude="Page Viewed,Screen Viewed").json()["data"]
    assert [e["message_id"] for e in exclude] == ["e4", "e6", "e2"]
    window = get(srv, path, start="2026-11-01T00:30:00Z", end="2026-11-03T00:30:00Z").json()
    assert [e["message_id"] for e in window["data"]] == ["e4", "e6", "e2"]
    ascending = get(srv, path, sort="asc").json()["data"]
    assert [e["message_id"] for e in ascending] == ["e1", "e2", "e6", "e4", "e5"]
    walked, params = [], {"limit": 2}
    while True:
        page = get(srv, path, **params).json()
        walked += [e["message_id"] for e in page["data"]]
        if not page["cursor"]["has_more"]:
            break
        params["next"] = page["cursor"]["next"]
    assert walked == ["e5", "e4", "e6", "e2", "e1"]
    page_view = ascending[0]
    assert (page_view["type"], page_view["event"]) == ("track", "Page Viewed")
    assert page_view["properties"] == {"name": "Home", "page_name": "Home"}
    assert page_view["related"]["users"]
    assert page_view["external_ids"] == [
        {"collection": "users", "type": "anonymous_id", "id": "a1", "encoding": "none"}
    ]


def test_metadata(srv: LiveServer) -> None:
    meta = get(srv, "users/profiles/user_id:u1/metadata").json()["metadata"]
    assert meta["created_at"] == "2026-11-01T00:00:00Z"
    assert meta["first_message_id"] == "e1"
    assert meta["updated_at"] == "2026-11-05T03:00:00Z"
    assert meta["last_message_id"] == "e12"
    assert meta["expires_at"] is None


def test_links_both_ways_and_account_traits(srv: LiveServer) -> None:
    links = get(srv, "users/profiles/user_id:u1/links").json()["data"]
    assert [(link["to_collection"], link["external_ids"][0]["id"]) for link in links] == [
        ("accounts", "acme"),
        ("accounts", "globex"),
    ]
    users = get(srv, "accounts/profiles/group_id:acme/links").json()["data"]
    assert sorted(
        next(i["id"] for i in link["external_ids"] if i["type"] == "user_id") for link in users
    ) == ["u1", "u2"]
    traits = get(srv, "accounts/profiles/group_id:acme/traits").json()["traits"]
    assert traits == {"employees": 40, "plan": "enterprise"}
    first = get(srv, "accounts/profiles/group_id:acme/links", limit=1).json()
    assert first["cursor"]["has_more"] is True
    second = get(
        srv, "accounts/profiles/group_id:acme/links", limit=1, next=first["cursor"]["next"]
    )
    assert second.json()["cursor"]["has_more"] is False


@pytest.mark.parametrize(
    ("path", "params", "token", "status", "code"),
    [
        ("users/profiles/user_id:u1/traits", {}, None, 401, "authentication_error"),
        ("users/profiles/user_id:u1/traits", {}, "wrong", 401, "authentication_error"),
        ("users/profiles/user_id:nobody/traits", {}, "default", 404, "not_found"),
        ("users/profiles/u1/traits", {}, "default", 404, "not_found"),
        ("users/profiles/email:ADA@x.io/traits", {}, "default", 404, "not_found"),
        ("people/profiles/user_id:u1/traits", {}, "default", 400, "validation_error"),
        ("users/profiles/user_id:u1/traits", {"limit": 0}, "default", 400, "validation_error"),
        ("users/profiles/user_id:u1/traits", {"limit": 201}, "default", 400, "validation_error"),
        ("users/profiles/user_id:u1/traits", {"limit": "x"}, "default", 400, "validation_error"),
        ("users/profiles/user_id:u1/traits", {"class": "x"}, "default", 400, "validation_error"),
        (
            "users/profiles/user_id:u1/traits",
            {"verbose": "yes"},
            "default",
            400,
            "validation_error",
        ),
        ("users/profiles/user_id:u1/events", {"limit": 101}, "default", 400, "validation_error"),
        ("users/profiles/user_id:u1/events", {"sort": "up"}, "default", 400, "validation_error"),
        (
            "users/profiles/user_id:u1/events",
            {"start": "monday"},
            "default",
            400,
            "validation_error",
        ),
        ("users/profiles/user_id:u1/events", {"next": "%%%"}, "default", 400, "validation_error"),
        (
            "users/profiles/user_id:u1/external_ids",
            {"next": "bm9wZQ=="},
            "default",
            400,
            "validation_error",
        ),
        ("accounts/profiles/group_id:acme/events", {}, "default", 400, "validation_error"),
        ("accounts/profiles/user_id:u1/traits", {}, "default", 404, "not_found"),
    ],
)
def test_errors(
    srv: LiveServer, path: str, params: dict[str, Any], token: str | None, status: int, code: str
) -> None:
    response = get(srv, path, token=token, **params)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]
    assert response.headers["request-id"]


def test_other_space_token_is_forbidden_and_data_is_isolated(srv: LiveServer) -> None:
    other = srv.store.create_space("eu")
    response = get(srv, "users/profiles/user_id:u1/traits", token=other.access_token)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    httpx.post(
        srv.url + "/v1/identify",
        auth=(other.write_key, ""),
        content=orjson.dumps({"userId": "u1", "traits": {"plan": "eu-only"}}),
    )
    mine = get(srv, "users/profiles/user_id:u1/traits").json()["traits"]
    assert mine["plan"] == "business"
    theirs = httpx.get(
        f"{srv.url}/v1/spaces/eu/collections/users/profiles/user_id:u1/traits",
        auth=(other.access_token, ""),
    ).json()["traits"]
    assert theirs == {"plan": "eu-only"}


def test_url_encoded_values(srv: LiveServer) -> None:
    httpx.post(
        srv.url + "/v1/identify",
        auth=(srv.write_key, ""),
        content=orjson.dumps({"userId": "u+1@x", "traits": {"a": 1}}),
    )
    response = httpx.get(
        f"{srv.url}/v1/spaces/default/collections/users/profiles/user_id:u%2B1%40x/traits",
        auth=(srv.access_token, ""),
    )
    assert response.json()["traits"] == {"a": 1}


def test_delete_profile_with_suppression(srv: LiveServer) -> None:
    url = f"{srv.url}/v1/spaces/default/collections/users/profiles/email:ada@x.io"
    response = httpx.delete(url, params={"suppress": "true"}, auth=(srv.access_token, ""))
    assert response.status_code == 200, response.text
    deleted = response.json()["deleted"]
    assert deleted["suppressed"] is True
    assert {i["id"] for i in deleted["identifiers"]} >= {"u1", "a1", "a2", "a3", "ada@x.io"}
    for ident in ["user_id:u1", "anonymous_id:a1", "email:ada@x.io"]:
        assert get(srv, f"users/profiles/{ident}/traits").status_code == 404
    remaining = {m.message_id for m in srv.store.read_messages("default")}
    assert remaining == {"e11"}  # only u2's group call is left
    assert (
        get(srv, "accounts/profiles/group_id:acme/links").json()["data"][0]["external_ids"][0]["id"]
        == "u2"
    )
    # New events with a suppressed identifier are acknowledged but dropped.
    ok = httpx.post(
        srv.url + "/v1/track",
        auth=(srv.write_key, ""),
        content=orjson.dumps({"anonymousId": "a2", "event": "Back"}),
    )
    assert ok.status_code == 200
    assert get(srv, "users/profiles/anonymous_id:a2/traits").status_code == 404
    assert {m.message_id for m in srv.store.read_messages("default")} == {"e11"}
    again = httpx.delete(url, auth=(srv.access_token, ""))
    assert again.status_code == 404


def test_profiles_are_rebuilt_after_a_restart(tmp_path: Path, clock: FrozenClock) -> None:
    with live_server(tmp_path / "d", clock) as first:
        httpx.post(
            first.url + "/v1/batch",
            content=orjson.dumps({"batch": SCENARIO}),
            auth=(first.write_key, ""),
        )
        before = get(first, "users/profiles/user_id:u1/external_ids", limit=50).json()
    with live_server(tmp_path / "d", clock) as second:
        assert get(second, "users/profiles/user_id:u1/external_ids", limit=50).json() == before
        stats = second.service.stats()
        assert (stats["profiles"], stats["accounts"]) == (2, 2)


def test_openapi_covers_the_profile_api(srv: LiveServer) -> None:
    paths = httpx.get(srv.url + "/openapi.json").json()["paths"]
    prefix = "/v1/spaces/{space}/collections/{collection}/profiles/{identifier}"
    for resource in ["traits", "external_ids", "events", "metadata", "links"]:
        assert f"{prefix}/{resource}" in paths
    assert "delete" in paths[prefix]
