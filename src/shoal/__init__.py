"""Shoal: a self-hosted, real-time audience engine compatible with Segment Engage."""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"

from shoal import native as _native

_native.guard()  # before any compiled module is imported: a stale build runs from source
