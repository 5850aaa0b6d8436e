"""HTTP GET load generator (its own process): keep-alive connections over a list of paths.

``python -m bench.getload --url http://127.0.0.1:PORT --auth TOKEN --paths FILE --seconds 10``
prints one JSON object: requests, non-200 answers, requests/s and latency percentiles.
A minimal HTTP/1.1 client on asyncio streams, so the generator costs the server little CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import orjson

from bench.loadgen import read_response


async def _worker(
    host: str,
    port: int,
    auth: str,
    paths: list[str],
    offset: int,
    deadline: float,
    latencies: list[float],
    failures: list[str],
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    i = offset
    try:
        while time.perf_counter() < deadline:
            path = paths[i % len(paths)]
            i += 7919  # a prime stride spreads the connections over different profiles
            request = (
                f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Basic {auth}\r\n\r\n"
            ).encode()
            started = time.perf_counter()
            writer.write(request)
            status, body = await read_response(reader)
            latencies.append(time.perf_counter() - started)
            if status.split(b" ", 2)[1:2] != [b"200"]:
                failures.append((status + body).decode(errors="replace")[:200])
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


async def run(
    url: str, token: str, paths: list[str], seconds: float, connections: int
) -> dict[str, object]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    auth = base64.b64encode(f"{token}:".encode()).decode()
    latencies: list[float] = []
    failures: list[str] = []
    started = time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(
        *(
            _worker(host, port, auth, paths, n * 104729, deadline, latencies, failures)
            for n in range(connections)
        )
    )
    elapsed = time.perf_counter() - started
    return {
        "requests": len(latencies),
        "failures": len(failures),
        "first_failure": failures[0] if failures else None,
        "requests_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 2),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 2),
        "connections": connections,
        "seconds": round(elapsed, 2),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--auth", required=True, help="Basic-auth user (access token)")
    parser.add_argument("--paths", type=Path, required=True, help="one request path per line")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args(argv)
    paths = [p for p in args.paths.read_text().splitlines() if p]
    result = asyncio.run(run(args.url, args.auth, paths, args.seconds, args.connections))
    sys.stdout.write(orjson.dumps(result).decode() + "\n")


if __name__ == "__main__":
    main()
