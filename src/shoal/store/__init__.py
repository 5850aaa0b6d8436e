"""The embedded store: one DuckDB file per data directory, owned by one process."""
