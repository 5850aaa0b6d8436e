"""Test helpers: real servers on loopback, in a thread (injected clock) or as a subprocess."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import orjson
import uvicorn

from shoal.api.app import create_app
from shoal.clock import Clock
from shoal.config import Settings
from shoal.profiles.service import ProfileService
from shoal.store.store import Store

ADMIN_TOKEN = "test-admin-token"


@dataclass
class LiveServer:
    url: str
    store: Store
    write_key: str
    access_token: str
    service: ProfileService


@contextmanager
def live_server(data: Path, clock: Clock, **settings: object) -> Iterator[LiveServer]:
    """A real uvicorn server on a free loopback port, in a thread, over a real DuckDB file."""
    store = Store(Settings(data=data, **settings), clock)  # type: ignore[arg-type]
    service = ProfileService(store)
    app = create_app(service, admin_token=ADMIN_TOKEN, bench_endpoints=True)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("server did not start")
        time.sleep(0.01)
    default = next(s for s in store.spaces() if s.name == "default")
    try:
        yield LiveServer(
            f"http://127.0.0.1:{port}", store, default.write_key, default.access_token, service
        )
    finally:
        server.should_exit = True
        thread.join(10)
        store.close()


@dataclass
class ServerProcess:
    process: subprocess.Popen[bytes]
    url: str
    data: Path

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(20)


def start_server_process(data: Path, *, env: dict[str, str] | None = None) -> ServerProcess:
    """`shoal serve --port 0` as a child process; returns once it answers."""
    (data / "server.json").unlink(missing_ok=True)
    process = subprocess.Popen(
        [sys.executable, "-m", "shoal", "serve", "--data", str(data), "--port", "0"],
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    info = data / "server.json"
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"shoal serve exited with {process.returncode}")
        if info.exists():
            try:
                url = orjson.loads(info.read_bytes())["url"]
            except (ValueError, KeyError):
                url = None
            if url and _answers(url):
                return ServerProcess(process, url, data)
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("shoal serve did not start")
        time.sleep(0.05)


def _answers(url: str) -> bool:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=1):
            return True
    except OSError:
        return False
