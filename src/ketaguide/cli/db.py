"""`ketaguide db`: migrate the server's database and show its schema revision."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import typer

from ketaguide.cli.streams import write_output

if TYPE_CHECKING:
    from ketaguide.services.records import Records

db_app = typer.Typer(help="The server's database: migrations.", no_args_is_help=True)


@db_app.command("upgrade")
def upgrade_command() -> None:
    """Create or migrate the database (KETAGUIDE_DATABASE_URL, default an SQLite file in KETAGUIDE_DATA_DIR)."""
    from ketaguide.bootstrap import SystemClock
    from ketaguide.services import deployment
    from ketaguide.settings import load_settings

    records = deployment.open_records(load_settings(), SystemClock())
    try:
        before = deployment.status(records).current
        state = deployment.upgrade(records)
    finally:
        records.database.close()
    change = "already current" if before == state.current else f"upgraded from {before or 'empty'}"
    write_output(f"database {deployment.describe(records)}: schema revision {state.current} ({change})")


@db_app.command("status")
def status_command() -> None:
    """Show the schema revision; exit 1 when `ketaguide db upgrade` is needed."""
    from ketaguide.bootstrap import SystemClock
    from ketaguide.services import deployment
    from ketaguide.settings import load_settings

    records = deployment.open_records(load_settings(), SystemClock())
    try:
        state = deployment.status(records)
    finally:
        records.database.close()
    write_output(f"database {deployment.describe(records)}: revision {state.current or 'none'}, needed {state.head}")
    if not state.is_current:
        write_output(deployment.UPGRADE_HINT)
        raise typer.Exit(1)


@contextmanager
def ready_records() -> Iterator[Records]:
    """The settings' database, checked to be current and durable, closed afterwards (for the commands that read or
    change records)."""
    from ketaguide.bootstrap import SystemClock
    from ketaguide.services import deployment
    from ketaguide.settings import load_settings

    records = deployment.open_records(load_settings(), SystemClock())
    try:
        deployment.require_ready(records)
        yield records
    finally:
        records.database.close()


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
