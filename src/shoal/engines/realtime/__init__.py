"""The real-time engine: every definition kept current as messages arrive and time passes.

* :mod:`.routes` — what each definition reads (event names, traits, other definitions, durations);
* :mod:`.world` — the live profiles and accounts, one message at a time;
* :mod:`.compiled` — definition bodies compiled to closures, the reference's answers;
* :mod:`.incremental` — reducers over one name's events folded forward event by event;
* :mod:`.core` — :class:`~.core.Core`: messages and time in, :class:`~.core.Change` out (pure);
* :mod:`.engine` — :class:`~.engine.RealtimeEngine`, the :class:`shoal.engines.Engine` that
  replays messages in time order through a core with a simulated clock (``--engine realtime``).
"""

from shoal.engines.realtime.core import Change, Core

__all__ = ["Change", "Core"]
