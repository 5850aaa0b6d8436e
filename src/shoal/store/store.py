"""The store of one data directory: spaces, the event log and its single writer."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from shoal.clock import Clock
from shoal.config import Settings
from shoal.errors import AuthError
from shoal.spec.message import Message
from shoal.store.database import open_database
from shoal.store.rows import SELECT_COLUMNS, rows_to_messages
from shoal.store.spaces import Space, create_space, ensure_default_space, list_spaces
from shoal.store.writer import EventWriter, WriteResult


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


class Store:
    """Opens the data directory, creates the default space on first use, owns the writer."""

    def __init__(self, settings: Settings, clock: Clock) -> None:
        self.settings = settings
        self.clock = clock
        self.con = open_database(settings.data)
        ensure_default_space(
            self.con,
            now=clock.now(),
            write_key=settings.write_key,
            access_token=settings.access_token,
        )
        self._refresh_spaces()
        self.writer = EventWriter(
            self.con,
            clock=clock,
            dedupe_hours=settings.dedupe_hours,
            max_commit_rows=settings.max_commit_rows,
        )

    def _refresh_spaces(self) -> None:
        spaces = list_spaces(self.con)
        self._by_name = {s.name: s for s in spaces}
        # Keyed by digest: a lookup then takes the same time however much of a guess is right.
        self._by_write_key = {_digest(s.write_key): s for s in spaces}
        self._by_token = {_digest(s.access_token): s for s in spaces}

    # -- spaces ---------------------------------------------------------------------------------
    def spaces(self) -> list[Space]:
        return list(self._by_name.values())

    def create_space(self, name: str) -> Space:
        space = create_space(self.con.cursor(), name, now=self.clock.now())
        self._refresh_spaces()
        return space

    def space_for_write_key(self, write_key: str | None) -> Space:
        """Raises AuthError for a missing or unknown key (never says which spaces exist)."""
        if not write_key:
            raise AuthError(
                "missing write key: send it as the Basic-auth user name or as writeKey",
                code="missing_write_key",
                location="header:Authorization",
            )
        space = self._by_write_key.get(_digest(write_key))
        if space is None:
            raise AuthError("unknown write key", code="invalid_write_key", location="writeKey")
        return space

    def space_for_access_token(self, token: str | None) -> Space | None:
        """The space a Profile API access token belongs to (None when unknown)."""
        return self._by_token.get(_digest(token)) if token else None

    # -- events ---------------------------------------------------------------------------------
    def append(self, space: str, messages: list[Message]) -> WriteResult:
        """Store messages durably (blocking); duplicates by messageId are skipped."""
        return self.writer.write(space, messages)

    def read_messages(self, space: str, *, until: datetime | None = None) -> Iterator[Message]:
        """Every stored message of a space in log order."""
        cur = self.con.cursor()
        sql = f"SELECT {SELECT_COLUMNS} FROM events WHERE space = ?"
        params: list[Any] = [space]
        if until is not None:
            sql += " AND timestamp <= ?"
            params.append(until)
        cur.execute(sql + " ORDER BY seq", params)
        while rows := cur.fetchmany(10_000):
            yield from rows_to_messages(rows)

    def messages_at(self, space: str, seqs: list[int]) -> list[Message]:
        """The stored messages at these log positions, in the order of ``seqs``."""
        if not seqs:
            return []
        rows = (
            self.con.cursor()
            .execute(
                f"SELECT {SELECT_COLUMNS} FROM events WHERE space = ? AND seq = ANY(?::BIGINT[])",
                [space, seqs],
            )
            .fetchall()
        )
        found = {m.seq: m for m in rows_to_messages(rows)}
        return [found[s] for s in seqs if s in found]

    def stats(self, space: str | None = None) -> dict[str, Any]:
        """Event counts; :meth:`ProfileService.stats` adds profiles and accounts."""
        cur = self.con.cursor()
        where, params = ("WHERE space = ?", [space]) if space else ("", [])
        events, last_seq = cur.execute(
            f"SELECT count(*), coalesce(max(seq), 0) FROM events {where}", params
        ).fetchone()
        by_type = dict(
            cur.execute(
                f"SELECT type, count(*) FROM events {where} GROUP BY type ORDER BY type", params
            ).fetchall()
        )
        return {
            "events": int(events),
            "profiles": 0,
            "accounts": 0,
            "by_type": by_type,
            "spaces": len(self._by_name) if space is None else 1,
            "last_seq": int(last_seq),
        }

    def close(self) -> None:
        self.writer.close()
        self.con.close()
