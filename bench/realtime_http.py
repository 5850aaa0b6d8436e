"""End-to-end real-time latency: HTTP ingest → change in the change log, at a steady rate.

``python -m bench.realtime_http`` starts a real ``shoal serve --definitions FILE`` (20 live
definitions over the events it sends), sends ``--rate`` events/s (default 5,000) for
``--seconds`` in 50-event ``/v1/batch`` requests, and follows the change log through the admin
API's long poll in another thread. Every event changes a computed trait (a per-user view count),
so every event has a change to wait for; the latency of an event is the time from just before
its request was sent to the moment the follower saw its change (same machine, same clock).

Reported next to the baseline measured in the same run: the HTTP acknowledgement latency of the
same requests (send → 200). Appends a dated section to ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench.ingest import _wait_for_server, machine

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
def serve(data: Path, defs: Path) -> Iterator[str]:
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


class Follower(threading.Thread):
    """Long-polls the change log; records when each cause's first change was seen."""

    def __init__(self, url: str, token: str) -> None:
        super().__init__(daemon=True)
        self.url, self.token = url, token
        self.seen: dict[str, float] = {}
        self.stop = threading.Event()
        self.after = 0

    def run(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        with httpx.Client(base_url=self.url, headers=headers, timeout=60) as http:
            while not self.stop.is_set():
                response = http.get(
                    "/admin/spaces/default/changes",
                    params={"after": self.after, "limit": 10_000, "wait": 1},
                )
                now = time.perf_counter()
                for change in response.json()["changes"]:
                    self.after = change["seq"]
                    cause = change["cause"]
                    if cause is not None and cause not in self.seen:
                        self.seen[cause] = now


async def send(
    url: str, rate: int, seconds: float, batch: int
) -> tuple[dict[str, float], list[float]]:
    """Paced batches; returns send time per messageId and the acknowledgement latencies."""
    sent: dict[str, float] = {}
    acks: list[float] = []
    interval = batch / rate
    total = int(rate * seconds) // batch
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(
        base_url=url, auth=(WRITE_KEY, ""), timeout=60, limits=limits
    ) as http:

        async def one(n: int) -> None:
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
            start = time.perf_counter()
            for mid in ids:
                sent[mid] = start
            response = await http.post("/v1/batch", content=body)
            acks.append(time.perf_counter() - start)
            response.raise_for_status()

        tasks = []
        began = time.perf_counter()
        for n in range(total):
            delay = began + n * interval - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)  # pacing the load, not waiting for an outcome
            tasks.append(asyncio.create_task(one(n)))
        await asyncio.gather(*tasks)
    return sent, acks


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def run(rate: int, seconds: float, batch: int = 50) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="shoal-bench-rt-") as tmp:
        data = Path(tmp) / "data"
        defs = Path(tmp) / "defs.yaml"
        defs.write_text(definitions())
        with serve(data, defs) as url:
            token = orjson.loads((data / "server.json").read_bytes())["admin_token"]
            follower = Follower(url, token)
            follower.start()
            began = time.perf_counter()
            sent, acks = asyncio.run(send(url, rate, seconds, batch))
            elapsed = time.perf_counter() - began
            deadline = time.monotonic() + 120
            while len(follower.seen) < len(sent) and time.monotonic() < deadline:
                time.sleep(0.05)  # waiting for the tail of the log, bounded
            follower.stop.set()
            follower.join(10)
        latencies = [follower.seen[m] - t for m, t in sent.items() if m in follower.seen]
        return {
            "events": len(sent),
            "rate": len(sent) / elapsed,
            "with_change": len(latencies),
            "e2e_p50": pct(latencies, 0.5),
            "e2e_p99": pct(latencies, 0.99),
            "ack_p50": pct(acks, 0.5),
            "ack_p99": pct(acks, 0.99),
        }


def report(r: dict[str, Any], rate: int) -> str:
    verdict = "met" if r["e2e_p99"] <= 100 else "missed"
    return "\n".join(
        [
            f"### Real-time end to end: HTTP → change log at {rate:,} events/s",
            "",
            f"Machine: {machine()}. 20 live definitions; every event changes a computed trait.",
            "",
            "| measure | p50 ms | p99 ms | notes |",
            "|---|---:|---:|---|",
            f"| HTTP acknowledgement (baseline) | {r['ack_p50']:.1f} | {r['ack_p99']:.1f} | "
            f"50-event `/v1/batch`, {r['rate']:,.0f} events/s achieved |",
            f"| HTTP ingest → change seen in the log | {r['e2e_p50']:.1f} | {r['e2e_p99']:.1f} | "
            f"target p99 ≤ 100 ms: {verdict}; {r['e2e_p99'] / max(r['ack_p99'], 1e-9):.1f}× the "
            f"ack p99; {r['with_change']:,} of {r['events']:,} events seen |",
            "",
        ]
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=5_000, help="events per second to send")
    parser.add_argument("--seconds", type=float, default=20, help="how long to send")
    parser.add_argument("--no-record", action="store_true", help="do not append to RESULTS.md")
    args = parser.parse_args(argv)
    result = run(args.rate, args.seconds)
    text = report(result, args.rate)
    print(text)
    if not args.no_record:
        with RESULTS.open("a") as fh:
            fh.write("\n" + text)


if __name__ == "__main__":
    main()
