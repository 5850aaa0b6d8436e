"""`shoal keys | spaces | stats | import`, with and without a running server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.support import start_server_process


def shoal(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [sys.executable, "-m", "shoal", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
        check=False,
    )


def write_jsonl(path: Path, messages: list[dict[str, object]], extra: str = "") -> Path:
    path.write_text("\n".join(orjson.dumps(m).decode() for m in messages) + "\n" + extra)
    return path


MESSAGES: list[dict[str, object]] = [
    {
        "type": "identify",
        "userId": "u1",
        "messageId": "i1",
        "timestamp": "2026-01-01T00:00:00Z",
        "traits": {"email": "a@x.io"},
    },
    {
        "type": "track",
        "userId": "u1",
        "event": "Order Completed",
        "messageId": "t1",
        "timestamp": "2026-01-02T00:00:00Z",
        "properties": {"revenue": 5},
    },
    {
        "type": "group",
        "userId": "u1",
        "groupId": "g1",
        "messageId": "g1",
        "timestamp": "2026-01-03T00:00:00Z",
        "traits": {"plan": "pro"},
    },
    {
        "type": "page",
        "anonymousId": "a9",
        "name": "Home",
        "messageId": "p1",
        "timestamp": "2026-01-03T00:00:00Z",
    },
]


def test_keys_use_env_credentials_on_first_use(tmp_path: Path) -> None:
    env = {"SHOAL_WRITE_KEY": "wk_fixed", "SHOAL_ACCESS_TOKEN": "at_fixed"}
    out = shoal("keys", "--data", str(tmp_path / "d"), "--json", env=env)
    assert out.returncode == 0, out.stderr
    assert orjson.loads(out.stdout) == [
        {
            **orjson.loads(out.stdout)[0],
            "space": "default",
            "write_key": "wk_fixed",
            "access_token": "at_fixed",
        }
    ]


def test_spaces_create_and_reject_duplicates(tmp_path: Path) -> None:
    data = str(tmp_path / "d")
    created = shoal("spaces", "create", "shop", "--data", data)
    assert created.returncode == 0, created.stderr
    assert orjson.loads(created.stdout)["space"] == "shop"
    again = shoal("spaces", "create", "shop", "--data", data)
    assert again.returncode == 2
    assert again.stderr.startswith("error[space_exists] at name:")
    bad = shoal("spaces", "create", "Bad Name", "--data", data)
    assert bad.returncode == 2
    assert "invalid_space_name" in bad.stderr
    listed = orjson.loads(shoal("spaces", "list", "--data", data).stdout)
    assert [s["space"] for s in listed] == ["default", "shop"]
    assert len({s["write_key"] for s in listed}) == 2


def test_import_jsonl_then_stats_then_reimport_is_deduplicated(tmp_path: Path) -> None:
    data = str(tmp_path / "d")
    file = write_jsonl(
        tmp_path / "in.jsonl", MESSAGES, extra='{"type": "track", "userId": "u"}\n{oops\n'
    )
    out = shoal("import", str(file), "--data", data)
    assert out.returncode == 0, out.stderr
    report = orjson.loads(out.stdout)
    assert (report["accepted"], report["duplicates"], report["rejected"]) == (4, 0, 2)
    assert [(e["code"], e["location"]) for e in report["errors"]] == [
        ("missing_event", f"{file}:5.event"),
        ("invalid_json", f"{file}:6"),
    ]
    stats = orjson.loads(shoal("stats", "--data", data).stdout)
    assert (stats["events"], stats["profiles"], stats["accounts"]) == (4, 2, 1)
    again = orjson.loads(shoal("import", str(file), "--data", data).stdout)
    assert (again["accepted"], again["duplicates"]) == (0, 4)


def test_import_parquet(tmp_path: Path) -> None:
    data = str(tmp_path / "d")
    rows = [
        {k: (orjson.dumps(v).decode() if isinstance(v, dict) else v) for k, v in m.items()}
        for m in MESSAGES
    ]
    columns = sorted({k for r in rows for k in r})
    table = pa.table({c: pa.array([r.get(c) for r in rows], type=pa.string()) for c in columns})
    pq.write_table(table, tmp_path / "in.parquet")
    out = shoal("import", str(tmp_path / "in.parquet"), "--data", data)
    assert out.returncode == 0, out.stderr
    assert orjson.loads(out.stdout)["accepted"] == 4
    assert orjson.loads(shoal("stats", "--data", data).stdout)["events"] == 4


def test_commands_go_through_a_running_server(tmp_path: Path) -> None:
    data = tmp_path / "d"
    server = start_server_process(data)
    try:
        file = write_jsonl(tmp_path / "in.jsonl", MESSAGES)
        out = shoal("import", str(file), "--data", str(data))
        assert out.returncode == 0, out.stderr
        assert "through the server" in out.stderr
        assert orjson.loads(out.stdout)["accepted"] == 4
        stats = shoal("stats", "--data", str(data))
        assert stats.returncode == 0, stats.stderr
        assert orjson.loads(stats.stdout)["events"] == 4
        created = shoal("spaces", "create", "eu", "--data", str(data))
        assert orjson.loads(created.stdout)["space"] == "eu"
        busy = shoal("serve", "--data", str(data), "--port", "0")
        assert busy.returncode == 2
        assert "error[store_busy]" in busy.stderr
    finally:
        server.stop()
    assert orjson.loads(shoal("stats", "--data", str(data)).stdout)["events"] == 4
    assert not (data / "server.json").exists()


def test_import_of_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    out = shoal("import", str(tmp_path / "nope.jsonl"), "--data", str(tmp_path / "d"))
    assert out.returncode == 2
    assert (
        out.stderr.strip()
        == f"error[invalid_input_file] at {tmp_path / 'nope.jsonl'}: no such file"
    )


def test_stats_for_an_unknown_space(tmp_path: Path) -> None:
    out = shoal("stats", "--data", str(tmp_path / "d"), "--space", "nope")
    assert out.returncode == 2
    assert "unknown_space" in out.stderr


@pytest.mark.parametrize(
    "command",
    [[], ["serve"], ["keys"], ["stats"], ["import"], ["spaces"], ["spaces", "create"]],
)
def test_every_command_has_help(command: list[str]) -> None:
    out = shoal(*command, "--help")
    assert out.returncode == 0
    assert "Usage:" in out.stdout


def test_send_replays_a_file_through_the_tracking_api(tmp_path: Path) -> None:
    data = tmp_path / "d"
    file = write_jsonl(tmp_path / "in.jsonl", MESSAGES)
    server = start_server_process(data)
    try:
        out = shoal("send", str(file), "--data", str(data), "--batch-size", "3")
        assert out.returncode == 0, out.stderr
        assert orjson.loads(out.stdout)["sent"] == 4
        stats = orjson.loads(shoal("stats", "--data", str(data)).stdout)
        assert stats["events"] == 4
        assert stats["by_type"] == {"group": 1, "identify": 1, "page": 1, "track": 1}
    finally:
        server.stop()


def test_send_without_a_server_says_so(tmp_path: Path) -> None:
    file = write_jsonl(tmp_path / "in.jsonl", MESSAGES)
    out = shoal("send", str(file), "--data", str(tmp_path / "d"))
    assert out.returncode == 2
    assert out.stderr.startswith("error[no_server]")


def test_profile_and_delete_profile_without_a_server(tmp_path: Path) -> None:
    data = str(tmp_path / "d")
    alias = {
        "type": "alias",
        "userId": "u1",
        "previousId": "a9",
        "messageId": "al1",
        "timestamp": "2026-01-04T00:00:00Z",
    }
    file = write_jsonl(tmp_path / "in.jsonl", [*MESSAGES, alias])
    assert shoal("import", str(file), "--data", data).returncode == 0
    out = shoal("profile", "anonymous_id:a9", "--data", data, "--json")
    assert out.returncode == 0, out.stderr
    doc = orjson.loads(out.stdout)
    assert doc["name"] == "user_id:u1"
    assert doc["traits"] == {"email": "a@x.io"}
    assert [a["group_id"] for a in doc["accounts"]] == ["g1"]
    assert {(i["type"], i["id"]) for i in doc["identifiers"]} == {
        ("user_id", "u1"),
        ("email", "a@x.io"),
        ("anonymous_id", "a9"),
    }
    assert [e["message_id"] for e in doc["latest_events"]] == ["p1", "t1"]
    table = shoal("profile", "user_id:u1", "--data", data)
    assert table.returncode == 0
    assert "Traits" in table.stdout and "a@x.io" in table.stdout
    missing = shoal("profile", "user_id:nobody", "--data", data)
    assert (missing.returncode, missing.stderr.split(" ")[0]) == (2, "error[profile_not_found]")
    bad = shoal("profile", "u1", "--data", data)
    assert "invalid_identifier" in bad.stderr
    deleted = shoal("delete-profile", "email:a@x.io", "--data", data, "--yes")
    assert deleted.returncode == 0, deleted.stderr
    assert orjson.loads(deleted.stdout)["events_deleted"] == 5
    stats = orjson.loads(shoal("stats", "--data", data).stdout)
    assert (stats["events"], stats["profiles"]) == (0, 0)


def test_profile_through_a_running_server(tmp_path: Path) -> None:
    data = tmp_path / "d"
    file = write_jsonl(tmp_path / "in.jsonl", MESSAGES)
    assert shoal("import", str(file), "--data", str(data)).returncode == 0
    server = start_server_process(data)
    try:
        out = shoal("profile", "user_id:u1", "--data", str(data), "--json")
        assert out.returncode == 0, out.stderr
        assert "through the server" in out.stderr
        assert orjson.loads(out.stdout)["traits"] == {"email": "a@x.io"}
        gone = shoal("delete-profile", "user_id:u1", "--data", str(data), "--yes", "--suppress")
        assert orjson.loads(gone.stdout)["suppressed"] is True
        assert shoal("profile", "user_id:u1", "--data", str(data)).returncode == 2
    finally:
        server.stop()
