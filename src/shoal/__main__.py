"""`python -m shoal` runs the command-line interface."""

from __future__ import annotations

from shoal.cli import main

main()
