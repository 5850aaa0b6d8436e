"""Running ``shoal serve``: bind, announce in ``<data>/server.json``, serve until stopped.

``server.json`` tells other ``shoal`` commands that a server owns the data directory and how to
reach it (URL, PID and an admin token). It is written with mode 0600 once the socket is bound,
and removed on a clean shutdown; a stale file (dead PID) is ignored.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import signal
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson

from shoal.clock import Clock, SystemClock
from shoal.config import Settings

log = logging.getLogger("shoal.server")

SERVER_FILE = "server.json"


@dataclass(frozen=True, slots=True)
class ServerInfo:
    """How to reach the server that owns a data directory."""

    url: str
    pid: int
    admin_token: str


def read_server_info(data: Path) -> ServerInfo | None:
    """The live server of ``data``, or None (no file, unreadable, or its process is gone)."""
    path = data / SERVER_FILE
    try:
        doc = orjson.loads(path.read_bytes())
        info = ServerInfo(url=doc["url"], pid=int(doc["pid"]), admin_token=doc["admin_token"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    try:
        os.kill(info.pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return info


def _write_server_info(data: Path, info: ServerInfo) -> None:
    path = data / SERVER_FILE
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(orjson.dumps(_as_dict(info)))
    os.replace(tmp, path)


def _as_dict(info: ServerInfo) -> dict[str, object]:
    return {"url": info.url, "pid": info.pid, "admin_token": info.admin_token}


def _server_class() -> type:
    import uvicorn

    class GracefulServer(uvicorn.Server):
        """uvicorn re-raises SIGTERM/SIGINT after shutting down, which would kill the process
        before our cleanup (writer close, server.json removal); stop gracefully instead."""

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            previous = {
                sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)
            }
            try:
                yield
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)

    return GracefulServer


def run_server(
    settings: Settings, clock: Clock | None = None, *, bench_endpoints: bool = False
) -> None:
    """Serve the Tracking and admin APIs on ``settings.host:settings.port`` until SIGINT/SIGTERM."""
    import uvicorn

    from shoal.api.app import create_app
    from shoal.profiles.service import ProfileService

    _Server = _server_class()
    from shoal import gc_policy
    from shoal.compute.service import ComputeService
    from shoal.store.store import Store

    gc_policy.configure(settings.gc_threshold)
    store = Store(settings, clock or SystemClock())
    service = ProfileService(store)
    try:
        compute = ComputeService(
            store,
            store.clock,
            definitions=settings.definitions,
            checkpoint_seconds=settings.checkpoint_seconds,
            process=settings.engine_in_process(),
            gc_threshold=settings.gc_threshold,
        )
    except BaseException:
        store.close()  # a bad definitions file: nothing served, nothing changed
        raise
    service.add_deletion_hook(compute.on_deletion)  # deleted profiles leave live results too
    compute.start()
    tuned = settings.gc_threshold > 0  # 0: Python's own policy, nothing frozen
    if tuned:
        gc_policy.freeze_loaded()  # the profiles and live state just loaded last the whole run
    sweeper = gc_policy.Sweeper(settings.gc_sweep_minutes if tuned else 0)
    sweeper.start()
    admin_token = secrets.token_urlsafe(32)
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((settings.host, settings.port))
    sock.listen(2048)
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if family == socket.AF_INET6 else host
    info = ServerInfo(url=f"http://{shown}:{port}", pid=os.getpid(), admin_token=admin_token)
    _write_server_info(settings.data, info)
    app = create_app(
        service, admin_token=admin_token, bench_endpoints=bench_endpoints, compute=compute
    )
    config = uvicorn.Config(
        app,
        log_level=settings.log_level,
        access_log=settings.log_level == "debug",
        timeout_graceful_shutdown=10,
    )
    server = _Server(config)
    spaces = ", ".join(s.name for s in store.spaces())
    log.info("serving %s (data %s; spaces: %s)", info.url, settings.data, spaces)
    try:
        server.run(sockets=[sock])
    finally:
        with contextlib.suppress(FileNotFoundError):
            (settings.data / SERVER_FILE).unlink()
        sweeper.close()
        compute.close()
        store.close()
        log.info("stopped; every acknowledged event is committed")
