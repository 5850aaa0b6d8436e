"""kill -9 mid-stream: after restart the change log is exactly what a clean run produces.

A real ``shoal serve`` keeps three definitions live (one has a two-second window, so clock ticks
fire while events stream in; checkpoints every second). It is killed mid-stream, restarted, and
the clients retry everything they sent. The change log must then be dense (no gap, no repeat)
and identical to the log a fresh engine computes from the same stored events and clock ticks
with no crash and no checkpoint.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import httpx

from shoal.clock import SystemClock
from shoal.compute import changelog
from shoal.compute.service import ComputeService
from shoal.config import Settings
from shoal.store.store import Store
from tests.store.test_crash import ENV, WRITE_KEY, Streamer, _batch
from tests.support import start_server_process

DEFS = """
definitions:
  - key: views
    type: trait
    query: event('Product Viewed').count()
  - key: pricey
    query: event('Product Viewed').where(property('price') > 250).count() >= 2
  - key: just_now
    query: event('Product Viewed').within(2 seconds).count() >= 1
  - key: pricey_regulars
    query: trait('pricey') = 'true' AND trait('views') >= 3
"""


def _log(data: Path) -> list[dict[str, object]]:
    store = Store(Settings(data=data), SystemClock())
    try:
        return changelog.read_changes(store.con.cursor(), "default", limit=10**9)
    finally:
        store.close()


def _clean_run(data: Path, defs: Path, scratch: Path) -> list[dict[str, object]]:
    """The log a fresh engine derives from the same events and ticks, from nothing."""
    shutil.copytree(data, scratch)
    shutil.rmtree(scratch / "realtime")
    (scratch / "server.json").unlink(missing_ok=True)
    store = Store(Settings(data=scratch), SystemClock())
    try:
        store.con.execute("DELETE FROM changes")
        ComputeService(store, store.clock, definitions=defs).close()
        return changelog.read_changes(store.con.cursor(), "default", limit=10**9)
    finally:
        store.close()


def test_sigkill_then_restart_gives_the_same_change_log(tmp_path: Path) -> None:
    defs = tmp_path / "defs.yaml"
    defs.write_text(DEFS)
    data = tmp_path / "data"
    env = {**ENV, "SHOAL_DEFINITIONS": str(defs), "SHOAL_CHECKPOINT_SECONDS": "1"}
    server = start_server_process(data, env=env)
    streams = [Streamer(server.url, first) for first in (0, 10_000_000)]
    for stream in streams:
        stream.start()
    deadline = time.monotonic() + 60
    while sum(len(s.acked) for s in streams) < 30 and time.monotonic() < deadline:
        time.sleep(0.005)  # polling for progress, not waiting for an outcome
    server.kill()
    for stream in streams:
        stream.join(10)
    sent = [b for s in streams for b in s.sent]
    assert sum(len(s.acked) for s in streams) >= 30
    before = _log(data)
    assert before, "the engine logged nothing before the crash"

    server = start_server_process(data, env=env)
    try:
        with httpx.Client(base_url=server.url, auth=(WRITE_KEY, ""), timeout=30) as http:
            for start in sent:
                assert http.post("/v1/batch", content=_batch(start)).status_code == 200
    finally:
        server.stop()  # SIGTERM: the engine drains its queue, writes and checkpoints

    after = _log(data)
    assert [c["seq"] for c in after] == list(range(1, len(after) + 1)), "a gap or a repeat"
    assert after[: len(before)] == before, "a change written before the crash was rewritten"
    assert after == _clean_run(data, defs, tmp_path / "clean")
    # And the log means what it says: every user's view count is its number of stored views.
    views: dict[str, object] = {}
    for change in after:
        if change["key"] == "views":
            views[str(change["name"])] = change["new"]
    assert sum(int(v) for v in views.values()) == len(
        {f"m{n}" for s in sent for n in range(s, s + 100)}
    )  # type: ignore[call-overload]
