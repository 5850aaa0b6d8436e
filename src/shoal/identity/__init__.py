"""Identity resolution: which profile each message belongs to (spec §6, docs/identity.md).

Pure: nothing here does I/O or imports an I/O library, so engines and workers can embed it.
"""

from __future__ import annotations

from shoal.identity.extract import group_id_of, identifiers_of, previous_id_of
from shoal.identity.graph import (
    Identifier,
    IdentityGraph,
    Merge,
    ProfileId,
    profile_id_for,
    profile_name,
)
from shoal.identity.resolve import Resolution, ResolvedProfile, apply_message, resolve
from shoal.identity.rules import DEFAULT_RULES, Blocked, IdentityRules, Limit

__all__ = [
    "DEFAULT_RULES",
    "Blocked",
    "Identifier",
    "IdentityGraph",
    "IdentityRules",
    "Limit",
    "Merge",
    "ProfileId",
    "Resolution",
    "ResolvedProfile",
    "apply_message",
    "group_id_of",
    "identifiers_of",
    "previous_id_of",
    "profile_id_for",
    "profile_name",
    "resolve",
]
