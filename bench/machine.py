"""The machine line every benchmark report starts with."""

from __future__ import annotations

import contextlib
import os
import platform
from pathlib import Path

from shoal import native


def machine(*, load: bool = False) -> str:
    """Cores, CPU model, Python and whether Shoal's per-event modules run compiled; with
    ``load``, the load average now (other work on a 2-core machine skews every figure)."""
    cpu = platform.processor() or "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    python = f"Python {platform.python_version()}, {native.status()}"
    text = f"{os.cpu_count()} cores (nproc), {cpu}, {python}"
    if load:
        text += (
            f"; load average {os.getloadavg()[0]:.1f} at the end (other work on the machine skews "
            "the numbers)"
        )
    return text
