"""Realistic Segment messages (~500 bytes each) for the benchmarks, generated deterministically."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

EVENTS = (
    "Product Viewed",
    "Product Added",
    "Checkout Started",
    "Order Completed",
    "Signed Up",
    "Video Played",
)
_AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0"
_BASE = datetime(2026, 1, 1, tzinfo=UTC)


def messages(n: int, *, seed: int = 1, prefix: str = "m") -> Iterator[dict[str, Any]]:
    """``n`` messages: 70% track, 15% page, 12% identify, 3% group; unique messageIds."""
    rnd = random.Random(seed)
    users = max(1, n // 20)
    for i in range(n):
        u = rnd.randrange(users)
        ts = _BASE + timedelta(seconds=rnd.randrange(86_400 * 30))
        sent = ts + timedelta(milliseconds=rnd.randrange(5_000))
        m: dict[str, Any] = {
            "messageId": f"{prefix}-{seed}-{i}",
            "anonymousId": f"anon-{u}",
            "timestamp": ts.isoformat().replace("+00:00", "Z"),
            "sentAt": sent.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "context": {
                "ip": f"10.0.{u % 256}.{i % 256}",
                "library": {"name": "analytics.js", "version": "4.1.0"},
                "userAgent": _AGENT,
                "page": {"path": f"/p/{i % 100}", "url": f"https://shop.example.com/p/{i % 100}"},
            },
        }
        r = rnd.random()
        if r < 0.70:
            m.update(
                type="track",
                event=rnd.choice(EVENTS),
                userId=f"user-{u}",
                properties={
                    "sku": f"SKU-{i % 5000}",
                    "price": round(rnd.random() * 100, 2),
                    "currency": "USD",
                    "quantity": rnd.randrange(1, 5),
                },
            )
        elif r < 0.85:
            m.update(type="page", name="Home", properties={"title": "Shop", "referrer": "g.co"})
        elif r < 0.97:
            m.update(
                type="identify",
                userId=f"user-{u}",
                traits={
                    "email": f"u{u}@example.com",
                    "plan": rnd.choice(("free", "pro")),
                    "age": rnd.randrange(18, 80),
                },
            )
        else:
            m.update(
                type="group", userId=f"user-{u}", groupId=f"acct-{u % 100}", traits={"n": u % 100}
            )
        yield m


def write_jsonl(path: Path, n: int, *, seed: int = 1) -> Path:
    with path.open("wb") as handle:
        for m in messages(n, seed=seed):
            handle.write(orjson.dumps(m) + b"\n")
    return path


PARQUET_COLUMNS = (
    "type",
    "messageId",
    "timestamp",
    "sentAt",
    "receivedAt",
    "userId",
    "anonymousId",
    "event",
    "name",
    "category",
    "groupId",
    "previousId",
    "properties",
    "traits",
    "context",
    "integrations",
)


def write_parquet(path: Path, n: int, *, seed: int = 1, batch: int = 100_000) -> Path:
    """The ``shoal synth`` Parquet layout: typed UTC timestamps, objects as JSON text."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    ts = pa.timestamp("us", tz="UTC")
    schema = pa.schema(
        [
            (c, ts if c in ("timestamp", "sentAt", "receivedAt") else pa.string())
            for c in PARQUET_COLUMNS
        ]
    )
    with pq.ParquetWriter(path, schema, compression="zstd") as writer:
        rows: list[dict[str, Any]] = []
        for m in messages(n, seed=seed):
            row: dict[str, Any] = {c: m.get(c) for c in PARQUET_COLUMNS}
            for c in ("timestamp", "sentAt"):
                row[c] = datetime.fromisoformat(m[c])
            for c in ("properties", "traits", "context", "integrations"):
                if c in m:
                    row[c] = orjson.dumps(m[c]).decode()
            rows.append(row)
            if len(rows) == batch:
                writer.write_table(pa.Table.from_pylist(rows, schema=schema))
                rows = []
        if rows:
            writer.write_table(pa.Table.from_pylist(rows, schema=schema))
    return path
