"""Synthetic Segment messages for an e-commerce shop with B2B accounts (`shoal synth`).

Deterministic: the same (users, days, seed, end) always gives byte-identical files.
"""

from __future__ import annotations

from shoal.synth.output import SynthConfig, default_end, generate, write_file

__all__ = ["SynthConfig", "default_end", "generate", "write_file"]
