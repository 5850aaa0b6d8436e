"""Throughput of `shoal synth`: messages per second to Parquet and JSON Lines.

Run from the repository root: ``python -m bench.synth [--users N] [--days D]``. Prints a header
and one markdown table row per format; generation (the model) is included in the time, as a user
of ``shoal synth`` would experience it.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from shoal.synth import SynthConfig, write_file


def measure(config: SynthConfig, path: Path) -> tuple[int, float, int]:
    started = time.perf_counter()
    rows = write_file(config, path)
    elapsed = time.perf_counter() - started
    return rows, elapsed, path.stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=100_000, help="people to simulate")
    parser.add_argument("--days", type=int, default=30, help="days of history")
    parser.add_argument("--seed", type=int, default=1, help="random seed")
    args = parser.parse_args()
    # A fixed end keeps the workload identical from run to run.
    config = SynthConfig(args.users, args.days, args.seed, datetime(2026, 11, 28, tzinfo=UTC))
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    print(f"<!-- shoal synth, {args.users:,} users x {args.days} days, {machine} -->")
    print("| bench | format | users | days | messages | seconds | messages/s | MB |")
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for ext in ("parquet", "jsonl"):
            path = Path(tmp) / f"synth.{ext}"
            rows, seconds, size = measure(config, path)
            print(
                f"| synth | {ext} | {args.users:,} | {args.days} | {rows:,} | {seconds:.2f} "
                f"| {rows / seconds:,.0f} | {size / 1e6:,.0f} |"
            )
            path.unlink()


if __name__ == "__main__":
    main()
