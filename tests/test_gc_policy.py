import gc
import weakref
from collections.abc import Iterator

import pytest

from shoal import gc_policy


@pytest.fixture(autouse=True)
def _restore_gc() -> Iterator[None]:
    before = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*before)


def test_configure_raises_only_the_young_threshold() -> None:
    gc.set_threshold(700, 10, 10)
    gc_policy.configure(50_000)
    assert gc.get_threshold() == (50_000, 10, 10)


def test_zero_keeps_pythons_default() -> None:
    gc.set_threshold(700, 10, 10)
    gc_policy.configure(0)
    assert gc.get_threshold() == (700, 10, 10)


def test_freeze_collects_garbage_first_then_freezes_what_lives() -> None:
    class Node:
        def __init__(self) -> None:
            self.me = self  # a cycle: only the collector frees it

    gc.disable()  # no collection may happen between here and freeze_loaded
    try:
        kept = [Node() for _ in range(100)]
        garbage = Node()
        gone = weakref.ref(garbage)
        del garbage
        assert gone() is not None
        frozen = gc_policy.freeze_loaded()
    finally:
        gc.enable()
    assert gone() is None
    assert frozen == gc.get_freeze_count() > len(kept)
