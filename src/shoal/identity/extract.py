"""Where identifiers live in a message (spec §6.1, §8.5–8.6).

``identifiers_of`` returns a message's *user* identifiers as ``(type, value)`` pairs, in a fixed
order, without duplicates and before blocked values are removed (blocking is a graph rule, and a
blocked value stays in the payload). Group ids name accounts, not users: see ``group_id_of``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shoal.identity.rules import DEFAULT_RULES, IdentityRules
from shoal.spec.message import Message

IdPair = tuple[str, str]

DEFAULT_TYPES: tuple[str, ...] = (
    "user_id",
    "email",
    "android.id",
    "android.idfa",
    "android.push_token",
    "anonymous_id",
    "ga_client_id",
    "ios.id",
    "ios.idfa",
    "ios.push_token",
)
"""The default user identifier types of spec §6.1 (its eleventh, ``group_id``, names accounts)."""


def _text(value: Any) -> str | None:
    """Identifier values are strings; numbers are stringified like ``userId`` (spec §8.5)."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _obj(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _snake(key: str) -> str:
    out = []
    for ch in key:
        if ch.isupper():
            out.append("_")
            out.append(ch.lower())
        else:
            out.append(ch)
    return "".join(out).lstrip("_")


def _lookup(source: Mapping[str, Any], key: str) -> str | None:
    """A trait/property by key, accepting its camelCase and snake_case spellings (spec §6.1)."""
    value = _text(source.get(key))
    if value is None:
        snake = _snake(key)
        if snake != key:
            value = _text(source.get(snake))
    return value


def _device_ids(device: Mapping[str, Any]) -> list[IdPair]:
    kind = device.get("type")
    if not isinstance(kind, str):
        return []
    # Libraries send "ios"/"android"; compare case-blind so "iOS" from hand-written payloads
    # counts too.
    kind = kind.lower()
    if kind not in ("ios", "android"):
        return []
    out: list[IdPair] = []
    device_id = _text(device.get("id"))
    if device_id is not None:
        out.append((f"{kind}.id", device_id))
    # The advertising id counts only while the user allows ad tracking (spec §6.1; the newer docs
    # require it for iOS too, and an IDFA sent without consent is all zeroes anyway).
    ad_id = _text(device.get("advertisingId"))
    if ad_id is not None and device.get("adTrackingEnabled") is True:
        out.append((f"{kind}.idfa", ad_id))
    token = _text(device.get("token"))
    if token is not None:
        out.append((f"{kind}.push_token", token))
    return out


def _external_ids(value: Any) -> list[IdPair]:
    """``context.externalIds``: all of id, type, collection, encoding are required (spec §6.1);
    only ``collection: users`` entries are user identifiers, and types must be lowercase."""
    if not isinstance(value, list):
        return []
    out: list[IdPair] = []
    for item in value:
        if not isinstance(item, Mapping):
            continue
        id_type = item.get("type")
        ident = _text(item.get("id"))
        if (
            ident is None
            or not isinstance(id_type, str)
            or not id_type
            or id_type != id_type.lower()
            or item.get("collection") != "users"
            or item.get("encoding") != "none"
            # group ids name accounts whatever collection they are filed under.
            or id_type == "group_id"
        ):
            continue
        out.append((id_type, ident))
    return out


def _ga_client_id(context: Mapping[str, Any], integrations: Mapping[str, Any]) -> str | None:
    # The spec puts it under context.integrations; analytics.js sends top-level integrations.
    for source in (context.get("integrations"), integrations):
        if source:
            ga = _obj(_obj(source).get("Google Analytics"))
            client_id = _text(ga.get("clientId"))
            if client_id is not None:
                return client_id
    return None


def identifiers_of(msg: Message, rules: IdentityRules = DEFAULT_RULES) -> list[IdPair]:
    """The user identifiers a message carries, deduplicated, in a fixed order.

    - ``user_id`` ← ``userId``; ``anonymous_id`` ← ``anonymousId``.
    - ``email`` ← ``traits.email`` (identify calls only: group traits describe the account) or
      ``context.traits.email``.
    - ``{android,ios}.id`` / ``.idfa`` / ``.push_token`` ← ``context.device`` by device type.
    - ``ga_client_id`` ← ``integrations['Google Analytics'].clientId``.
    - custom types ← ``context.externalIds`` and ``rules.trait_identifiers``.

    An alias call's ``previousId`` is not here: see ``previous_id_of``.
    """
    # Hot path (every message, every engine): skip the context walk when there is no context.
    ids: list[IdPair] = []
    if msg.user_id:
        ids.append(("user_id", msg.user_id))
    context = msg.context
    own_traits: Mapping[str, Any] = msg.traits if msg.type == "identify" else {}
    context_traits = _obj(context.get("traits")) if context else {}
    email = _text(own_traits.get("email")) if own_traits else None
    if email is None and context_traits:
        email = _text(context_traits.get("email"))
    if email is not None:
        ids.append(("email", email))
    if context and "device" in context:
        ids.extend(_device_ids(_obj(context["device"])))
    if msg.anonymous_id:
        ids.append(("anonymous_id", msg.anonymous_id))
    if context or msg.integrations:
        ga = _ga_client_id(context, msg.integrations)
        if ga is not None:
            ids.append(("ga_client_id", ga))
    if context and "externalIds" in context:
        ids.extend(_external_ids(context["externalIds"]))
    for id_type, key in rules.trait_identifiers.items():
        for source in (own_traits, context_traits, msg.properties):
            value = _lookup(source, key)
            if value is not None:
                ids.append((id_type, value))
                break
    if len(ids) > 2 or (len(ids) == 2 and ids[0] == ids[1]):
        ids = list(dict.fromkeys(ids))
    return ids


def previous_id_of(msg: Message) -> str | None:
    """An alias call's ``previousId`` (the id the user was known by); None for other calls."""
    if msg.type != "alias":
        return None
    return msg.previous_id or None


def group_id_of(msg: Message) -> str | None:
    """The account a message links its user to: a group call's ``groupId``.

    Spec §6.4: an empty ``groupId`` or one over 500 characters is silently dropped.
    ``context.groupId`` on other calls is left to the account pipeline.
    """
    if msg.type != "group":
        return None
    group_id = msg.group_id
    if not group_id or len(group_id) > MAX_GROUP_ID_CHARS:
        return None
    return group_id


MAX_GROUP_ID_CHARS = 500
