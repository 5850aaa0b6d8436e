"""`make demo`: generate a sample, serve it, send it through the Tracking API, show the result.

Every step runs the real `shoal` command a user would type, and prints it first, so the demo
doubles as a tour of the CLI.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import orjson
from rich.console import Console

console = Console()

DEMO_DIR = Path("shoal-demo")
USERS = int(os.environ.get("SHOAL_DEMO_USERS", "2000"))
DAYS = 30


def shoal_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "shoal", *args]


def run(*args: str, capture: bool = False) -> str:
    console.print(f"[bold cyan]$ shoal {shlex.join(args)}[/]", highlight=False, markup=True)
    result = subprocess.run(
        shoal_command(*args), check=True, text=True, stdout=subprocess.PIPE if capture else None
    )
    return result.stdout or ""


def wait_for_server(data: Path, process: subprocess.Popen[bytes]) -> str:
    info = data / "server.json"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("shoal serve exited early; see its log above")
        if info.exists():
            try:
                return str(orjson.loads(info.read_bytes())["url"])
            except (ValueError, KeyError):
                pass
        time.sleep(0.1)
    raise SystemExit("shoal serve did not start within 60 s")


def sample_end(sample: Path) -> str:
    """The as-of instant for the demo queries: just after the sample's last event."""
    last = ""
    with sample.open("rb") as handle:
        for line in handle:
            last = max(last, str(orjson.loads(line)["timestamp"]))
    return last


def busiest_user(sample: Path) -> str:
    """The identified user with the most messages: the most interesting profile to show."""
    counts: dict[str, int] = {}
    with sample.open("rb") as handle:
        for line in handle:
            user = orjson.loads(line).get("userId")
            if user:
                counts[user] = counts.get(user, 0) + 1
    return max(sorted(counts), key=lambda u: counts[u])


def main() -> None:
    if DEMO_DIR.exists():
        shutil.rmtree(DEMO_DIR)
    data = DEMO_DIR / "data"
    sample = DEMO_DIR / "sample.jsonl"
    DEMO_DIR.mkdir()
    console.rule("[bold]1. Generate a sample of Segment messages")
    run("synth", "--users", str(USERS), "--days", str(DAYS), "--seed", "42", "--out", str(sample))

    console.rule("[bold]2. Start the server")
    console.print(f"[bold cyan]$ shoal serve --data {data} --port 0 &[/]")
    server = subprocess.Popen(
        shoal_command("serve", "--data", str(data), "--port", "0", "--log-level", "warning")
    )
    try:
        url = wait_for_server(data, server)
        console.print(f"serving on {url}")
        keys = orjson.loads(run("keys", "--data", str(data), "--json", capture=True))[0]

        console.rule("[bold]3. Send the sample through POST /v1/batch")
        run("send", str(sample), "--data", str(data))

        console.rule("[bold]4. What was stored")
        stats = orjson.loads(run("stats", "--data", str(data), capture=True))
        console.print_json(data=stats)

        console.rule("[bold]5. One profile, resolved from anonymous browsing to accounts")
        user = busiest_user(sample)
        run("profile", f"user_id:{user}", "--data", str(data))
        path = f"/v1/spaces/default/collections/users/profiles/user_id:{user}/traits"
        console.print(f"[bold cyan]$ curl -u {keys['access_token']}: {url}{path}[/]")
        response = httpx.get(url + path, auth=(keys["access_token"], ""))
        console.print_json(response.text)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)

    console.rule("[bold]6. Evaluate an audience and a computed trait (reference engine)")
    as_of = "--as-of", sample_end(sample)
    audience = (
        "event('Product Viewed').where(property('price') > 100).within(7 days).count() >= 1"
        " AND event('Order Completed').within(7 days).count() = 0"
    )
    members = run("eval", "--events", str(sample), *as_of, audience, capture=True).split()
    console.print(f"{len(members)} users viewed a product over $100 this week but did not buy:")
    console.print("  " + ", ".join(members[:5]) + (", ..." if len(members) > 5 else ""))
    spend = "event('Order Completed').within(30 days).sum(property('revenue'))"
    rows = run("eval", "--events", str(sample), *as_of, "--kind", "trait", spend, capture=True)
    values = sorted((line.split("\t") for line in rows.splitlines()), key=lambda r: -float(r[1]))
    console.print("Biggest spenders over 30 days:")
    for name, value in values[:3]:
        console.print(f"  {name}  {float(value):,.2f}")

    console.rule("[bold]Next steps")
    console.print(
        "\n".join(
            [
                f"Data directory: {data}  (write key {keys['write_key']})",
                "",
                "Serve it again:",
                f"  .venv/bin/shoal serve --data {data}",
                "Send one event with curl:",
                f"  curl -u {keys['write_key']}: http://127.0.0.1:8088/v1/track \\",
                "    -H 'content-type: application/json' \\",
                """    -d '{"userId": "u1", "event": "Order Completed", """
                """"properties": {"revenue": 42}}'""",
                "Counts (with or without a running server):",
                f"  .venv/bin/shoal stats --data {data}",
                "Import a file directly:",
                f"  .venv/bin/shoal import {sample} --data {data}",
                "Evaluate your own definitions (docs/language.md):",
                f"  .venv/bin/shoal eval --events {sample} \"event('Signed Up').count() >= 1\"",
                "Look up anyone by any identifier:",
                f"  .venv/bin/shoal profile user_id:{user} --data {data} --json",
            ]
        ),
        soft_wrap=True,
    )


if __name__ == "__main__":
    main()
