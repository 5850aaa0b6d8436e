"""Identity resolution and Profile API benchmark (`python -m bench.identity`).

1. Resolution throughput in-process: every message of a `shoal synth` sample folded into a
   ProfileBook (identity graph + traits + events + accounts), next to a baseline measured in the
   same run: grouping the same messages by userId/anonymousId in a dict (no resolution at all).
2. Profile API under concurrent load from a separate process (bench/getload.py): requests/s and
   p50/p99 for /traits, /external_ids, /metadata, /links, /events and a mix of them for random
   profiles, next to a trivial route on the same server (the HTTP floor). Load starts once the
   server answers and its recent-events cache is warm (the warm-up time is reported). Then a
   second server on the same data with the cache off (``SHOAL_EVENT_CACHE_MB=0``: every event
   read from the store, as before the cache) serves /events and the mix again, so the cache's
   effect is a same-run ratio.
3. CPU per request inside the app, in-process (ASGI calls, no sockets; ``time.process_time``, so
   other work on the machine does not count): the same routes, and /events with the cache off.
   Requests/s on a shared machine swing with its load; this does not.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import MutableMapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson

from bench.machine import machine
from shoal.api.app import create_app
from shoal.clock import SystemClock
from shoal.config import Settings
from shoal.profiles.book import ProfileBook
from shoal.profiles.service import ProfileService
from shoal.spec.importer import read_messages
from shoal.store.store import Store
from shoal.synth import SynthConfig, write_file

END = datetime(2026, 11, 1, tzinfo=UTC)


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


def _stats(url: str, admin_token: str) -> dict[str, Any]:
    request = urllib.request.Request(
        url + "/admin/stats", headers={"Authorization": f"Bearer {admin_token}"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        body: dict[str, Any] = orjson.loads(response.read())
    return body


def _wait_for(data: Path, process: subprocess.Popen[bytes]) -> tuple[str, str, dict[str, Any]]:
    """URL and admin token of the server once it answers and its recent-events cache is warm,
    and its stats then."""
    deadline = time.monotonic() + 600
    info = data / "server.json"
    url = admin = None
    started = time.monotonic()
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("shoal serve exited")
        if url is None and info.exists():
            try:
                doc = orjson.loads(info.read_bytes())
                url, admin = str(doc["url"]), str(doc["admin_token"])
                started = time.monotonic()
            except (ValueError, KeyError):
                pass
        if url is not None and admin is not None:
            try:
                stats = _stats(url, admin)
            except OSError:
                stats = {}
            if stats.get("recent_events", {}).get("warmed"):
                stats["ready_after_s"] = round(time.monotonic() - started, 1)
                return url, admin, stats
        time.sleep(0.25)
    raise SystemExit("server did not start")


def _load(url: str, token: str, file: Path, seconds: float, connections: int) -> dict[str, Any]:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.getload",
            "--url",
            url,
            "--auth",
            token,
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
    result: dict[str, Any] = orjson.loads(out)
    return result


def _serve(data: Path, shoal: list[str], **env: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
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
        ],
        env={**os.environ, **env},
    )


def api_load(sample: Path, work: Path, seconds: float, connections: int) -> dict[str, Any]:
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
    token = keys["access_token"]
    results: dict[str, Any] = {"users": len(users)}
    server = _serve(data, shoal)
    try:
        url, admin, ready = _wait_for(data, server)
        results["warm"] = {"ready_after_s": ready["ready_after_s"], **ready["recent_events"]}
        for name, file in [("floor", floor), *files.items()]:
            results[name] = _load(url, token, file, seconds, connections)
        results["cache"] = _stats(url, admin)["recent_events"]
    finally:
        server.terminate()
        server.wait(60)
    # The same routes with the cache off: every event read from the store (the old path).
    server = _serve(data, shoal, SHOAL_EVENT_CACHE_MB="0")
    try:
        url, _, _ = _wait_for(data, server)
        for name in ("events", "mixed"):
            results[f"{name}, cache off"] = _load(url, token, files[name], seconds, connections)
    finally:
        server.terminate()
        server.wait(60)
    sample_users = users[: max(1, min(len(users), 3_000))]
    paths = {"no-op route (floor)": ["/bench/ping"] * len(sample_users)}
    paths.update({r: [f"{prefix}{quote(u, safe='')}/{r}" for u in sample_users] for r in resources})
    results["cpu"] = app_cpu(data, paths, 256)
    off = app_cpu(data, {"events": paths["events"]}, 0)
    results["cpu"]["events, cache off"] = off["events"]
    return results


def app_cpu(data: Path, paths: dict[str, list[str]], cache_mb: int) -> dict[str, int]:
    """µs of process CPU per request of each route list, calling the ASGI app directly."""
    store = Store(Settings(data=data, event_cache_mb=cache_mb), SystemClock())
    try:
        service = ProfileService(store)
        app = create_app(service, admin_token="bench", bench_endpoints=True)
        service.warmed.wait(600)
        token = next(s for s in store.spaces() if s.name == "default").access_token
        auth = b"Basic " + base64.b64encode(f"{token}:".encode())

        async def call(path: str) -> None:
            raw, _, query = path.partition("?")
            scope = {
                "type": "http",
                "asgi": {"version": "3.0"},
                "http_version": "1.1",
                "method": "GET",
                "scheme": "http",
                "path": urllib.parse.unquote(raw),
                "raw_path": raw.encode(),
                "query_string": query.encode(),
                "root_path": "",
                "headers": [(b"authorization", auth), (b"host", b"bench")],
                "client": ("127.0.0.1", 1),
                "server": ("bench", 80),
            }
            status: list[int] = []

            async def receive() -> dict[str, Any]:
                return {"type": "http.request", "body": b"", "more_body": False}

            async def send(message: MutableMapping[str, Any]) -> None:
                if message["type"] == "http.response.start":
                    status.append(message["status"])

            await app(scope, receive, send)
            if status != [200]:
                raise SystemExit(f"{path}: {status}")

        async def run() -> dict[str, int]:
            out: dict[str, int] = {}
            for name, route_paths in paths.items():
                started = time.process_time()
                for path in route_paths:
                    await call(path)
                out[name] = round((time.process_time() - started) / len(route_paths) * 1e6)
            return out

        return asyncio.run(run())
    finally:
        store.close()


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
        f"## Identity and Profile API — {datetime.now(UTC):%Y-%m-%d} — {machine()}",
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
    routes = {
        name: result
        for name, result in api.items()
        if name not in ("floor", "users", "warm", "cache", "cpu") and isinstance(result, dict)
    }
    for name, result in routes.items():
        ratio = float(result["requests_per_s"]) / float(floor["requests_per_s"])
        lines.append(
            f"| {name} | {result['requests_per_s']:,} | {result['p50_ms']} | "
            f"{result['p99_ms']} | {result['failures']} | {ratio:.2f} |"
        )
    warm, cache = api["warm"], api["cache"]
    looked_up = cache["hits"] + cache["misses"]
    lines += [
        "",
        "The cache-off rows come from a second server on the same data in the same run with "
        "`SHOAL_EVENT_CACHE_MB=0` (every event read from the store, the path before the cache); "
        "its floor was not measured, so compare them with the cached rows.",
        "",
        f"Recent-events cache: load started {warm['ready_after_s']} s after `server.json` "
        f"appeared, once the warm-up held {warm['events']:,} events "
        f"({warm['bytes'] / 2**20:.0f} MiB of a {warm['budget_bytes'] / 2**20:.0f} MiB budget). "
        f"During the load: {cache['hits']:,} event lookups hit, {cache['misses']:,} missed "
        f"({cache['hits'] / max(1, looked_up):.1%} hits).",
        "",
    ]
    cpu = api["cpu"]
    lines += [
        "App CPU per request, in-process (direct ASGI calls on "
        f"{min(api['users'], 3_000):,} users' paths, `time.process_time`: other work on the "
        "machine does not count; DuckDB's threads do):",
        "",
        "| route | µs CPU / request | vs no-op route |",
        "|---|---|---|",
        *(
            f"| {name} | {us:,} | {us / cpu['no-op route (floor)']:.1f} |"
            for name, us in cpu.items()
        ),
        "",
    ]
    for name in ("events", "mixed"):
        on, off = routes[name], routes[f"{name}, cache off"]
        lines.append(
            f"- {name}: {on['requests_per_s'] / off['requests_per_s']:.1f}× the requests/s "
            f"with the cache as without it; p99 {off['p99_ms']} → {on['p99_ms']} ms."
        )
    lines.append(
        f"- events, CPU per request: {cpu['events, cache off'] / cpu['events']:.0f}× less with "
        f"the cache ({cpu['events, cache off']:,} → {cpu['events']:,} µs)."
    )
    missed = [
        name
        for name, result in routes.items()
        if "cache off" not in name
        and (float(result["requests_per_s"]) < 2_000 or float(result["p99_ms"]) >= 20)
    ]
    lines += [
        "",
        "Targets: ≥ 2,000 requests/s with p99 < 20 ms. Segment's Profile API allows 100 "
        "requests/s per space. "
        + (f"Missed by: {', '.join(missed)}." if missed else "Every route meets them."),
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
