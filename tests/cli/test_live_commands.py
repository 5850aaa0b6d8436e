"""`shoal serve --definitions`, `shoal members`, `shoal changes` (through the server and not),
and `shoal eval --engine realtime`."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
import orjson

from tests.cli.test_data_commands import MESSAGES, shoal, write_jsonl
from tests.support import start_server_process

DEFS = """
definitions:
  - key: buyers
    query: event('Order Completed').count() >= 1
  - key: revenue
    type: trait
    query: event('Order Completed').sum(property('revenue'))
"""
WRITE_KEY = "wk_live_cli"


def test_members_and_changes_through_the_server_then_from_the_file(tmp_path: Path) -> None:
    defs = tmp_path / "defs.yaml"
    defs.write_text(DEFS)
    data = tmp_path / "data"
    server = start_server_process(
        data, env={"SHOAL_DEFINITIONS": str(defs), "SHOAL_WRITE_KEY": WRITE_KEY}
    )
    try:
        follower = FollowChanges(data)
        with httpx.Client(base_url=server.url, auth=(WRITE_KEY, ""), timeout=30) as http:
            assert http.post("/v1/batch", json={"batch": MESSAGES}).status_code == 200
        members = shoal("members", "buyers", "--data", str(data), "--json")
        assert members.returncode == 0, members.stderr
        assert orjson.loads(members.stdout) == {"user_id:u1": True}
        assert "through the server" in members.stderr
        values = shoal("members", "revenue", "--data", str(data), "--json")
        assert orjson.loads(values.stdout) == {"user_id:u1": 5}
        listed = shoal("changes", "--data", str(data))
        assert listed.returncode == 0, listed.stderr
        assert "buyers  user_id:u1  entered  (event t1)" in listed.stdout
        follower.join(30)
        assert follower.lines and orjson.loads(follower.lines[0])["key"] in {"buyers", "revenue"}
        stats = orjson.loads(shoal("stats", "--data", str(data)).stdout)
        assert stats["realtime"]["default"]["definitions"] == 2
        unknown = shoal("members", "nope", "--data", str(data))
        assert unknown.returncode == 2
        assert "error[unknown_definition]" in unknown.stderr
    finally:
        server.stop()
    # No server: read off the change log in the file.
    offline = shoal("members", "buyers", "--data", str(data), "--json")
    assert offline.returncode == 0, offline.stderr
    assert orjson.loads(offline.stdout) == {"user_id:u1": True}
    json_lines = shoal("changes", "buyers", "--data", str(data), "--json")
    assert [orjson.loads(line)["kind"] for line in json_lines.stdout.splitlines()] == ["entered"]
    follow = shoal("changes", "--follow", "--data", str(data))
    assert follow.returncode == 2
    assert "error[no_server]" in follow.stderr


class FollowChanges(threading.Thread):
    """`shoal changes --follow --json --limit 1`… until the first change arrives."""

    def __init__(self, data: Path) -> None:
        super().__init__(daemon=True)
        self.data = data
        self.lines: list[str] = []
        self.start()

    def run(self) -> None:
        import subprocess
        import sys

        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "shoal",
                "changes",
                "--follow",
                "--json",
                "--data",
                str(self.data),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert process.stdout is not None
        line = process.stdout.readline()
        process.kill()
        process.wait(10)
        if line:
            self.lines.append(line)


def test_bad_definitions_file_stops_serve_with_the_location(tmp_path: Path) -> None:
    defs = tmp_path / "defs.yaml"
    defs.write_text("definitions:\n  - key: a\n    query: event('X').count() >= 1 AND\n")
    result = shoal(
        "serve", "--data", str(tmp_path / "data"), "--port", "0", "--definitions", str(defs)
    )
    assert result.returncode == 2
    assert f"error[invalid_definitions] at {defs}: definitions[0].query (`a`)" in result.stderr
    assert not (tmp_path / "data" / "server.json").exists()


def test_eval_realtime_engine(tmp_path: Path) -> None:
    events = write_jsonl(tmp_path / "events.jsonl", MESSAGES)
    args = ["eval", "--events", str(events), "--as-of", "2026-02-01T00:00:00Z"]
    query = "event('Order Completed').sum(property('revenue')) >= 5"
    realtime = shoal(*args, "--engine", "realtime", query)
    reference = shoal(*args, "--engine", "reference", query)
    assert realtime.returncode == 0, realtime.stderr
    assert realtime.stdout == reference.stdout
    assert "user_id:u1" in realtime.stdout
