"""kill -9 mid-stream: every acknowledged messageId survives, exactly once."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import orjson

from shoal.clock import SystemClock
from shoal.config import Settings
from shoal.store.store import Store
from tests.support import start_server_process

WRITE_KEY = "wk_crash_test"
ENV = {"SHOAL_WRITE_KEY": WRITE_KEY}


def _batch(start: int, size: int = 100) -> bytes:
    return orjson.dumps(
        {
            "batch": [
                {
                    "type": "track",
                    "userId": f"u{n % 97}",
                    "event": "Product Viewed",
                    "messageId": f"m{n}",
                    "properties": {"price": n % 300},
                }
                for n in range(start, start + size)
            ]
        }
    )


class Streamer(threading.Thread):
    """One connection sending 100-event batches from ``first`` on until the server dies."""

    def __init__(self, url: str, first: int) -> None:
        super().__init__()
        self.url, self.next = url, first
        self.sent: list[int] = []  # batch starts
        self.acked: list[int] = []

    def run(self) -> None:
        with httpx.Client(base_url=self.url, auth=(WRITE_KEY, ""), timeout=5) as http:
            while True:
                start, self.next = self.next, self.next + 100
                self.sent.append(start)
                try:
                    response = http.post("/v1/batch", content=_batch(start))
                except httpx.HTTPError:
                    return
                if response.status_code == 200:
                    self.acked.append(start)


def _stored_ids(data: Path) -> list[str]:
    store = Store(Settings(data=data), SystemClock())
    try:
        return [m.message_id for m in store.read_messages("default")]
    finally:
        store.close()


def _ids(starts: list[int]) -> set[str]:
    return {f"m{n}" for start in starts for n in range(start, start + 100)}


def test_sigkill_loses_no_acknowledged_event_and_duplicates_none(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = start_server_process(data, env=ENV)
    streams = [Streamer(server.url, first) for first in (0, 10_000_000, 20_000_000)]
    for stream in streams:
        stream.start()
    deadline = time.monotonic() + 60
    while sum(len(s.acked) for s in streams) < 40 and time.monotonic() < deadline:
        time.sleep(0.005)  # polling for progress, not waiting for an outcome
    server.kill()
    for stream in streams:
        stream.join(10)
    acked = [b for s in streams for b in s.acked]
    sent = [b for s in streams for b in s.sent]
    assert len(acked) >= 40

    ids = _stored_ids(data)
    assert len(ids) == len(set(ids)), "a message was stored twice"
    assert _ids(acked) <= set(ids), "an acknowledged message was lost"
    assert set(ids) <= _ids(sent)

    # Restart; the clients retry every batch they sent, as the official client does.
    server = start_server_process(data, env=ENV)
    try:
        with httpx.Client(base_url=server.url, auth=(WRITE_KEY, ""), timeout=30) as http:
            for start in sent:
                assert http.post("/v1/batch", content=_batch(start)).status_code == 200
    finally:
        server.stop()
    final = _stored_ids(data)
    assert len(final) == len(set(final)), "a retried message was stored twice"
    assert set(final) == _ids(sent)
