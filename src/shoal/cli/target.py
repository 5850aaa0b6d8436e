"""Where a CLI command runs: through the server that owns the data directory, or on the file.

DuckDB lets one process open a database file, so while ``shoal serve`` runs every command that
touches the store goes through its admin API; otherwise the command opens the file itself. Both
paths print the same thing, and the command says on stderr which one it took.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import httpx
import orjson
import typer

from shoal.clock import SystemClock
from shoal.config import Settings
from shoal.errors import AuthError, NotFoundError, UserError
from shoal.server import ServerInfo, read_server_info

if TYPE_CHECKING:
    from shoal.profiles.service import ProfileService


class Target(Protocol):
    def stats(self, space: str | None) -> dict[str, Any]: ...
    def spaces(self) -> list[dict[str, str]]: ...
    def create_space(self, name: str) -> dict[str, str]: ...
    def import_file(
        self, path: Path, space: str, progress: Callable[[int], None]
    ) -> dict[str, Any]: ...
    def profile(self, space: str, identifier: str) -> dict[str, Any]: ...
    def delete_profile(self, space: str, identifier: str, suppress: bool) -> dict[str, Any]: ...
    def members(self, space: str, key: str) -> dict[str, Any]: ...
    def changes(
        self, space: str, key: str | None, after: int, limit: int, wait: float
    ) -> list[dict[str, Any]]: ...


class LocalTarget:
    """Opens the DuckDB file directly (no server running)."""

    def __init__(self, conf: Settings) -> None:
        from shoal.store.store import Store

        self.store = Store(conf, SystemClock())
        self._service: ProfileService | None = None

    @property
    def service(self) -> ProfileService:
        """Profiles are rebuilt from the log on first use (the server keeps them live)."""
        from shoal.profiles.service import ProfileService

        if self._service is None:
            self._service = ProfileService(self.store)
        return self._service

    def stats(self, space: str | None) -> dict[str, Any]:
        if space is not None:
            self._check_space(space)
        return self.service.stats(space)

    def profile(self, space: str, identifier: str) -> dict[str, Any]:
        from shoal.profiles.document import parse_identifier, profile_document

        self._check_space(space)
        id_type, value = parse_identifier(identifier)
        record = self.service.find(space, "users", id_type, value)
        if record is None:
            raise NotFoundError(
                "profile was not found", code="profile_not_found", location=identifier
            )
        return profile_document(self.service, space, record)

    def delete_profile(self, space: str, identifier: str, suppress: bool) -> dict[str, Any]:
        from shoal.profiles.document import parse_identifier

        self._check_space(space)
        id_type, value = parse_identifier(identifier)
        deletion = self.service.delete(space, id_type, value, suppress=suppress)
        if deletion is None:
            raise NotFoundError(
                "profile was not found", code="profile_not_found", location=identifier
            )
        return deletion.to_dict()

    def spaces(self) -> list[dict[str, str]]:
        return [s.to_dict() for s in self.store.spaces()]

    def create_space(self, name: str) -> dict[str, str]:
        return self.store.create_space(name).to_dict()

    def import_file(
        self, path: Path, space: str, progress: Callable[[int], None]
    ) -> dict[str, Any]:
        from shoal.store.bulk import import_file

        self._check_space(space)
        suppressed = (
            self.store.con.cursor()
            .execute("SELECT count(*) FROM suppressions WHERE space = ?", [space])
            .fetchone()[0]
        )
        if suppressed:
            # The profile service installs the suppression filter on the writer, so deleted
            # people's identifiers are dropped here too (through the per-message path).
            _ = self.service
        return import_file(self.store, path, space=space, progress=progress).to_dict()

    def members(self, space: str, key: str) -> dict[str, Any]:
        """Read off the change log: the newest change of every entity (no server running)."""
        from shoal.compute import changelog

        self._check_space(space)
        cur = self.store.con.cursor()
        found = cur.execute(
            "SELECT count(*) FROM changes WHERE space = ? AND key = ?", [space, key]
        ).fetchone()[0]
        if not found:
            raise NotFoundError(
                f"the change log of space {space!r} has nothing for {key!r}",
                code="unknown_definition",
                location="key",
            )
        return changelog.members(cur, space, key)

    def changes(
        self, space: str, key: str | None, after: int, limit: int, wait: float
    ) -> list[dict[str, Any]]:
        from shoal.compute import changelog

        if wait:
            raise UserError(
                "--follow needs a running server (`shoal serve --definitions FILE`): without "
                "one nothing changes",
                code="no_server",
                location="--follow",
            )
        self._check_space(space)
        return changelog.read_changes(
            self.store.con.cursor(), space, key=key, after=after, limit=limit
        )

    def _check_space(self, space: str) -> None:
        if space not in {s.name for s in self.store.spaces()}:
            raise NotFoundError(f"unknown space {space!r}", code="unknown_space", location="space")

    def close(self) -> None:
        self.store.close()


class RemoteTarget:
    """Talks to the running server's admin API."""

    def __init__(self, info: ServerInfo) -> None:
        self.info = info
        self.http = httpx.Client(
            base_url=info.url,
            headers={"Authorization": f"Bearer {info.admin_token}"},
            timeout=120,
        )

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise UserError(
                f"the server at {self.info.url} did not answer: {exc}",
                code="server_unreachable",
                location=self.info.url,
            ) from None
        body = response.json()
        if response.status_code >= 400:
            error_type = AuthError if response.status_code == 401 else UserError
            raise error_type(
                body.get("message", "request failed"),
                code=body.get("code"),
                location=body.get("location"),
            )
        return body

    def stats(self, space: str | None) -> dict[str, Any]:
        params = {"space": space} if space else {}
        result: dict[str, Any] = self._call("GET", "/admin/stats", params=params)
        return result

    def spaces(self) -> list[dict[str, str]]:
        result: list[dict[str, str]] = self._call("GET", "/admin/spaces")
        return result

    def create_space(self, name: str) -> dict[str, str]:
        result: dict[str, str] = self._call("POST", "/admin/spaces", json={"name": name})
        return result

    def profile(self, space: str, identifier: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call(
            "GET", "/admin/profile", params={"space": space, "id": identifier}
        )
        return result

    def delete_profile(self, space: str, identifier: str, suppress: bool) -> dict[str, Any]:
        result: dict[str, Any] = self._call(
            "DELETE",
            "/admin/profile",
            params={"space": space, "id": identifier, "suppress": str(suppress).lower()},
        )
        return result

    def members(self, space: str, key: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", f"/admin/spaces/{space}/members/{key}")
        return dict(result["members"])

    def changes(
        self, space: str, key: str | None, after: int, limit: int, wait: float
    ) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"after": after, "limit": limit, "wait": wait}
        if key is not None:
            params["key"] = key
        result: dict[str, Any] = self._call("GET", f"/admin/spaces/{space}/changes", params=params)
        return list(result["changes"])

    def import_file(
        self, path: Path, space: str, progress: Callable[[int], None]
    ) -> dict[str, Any]:
        from shoal.spec.importer import file_format, parquet_rows

        totals: dict[str, Any] = {
            "read": 0,
            "accepted": 0,
            "duplicates": 0,
            "rejected": 0,
            "errors": [],
        }
        for first_line, chunk, size in _chunks(path, file_format(path), parquet_rows):
            body = self._call(
                "POST",
                "/admin/import",
                params={"space": space, "first_line": first_line},
                content=chunk,
            )
            totals["read"] += body["accepted"] + body["duplicates"] + body["rejected"]
            for key in ("accepted", "duplicates", "rejected"):
                totals[key] += body[key]
            totals["errors"].extend(body["errors"][: max(0, 20 - len(totals["errors"]))])
            progress(size)
        return totals

    def close(self) -> None:
        self.http.close()


def _chunks(
    path: Path, fmt: str, parquet_rows: Callable[[Path], Iterator[dict[str, Any]]]
) -> Iterator[tuple[int, bytes, int]]:
    """(first line number, JSON Lines bytes, progress units) chunks of about 2 MB."""
    if fmt == "parquet":
        lines: list[bytes] = []
        first = 1
        for number, row in enumerate(parquet_rows(path), start=1):
            lines.append(orjson.dumps(row))
            if len(lines) == 5_000:
                yield first, b"\n".join(lines), len(lines)
                first, lines = number + 1, []
        if lines:
            yield first, b"\n".join(lines), len(lines)
        return
    with path.open("rb") as handle:
        line = 1
        while data := handle.read(2 << 20):
            if not data.endswith(b"\n"):
                data += handle.readline()
            yield line, data, len(data)
            line += data.count(b"\n")


@contextmanager
def open_target(conf: Settings) -> Iterator[LocalTarget | RemoteTarget]:
    """The server if one owns ``conf.data``, else the file; says which on stderr."""
    info = read_server_info(conf.data)
    target: LocalTarget | RemoteTarget
    if info is not None:
        typer.echo(f"(through the server at {info.url}, PID {info.pid})", err=True)
        target = RemoteTarget(info)
    else:
        target = LocalTarget(conf)
    try:
        yield target
    finally:
        target.close()
