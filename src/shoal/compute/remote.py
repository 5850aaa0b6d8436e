"""The real-time cores in a process of their own (setting ``engine_process``).

Inside ``shoal serve`` the HTTP server, the writer and the compute thread share one interpreter
lock. At a few thousand events per second the definitions alone take most of a core, and
requests and commits queue behind them. Here the cores live in a child process and the compute
thread drives them over a pipe: a commit's messages go over in one request and their changes
come back, so the server's interpreter only pickles while the child computes on another core.

- The child is forked from a clean server process (``forkserver``), so it shares no threads
  and no open DuckDB file with ``shoal serve``. Only the server opens the DuckDB file
  (DESIGN.md), so a backfill streams the stored events to the child in chunks.
- The child writes and reads checkpoints itself, so the state never crosses the pipe whole.
- The child exits when the pipe closes. A server killed with SIGKILL takes it down too.
- :class:`RemoteCore` offers the :class:`~shoal.engines.realtime.Core` methods the service calls.
  :mod:`.cores` holds the rest, which the child runs on its real cores.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import multiprocessing
import pickle
import queue
import threading
import traceback
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from shoal import pickling
from shoal.compute import cores
from shoal.engines import Request
from shoal.engines.realtime import Change, Core
from shoal.errors import InternalError
from shoal.spec.message import Message

__all__ = ["EngineProcessError", "ProcessEngine", "RemoteCore"]

log = logging.getLogger(__name__)

_CHUNK = 2_000
"""Stored events per pipe message during a backfill."""


class EngineProcessError(InternalError):
    """The engine process failed an operation, or is gone."""

    def __init__(
        self,
        message: str,
        partial: list[list[Change]] | None = None,
        trace: str = "",
        *,
        gone: bool = False,
    ) -> None:
        super().__init__(message)
        self.gone = gone
        """The process is gone (its cores with it), not just one operation failed."""
        self.partial = partial or []
        """For a failed ``apply_each``: the changes of the messages applied before the failure."""
        self.trace = trace
        """The child's traceback."""


class ProcessEngine:
    """A child process holding cores by handle; every call is one request and one reply."""

    def __init__(self, gc_threshold: int = 0) -> None:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload([__name__])
        self._conn, child = ctx.Pipe()
        self._process = ctx.Process(
            target=_serve, args=(child, gc_threshold), name="shoal-engine", daemon=True
        )
        self._process.start()
        child.close()
        self._lock = threading.Lock()
        self._outstanding = 0
        self._handles = itertools.count(1)
        self.closed = False
        self.build: str = self.call("build", 0, ())[0]
        """What the engine process runs, ``compiled`` or ``interpreted`` (:mod:`shoal.native`):
        it pickles the cores, so its checkpoints record its build, not the server's."""
        log.info("real-time engine process started (pid %s, %s)", self._process.pid, self.build)

    @property
    def pid(self) -> int | None:
        return self._process.pid

    def new(self, requests: Sequence[Request], since: dict[str, datetime]) -> RemoteCore:
        core = RemoteCore(self, next(self._handles))
        core.call("new", list(requests), since)
        return core

    def read_checkpoint(self, path: Path, build: str) -> tuple[dict[str, Any], RemoteCore]:
        core = RemoteCore(self, next(self._handles))
        fields: dict[str, Any] = core.call("read", str(path), build)
        return fields, core

    def close(self) -> None:
        with self._lock:
            if not self.closed:
                self.closed = True
                with contextlib.suppress(OSError, EOFError):
                    while self._outstanding and self._conn.poll(5):  # answers nobody read
                        self._conn.recv_bytes()
                        self._outstanding -= 1
                    self._conn.send_bytes(pickle.dumps(("exit", 0, ())))
                    if self._conn.poll(5):  # a child stuck in work is killed below
                        self._conn.recv_bytes()
            self._conn.close()
        self._process.join(10)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()
        log.info("real-time engine process stopped")

    # --- the pipe ------------------------------------------------------------------------------

    def call(self, op: str, handle: int, args: tuple[Any, ...]) -> tuple[Any, datetime | None]:
        with self._lock:
            self._check_in_step()
            self._send((op, handle, args))
            return self._reply()

    def send(self, op: str, handle: int, args: tuple[Any, ...]) -> None:
        """A request whose reply :meth:`receive` reads later (replies come in request order),
        so the child computes while the caller does something else."""
        with self._lock:
            self._send((op, handle, args))
            self._outstanding += 1

    def receive(self) -> tuple[Any, datetime | None]:
        """The reply to the oldest request :meth:`send` made."""
        with self._lock:
            if not self._outstanding:
                raise InternalError("no request is waiting for its reply")
            self._outstanding -= 1
            return self._reply()

    def _check_in_step(self) -> None:
        if self._outstanding:
            # A caller that sends ahead answers all it sent before anyone else calls; anything
            # else would read another's reply.
            raise InternalError(f"{self._outstanding} replies not read before a call")

    def backfill(
        self, handle: int, messages: Iterable[Message], until: datetime
    ) -> datetime | None:
        with self._lock:
            self._check_in_step()
            self._send(("backfill", handle, (until,)))
            chunk: list[Message] = []
            try:
                for message in messages:
                    chunk.append(message)
                    if len(chunk) == _CHUNK:
                        self._send(chunk)
                        chunk = []
                if chunk:
                    self._send(chunk)
            finally:
                self._send([])  # the end, also when reading failed: the child waits for it
                _, timer = self._reply()
            return timer

    def _send(self, obj: Any) -> None:
        if self.closed:
            raise EngineProcessError("the real-time engine process was stopped", gone=True)
        try:
            self._conn.send_bytes(pickling.dumps(obj))
        except (OSError, EOFError) as exc:
            raise self._gone() from exc

    def _reply(self) -> tuple[Any, datetime | None]:
        try:
            data = self._conn.recv_bytes()
        except (OSError, EOFError) as exc:
            raise self._gone() from exc
        status, value, timer = pickle.loads(data)
        if status == "error":
            text, trace, partial = value
            raise EngineProcessError(text, partial, trace)
        return value, timer

    def _gone(self) -> EngineProcessError:
        self._process.join(1)
        self.closed = True
        return EngineProcessError(
            f"the real-time engine process (pid {self._process.pid}) exited"
            f" with code {self._process.exitcode}",
            gone=True,
        )


class RemoteCore:
    """A core held by a :class:`ProcessEngine`: the methods of
    :class:`~shoal.engines.realtime.Core` the compute service calls, each one request."""

    def __init__(self, engine: ProcessEngine, handle: int) -> None:
        self.engine = engine
        self.handle = handle
        self._timer: datetime | None = None

    def call(self, op: str, *args: Any) -> Any:
        value, self._timer = self.engine.call(op, self.handle, args)
        return value

    def apply(self, messages: Iterable[Message], now: datetime) -> list[Change]:
        changes: list[Change] = self.call("apply", list(messages), now)
        return changes

    def apply_each(self, items: list[tuple[Message, datetime]]) -> list[list[Change]]:
        results: list[list[Change]] = self.call("apply_each", items)
        return results

    def send_apply_each(self, items: list[tuple[Message, datetime]]) -> None:
        """:meth:`apply_each` without waiting; :meth:`receive_apply_each` reads its answer."""
        self.engine.send("apply_each", self.handle, (items,))

    def receive_apply_each(self) -> list[list[Change]]:
        results: list[list[Change]]
        results, self._timer = self.engine.receive()
        return results

    def advance(self, until: datetime) -> list[Change]:
        changes: list[Change] = self.call("advance", until)
        return changes

    def backfill(self, messages: Iterable[Message], until: datetime) -> None:
        self._timer = self.engine.backfill(self.handle, messages, until)

    def next_timer(self) -> datetime | None:
        """As of the last call (only calls change it)."""
        return self._timer

    def state_size(self) -> dict[str, int]:
        sizes: dict[str, int] = self.call("state_size")
        return sizes

    def diff(self, new: RemoteCore, now: datetime) -> list[Change]:
        changes: list[Change] = self.call("diff", new.handle, now)
        return changes

    def members(self, key: str) -> dict[str, Any] | None:
        found: dict[str, Any] | None = self.call("members", key)
        return found

    def snapshot(self) -> cores.Snapshot:
        snap: cores.Snapshot = self.call("snapshot")
        return snap

    def write_checkpoint(self, path: Path, head: bytes) -> None:
        self.call("write", str(path), head)

    def release(self) -> None:
        """Free the child's core (after a swap put another in its place)."""
        if not self.engine.closed:
            self.call("drop")


# --- the child -----------------------------------------------------------------------------------


def _serve(conn: Connection, gc_threshold: int) -> None:
    """The child's loop: one request, one reply, until the pipe closes or ``exit``.

    A thread reads the pipe all the time: the server may send its next request before it
    reads the reply to the last, and if both ends wrote more than the pipe holds while neither
    read, both would wait forever."""
    import signal

    from shoal import gc_policy

    # Ctrl-C in a terminal reaches the whole process group; the server stops the child itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    gc_policy.configure(gc_threshold)
    inbox: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
    threading.Thread(target=_read, args=(conn, inbox), name="engine-pipe", daemon=True).start()
    held: dict[int, Core] = {}
    while True:
        data = inbox.get()
        if data is None:
            return  # the server is gone
        op, handle, args = pickle.loads(data)
        if op == "exit":
            conn.send_bytes(pickle.dumps(("ok", None, None)))
            return
        try:
            value: Any = None
            if op == "backfill":
                _backfill(inbox, held, handle, args[0])
            else:
                value = _run(held, op, handle, args)
            core = held.get(handle)
            reply: tuple[Any, ...] = ("ok", value, core.next_timer() if core else None)
        except _Partial as exc:
            reply = ("error", (_text(exc.__cause__), traceback.format_exc(), exc.done), None)
        except Exception as exc:
            reply = ("error", (_text(exc), traceback.format_exc(), None), None)
        try:
            data = pickling.dumps(reply)
        except Exception as exc:  # an answer that cannot be pickled is still an answer
            data = pickle.dumps(("error", (_text(exc), traceback.format_exc(), None), None))
        conn.send_bytes(data)


def _read(conn: Connection, inbox: queue.SimpleQueue[bytes | None]) -> None:
    try:
        while True:
            inbox.put(conn.recv_bytes())
    except (EOFError, OSError):
        inbox.put(None)


class _Partial(Exception):
    def __init__(self, done: list[list[Change]]) -> None:
        super().__init__()
        self.done = done


def _text(exc: BaseException | None) -> str:
    return f"{type(exc).__name__}: {exc}"


def _run(held: dict[int, Core], op: str, handle: int, args: tuple[Any, ...]) -> Any:
    if op == "build":
        from shoal import native

        return native.running()
    if op == "new":
        requests, since = args
        held[handle] = Core(requests, since=since)
        return None
    if op == "read":
        fields, held[handle] = cores.read_checkpoint(Path(args[0]), args[1])
        return fields
    core = held[handle]
    if op == "apply":
        return core.apply(args[0], args[1])
    if op == "apply_each":
        done: list[list[Change]] = []
        try:
            cores.apply_each(core, args[0], done)
        except Exception as exc:
            raise _Partial(done) from exc
        return done
    if op == "advance":
        return core.advance(args[0])
    if op == "diff":
        return cores.diff(core, held[args[0]], args[1])
    if op == "members":
        return cores.members(core, args[0])
    if op == "snapshot":
        return cores.snapshot(core)
    if op == "state_size":
        return core.state_size()
    if op == "write":
        cores.write_checkpoint(Path(args[0]), args[1], core)
        return None
    if op == "drop":
        del held[handle]
        return None
    raise ValueError(f"unknown engine operation {op!r}")


def _backfill(
    inbox: queue.SimpleQueue[bytes | None], held: dict[int, Core], handle: int, until: datetime
) -> None:
    stream = _chunks(inbox)
    try:
        held[handle].backfill(stream, until)
    finally:
        for _ in stream:  # after any failure, read to the end so the next request lines up
            pass


def _chunks(inbox: queue.SimpleQueue[bytes | None]) -> Iterator[Message]:
    while True:
        data = inbox.get()
        if data is None:
            raise EOFError("the server is gone")
        chunk = pickle.loads(data)
        if not chunk:
            return
        yield from chunk
