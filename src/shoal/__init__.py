"""Shoal: a self-hosted, real-time audience engine compatible with Segment Engage."""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
