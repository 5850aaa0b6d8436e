"""Messages → the rows of the SQL engine's input relations (``relations.py``), in pure Python.

Identity resolution and trait folding happen here, exactly as the reference evaluator does them;
only evaluation is left to SQL. Nothing here imports an engine.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from shoal.identity import Resolution, group_id_of, resolve
from shoal.identity.resolve import message_order
from shoal.spec.message import Message

__all__ = ["USER_ID_TYPES", "Prepared", "prepare"]

#: Identifier types that make a profile a user (SEMANTICS "the profile universe").
USER_ID_TYPES = frozenset({"user_id", "email", "android.idfa", "ios.idfa"})


def _utc(moment: datetime) -> datetime:
    """Naive UTC, the form every relation stores."""
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def _json(value: Any) -> str:
    # sort_keys: the same input always gives the same text (golden data, string forms).
    return json.dumps(value, sort_keys=True, ensure_ascii=False, allow_nan=False)


@dataclass(slots=True)
class Prepared:
    """Rows per relation (tuples in ``relations.COLUMNS`` order) and the name of each entity."""

    events: list[tuple[Any, ...]] = field(default_factory=list)
    profiles: list[tuple[Any, ...]] = field(default_factory=list)
    traits: list[tuple[Any, ...]] = field(default_factory=list)
    accounts: list[tuple[Any, ...]] = field(default_factory=list)
    links: list[tuple[Any, ...]] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)
    """Profile id → SEMANTICS output name (``user_id:ann``)."""
    reps: dict[str, str] = field(default_factory=dict)
    """Profile id → its earliest message id: a profile at an earlier instant is part of the
    later profile that holds its earliest message (merges only ever join)."""
    message_profiles: dict[str, str] = field(default_factory=dict)
    """Message id → profile id, for messages that belong to a profile."""


def _fold(target: dict[str, Any], traits: dict[str, Any]) -> None:
    """Apply one call's traits: latest value wins per top-level key; null removes the key."""
    for key, value in traits.items():
        if value is None:
            target.pop(key, None)
        else:
            target[key] = value


def prepare(
    messages: Iterable[Message], *, as_of: datetime, resolution: Resolution | None = None
) -> Prepared:
    """The relation rows for the messages visible at ``as_of``.

    Args:
        messages: every message of the space (future ones are dropped here).
        as_of: the evaluation instant (aware).
        resolution: the identity resolution of those messages at ``as_of``; computed when
            not given.
    """
    visible = sorted((m for m in messages if m.timestamp <= as_of), key=message_order)
    if resolution is None:
        resolution = resolve(visible, as_of=as_of)
    out = Prepared()
    for profile_id, profile in resolution.profiles.items():
        types = {ident.type for ident in profile.identifiers}
        is_user = bool(types & USER_ID_TYPES)
        anonymous = not is_user and "anonymous_id" in types
        out.profiles.append((profile_id, profile.name, is_user, anonymous))
        out.names[profile_id] = profile.name
    traits: dict[str, dict[str, Any]] = {}
    account_traits: dict[str, dict[str, Any]] = {}
    links: set[tuple[str, str]] = set()
    for seq, msg in enumerate(visible):
        pid = resolution.message_profiles.get(msg.message_id)
        if pid is not None:
            out.message_profiles[msg.message_id] = pid
        if pid is None:
            continue  # no usable identifier: the message belongs to nobody
        out.reps.setdefault(pid, msg.message_id)
        if msg.type == "group":
            account = group_id_of(msg)
            if account is not None:
                _fold(account_traits.setdefault(account, {}), msg.traits)
                links.add((account, pid))
            continue
        if msg.type == "identify":
            _fold(traits.setdefault(pid, {}), msg.traits)
            continue
        name = msg.event_name
        if name is None:
            continue
        # Page/screen names reach properties during normalisation (SEMANTICS: property('name')).
        properties = msg.properties
        out.events.append(
            (
                seq,
                pid,
                msg.message_id,
                _utc(msg.timestamp),
                _utc(msg.received_at),
                name,
                _json(properties),
                _json(msg.context),
            )
        )
    for pid, values in sorted(traits.items()):
        out.traits.extend((pid, key, _json(value)) for key, value in sorted(values.items()))
    for group_id, values in sorted(account_traits.items()):
        out.accounts.append((group_id, _json(values)))
    out.links.extend(sorted(links))
    return out
