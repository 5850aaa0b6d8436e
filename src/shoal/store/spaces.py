"""Spaces and their credentials: every write key and access token belongs to exactly one space."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shoal.errors import UserError

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


@dataclass(frozen=True, slots=True)
class Space:
    """A tenant: its own events, profiles and definitions."""

    name: str
    write_key: str
    access_token: str
    created_at: datetime

    def to_dict(self) -> dict[str, str]:
        return {
            "space": self.name,
            "write_key": self.write_key,
            "access_token": self.access_token,
            "created_at": self.created_at.isoformat(),
        }


def _new_secret(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(24)}"


def list_spaces(con: Any) -> list[Space]:
    rows = con.execute(
        "SELECT name, write_key, access_token, created_at FROM spaces ORDER BY created_at, name"
    ).fetchall()
    return [Space(*row) for row in rows]


def create_space(
    con: Any,
    name: str,
    *,
    now: datetime,
    write_key: str | None = None,
    access_token: str | None = None,
) -> Space:
    """Add a space with fresh (or given) credentials.

    Raises:
        UserError: the name is invalid or taken, or a given credential is already in use.
    """
    if not _NAME.match(name):
        raise UserError(
            f"invalid space name {name!r}: use 1-63 lower-case letters, digits, '-' or '_'",
            code="invalid_space_name",
            location="name",
        )
    existing = list_spaces(con)
    if any(s.name == name for s in existing):
        raise UserError(f"space {name!r} already exists", code="space_exists", location="name")
    key = write_key or _new_secret("wk")
    token = access_token or _new_secret("at")
    for s in existing:
        if key in (s.write_key, s.access_token) or token in (s.write_key, s.access_token):
            raise UserError(
                f"that credential is already used by space {s.name!r}",
                code="credential_in_use",
                location="write_key" if key in (s.write_key, s.access_token) else "access_token",
            )
    space = Space(name, key, token, now)
    con.execute(
        "INSERT INTO spaces VALUES (?, ?, ?, ?)",
        [space.name, space.write_key, space.access_token, space.created_at],
    )
    return space


def ensure_default_space(
    con: Any, *, now: datetime, write_key: str | None, access_token: str | None
) -> Space:
    """The ``default`` space, created on first use (credentials from settings or random)."""
    for space in list_spaces(con):
        if space.name == "default":
            return space
    return create_space(con, "default", now=now, write_key=write_key, access_token=access_token)
