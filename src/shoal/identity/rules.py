"""Identity-resolution settings of a space: priority, limits, blocked values, graph caps.

Follows spec §6.3 (rules) and §6.4 (graph limits). Everything here is immutable; a graph keeps
the rules it was built with, because rule changes apply only to newly received data (§6.3).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from types import MappingProxyType
from typing import Any

from shoal.errors import ConfigError
from shoal.pickling import Reduced, reduce_frozen

PERIODS: Mapping[str, timedelta | None] = MappingProxyType(
    {
        "ever": None,
        "weekly": timedelta(days=7),
        # Segment does not say how long a "month" is; 30 days keeps the rule calendar-free like
        # every other window in Shoal (SEMANTICS "Time": no calendar logic).
        "monthly": timedelta(days=30),
        "annually": timedelta(days=365),
    }
)


@dataclass(frozen=True, slots=True)
class Limit:
    """At most ``count`` values of one identifier type per profile.

    With a ``period`` only values first seen within ``period`` before the message count, so a
    rotating id (``anonymous_id``) may keep being added as older ones age out (spec §6.3,
    e.g. ``5 weekly``). ``None`` means "ever".
    """

    count: int
    period: timedelta | None = None

    def __post_init__(self) -> None:
        if self.count < 1:
            raise ConfigError(f"an identifier limit must be at least 1, got {self.count}")

    @classmethod
    def parse(cls, text: str) -> Limit:
        """``"5"``, ``"1 ever"``, ``"5 weekly"``, ``"5 monthly"``, ``"5 annually"``."""
        parts = text.strip().lower().split()
        try:
            count = int(parts[0])
            period = PERIODS[parts[1]] if len(parts) == 2 else None
            if len(parts) > 2:
                raise ValueError(text)
        except (IndexError, KeyError, ValueError):
            raise ConfigError(
                f"identifier limits are written like '5 weekly' (ever, weekly, monthly, "
                f"annually), got {text!r}",
                code="invalid_identity_limit",
            ) from None
        return cls(count, period)

    def __reduce__(self) -> Reduced:
        return reduce_frozen(self)  # the same in both builds (shoal.pickling)


@dataclass(frozen=True, slots=True)
class Blocked:
    """Values never promoted to identifiers: exact strings and regular expressions (searched,
    so patterns anchor themselves, like the spec's ``^[0-]*$``)."""

    exact: frozenset[str] = frozenset()
    patterns: tuple[str, ...] = ()
    _pattern: re.Pattern[str] | None = field(init=False, repr=False, compare=False)
    _each: tuple[re.Pattern[str], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            each = tuple(re.compile(p) for p in self.patterns)
        except re.error as exc:
            raise ConfigError(
                f"invalid blocked-value pattern: {exc}", code="invalid_blocked_value"
            ) from None
        pattern = None
        if len(each) == 1:
            pattern = each[0]
        elif each:
            try:  # one alternation is one scan per value, whatever the number of patterns
                pattern = re.compile("|".join(f"(?:{p})" for p in self.patterns))
            except re.error:  # e.g. a global flag like (?i) inside a group: test one by one
                pattern = None
        object.__setattr__(self, "_pattern", pattern)
        object.__setattr__(self, "_each", () if pattern is not None else each)

    def matches(self, value: str) -> bool:
        if value in self.exact:
            return True
        if self._pattern is not None:
            return self._pattern.search(value) is not None
        return any(p.search(value) for p in self._each)

    def __reduce__(self) -> Reduced:
        return reduce_frozen(self)  # the same in both builds (shoal.pickling)


NO_BLOCKS = Blocked()

# Spec §6.3 suggests these for every identifier. "undefined" is Shoal's addition: it is what
# JavaScript leaks when a variable is unset, the twin of "null". The spec's other examples
# ("void", "abc123") are not defaults: "abc123" is a real user id in the spec's own example.
SUGGESTED_BLOCKS = Blocked(
    exact=frozenset({"-1", "null", "anonymous", "undefined"}), patterns=(r"^[0-]*$",)
)


SPEC_LIMITS: Mapping[str, Limit] = MappingProxyType({"user_id": Limit(1)})


def _ro(mapping: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True, slots=True)
class IdentityRules:
    """How identifiers map to profiles. Not hashable (it holds mappings); compare with ``==``.

    - ``priority``: identifier types, most trusted first; types not listed rank after them,
      alphabetically (spec §6.3: ``user_id`` 1, ``email`` 2, all others alphabetical from 3).
      Consulted only on a limit conflict.
    - ``limits`` / ``default_limit``: per type (spec: ``user_id`` 1, every other type 5).
      ``limits`` is laid over ``SPEC_LIMITS``, so naming one type keeps ``user_id`` at 1.
    - ``blocked`` applies to every type, ``blocked_by_type`` to one type in addition.
    - ``max_merges`` / ``max_identifiers``: graph limits per profile (spec §6.4: 100 and 1,000).
    - ``alias_merges``: whether an alias call joins ``previousId``'s profile to ``userId``'s.
      On by default: Shoal's identity contract is that alias merges (the identity issue asks
      for it, and it is what users of alias expect); set it off to match Segment Unify, whose
      docs (spec §6.4, §8.6) say alias calls do not merge profiles.
    - ``trait_identifiers``: custom identifier type → trait/property key read from ``traits``,
      ``context.traits`` and ``properties`` (spec §6.1 (b)).
    """

    priority: tuple[str, ...] = ("user_id", "email")
    limits: Mapping[str, Limit] = field(default_factory=lambda: _ro({}))
    default_limit: Limit = Limit(5)
    blocked: Blocked = SUGGESTED_BLOCKS
    blocked_by_type: Mapping[str, Blocked] = field(default_factory=lambda: _ro({}))
    max_merges: int = 100
    max_identifiers: int = 1000
    alias_merges: bool = True
    trait_identifiers: Mapping[str, str] = field(default_factory=lambda: _ro({}))
    _ranks: dict[str, tuple[int, str]] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "limits", _ro({**SPEC_LIMITS, **self.limits}))
        object.__setattr__(self, "blocked_by_type", _ro(self.blocked_by_type))
        object.__setattr__(self, "trait_identifiers", _ro(self.trait_identifiers))
        object.__setattr__(self, "priority", tuple(self.priority))
        if len(set(self.priority)) != len(self.priority):
            raise ConfigError("identifier priority lists a type twice", code="invalid_priority")
        if self.max_merges < 0 or self.max_identifiers < 1:
            raise ConfigError("graph limits must be positive", code="invalid_identity_limit")

    def limit(self, id_type: str) -> Limit:
        return self.limits.get(id_type, self.default_limit)

    def rank(self, id_type: str) -> tuple[int, str]:
        """Sort key: smaller is higher priority. Cached, as it sits on the conflict path."""
        rank = self._ranks.get(id_type)
        if rank is None:
            try:
                rank = (self.priority.index(id_type), "")
            except ValueError:
                rank = (len(self.priority), id_type)
            self._ranks[id_type] = rank
        return rank

    def is_blocked(self, id_type: str, value: str) -> bool:
        if self.blocked.matches(value):
            return True
        per_type = self.blocked_by_type.get(id_type)
        return per_type is not None and per_type.matches(value)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> IdentityRules:
        """Rules from a settings document, e.g.::

            {"priority": ["user_id", "email"], "limits": {"anonymous_id": "5 weekly"},
             "default_limit": "5", "blocked": {"exact": ["null"], "patterns": ["^[0-]*$"]},
             "blocked_by_type": {"email": {"exact": ["test@example.com"]}},
             "max_merges": 100, "max_identifiers": 1000, "alias_merges": false,
             "trait_identifiers": {"phone": "phone"}}

        Missing keys keep their defaults.
        """
        known = {f for f in cls.__dataclass_fields__ if not f.startswith("_")}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(
                f"unknown identity setting(s): {', '.join(unknown)}", code="invalid_config"
            )
        kwargs: dict[str, Any] = {}
        if "priority" in data:
            kwargs["priority"] = tuple(str(t) for t in data["priority"])
        if "limits" in data:
            kwargs["limits"] = {str(k): Limit.parse(str(v)) for k, v in data["limits"].items()}
        if "default_limit" in data:
            kwargs["default_limit"] = Limit.parse(str(data["default_limit"]))
        if "blocked" in data:
            kwargs["blocked"] = _blocked(data["blocked"])
        if "blocked_by_type" in data:
            kwargs["blocked_by_type"] = {
                str(k): _blocked(v) for k, v in data["blocked_by_type"].items()
            }
        for key in ("max_merges", "max_identifiers"):
            if key in data:
                kwargs[key] = int(data[key])
        if "alias_merges" in data:
            kwargs["alias_merges"] = bool(data["alias_merges"])
        if "trait_identifiers" in data:
            kwargs["trait_identifiers"] = {
                str(k): str(v) for k, v in data["trait_identifiers"].items()
            }
        return cls(**kwargs)

    def __reduce__(self) -> Reduced:
        return reduce_frozen(self)  # the same in both builds (shoal.pickling)


def _blocked(data: Mapping[str, Iterable[str]]) -> Blocked:
    return Blocked(
        exact=frozenset(str(v) for v in data.get("exact", ())),
        patterns=tuple(str(p) for p in data.get("patterns", ())),
    )


DEFAULT_RULES = IdentityRules()
