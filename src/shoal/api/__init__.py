"""HTTP APIs: Tracking API (Segment-compatible), admin API used by the CLI."""
