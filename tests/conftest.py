from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shoal.clock import FrozenClock


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC))
