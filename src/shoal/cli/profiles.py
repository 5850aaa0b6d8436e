"""`shoal profile` and `shoal delete-profile`."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.table import Table

from shoal.cli.common import ConfigOption, DataOption, friendly, print_json, settings
from shoal.cli.target import open_target

IdArgument = Annotated[
    str, typer.Argument(help="Any identifier of the profile, as type:value (user_id:u1).")
]
SpaceOption = Annotated[str, typer.Option("--space", help="Space to look in.")]


def _when(iso: str) -> str:
    return iso[:19].replace("T", " ")


def _show(doc: dict[str, Any]) -> None:
    console = Console()
    console.print(f"[bold]{doc['name']}[/]  ({doc['profile_id']}, space {doc['space']})")
    meta = doc["metadata"]
    console.print(
        f"created {_when(meta['created_at'])}  updated {_when(meta['updated_at'])}  "
        f"events {meta['events']}"
    )
    traits = Table("trait", "value", title="Traits", title_justify="left")
    for key, value in doc["traits"].items():
        traits.add_row(key, repr(value) if not isinstance(value, str) else value)
    console.print(traits)
    ids = Table("type", "id", "first seen", "last seen", title="Identifiers", title_justify="left")
    for ident in doc["identifiers"]:
        ids.add_row(
            ident["type"], ident["id"], _when(ident["first_seen"]), _when(ident["last_seen"])
        )
    console.print(ids)
    if doc["accounts"]:
        accounts = Table("group_id", "linked", "traits", title="Accounts", title_justify="left")
        for account in doc["accounts"]:
            accounts.add_row(
                account["group_id"], _when(account["linked_at"]), _compact(account["traits"])
            )
        console.print(accounts)
    if doc["merges"]:
        console.print(f"merged {len(doc['merges'])} profile(s) into this one")
    events = Table("timestamp", "event", "properties", title="Latest events", title_justify="left")
    for event in doc["latest_events"]:
        events.add_row(
            _when(event["timestamp"]), event["event"] or "", _compact(event["properties"])
        )
    console.print(events)


def _compact(value: Any, width: int = 60) -> str:
    text = orjson.dumps(value).decode()
    return text if len(text) <= width else text[: width - 1] + "…"


def register(app: typer.Typer) -> None:
    @app.command()
    @friendly
    def profile(
        identifier: IdArgument,
        data: DataOption = None,
        config: ConfigOption = None,
        space: SpaceOption = "default",
        json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    ) -> None:
        """Show a user profile: traits, identifiers, accounts, merges, latest events."""
        with open_target(settings(config, data=data)) as target:
            doc = target.profile(space, identifier)
        if json:
            print_json(doc)
        else:
            _show(doc)

    @app.command("delete-profile")
    @friendly
    def delete_profile(
        identifier: IdArgument,
        data: DataOption = None,
        config: ConfigOption = None,
        space: SpaceOption = "default",
        suppress: Annotated[
            bool,
            typer.Option(help="Also drop future events that carry any of its identifiers."),
        ] = False,
        yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    ) -> None:
        """Delete a user profile: its events, traits, account links and identifiers."""
        if not yes:
            typer.confirm(f"Delete the profile of {identifier} and all its events?", abort=True)
        with open_target(settings(config, data=data)) as target:
            print_json(target.delete_profile(space, identifier, suppress))
