import gc
import weakref
from collections.abc import Iterator

import pytest

from shoal import gc_policy


class Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the collector frees it


@pytest.fixture(autouse=True)
def _restore_gc() -> Iterator[None]:
    before = gc.get_threshold()
    yield
    gc_policy.reset()
    gc.set_threshold(*before)


def test_configure_raises_only_the_young_threshold() -> None:
    gc.set_threshold(700, 10, 10)
    gc_policy.configure(50_000)
    assert gc.get_threshold() == (50_000, 10, 10)


def test_zero_keeps_pythons_default_and_freezes_nothing() -> None:
    gc.set_threshold(700, 10, 10)
    gc_policy.configure(0)
    assert gc.get_threshold() == (700, 10, 10)
    gc.collect()
    assert gc.get_freeze_count() == 0


def test_survivors_of_a_full_collection_are_frozen() -> None:
    gc_policy.configure(50_000)
    kept = [Node() for _ in range(100)]
    gc.collect(1)
    assert gc.get_freeze_count() == 0  # only full collections freeze
    gc.collect()
    assert gc.get_freeze_count() > len(kept)


def test_freeze_collects_garbage_first_then_freezes_what_lives() -> None:
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


def test_a_sweep_reclaims_cycles_that_died_frozen() -> None:
    gc_policy.configure(50_000)
    node = Node()
    gone = weakref.ref(node)
    gc.collect()  # node survives and is frozen
    del node
    gc.collect()
    assert gone() is not None  # frozen: a normal collection leaves it
    collected, _ = gc_policy.sweep()
    assert gone() is None and collected >= 1
    assert gc.get_freeze_count() > 0  # the survivors are frozen again


def test_the_sweeper_thread_stops_on_close() -> None:
    sweeper = gc_policy.Sweeper(60)
    sweeper.start()
    sweeper.close()
    idle = gc_policy.Sweeper(0)
    idle.start()  # 0: never started
    idle.close()
