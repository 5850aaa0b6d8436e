"""Settings: defaults, overridden by `shoal.toml`, then `SHOAL_*` environment variables, then flags.

Every setting is listed once in ``SETTINGS`` (name, type, default, help); docs/configuration.md is
checked against that list by a test, so a new setting cannot go undocumented.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from shoal.errors import ConfigError


@dataclass(frozen=True, slots=True)
class Setting:
    """One documented setting."""

    name: str
    kind: type
    default: Any
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("data", Path, Path("shoal-data"), "Data directory holding the DuckDB file."),
    Setting("host", str, "127.0.0.1", "Address `shoal serve` listens on."),
    Setting("port", int, 8088, "Port `shoal serve` listens on."),
    Setting("write_key", str, None, "Write key of the `default` space when it is first created."),
    Setting(
        "access_token", str, None, "Profile API token of the `default` space when first created."
    ),
    Setting("dedupe_hours", int, 48, "How long a messageId is remembered for deduplication."),
    Setting("max_commit_rows", int, 50_000, "Most events the writer commits in one transaction."),
    Setting("log_level", str, "info", "Log level: debug, info, warning or error."),
    Setting(
        "definitions",
        Path,
        None,
        "YAML or TOML file of audiences and computed traits `shoal serve` keeps live.",
    ),
    Setting(
        "checkpoint_seconds",
        int,
        30,
        "How often the real-time engine checkpoints its state (restart replays from there).",
    ),
    Setting(
        "event_cache_mb",
        int,
        256,
        "MiB of ready JSON of recent events for the Profile API's /events (0 turns it off).",
    ),
    Setting(
        "gc_threshold",
        int,
        50_000,
        "Allocations between young garbage collections in `shoal serve` (0: Python's default).",
    ),
    Setting(
        "gc_sweep_minutes",
        int,
        60,
        "Minutes between garbage sweeps that include frozen objects in `shoal serve` (0: never).",
    ),
    Setting(
        "engine_process",
        str,
        "auto",
        "Where `shoal serve` runs the real-time engine: on (a process of its own), off (a thread "
        "of the server) or auto (on with two or more CPUs).",
    ),
    Setting(
        "spark_master",
        str,
        None,
        "Spark master of `--engine spark` (default: spark-submit's, else local[*]).",
    ),
)

_BY_NAME = {s.name: s for s in SETTINGS}
_CHOICES = {"engine_process": ("auto", "on", "off")}


@dataclass(frozen=True, slots=True)
class Settings:
    """Resolved settings for one process."""

    data: Path = Path("shoal-data")
    host: str = "127.0.0.1"
    port: int = 8088
    write_key: str | None = None
    access_token: str | None = None
    dedupe_hours: int = 48
    max_commit_rows: int = 50_000
    log_level: str = "info"
    definitions: Path | None = None
    checkpoint_seconds: int = 30
    event_cache_mb: int = 256
    gc_threshold: int = 50_000
    gc_sweep_minutes: int = 60
    engine_process: str = "auto"
    spark_master: str | None = None

    def engine_in_process(self) -> bool:
        """Whether the real-time engine gets a process of its own (``engine_process``)."""
        if self.engine_process == "auto":
            return (os.cpu_count() or 1) >= 2
        return self.engine_process == "on"

    def with_overrides(self, **values: Any) -> Settings:
        """A copy with every non-None value in ``values`` applied (CLI flags)."""
        clean = {k: _coerce(k, v, "command line") for k, v in values.items() if v is not None}
        return replace(self, **clean)


def _coerce(name: str, value: Any, source: str) -> Any:
    setting = _BY_NAME.get(name)
    if setting is None:
        known = ", ".join(sorted(_BY_NAME))
        raise ConfigError(f"unknown setting {name!r} (known: {known})", location=source)
    try:
        if setting.kind is int and isinstance(value, str | int) and not isinstance(value, bool):
            return int(value)
        if setting.kind is Path:
            return Path(value)
        if setting.kind is str:
            text = str(value)
            allowed = _CHOICES.get(name)
            if allowed is not None and text not in allowed:
                raise ConfigError(
                    f"setting {name!r} must be one of {', '.join(allowed)}, got {text!r}",
                    location=source,
                )
            return text
    except ValueError:
        pass
    raise ConfigError(
        f"setting {name!r} must be {setting.kind.__name__}, got {value!r}", location=source
    )


def load_settings(
    *, config_file: Path | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Defaults, then the TOML file, then ``SHOAL_<NAME>`` environment variables.

    The TOML file is ``config_file``, else ``$SHOAL_CONFIG``, else ``./shoal.toml`` when present.
    """
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    path = config_file or (Path(env["SHOAL_CONFIG"]) if env.get("SHOAL_CONFIG") else None)
    if path is None and Path("shoal.toml").is_file():
        path = Path("shoal.toml")
    if path is not None:
        try:
            doc = tomllib.loads(path.read_text())
        except FileNotFoundError:
            raise ConfigError("config file not found", location=str(path)) from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"invalid TOML: {exc}", location=str(path)) from None
        table = doc.get("shoal", doc)
        for key, value in table.items():
            values[key] = _coerce(key, value, f"{path}: {key}")
    for f in fields(Settings):
        raw = env.get(f"SHOAL_{f.name.upper()}")
        if raw:
            values[f.name] = _coerce(f.name, raw, f"SHOAL_{f.name.upper()}")
    return Settings(**values)
