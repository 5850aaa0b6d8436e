"""End-to-end real-time latency: HTTP ingest → change in the change log, at a steady rate.

``python -m bench.realtime_http`` starts a real ``shoal serve --definitions FILE`` (20 live
definitions over the events it sends), sends ``--rate`` events/s (default 5,000) for
``--seconds`` in 50-event ``/v1/batch`` requests, and follows the change log through the admin
API's long poll in another process. Every event changes a computed trait (a per-user view count),
so every event has a change to wait for; the latency of an event is the time from just before
its request was sent to the moment the follower saw its change (same machine, same clock).

Reported next to the baseline measured in the same run: the HTTP acknowledgement latency of the
same requests (send → 200). Appends a dated section to ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson

from bench.ingest import _wait_for_server
from bench.loadgen import read_response
from bench.machine import machine

RESULTS = Path(__file__).with_name("RESULTS.md")
WRITE_KEY = "wk_bench_realtime_http"

_WINDOWED = [
    "event('Product Viewed').within({d}).count() >= {n}",
    "event('Product Viewed').where(property('price') > {p}).within({d}).count() >= 1",
    "event('Product Viewed').within({d}).sum(property('price')) >= {s}",
]


def definitions() -> str:
    """20 definitions: counts, sums, filters, windows, a trait reader and an audience reader."""
    lines = ["definitions:"]

    def add(key: str, query: str, kind: str = "audience") -> None:
        lines.extend([f"  - key: {key}", f"    type: {kind}", f'    query: "{query}"'])

    add("views", "event('Product Viewed').count()", "trait")
    add("spend_seen", "event('Product Viewed').sum(property('price'))", "trait")
    add("top_category", "event('Product Viewed').mode(property('category'), 1)", "trait")
    add("categories", "event('Product Viewed').unique(property('category')).count()", "trait")
    add("regulars", "trait('views') >= 20")
    add("regular_browsers", "trait('regulars') = 'true' AND trait('categories') >= 3")
    i = 0
    for d in ("10 seconds", "1 minute", "1 hour", "1 day"):
        for template in _WINDOWED:
            if i >= 14:
                break
            add(f"w{i}", template.format(d=d, n=3 + i, p=100 + 20 * i, s=500 + 100 * i))
            i += 1
    return "\n".join(lines) + "\n"


@contextlib.contextmanager
def serve(data: Path, defs: Path, engine_process: str = "auto") -> Iterator[str]:
    log = (data.parent / "server.log").open("wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "shoal",
            "serve",
            "--data",
            str(data),
            "--port",
            "0",
            "--definitions",
            str(defs),
            "--log-level",
            "warning",
            "--engine-process",
            engine_process,
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "SHOAL_WRITE_KEY": WRITE_KEY},
    )
    try:
        yield _wait_for_server(data, proc)
    finally:
        proc.terminate()
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def follow(url: str, token: str, expected: int, out: Any, stop: Any) -> None:
    """Long-polls the change log until ``expected`` causes were seen (or ``stop`` is set), then
    sends {cause: when first seen} through ``out``. Runs in a process of its own, so that
    noticing a change never waits for the sender's interpreter."""
    seen: dict[str, float] = {}
    after = 0
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, headers=headers, timeout=60) as http:
        http.get("/admin/spaces/default/changes", params={"after": 0, "limit": 1})
        out.send("ready")  # the sender starts only now: start-up must not count as latency
        while len(seen) < expected and not stop.is_set():
            response = http.get(
                "/admin/spaces/default/changes",
                params={"after": after, "limit": 10_000, "wait": 1},
            )
            now = time.perf_counter()  # CLOCK_MONOTONIC: comparable across processes
            for change in orjson.loads(response.content)["changes"]:
                after = change["seq"]
                cause = change["cause"]
                if cause is not None and cause not in seen:
                    seen[cause] = now
    out.send(seen)


def bodies(rate: int, seconds: float, batch: int) -> list[tuple[list[str], bytes]]:
    """Every request's messageIds and body, encoded before the clock starts."""
    out = []
    for n in range(int(rate * seconds) // batch):
        ids = [f"b{n}-{k}" for k in range(batch)]
        body = orjson.dumps(
            {
                "batch": [
                    {
                        "type": "track",
                        "event": "Product Viewed",
                        "userId": f"u{(n * batch + k) % 2000}",
                        "messageId": mid,
                        "properties": {
                            "price": (n * 7 + k * 13) % 400,
                            "category": ("shoes", "hats", "bags", "tops")[k % 4],
                        },
                    }
                    for k, mid in enumerate(ids)
                ]
            }
        )
        out.append((ids, body))
    return out


async def _post(
    pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]], head: bytes, body: bytes
) -> bool:
    reader, writer = await pool.get()
    try:
        writer.write(head % len(body) + body)
        status, _ = await read_response(reader)
        return status.split(b" ", 2)[1:2] == [b"200"]
    finally:
        pool.put_nowait((reader, writer))


async def send(
    url: str, rate: int, seconds: float, batch: int
) -> tuple[dict[str, float], list[float]]:
    """Paced batches over keep-alive connections (a minimal HTTP/1.1 client, as bench.loadgen:
    the sender shares the machine with the server); returns send time per messageId and the
    acknowledgement latencies."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    auth = base64.b64encode(f"{WRITE_KEY}:".encode()).decode()
    head = (
        f"POST /v1/batch HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Basic {auth}\r\n"
        "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
    ).encode()
    requests = bodies(rate, seconds, batch)
    pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for _ in range(64):
        pool.put_nowait(await asyncio.open_connection(host, port))
    sent: dict[str, float] = {}
    acks: list[float] = []

    async def one(ids: list[str], body: bytes) -> None:
        start = time.perf_counter()
        for mid in ids:
            sent[mid] = start
        if not await _post(pool, head, body):
            raise RuntimeError("a batch was refused")
        acks.append(time.perf_counter() - start)

    tasks = []
    interval = batch / rate
    began = time.perf_counter()
    for n, (ids, body) in enumerate(requests):
        delay = began + n * interval - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)  # pacing the load, not waiting for an outcome
        tasks.append(asyncio.create_task(one(ids, body)))
    await asyncio.gather(*tasks)
    while not pool.empty():
        _, writer = pool.get_nowait()
        writer.close()
    return sent, acks


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def run(rate: int, seconds: float, batch: int = 50, engine_process: str = "auto") -> dict[str, Any]:
    expected = int(rate * seconds) // batch * batch
    with tempfile.TemporaryDirectory(prefix="shoal-bench-rt-") as tmp:
        data = Path(tmp) / "data"
        defs = Path(tmp) / "defs.yaml"
        defs.write_text(definitions())
        with serve(data, defs, engine_process) as url:
            token = orjson.loads((data / "server.json").read_bytes())["admin_token"]
            context = multiprocessing.get_context("spawn")
            receive, out = context.Pipe(duplex=False)
            stop = context.Event()
            follower = context.Process(target=follow, args=(url, token, expected, out, stop))
            follower.start()
            if not receive.poll(60) or receive.recv() != "ready":
                raise RuntimeError("the change-log follower did not start")
            began = time.perf_counter()
            sent, acks = asyncio.run(send(url, rate, seconds, batch))
            elapsed = time.perf_counter() - began
            # The tail of the log, bounded: the follower stops once it saw every event.
            if not receive.poll(120):
                stop.set()
            seen: dict[str, float] = receive.recv()
            follower.join(10)
        latencies = [seen[m] - t for m, t in sent.items() if m in seen]
        return {
            "events": len(sent),
            "rate": len(sent) / elapsed,
            "with_change": len(latencies),
            "e2e_p50": pct(latencies, 0.5),
            "e2e_p99": pct(latencies, 0.99),
            "ack_p50": pct(acks, 0.5),
            "ack_p99": pct(acks, 0.99),
        }


_MODES = {"on": "engine process", "off": "engine thread (baseline)"}


def report(results: dict[str, dict[str, Any]], rate: int) -> str:
    """One table: for each engine mode run, the acknowledgement and the change latency."""
    lines = [
        f"### Real-time end to end: HTTP → change log at {rate:,} events/s",
        "",
        f"Machine: {machine(load=True)}. 20 live definitions; every event changes a "
        "computed trait. Modes run one after the other, each on a fresh server.",
        "",
        "| engine | measure | p50 ms | p99 ms | notes |",
        "|---|---|---:|---:|---|",
    ]
    for mode, r in results.items():
        verdict = "met" if r["e2e_p99"] <= 100 else "missed"
        name = _MODES.get(mode, mode)
        lines += [
            f"| {name} | HTTP acknowledgement | {r['ack_p50']:.1f} | {r['ack_p99']:.1f} | "
            f"50-event `/v1/batch`, {r['rate']:,.0f} events/s achieved |",
            f"| {name} | HTTP ingest → change seen in the log | {r['e2e_p50']:.1f} | "
            f"{r['e2e_p99']:.1f} | target p99 ≤ 100 ms: {verdict}; "
            f"{r['e2e_p99'] / max(r['ack_p99'], 1e-9):.1f}× the ack p99; "
            f"{r['with_change']:,} of {r['events']:,} events seen |",
        ]
    if {"on", "off"} <= results.keys():
        ratio = results["off"]["e2e_p99"] / max(results["on"]["e2e_p99"], 1e-9)
        lines += ["", f"Change-log p99, thread over process: {ratio:.2f}×."]
    return "\n".join([*lines, ""])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=5_000, help="events per second to send")
    parser.add_argument("--seconds", type=float, default=20, help="how long to send")
    parser.add_argument(
        "--engine-process",
        choices=("both", "on", "off"),
        default="both",
        help="run the engine in a process of its own, in a thread of the server (the baseline),"
        " or both one after the other [both]",
    )
    parser.add_argument("--no-record", action="store_true", help="do not append to RESULTS.md")
    args = parser.parse_args(argv)
    modes = ["off", "on"] if args.engine_process == "both" else [args.engine_process]
    results = {mode: run(args.rate, args.seconds, engine_process=mode) for mode in modes}
    text = report(results, args.rate)
    print(text)
    if not args.no_record:
        with RESULTS.open("a") as fh:
            fh.write("\n" + text)


if __name__ == "__main__":
    main()
