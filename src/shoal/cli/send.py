"""`shoal send`: replay a file of Segment messages to a Tracking API over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Annotated, Any

import httpx
import orjson
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from shoal.cli.common import ConfigOption, DataOption, friendly, print_json, settings
from shoal.errors import InputFileError, UserError

_MAX_BATCH_BYTES = 450_000  # under the 500 KB limit, with room for the envelope


def _messages(path: Path) -> Iterator[bytes]:
    from shoal.spec.importer import file_format, parquet_rows

    if file_format(path) == "parquet":
        for row in parquet_rows(path):
            yield orjson.dumps(row)
        return
    with path.open("rb") as handle:
        for line in handle:
            if line.strip():
                yield line.strip()


def _batches(path: Path, size: int) -> Iterator[list[bytes]]:
    batch: list[bytes] = []
    used = 0
    for message in _messages(path):
        if batch and (len(batch) >= size or used + len(message) > _MAX_BATCH_BYTES):
            yield batch
            batch, used = [], 0
        batch.append(message)
        used += len(message) + 1
    if batch:
        yield batch


def _count_messages(path: Path) -> int:
    from shoal.spec.importer import file_format

    if file_format(path) == "parquet":
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(path).metadata.num_rows)
    with path.open("rb") as handle:
        return sum(1 for line in handle if line.strip())


def register(app: typer.Typer) -> None:
    @app.command()
    @friendly
    def send(
        file: Annotated[Path, typer.Argument(help="JSON Lines or Parquet file of messages.")],
        url: Annotated[
            str | None,
            typer.Option(help="Tracking API base URL [default: the server running on --data]."),
        ] = None,
        write_key: Annotated[
            str | None, typer.Option(help="Write key [default: the `default` space's].")
        ] = None,
        data: DataOption = None,
        config: ConfigOption = None,
        batch_size: Annotated[int, typer.Option(help="Messages per /v1/batch request.")] = 500,
        connections: Annotated[int, typer.Option(help="Concurrent requests.")] = 4,
    ) -> None:
        """Send every message of FILE through POST /v1/batch (gzip), with a progress bar."""
        from shoal.cli.target import open_target
        from shoal.server import read_server_info

        if not file.is_file():
            raise InputFileError("no such file", location=str(file))
        conf = settings(config, data=data)
        if url is None:
            info = read_server_info(conf.data)
            if info is None:
                raise UserError(
                    f"no server is running on {conf.data}; start `shoal serve` or pass --url",
                    code="no_server",
                    location=str(conf.data),
                )
            url = info.url
        if write_key is None:
            with open_target(conf) as target:
                write_key = next(s["write_key"] for s in target.spaces() if s["space"] == "default")
        total = _count_messages(file)
        console = Console(stderr=True)
        counts = {"sent": 0, "rejected": 0}
        errors: list[dict[str, Any]] = []
        columns = [
            TextColumn("[bold]sending[/] {task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
        ]
        with (
            httpx.Client(base_url=url, auth=(write_key, ""), timeout=60) as http,
            ThreadPoolExecutor(max_workers=max(1, connections)) as pool,
            Progress(*columns, console=console) as bar,
        ):
            task = bar.add_task(file.name, total=total)

            def post(batch: list[bytes]) -> tuple[int, dict[str, Any]]:
                import gzip

                body = b'{"batch":[' + b",".join(batch) + b"]}"
                response = http.post(
                    "/v1/batch",
                    content=gzip.compress(body, compresslevel=1),
                    headers={"content-type": "application/json", "content-encoding": "gzip"},
                )
                return len(batch), {"status": response.status_code, **response.json()}

            pending = []
            for batch in _batches(file, batch_size):
                pending.append(pool.submit(post, batch))
                if len(pending) >= connections * 2:
                    _collect(pending.pop(0).result(), counts, errors, bar, task)
            for future in pending:
                _collect(future.result(), counts, errors, bar, task)
        print_json({"url": url, **counts, "errors": errors[:20]})
        if counts["rejected"]:
            raise typer.Exit(1)


def _collect(
    outcome: tuple[int, dict[str, Any]],
    counts: dict[str, int],
    errors: list[dict[str, Any]],
    bar: Progress,
    task: Any,
) -> None:
    n, body = outcome
    if body["status"] == 200:
        counts["sent"] += n
    elif body.get("code") == "invalid_messages":
        counts["sent"] += int(body.get("accepted", 0))
        counts["rejected"] += int(body.get("rejected", 0))
        errors.extend(body.get("errors", []))
    else:
        raise UserError(
            f"the server refused a batch: {body.get('message')}",
            code=str(body.get("code", "send_failed")),
            location=body.get("location"),
        )
    bar.advance(task, n)
