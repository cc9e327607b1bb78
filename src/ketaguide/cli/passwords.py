"""`ketaguide users password NAME`: set a user's password for the web pages, read from standard input.

The password is read from standard input, never from the command line (where `ps` and shell history would show
it): piped (`printf '%s\\n' "$PASSWORD" | ketaguide users password NAME`, one line, the newline dropped) or, at a
terminal, typed twice without echo. Setting it ends the user's open web sessions; their API token is unchanged.
"""

from __future__ import annotations

import sys

import typer

from ketaguide.cli.streams import write_output
from ketaguide.cli.users import users_app
from ketaguide.domain.errors import InputError

MAX_PASSWORD_BYTES = 1024


def _read_password() -> str:
    stream = sys.stdin
    if stream is not None and stream.isatty():
        import getpass

        first = getpass.getpass("New password: ")
        if getpass.getpass("Again: ") != first:
            raise InputError("password", "the two passwords differ")
        return first
    from ketaguide.cli.streams import read_document

    text = read_document("-", MAX_PASSWORD_BYTES, "password")
    lines = text.splitlines()
    if len(lines) > 1:
        raise InputError("password", "give one line on standard input (the password), not several")
    return lines[0] if lines else ""


def password_command(name: str = typer.Argument(..., help="The user whose web password is set.")) -> None:
    """Set NAME's password for the web pages, read from standard input (at a terminal: typed twice, hidden)."""
    from ketaguide.cli.db import ready_records
    from ketaguide.web.accounts import set_password

    password = _read_password()
    with ready_records() as records:
        set_password(records, name, password)
    write_output(f"password set for {name}; their open web sessions were ended")


def register(app: typer.Typer) -> None:
    users_app.command("password")(password_command)
