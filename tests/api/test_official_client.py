"""The official segment-analytics-python client, pointed at a real `shoal serve` process."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from segment.analytics.client import Client

from shoal.clock import SystemClock
from shoal.config import Settings
from shoal.store.store import Store
from tests.support import ServerProcess, start_server_process

WRITE_KEY = "wk_official_client_test"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    proc = start_server_process(tmp_path / "data", env={"SHOAL_WRITE_KEY": WRITE_KEY})
    try:
        yield proc
    finally:
        proc.stop()


@pytest.mark.parametrize("use_gzip", [False, True], ids=["plain", "gzip"])
def test_every_call_type_is_stored_with_corrected_timestamps(
    server: ServerProcess, use_gzip: bool
) -> None:
    errors: list[Exception] = []
    client = Client(
        WRITE_KEY,
        host=server.url,
        gzip=use_gzip,
        sync_mode=True,
        on_error=lambda exc, _batch: errors.append(exc),
    )
    logging.getLogger("segment").setLevel(logging.CRITICAL)
    at = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)
    client.identify("u1", {"email": "ada@example.com", "plan": "pro"}, timestamp=at)
    client.track("u1", "Order Completed", {"revenue": 99.5, "sku": "A-1"}, timestamp=at)
    client.page("u1", "Docs", "Quick start", {"url": "https://x.io/docs"}, timestamp=at)
    client.screen("u1", "App", "Settings", timestamp=at)
    client.group("u1", "acme", {"plan": "business", "employees": 40}, timestamp=at)
    client.alias("anon-7", "u1", timestamp=at)
    client.flush()
    assert errors == []
    server.stop()

    store = Store(Settings(data=server.data), SystemClock())
    try:
        messages = {m.type: m for m in store.read_messages("default")}
    finally:
        store.close()
    assert sorted(messages) == ["alias", "group", "identify", "page", "screen", "track"]
    assert messages["identify"].traits == {"email": "ada@example.com", "plan": "pro"}
    assert messages["track"].event == "Order Completed"
    assert messages["track"].properties == {"revenue": 99.5, "sku": "A-1"}
    assert messages["page"].name == "Quick start"
    assert messages["page"].category == "Docs"
    assert messages["page"].properties["url"] == "https://x.io/docs"
    assert messages["screen"].name == "Settings"
    assert messages["group"].group_id == "acme"
    assert messages["group"].traits == {"plan": "business", "employees": 40}
    assert messages["alias"].previous_id == "anon-7"
    assert messages["alias"].user_id == "u1"
    for message in messages.values():
        assert message.context["library"]["name"] == "analytics-python"
        assert message.original_timestamp == at
        assert message.sent_at is not None
        # timestamp = receivedAt - (sentAt - originalTimestamp), exactly.
        assert message.timestamp == message.received_at - (message.sent_at - at)
        # Client and server share a clock here, so the corrected time is within a network
        # delay of `at`, although the client sent it months later.
        assert abs(message.timestamp - at) < timedelta(minutes=1)
