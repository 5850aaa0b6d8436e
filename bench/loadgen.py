"""HTTP load generator for ``POST /v1/batch``: a process of its own, keep-alive connections.

``python -m bench.loadgen --url http://127.0.0.1:PORT/v1/batch --key WK --seconds 10``
prints one JSON object: acknowledged events, requests, errors and ack latency percentiles.

A minimal HTTP/1.1 client on asyncio streams rather than httpx: the load generator shares the
machine with the server, and every microsecond it spends is one the server does not get.
Bodies are one pre-encoded 100-message batch whose messageIds carry a fixed-width counter that
is patched per request, so every acknowledged event is unique (the store must keep them all).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import sys
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import orjson

from bench.data import messages

_TOKEN = b"@@@@@@@@@@"
"""Placeholder in every messageId of the template batch; replaced by the request number."""


def template(batch: int, run: str) -> bytes:
    """One ``/v1/batch`` body whose messageIds are ``{run}-@@@@@@@@@@-{i}``."""
    items = []
    for i, m in enumerate(messages(batch, seed=7)):
        m["messageId"] = f"{run}-{_TOKEN.decode()}-{i:04d}"
        items.append(m)
    return orjson.dumps({"batch": items, "sentAt": "2026-01-31T00:00:00Z"})


@dataclass
class Stats:
    acked: int = 0
    requests: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)
    first_error: str | None = None


async def read_response(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    """One HTTP/1.1 response on a keep-alive connection: (status line, body)."""
    status = await reader.readline()
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    body = await reader.readexactly(length) if length else b""
    return status, body


async def _worker(
    host: str,
    port: int,
    path: str,
    auth: str,
    body: bytes,
    batch: int,
    counter: list[int],
    deadline: float,
    stats: Stats,
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Basic {auth}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    try:
        while time.perf_counter() < deadline:
            counter[0] += 1
            payload = body.replace(_TOKEN, b"%010d" % counter[0])
            started = time.perf_counter()
            writer.write(head + payload)
            status_line, response = await read_response(reader)
            elapsed = time.perf_counter() - started
            stats.requests += 1
            if status_line.split(b" ", 2)[1:2] == [b"200"]:
                stats.acked += batch
                stats.latencies.append(elapsed)
            else:
                stats.errors += 1
                stats.first_error = stats.first_error or (status_line + response).decode()[:300]
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run(
    url: str, key: str, seconds: float, connections: int, batch: int, run_id: str
) -> dict[str, object]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    auth = base64.b64encode(f"{key}:".encode()).decode()
    body = template(batch, run_id)
    stats = Stats()
    counter = [0]
    started = time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(
        *(
            _worker(host, port, parts.path, auth, body, batch, counter, deadline, stats)
            for _ in range(connections)
        )
    )
    elapsed = time.perf_counter() - started
    return {
        "url": url,
        "seconds": round(elapsed, 3),
        "connections": connections,
        "batch": batch,
        "body_bytes": len(body),
        "requests": stats.requests,
        "acked_events": stats.acked,
        "errors": stats.errors,
        "first_error": stats.first_error,
        "events_per_s": stats.acked / elapsed if elapsed else 0.0,
        "p50_ms": _percentile(stats.latencies, 0.50) * 1000,
        "p99_ms": _percentile(stats.latencies, 0.99) * 1000,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--key", required=True, help="Write key (Basic auth user).")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--run-id", default="r", help="messageId prefix; unique per run.")
    args = parser.parse_args(argv)
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover - uvloop comes with uvicorn[standard]
        pass
    result = asyncio.run(
        run(args.url, args.key, args.seconds, args.connections, args.batch, args.run_id)
    )
    sys.stdout.write(orjson.dumps(result).decode() + "\n")


if __name__ == "__main__":
    main()
