"""The input relations every compiled definition reads, and the one it may write between runs.

The SQL engines never see raw messages. A loader (``duckdb_engine.py`` and ``spark_engine.py``
from ``prepare.py``; ``bulk.py`` for millions of messages) resolves identities and folds traits
exactly as the reference evaluator does, then exposes these relations; compiled SQL reads only
them. JSON values hold their object keys sorted (objects are compared by their text). Only
messages whose time is at or before the as-of instant (``now``) may contribute to any of them
(SEMANTICS "Time").

All times are ``TIMESTAMP`` without a zone holding UTC wall-clock time: that keeps comparisons
independent of a session time zone on every engine (DuckDB's ``TimeZone``, Spark's
``spark.sql.session.timeZone``).

``shoal_events``
    One row per visible event (Track, Page as ``Page Viewed``, Screen as ``Screen Viewed``).

    - ``event_id BIGINT``: unique row key; also the last tie-break of the event order.
    - ``profile_id VARCHAR``: the final canonical profile owning the event after resolving every
      visible message (events of merged profiles belong to the survivor).
    - ``message_id VARCHAR``, ``ts TIMESTAMP`` (corrected event time), ``received_at TIMESTAMP``:
      the SEMANTICS event order is ``ts, received_at, message_id`` (then ``event_id``).
    - ``event_name VARCHAR``: what ``event('X')`` matches.
    - ``properties JSON``: the message's properties; page/screen calls also carry their ``name``
      here (``property('name')``), unless the properties already hold one.
    - ``context JSON``: the message's context.
    - optionally, promoted columns ``pp<N>_<view>`` holding typed views of property and context
      paths (``layout.py``); only a compiler given the same layout reads them.

``shoal_profiles``
    One row per canonical profile: ``profile_id VARCHAR``, ``name VARCHAR`` (``type:value``,
    SEMANTICS "Output form"), ``is_user BOOLEAN`` (it has a ``user_id``, ``email``,
    ``android.idfa`` or ``ios.idfa``: USERS definitions range over these), ``is_anonymous
    BOOLEAN`` (not a user but it has an ``anonymous_id``: included only with *include anonymous
    users*). A profile with neither (say, only a device id) is in no USERS universe.

``shoal_traits``
    Latest custom traits as of ``now``: ``profile_id VARCHAR``, ``key VARCHAR`` (top-level trait
    name), ``value JSON`` (never JSON null: setting a trait to null removes the row).

``shoal_accounts``
    One row per visible account: ``group_id VARCHAR``, ``traits JSON`` (latest group traits,
    folded like user traits; an object, possibly empty).

``shoal_links``
    ``group_id VARCHAR``, ``profile_id VARCHAR``: which users group calls linked to which account
    (one row per pair).

``shoal_values``
    Results of definitions evaluated earlier in dependency order, read by ``trait('<key>')``:
    ``target VARCHAR`` (``users`` / ``accounts``), ``entity_id VARCHAR`` (profile id or group id),
    ``key VARCHAR``, ``value JSON``. A computed trait has a row per entity with a non-null value;
    an audience has ``true`` for members and ``false`` for former members (batch evaluation at a
    single instant knows no former members unless the caller supplies them).
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "ACCOUNTS",
    "COLUMNS",
    "EVENTS",
    "LINKS",
    "PROFILES",
    "TRAITS",
    "VALUES",
]

EVENTS: Final = "shoal_events"
PROFILES: Final = "shoal_profiles"
TRAITS: Final = "shoal_traits"
ACCOUNTS: Final = "shoal_accounts"
LINKS: Final = "shoal_links"
VALUES: Final = "shoal_values"

#: Column names and portable SQL types of every relation, in order (loaders create them from this).
COLUMNS: Final[dict[str, tuple[tuple[str, str], ...]]] = {
    EVENTS: (
        ("event_id", "BIGINT"),
        ("profile_id", "VARCHAR"),
        ("message_id", "VARCHAR"),
        ("ts", "TIMESTAMP"),
        ("received_at", "TIMESTAMP"),
        ("event_name", "VARCHAR"),
        ("properties", "JSON"),
        ("context", "JSON"),
    ),
    PROFILES: (
        ("profile_id", "VARCHAR"),
        ("name", "VARCHAR"),
        ("is_user", "BOOLEAN"),
        ("is_anonymous", "BOOLEAN"),
    ),
    TRAITS: (("profile_id", "VARCHAR"), ("key", "VARCHAR"), ("value", "JSON")),
    ACCOUNTS: (("group_id", "VARCHAR"), ("traits", "JSON")),
    LINKS: (("group_id", "VARCHAR"), ("profile_id", "VARCHAR")),
    VALUES: (
        ("target", "VARCHAR"),
        ("entity_id", "VARCHAR"),
        ("key", "VARCHAR"),
        ("value", "JSON"),
    ),
}
