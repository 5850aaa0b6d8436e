"""Keyset cursors for external_ids and links; every Profile API error in Segment's shape."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from shoal.clock import FrozenClock
from tests.api.test_profiles import SCENARIO, at, get
from tests.support import LiveServer, live_server


@pytest.fixture
def srv(tmp_path: Path, clock: FrozenClock) -> Iterator[LiveServer]:
    with live_server(tmp_path / "data", clock) as server:
        send(server, SCENARIO)
        yield server


def send(srv: LiveServer, batch: list[dict[str, Any]]) -> None:
    response = httpx.post(
        srv.url + "/v1/batch", content=orjson.dumps({"batch": batch}), auth=(srv.write_key, "")
    )
    assert response.status_code == 200, response.text


def walk(
    srv: LiveServer, path: str, between: list[dict[str, Any]], **params: Any
) -> list[dict[str, Any]]:
    """Every item of a walk, sending ``between`` after the first page."""
    seen: list[dict[str, Any]] = []
    while True:
        body = get(srv, path, **params).json()
        seen += body["data"]
        if not body["cursor"]["has_more"]:
            return seen
        if between:
            send(srv, between)
            between = []
        params = {**params, "next": body["cursor"]["next"]}


def ids(items: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(i["type"], i["id"]) for i in items]


def test_external_ids_walk_neither_repeats_nor_skips_when_an_earlier_id_appears(
    srv: LiveServer,
) -> None:
    path = "users/profiles/user_id:u1/external_ids"
    before = ids(get(srv, path, limit=100).json()["data"])
    # After page one (user_id, email ada@), a new email sorts before ada@: an offset cursor
    # would serve ada@ again.
    new = {"type": "identify", "userId": "u1", "traits": {"email": "aaa@x.io"}}
    walked = ids(walk(srv, path, [new], limit=2))
    assert len(walked) == len(set(walked))
    assert walked == before
    assert ("email", "aaa@x.io") in ids(get(srv, path, limit=100).json()["data"])
    include = ids(walk(srv, path, [], limit=1, include="anonymous_id"))
    assert include == [("anonymous_id", a) for a in ("a1", "a2", "a3")]


def user_of(link: dict[str, Any]) -> str:
    return str(next(i["id"] for i in link["external_ids"] if i["type"] == "user_id"))


def test_links_walk_neither_repeats_nor_skips_when_an_earlier_link_appears(
    srv: LiveServer,
) -> None:
    # acme's users: u1 (day 5 01:00), u2 (day 5 02:00). A late group call from day 4 links u3
    # first in order.
    late = {"type": "group", "userId": "u3", "groupId": "acme", "timestamp": at(4)}
    walked = [
        user_of(link)
        for link in walk(srv, "accounts/profiles/group_id:acme/links", [late], limit=1)
    ]
    assert walked == ["u1", "u2"]
    accounts = get(srv, "accounts/profiles/group_id:acme/links").json()["data"]
    assert [user_of(link) for link in accounts] == ["u3", "u1", "u2"]
    # The user side: acme (day 5 01:00), globex (03:00); initech arrives dated day 2.
    late = {"type": "group", "userId": "u1", "groupId": "initech", "timestamp": at(2)}
    walked = [
        link["external_ids"][0]["id"]
        for link in walk(srv, "users/profiles/user_id:u1/links", [late], limit=1)
    ]
    assert walked == ["acme", "globex"]


@pytest.mark.parametrize(
    ("path", "token"),
    [
        # A links cursor is no external_ids cursor, and the other way round.
        ("users/profiles/user_id:u1/external_ids", ["l", 1, "acme"]),
        ("users/profiles/user_id:u1/links", ["i", "email", "ada@x.io"]),
        ("users/profiles/user_id:u1/links", ["l", "1", "acme"]),
        ("users/profiles/user_id:u1/external_ids", "o:2"),  # the old offset cursors
        ("users/profiles/user_id:u1/links", "o:2"),
    ],
)
def test_foreign_cursors_are_refused(srv: LiveServer, path: str, token: Any) -> None:
    raw = token.encode() if isinstance(token, str) else orjson.dumps(token)
    response = get(srv, path, next=base64.urlsafe_b64encode(raw).decode())
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    assert response.headers["request-id"]


def test_a_value_with_an_encoded_slash_finds_its_profile(srv: LiveServer) -> None:
    send(srv, [{"type": "identify", "userId": "team/7", "traits": {"plan": "pro"}}])
    base = f"{srv.url}/v1/spaces/default/collections/users/profiles"
    auth = (srv.access_token, "")
    traits = httpx.get(f"{base}/user_id:team%2F7/traits", auth=auth)
    assert traits.status_code == 200, traits.text
    assert traits.json()["traits"] == {"plan": "pro"}
    assert traits.json()["cursor"]["url"].endswith("/user_id:team%2F7/traits")
    assert (
        httpx.get(f"{base}/user_id:team%2F7/external_ids", auth=auth).json()["data"][0]["id"]
        == "team/7"
    )
    # A bare slash is no part of a value: Segment requires it encoded.
    bare = httpx.get(f"{base}/user_id:team/7/traits", auth=auth)
    assert bare.status_code == 404
    assert bare.json() == {"error": {"code": "not_found", "message": "Profile was not found."}}
    assert bare.headers["request-id"]
    deleted = httpx.delete(f"{base}/user_id:team%2F7", auth=auth)
    assert deleted.status_code == 200, deleted.text
    assert httpx.get(f"{base}/user_id:team%2F7/traits", auth=auth).status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "params", "status", "code"),
    [
        ("GET", "users/profiles/user_id:u%2F1/traits", {}, 404, "not_found"),
        ("GET", "users/profiles/user_id:u1%2Fx/events", {}, 404, "not_found"),
        ("GET", "users/profiles/user_id:u1/properties", {}, 404, "not_found"),
        ("GET", "users/profiles/user_id:u1", {}, 404, "not_found"),
        ("POST", "users/profiles/user_id:u1/traits", {}, 404, "not_found"),
        ("GET", "users/profiles/user_id:u1/traits/extra", {}, 404, "not_found"),
        ("DELETE", "users/profiles/user_id:u1", {"suppress": "maybe"}, 400, "validation_error"),
        ("DELETE", "users/profiles/user_id:u1", {"suppress": ""}, 400, "validation_error"),
        ("DELETE", "users/profiles/user_id:nobody", {"suppress": "yes"}, 404, "not_found"),
    ],
)
def test_every_error_has_the_profile_api_shape_and_a_request_id(
    srv: LiveServer, method: str, path: str, params: dict[str, Any], status: int, code: str
) -> None:
    response = httpx.request(
        method,
        f"{srv.url}/v1/spaces/default/collections/{path}",
        params=params,
        auth=(srv.access_token, ""),
    )
    assert response.status_code == status, response.text
    body = response.json()
    assert list(body) == ["error"] and body["error"]["code"] == code
    assert body["error"]["message"]
    assert response.headers["request-id"]
    # Nothing was deleted by a refused request.
    assert get(srv, "users/profiles/user_id:u1/traits").status_code == 200


def test_suppress_keeps_its_accepted_spellings(srv: LiveServer) -> None:
    url = f"{srv.url}/v1/spaces/default/collections/users/profiles/user_id:u2"
    response = httpx.delete(url, params={"suppress": "TRUE"}, auth=(srv.access_token, ""))
    assert response.status_code == 200, response.text
    assert response.json()["deleted"]["suppressed"] is True


def test_openapi_documents_suppress_and_the_identifier(srv: LiveServer) -> None:
    paths = httpx.get(srv.url + "/openapi.json").json()["paths"]
    prefix = "/v1/spaces/{space}/collections/{collection}/profiles/{identifier}"
    params = {p["name"]: p for p in paths[prefix]["delete"]["parameters"]}
    assert params["suppress"]["schema"]["type"] == "boolean"
    assert params["identifier"]["in"] == "path"
    assert not any(p.startswith("/v1/spaces/{rest") for p in paths)
