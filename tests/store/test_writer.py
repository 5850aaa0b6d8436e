"""The single writer's group commit: one bad request does not fail the others in its group."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from shoal.clock import FrozenClock
from shoal.config import Settings
from shoal.spec.message import Message
from shoal.store.store import Store

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def track(mid: str, **properties: object) -> Message:
    return Message(
        type="track",
        event="E",
        user_id="u1",
        message_id=mid,
        timestamp=T0,
        received_at=T0,
        properties=properties,
    )


def test_a_job_that_cannot_be_stored_fails_alone(tmp_path: Path) -> None:
    store = Store(Settings(data=tmp_path / "data"), FrozenClock(T0))
    try:
        hold = threading.Event()
        # Keep the writer busy so the next three jobs are committed as one group.
        busy = store.writer.call(lambda cursor: hold.wait(10))
        good = store.writer.submit("default", [track("a")])
        bad = store.writer.submit("default", [track("b", value={1, 2})])  # a set: not JSON
        also_good = store.writer.submit("default", [track("c")])
        hold.set()
        busy.result(10)
        assert good.result(10).accepted == 1
        assert also_good.result(10).accepted == 1
        with pytest.raises(TypeError):
            bad.result(10)
        assert [m.message_id for m in store.read_messages("default")] == ["a", "c"]
        # The failed message was not remembered as stored: it can be sent again once fixed.
        assert store.writer.write("default", [track("b", value=[1, 2])]).accepted == 1
    finally:
        store.close()
