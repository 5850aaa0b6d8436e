"""Garbage-collector settings for Shoal's long-running, allocation-heavy processes.

Ingest allocates many small containers per event (the decoded JSON, the message, the profile
book's and the real-time engine's entries), and most of them live for the whole run. With
CPython's default first threshold (700 allocations) the collector walks the young generation
every few hundred events and keeps promoting survivors through the older ones: on the ingest
bench that cost a third of the server's time (bench/RESULTS.md). A larger first threshold walks
the same objects far less often; the later generations keep their default cadence, so cyclic
garbage is still collected, only in larger steps.

Full collections walk every tracked object: 0.7-0.9 s over the real-time engine's ~9M objects,
a stall every request waiting on the interpreter shares. So what survives a full collection is
frozen (moved out of collection): the next one walks only what came since. Frozen objects that
later die in a reference cycle are only reclaimed by a *sweep* (unfreeze, collect, freeze), which
``shoal serve`` runs every ``gc_sweep_minutes``: one full pause per period instead of one per 25 %
of heap growth. Objects that die without a cycle are freed at once whether frozen or not.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from typing import Any

log = logging.getLogger(__name__)

DEFAULT_THRESHOLD = 50_000
"""Allocations between young-generation collections (CPython's default is 700)."""


def configure(threshold: int = DEFAULT_THRESHOLD) -> None:
    """Set the young-generation threshold and freeze survivors of full collections; 0 keeps
    CPython's defaults (and nothing is frozen)."""
    if threshold <= 0:
        return
    _, middle, old = gc.get_threshold()
    gc.set_threshold(threshold, middle, old)
    if _freeze_after_full not in gc.callbacks:
        gc.callbacks.append(_freeze_after_full)


def reset() -> None:
    """Undo :func:`configure` (for tests): thresholds are left to the caller."""
    if _freeze_after_full in gc.callbacks:
        gc.callbacks.remove(_freeze_after_full)
    gc.unfreeze()


def _freeze_after_full(phase: str, info: dict[str, Any]) -> None:
    if phase == "stop" and info.get("generation") == 2:
        gc.freeze()


def freeze_loaded() -> int:
    """Collect the garbage of start-up, then exclude what survived from later collections.

    Returns how many objects are now frozen.
    """
    gc.collect()
    gc.freeze()
    frozen = gc.get_freeze_count()
    log.debug("froze %d objects loaded at start", frozen)
    return frozen


def sweep() -> tuple[int, float]:
    """Collect everything, frozen objects included, then freeze the survivors again.

    Returns (objects collected, seconds the collection took).
    """
    started = time.perf_counter()
    gc.unfreeze()
    collected = gc.collect()
    gc.freeze()
    seconds = time.perf_counter() - started
    log.info("garbage sweep: %d objects collected in %.3f s", collected, seconds)
    return collected, seconds


class Sweeper:
    """Runs :func:`sweep` every ``minutes`` on a daemon thread until :meth:`close`."""

    def __init__(self, minutes: float) -> None:
        self._stop = threading.Event()
        self._minutes = minutes
        self._thread = threading.Thread(target=self._run, name="shoal-gc-sweep", daemon=True)

    def start(self) -> None:
        if self._minutes > 0:
            self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self._minutes * 60):
            sweep()
