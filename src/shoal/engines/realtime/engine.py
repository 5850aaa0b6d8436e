"""``--engine realtime``: replay messages through the incremental core with a simulated clock.

Messages are applied in SEMANTICS order, all messages of one instant together (the world at an
instant holds every message at or before it), timers firing in between; then the clock advances
to the as-of instant and the live results are read. No result is recomputed at the end: what is
printed is what the core holds, so a missed timer or a wrong routing shows up as a wrong answer.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import datetime

from shoal.engines import Failure, Members, Outcome, Request, Values
from shoal.engines import values as V
from shoal.engines.realtime.core import Core
from shoal.identity.resolve import message_order
from shoal.spec.message import Message

__all__ = ["RealtimeEngine", "outcomes", "replay"]


def replay(messages: Sequence[Message], core: Core, *, until: datetime) -> None:
    """Feed the messages up to ``until`` into ``core`` instant by instant, then advance to it."""
    visible = sorted((m for m in messages if m.timestamp <= until), key=message_order)
    for at, group in itertools.groupby(visible, key=lambda m: m.timestamp):
        core.apply(list(group), at)
    core.advance(until)


class RealtimeEngine:
    """The :class:`~shoal.engines.Engine` of the real-time core (see module docstring)."""

    name = "realtime"

    def evaluate(
        self, messages: Sequence[Message], requests: Sequence[Request], *, as_of: datetime
    ) -> dict[str, Outcome]:
        try:
            core = Core(requests)
            replay(messages, core, until=as_of)
        except RecursionError:
            failure = Failure(code="too_deep", message="definition nests too deeply")
            return {r.name: failure for r in requests}
        return outcomes(core)


def outcomes(core: Core) -> dict[str, Outcome]:
    """The live result of every definition in ``core``, in the engines' output form."""
    out: dict[str, Outcome] = {}
    for key, request in core.requests.items():
        result = core.results[key]
        if request.definition.kind == "audience":
            out[key] = Members(tuple(sorted(core.name_of(key, e) for e in result)))
        else:
            names = {e: core.name_of(key, e) for e in result}
            out[key] = Values({names[e]: V.jsonable(v) for e, v in result.items() if v is not None})
    return out
