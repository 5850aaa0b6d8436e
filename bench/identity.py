"""Identity resolution and Profile API benchmark (`python -m bench.identity`).

1. Resolution throughput in-process: every message of a `shoal synth` sample folded into a
   ProfileBook (identity graph + traits + events + accounts), next to a baseline measured in the
   same run: grouping the same messages by userId/anonymousId in a dict (no resolution at all).
2. Profile API under concurrent load from a separate process (bench/getload.py): requests/s and
   p50/p99 for /traits, /external_ids, /events and /metadata of random profiles, next to a
   trivial route on the same server (the HTTP floor).
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import orjson

from shoal.profiles.book import ProfileBook
from shoal.spec.importer import read_messages
from shoal.synth import SynthConfig, write_file

END = datetime(2026, 11, 1, tzinfo=UTC)


def _machine() -> str:
    cpu = "unknown CPU"
    with open("/proc/cpuinfo") as handle:
        for line in handle:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"


def resolution(sample: Path) -> dict[str, object]:
    messages = list(read_messages(sample, received_at=END))
    messages.sort(key=lambda m: (m.timestamp, m.received_at, m.message_id))
    started = time.perf_counter()
    groups: dict[str, list[int]] = {}
    for i, m in enumerate(messages):
        groups.setdefault(m.user_id or f"anon:{m.anonymous_id}", []).append(i)
    baseline = time.perf_counter() - started
    book = ProfileBook()
    started = time.perf_counter()
    for i, message in enumerate(messages):
        book.apply(message, i)
    elapsed = time.perf_counter() - started
    return {
        "events": len(messages),
        "profiles": len(book.users),
        "accounts": len(book.accounts),
        "merges": len(book.graph.merges),
        "events_per_s": round(len(messages) / elapsed),
        "baseline_events_per_s": round(len(messages) / baseline),
        "seconds": round(elapsed, 3),
    }


def _wait_for(data: Path, process: subprocess.Popen[bytes]) -> str:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("shoal serve exited")
        info = data / "server.json"
        if info.exists():
            try:
                return str(orjson.loads(info.read_bytes())["url"])
            except (ValueError, KeyError):
                pass
        time.sleep(0.1)
    raise SystemExit("server did not start")


def api_load(sample: Path, work: Path, seconds: float, connections: int) -> dict[str, object]:
    data = work / "data"
    shoal = [sys.executable, "-m", "shoal"]
    subprocess.run(
        [*shoal, "import", str(sample), "--data", str(data)],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    keys = orjson.loads(
        subprocess.run(
            [*shoal, "keys", "--data", str(data), "--json"], check=True, capture_output=True
        ).stdout
    )[0]
    users = sorted(
        {
            m.user_id
            for m in read_messages(sample, received_at=END)
            if m.user_id is not None and m.type != "alias"
        }
    )
    prefix = "/v1/spaces/default/collections/users/profiles/user_id:"
    resources = ["traits", "external_ids", "metadata", "links", "events"]
    files: dict[str, Path] = {}
    for resource in [*resources, "mixed"]:
        names = resources if resource == "mixed" else [resource]
        files[resource] = work / f"{resource}.txt"
        files[resource].write_text(
            "\n".join(f"{prefix}{quote(u, safe='')}/{r}" for u in users for r in names)
        )
    floor = work / "floor.txt"
    floor.write_text("/bench/ping\n")
    server = subprocess.Popen(
        [
            *shoal,
            "serve",
            "--data",
            str(data),
            "--port",
            "0",
            "--bench-endpoints",
            "--log-level",
            "warning",
        ]
    )
    try:
        url = _wait_for(data, server)
        results = {}
        for name, file in [("floor", floor), *files.items()]:
            out = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "bench.getload",
                    "--url",
                    url,
                    "--auth",
                    keys["access_token"],
                    "--paths",
                    str(file),
                    "--seconds",
                    str(seconds),
                    "--connections",
                    str(connections),
                ],
                check=True,
                capture_output=True,
            ).stdout
            results[name] = orjson.loads(out)
        return {"users": len(users), **results}
    finally:
        server.terminate()
        server.wait(60)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run")
    parser.add_argument("--no-record", action="store_true", help="do not append to RESULTS.md")
    args = parser.parse_args(argv)
    if args.quick:
        args.users, args.days, args.seconds, args.connections = 200, 7, 1.0, 4
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        sample = work / "sample.parquet"
        write_file(SynthConfig(args.users, args.days, 11, END), sample)
        res = resolution(sample)
        api = api_load(sample, work, args.seconds, args.connections)
    floor = api["floor"]
    assert isinstance(floor, dict)
    rate = int(res["events_per_s"])  # type: ignore[call-overload]
    base = int(res["baseline_events_per_s"])  # type: ignore[call-overload]
    lines = [
        f"## Identity and Profile API — {datetime.now(UTC):%Y-%m-%d} — {_machine()}",
        "",
        f"`python -m bench.identity --users {args.users} --days {args.days} "
        f"--seconds {args.seconds} --connections {args.connections}`",
        "",
        f"Resolution in-process: {res['events']:,} events → {res['profiles']:,} profiles, "
        f"{res['accounts']:,} accounts, {res['merges']:,} merges.",
        "",
        "| measure | Shoal | baseline (same run) | ratio | target |",
        "|---|---|---|---|---|",
        f"| resolution events/s (graph + traits + events + accounts) | {rate:,} | {base:,} "
        f"(dict grouping by id, no resolution) | {rate / base:.3f} | ≥ 100,000 |",
        "",
        f"Profile API, {api['users']:,} users, {args.connections} keep-alive connections from a "
        "separate process; baseline: a no-op route on the same server in the same run.",
        "",
        "| route | requests/s | p50 ms | p99 ms | failures | vs no-op route |",
        "|---|---|---|---|---|---|",
        f"| no-op route (floor) | {floor['requests_per_s']:,} | {floor['p50_ms']} | "
        f"{floor['p99_ms']} | {floor['failures']} | 1.00 |",
    ]
    for name, result in api.items():
        if name in ("floor", "users") or not isinstance(result, dict):
            continue
        ratio = float(result["requests_per_s"]) / float(floor["requests_per_s"])
        lines.append(
            f"| {name} | {result['requests_per_s']:,} | {result['p50_ms']} | "
            f"{result['p99_ms']} | {result['failures']} | {ratio:.2f} |"
        )
    lines += [
        "",
        "Targets: ≥ 2,000 requests/s with p99 < 20 ms. Segment's Profile API allows 100 "
        "requests/s per space.",
        "",
    ]
    report = "\n".join(lines)
    print(report)
    if not args.no_record and not args.quick:
        results = Path(__file__).parent / "RESULTS.md"
        with results.open("a") as handle:
            handle.write("\n" + report)


if __name__ == "__main__":
    main()
