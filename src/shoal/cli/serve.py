"""`shoal serve`: run the HTTP server on a data directory."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from shoal.cli.common import ConfigOption, DataOption, friendly, settings


def register(app: typer.Typer) -> None:
    @app.command()
    @friendly
    def serve(
        data: DataOption = None,
        config: ConfigOption = None,
        host: Annotated[
            str | None, typer.Option(help="Listen address [env SHOAL_HOST; 127.0.0.1].")
        ] = None,
        port: Annotated[
            int | None, typer.Option(help="Listen port, 0 for any free one [SHOAL_PORT; 8088].")
        ] = None,
        log_level: Annotated[
            str | None, typer.Option(help="debug, info, warning or error [SHOAL_LOG_LEVEL].")
        ] = None,
        definitions: Annotated[
            Path | None,
            typer.Option(
                "--definitions",
                help="YAML/TOML file of audiences and computed traits to keep live; reloaded "
                "when it changes [SHOAL_DEFINITIONS].",
            ),
        ] = None,
        engine_process: Annotated[
            str | None,
            typer.Option(
                "--engine-process",
                help="Run the real-time engine in a process of its own: on, off or auto (on "
                "with two or more CPUs) [SHOAL_ENGINE_PROCESS; auto].",
            ),
        ] = None,
        bench_endpoints: Annotated[
            bool,
            typer.Option(
                "--bench-endpoints",
                hidden=True,
                help="Add POST /bench/parse-only (validates, never stores) for benchmarks.",
            ),
        ] = False,
    ) -> None:
        """Serve the Segment-compatible Tracking API (and the admin API the CLI uses)."""
        from shoal.server import read_server_info, run_server

        conf = settings(
            config,
            data=data,
            host=host,
            port=port,
            log_level=log_level,
            definitions=definitions,
            engine_process=engine_process,
        )
        logging.basicConfig(
            level=conf.log_level.upper(),
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
        running = read_server_info(conf.data)
        if running is not None:
            typer.echo(
                f"error[store_busy]: {conf.data} is already served by PID {running.pid} "
                f"at {running.url}",
                err=True,
            )
            raise typer.Exit(2)
        run_server(conf, bench_endpoints=bench_endpoints)
