"""`shoal synth`: determinism, coverage of the behaviours audiences need, and the file contract."""

from __future__ import annotations

import gzip
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from shoal.cli import app
from shoal.spec.importer import read_messages
from shoal.synth import SynthConfig, default_end, write_file

END = datetime(2026, 11, 28, tzinfo=UTC)
CONFIG = SynthConfig(users=400, days=30, seed=11, end=END)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("synth")
    out = {ext: root / f"data.{ext}" for ext in ("jsonl", "parquet", "jsonl.gz")}
    for path in out.values():
        write_file(CONFIG, path)
    return out


@pytest.fixture(scope="module")
def messages(files: dict[str, Path]) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in files["jsonl"].read_bytes().splitlines()]


def ts(msg: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(msg["timestamp"].replace("Z", "+00:00"))


def test_same_arguments_give_identical_bytes(files: dict[str, Path], tmp_path: Path) -> None:
    for ext, first in files.items():
        again = tmp_path / f"again.{ext}"
        write_file(CONFIG, again)
        assert again.read_bytes() == first.read_bytes(), ext


def test_other_seed_or_end_gives_other_data(files: dict[str, Path], tmp_path: Path) -> None:
    other_seed = tmp_path / "seed.jsonl"
    write_file(SynthConfig(users=400, days=30, seed=12, end=END), other_seed)
    assert other_seed.read_bytes() != files["jsonl"].read_bytes()
    other_end = tmp_path / "end.jsonl"
    write_file(SynthConfig(users=400, days=30, seed=11, end=END + timedelta(days=1)), other_end)
    assert other_end.read_bytes() != files["jsonl"].read_bytes()


def test_gzip_holds_the_same_lines(files: dict[str, Path]) -> None:
    assert gzip.decompress(files["jsonl.gz"].read_bytes()) == files["jsonl"].read_bytes()


def test_every_type_and_event_appears(messages: list[dict[str, Any]]) -> None:
    types = {m["type"] for m in messages}
    assert types == {"identify", "alias", "group", "page", "screen", "track"}
    events = {m["event"] for m in messages if m["type"] == "track"}
    assert events == {
        "Signed Up", "Logged In", "Product Viewed", "Product Added", "Checkout Started",
        "Order Completed", "Order Refunded",
    }  # fmt: skip


def test_required_fields_per_type(messages: list[dict[str, Any]]) -> None:
    ids = [m["messageId"] for m in messages]
    assert len(set(ids)) == len(ids)
    for m in messages:
        assert "sentAt" not in m and "receivedAt" not in m
        assert m["context"]["library"]["name"]
        assert m.get("userId") or m.get("anonymousId")
        kind = m["type"]
        if kind == "track":
            assert m["event"] and isinstance(m["properties"], dict)
        elif kind == "identify":
            assert m["userId"] and m["anonymousId"]
            assert {"email", "name", "plan", "created_at"} <= m["traits"].keys()
        elif kind == "group":
            assert m["groupId"] and m["userId"]
            assert {"name", "plan", "industry", "employees"} <= m["traits"].keys()
            assert m["traits"]["plan"] in {"free", "pro", "business", "enterprise"}
        elif kind == "alias":
            assert m["userId"] and m["previousId"]
        elif kind == "page":
            assert m["name"] and {"url", "path"} <= m["properties"].keys()
        elif kind == "screen":
            device = m["context"]["device"]
            assert m["name"] and device["type"] in {"ios", "android"} and device["advertisingId"]


def test_timestamps_in_range_and_sorted(messages: list[dict[str, Any]]) -> None:
    times = [ts(m) for m in messages]
    assert all(m["timestamp"].endswith("Z") for m in messages)
    assert times == sorted(times)
    assert END - timedelta(days=30) <= times[0] and times[-1] < END


def test_anonymous_browsing_then_identify(messages: list[dict[str, Any]]) -> None:
    anonymous_first: dict[str, datetime] = {}
    for m in messages:
        if "userId" not in m and "anonymousId" in m:
            anonymous_first.setdefault(m["anonymousId"], ts(m))
    journeys = [
        m
        for m in messages
        if m["type"] == "identify" and anonymous_first.get(m["anonymousId"], END) < ts(m)
    ]
    assert len(journeys) >= 10
    never = set(anonymous_first) - {m.get("anonymousId") for m in messages if "userId" in m}
    assert never, "some visitors never identify"


def test_users_in_several_accounts(messages: list[dict[str, Any]]) -> None:
    accounts: dict[str, set[str]] = defaultdict(set)
    for m in messages:
        if m["type"] == "group":
            accounts[m["userId"]].add(m["groupId"])
    assert sum(len(a) > 1 for a in accounts.values()) >= 2
    members: dict[str, int] = defaultdict(int)
    for groups in accounts.values():
        for g in groups:
            members[g] += 1
    assert max(members.values()) >= 3


def test_abandoned_carts_and_prices(messages: list[dict[str, Any]]) -> None:
    ordered: set[tuple[str, str]] = set()
    for m in messages:
        if m.get("event") == "Order Completed":
            props = m["properties"]
            assert props["revenue"] == props["total"] > 0 and props["currency"] == "USD"
            ordered |= {(m["userId"], p["product_id"]) for p in props["products"]}
    added = [m for m in messages if m.get("event") == "Product Added"]
    abandoned = [
        m for m in added if (m.get("userId"), m["properties"]["product_id"]) not in ordered
    ]
    assert len(abandoned) >= 20 and len(abandoned) < len(added)
    views = [m["properties"] for m in messages if m.get("event") == "Product Viewed"]
    prices = [float(p["price"]) for p in views]
    assert min(prices) < 100 < max(prices)
    assert any(isinstance(p["price"], str) for p in views)
    assert sum(isinstance(p["price"], float) for p in views) > 0.9 * len(views)


def test_parquet_and_jsonl_describe_the_same_messages(
    files: dict[str, Path], messages: list[dict[str, Any]]
) -> None:
    table = pq.read_table(files["parquet"])
    assert str(table.schema.field("timestamp").type) == "timestamp[us, tz=UTC]"
    rows = table.to_pylist()
    assert len(rows) == len(messages)
    for row, msg in zip(rows, messages, strict=True):
        decoded = {}
        for key, value in row.items():
            if value is None:
                continue
            if key in ("properties", "traits", "context", "integrations"):
                value = orjson.loads(value)
            decoded[key] = value
        assert decoded.pop("timestamp") == ts(msg)
        assert decoded == {k: v for k, v in msg.items() if k != "timestamp"}


def test_files_pass_the_importer_rules(files: dict[str, Path], messages: list[Any]) -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    for ext in ("jsonl", "parquet"):
        assert sum(1 for _ in read_messages(files[ext], received_at=now)) == len(messages)


def test_default_end_is_todays_midnight_utc() -> None:
    assert default_end(datetime(2026, 11, 28, 15, 7, tzinfo=UTC)) == END


def test_cli_writes_the_file_and_rejects_unknown_extensions(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "cli.jsonl"
    args = ["synth", "--users", "20", "--days", "3", "--seed", "1", "--end", "2026-11-28"]
    result = runner.invoke(app, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    lines = out.read_bytes().splitlines()
    assert lines and "wrote" in result.output
    assert all(orjson.loads(line)["timestamp"] < "2026-11-28" for line in lines)
    bad = runner.invoke(app, [*args, "--out", str(tmp_path / "x.csv")])
    assert bad.exit_code == 2


def test_tiny_runs_work(tmp_path: Path) -> None:
    for users, days in ((1, 1), (2, 1), (3, 2)):
        path = tmp_path / f"tiny{users}.parquet"
        rows = write_file(SynthConfig(users=users, days=days, seed=5, end=END), path)
        assert pq.read_metadata(path).num_rows == rows > 0


def test_at_risk_accounts_go_quiet(tmp_path: Path) -> None:
    path = tmp_path / "long.parquet"
    write_file(SynthConfig(users=900, days=90, seed=2, end=END), path)
    rows = pq.read_table(path, columns=["type", "userId", "groupId", "timestamp"]).to_pylist()
    last_seen: dict[str, datetime] = {}
    members: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        if row["userId"]:
            last_seen[row["userId"]] = row["timestamp"]
        if row["type"] == "group":
            members[row["groupId"]].add(row["userId"])
    recent = END - timedelta(days=30)
    quiet = [g for g, users in members.items() if all(last_seen[u] < recent for u in users)]
    assert 0 < len(quiet) < len(members)


def test_cli_rejects_a_bad_end(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["synth", "--end", "soon", "--out", str(tmp_path / "x.jsonl")])
    assert result.exit_code == 2
    assert "ISO-8601" in result.output
