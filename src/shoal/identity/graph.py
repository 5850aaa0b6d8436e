"""The identity graph: identifiers → profiles, by flat matching (spec §6.2–6.4). Pure, no I/O.

Each ``(type, value)`` identifier belongs to at most one profile, for ever. Profiles join by
union-find; a merged-away profile keeps its id and points at the survivor, so ``canonical``
follows a chain of merges (the Profiles Sync ``id_graph_updates`` model, spec §6.5).

Per message (``observe``):

1. Drop blocked values; sort the rest by priority (ties keep their order in the message).
2. Look up the profiles owning any of them ("matched") and the ids nobody owns ("fresh").
3. If the result would hold more values of some type than its limit allows, drop the message's
   lowest-priority identifier and start again from 2 (spec §6.3 worked example). An empty match
   then creates a profile.
4. Then the graph limits (spec §6.4): if merging every matched profile would pass
   ``max_merges`` merges or ``max_identifiers`` identifiers per profile, do not merge; keep only
   the profile matched by the highest-priority identifier ("at a limit no more merges are added
   but events still resolve to the profile").
5. Merge the matched profiles into the oldest one, attach the fresh ids (up to
   ``max_identifiers``) and return the survivor.

Profile ids are ``use_`` + 27 base-62 characters hashed from the identifier that created the
profile (its highest-priority id), so they are stable across runs and engines: that identifier
belongs to this profile for ever and can create no other.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from mypy_extensions import mypyc_attr

from shoal.identity.rules import DEFAULT_RULES, IdentityRules
from shoal.pickling import Reduced, reduce_frozen

ProfileId = str
IdPair = tuple[str, str]

_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def profile_id_for(id_type: str, value: str) -> ProfileId:
    """The id of the profile created by identifier ``type:value`` (Segment's ``use_`` form)."""
    # One character per digest byte: slightly uneven over 62 symbols, still ~160 bits, and cheap.
    digest = hashlib.sha256(f"{id_type}:{value}".encode()).digest()
    return "use_" + "".join([_B62[b % 62] for b in digest[:27]])


@dataclass(frozen=True, slots=True)
class Identifier:
    """One identifier of a profile and when it was seen (earliest / latest message time)."""

    type: str
    value: str
    first_seen: datetime
    last_seen: datetime
    first_message_id: str

    def __reduce__(self) -> Reduced:
        return reduce_frozen(self)  # the same in both builds (shoal.pickling)


@dataclass(frozen=True, slots=True)
class Merge:
    """Profile ``absorbed`` joined ``kept`` because of message ``message_id`` (time ``at``).

    ``reason`` is ``"alias"`` for an alias call's merge, ``"identifiers"`` otherwise.
    ``kept`` may itself be merged later: ask ``IdentityGraph.canonical``.
    """

    kept: ProfileId
    absorbed: ProfileId
    at: datetime
    message_id: str
    reason: str

    def __reduce__(self) -> Reduced:
        return reduce_frozen(self)  # the same in both builds (shoal.pickling)


def name_rank(id_type: str) -> tuple[int, str]:
    """SEMANTICS "Output form": ``user_id``, ``email``, other types alphabetically,
    ``anonymous_id`` last. (Not the §6.3 conflict priority, which ranks ``anonymous_id``
    alphabetically.)"""
    if id_type == "user_id":
        return (0, "")
    if id_type == "email":
        return (1, "")
    if id_type == "anonymous_id":
        return (3, "")
    return (2, id_type)


def profile_name(identifiers: Iterable[Identifier | IdPair]) -> str:
    """``type:value`` of the highest-ranked identifier; among values of that type the smallest
    string wins (Shoal's choice: it does not depend on arrival order)."""
    best: tuple[tuple[int, str], str, str] | None = None
    for ident in identifiers:
        id_type, value = (ident.type, ident.value) if isinstance(ident, Identifier) else ident
        key = (name_rank(id_type), value, id_type)
        if best is None or key < best:
            best = key
    if best is None:
        raise ValueError("a profile has at least one identifier")
    return f"{best[2]}:{best[1]}"


@mypyc_attr(allow_interpreted_subclasses=True)
class _Seen:
    __slots__ = ("first_message_id", "first_seen", "last_seen")

    def __init__(self, at: datetime, message_id: str) -> None:
        self.first_seen = at
        self.last_seen = at
        self.first_message_id = message_id


@mypyc_attr(allow_interpreted_subclasses=True)
class _Profile:
    __slots__ = ("ids", "merges", "order", "parent", "pid", "size")

    def __init__(self, pid: ProfileId, order: int) -> None:
        self.pid = pid
        self.order = order  # creation order: the oldest profile survives a merge
        self.parent: _Profile | None = None
        self.ids: dict[str, list[str]] = {}  # type → values; emptied once absorbed
        self.size = 0
        self.merges = 0  # profiles absorbed into this one, directly or transitively


def _root(p: _Profile) -> _Profile:
    root = p
    while root.parent is not None:
        root = root.parent
    while p.parent is not None and p.parent is not root:  # path compression
        p.parent, p = root, p.parent
    return root


@mypyc_attr(allow_interpreted_subclasses=True)
class IdentityGraph:
    """Incremental identity graph of one space. Feed messages in time order (``resolve`` does)."""

    def __init__(self, rules: IdentityRules = DEFAULT_RULES) -> None:
        self.rules = rules
        self.merges: list[Merge] = []
        self._owner: dict[IdPair, _Profile] = {}
        self._seen: dict[IdPair, _Seen] = {}
        self._profiles: dict[ProfileId, _Profile] = {}

    # -- writing ----------------------------------------------------------------------------------
    def observe(
        self,
        ids: Sequence[IdPair],
        *,
        at: datetime,
        message_id: str,
        alias: bool = False,
        previous_id: str | None = None,
    ) -> ProfileId | None:
        """Apply one message's identifiers; return the (canonical) profile it belongs to.

        None when the message has no usable identifier (all blocked or empty). ``alias`` marks
        an alias call and ``previous_id`` its ``previousId``, which joins the message's ids only
        when ``rules.alias_merges`` is on (its type: see ``previous_type``).
        """
        rules = self.rules
        owner = self._owner
        # A pair the graph already owns passed the (fixed) rules before: skip the regexes.
        pairs = [p for p in ids if p in owner or (p[1] and not rules.is_blocked(*p))]
        reason = "identifiers"
        if alias and previous_id and rules.alias_merges:
            prev = (self.previous_type(previous_id), previous_id)
            if not rules.is_blocked(*prev):
                pairs.append(prev)
                reason = "alias"
        if not pairs:
            return None
        if len(pairs) > 1:
            # Stable: ids of equal priority keep message order, so on a tie the message's later
            # id (an extra externalIds entry, an alias's previousId) is the one dropped.
            rank = rules.rank
            if len(pairs) == 2:  # the usual userId + anonymousId, without sort machinery
                first, second = pairs
                if first == second:
                    pairs = [first]
                elif rank(second[0]) < rank(first[0]):
                    pairs = [second, first]
            else:
                pairs = list(dict.fromkeys(pairs))
                pairs.sort(key=lambda p: rank(p[0]))
        while True:
            matched: list[_Profile] = []
            fresh: list[IdPair] = []
            for pair in pairs:
                p = owner.get(pair)
                if p is None:
                    fresh.append(pair)
                else:
                    root = p if p.parent is None else _root(p)
                    if root not in matched:
                        matched.append(root)
            if not fresh and len(matched) == 1:  # the common case: all ids already known
                seen = self._seen
                for pair in pairs:
                    s = seen[pair]
                    if at > s.last_seen:
                        s.last_seen = at
                    elif at < s.first_seen:
                        s.first_seen = at
                        s.first_message_id = message_id
                return matched[0].pid
            if self._fits(matched, fresh, at):
                break
            pairs = pairs[:-1]  # drop the lowest-priority identifier and look up again
        # Graph limits come after the rules (spec §6.2 "Then enforce graph limits"). Fresh ids
        # fit the first profile alone, as they fit the whole merge.
        if len(matched) > 1 and not self._can_merge(matched, len(fresh)):
            matched = matched[:1]
        if matched:
            kept = min(matched, key=lambda p: p.order)
            for other in matched:
                if other is not kept:
                    self._absorb(kept, other, at, message_id, reason)
        else:
            kept = self._create(*fresh[0])
        room = rules.max_identifiers - kept.size
        for pair in fresh[:room]:
            owner[pair] = kept
            self._seen[pair] = _Seen(at, message_id)
            kept.ids.setdefault(pair[0], []).append(pair[1])
            kept.size += 1
        # Ids owned by a profile this message could not merge (graph limit) are not touched: the
        # message resolves elsewhere.
        self._touch([p for p in pairs if p in owner and _root(owner[p]) is kept], at, message_id)
        return kept.pid

    def previous_type(self, previous_id: str) -> str:
        """The type an alias's ``previousId`` is taken as (spec silent; Shoal's choice): a known
        ``user_id`` if one has that value, else ``anonymous_id`` — analytics.js sends the old
        user id when there was one and the anonymous id otherwise."""
        return "user_id" if ("user_id", previous_id) in self._owner else "anonymous_id"

    def _create(self, id_type: str, value: str) -> _Profile:
        profile = _Profile(profile_id_for(id_type, value), len(self._profiles))
        self._profiles[profile.pid] = profile
        return profile

    def _can_merge(self, matched: list[_Profile], fresh: int) -> bool:
        merges = sum(p.merges for p in matched) + len(matched) - 1
        size = sum(p.size for p in matched) + fresh
        return merges <= self.rules.max_merges and size <= self.rules.max_identifiers

    def _fits(self, matched: list[_Profile], fresh: list[IdPair], at: datetime) -> bool:
        """Would ``matched`` merged plus ``fresh`` respect every per-type limit?"""
        if len(matched) > 1:
            types = {t for p in matched for t in p.ids}
            types.update(t for t, _ in fresh)
        else:
            types = {t for t, _ in fresh}
        rules = self.rules
        for id_type in types:
            limit = rules.limit(id_type)
            count = sum(1 for t, _ in fresh if t == id_type)
            for p in matched:
                values = p.ids.get(id_type)
                if not values:
                    continue
                if limit.period is None:
                    count += len(values)
                else:
                    since = at - limit.period
                    seen = self._seen
                    count += sum(1 for v in values if seen[(id_type, v)].first_seen > since)
            if count > limit.count:
                return False
        return True

    def _absorb(
        self, kept: _Profile, other: _Profile, at: datetime, message_id: str, reason: str
    ) -> None:
        other.parent = kept
        for id_type, values in other.ids.items():
            kept.ids.setdefault(id_type, []).extend(values)
        kept.size += other.size
        kept.merges += other.merges + 1
        other.ids = {}
        self.merges.append(Merge(kept.pid, other.pid, at, message_id, reason))

    def _touch(self, pairs: Iterable[IdPair], at: datetime, message_id: str) -> None:
        seen = self._seen
        for pair in pairs:
            s = seen[pair]
            if at < s.first_seen:
                s.first_seen = at
                s.first_message_id = message_id
            elif at > s.last_seen:
                s.last_seen = at

    # -- reading ----------------------------------------------------------------------------------
    def profile_of(self, id_type: str, value: str) -> ProfileId | None:
        """The canonical profile owning an identifier, if any."""
        p = self._owner.get((id_type, value))
        return None if p is None else _root(p).pid

    def canonical(self, profile: ProfileId) -> ProfileId:
        """The profile ``profile`` was merged into (itself if never merged). Unknown ids map to
        themselves, so a caller holding a stale id gets it back rather than an error."""
        p = self._profiles.get(profile)
        return profile if p is None else _root(p).pid

    def identifiers(self, profile: ProfileId) -> list[Identifier]:
        """A profile's identifiers (after following merges), in naming order, then by value."""
        p = self._profiles.get(profile)
        if p is None:
            return []
        root = _root(p)
        out = []
        for id_type in sorted(root.ids, key=name_rank):
            for value in sorted(root.ids[id_type]):
                s = self._seen[(id_type, value)]
                out.append(
                    Identifier(id_type, value, s.first_seen, s.last_seen, s.first_message_id)
                )
        return out

    def pairs(self, profile: ProfileId) -> list[IdPair]:
        """Like ``identifiers`` without the times: cheaper for comparisons."""
        p = self._profiles.get(profile)
        if p is None:
            return []
        root = _root(p)
        return [(t, v) for t in sorted(root.ids, key=name_rank) for v in sorted(root.ids[t])]

    def name(self, profile: ProfileId) -> str:
        """The profile's output name (SEMANTICS "Output form"), e.g. ``user_id:u1``."""
        return profile_name(self.pairs(profile))

    def profiles(self) -> list[ProfileId]:
        """Every canonical (never merged away) profile, oldest first."""
        return [pid for pid, p in self._profiles.items() if p.parent is None]

    def __len__(self) -> int:
        return sum(1 for p in self._profiles.values() if p.parent is None)
