from __future__ import annotations

import gc
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from shoal import gc_policy
from shoal.clock import FrozenClock


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC))


@pytest.fixture(autouse=True)
def _garbage_collector_as_found() -> Iterator[None]:
    """Commands and benches run in-process install Shoal's collector policy (gc_policy); left in
    place, its freezing hides live objects from ``gc.get_referrers``, which Hypothesis relies on."""
    threshold = gc.get_threshold()
    yield
    gc_policy.reset()
    gc.set_threshold(*threshold)
