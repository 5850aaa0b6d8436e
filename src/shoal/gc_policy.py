"""Garbage-collector settings for Shoal's long-running, allocation-heavy processes.

Ingest allocates many small containers per event (the decoded JSON, the message, the profile
book's and the real-time engine's entries), and most of them live for the whole run. With
CPython's default first threshold (700 allocations) the collector walks the young generation
every few hundred events and keeps promoting survivors through the older ones: on the ingest
bench that cost a third of the server's time (bench/RESULTS.md). A larger first threshold walks
the same objects far less often; the later generations keep their default cadence, so cyclic
garbage is still collected, only in larger steps.

State loaded at start (profiles, the real-time checkpoint) is frozen out of collection once the
server is up: it lives as long as the process, and walking it on every full collection is pure
cost. Objects created later are collected normally.
"""

from __future__ import annotations

import gc
import logging

log = logging.getLogger(__name__)

DEFAULT_THRESHOLD = 50_000
"""Allocations between young-generation collections (CPython's default is 700)."""


def configure(threshold: int = DEFAULT_THRESHOLD) -> None:
    """Set the young-generation threshold; 0 keeps CPython's defaults."""
    if threshold <= 0:
        return
    _, middle, old = gc.get_threshold()
    gc.set_threshold(threshold, middle, old)


def freeze_loaded() -> int:
    """Collect the garbage of start-up, then exclude what survived from later collections.

    Returns how many objects are now frozen.
    """
    gc.collect()
    gc.freeze()
    frozen = gc.get_freeze_count()
    log.debug("froze %d objects loaded at start", frozen)
    return frozen
