"""The `ketaguide` command: thin Typer commands that call services and render their typed results.

Each command group lives in its own module with a `register(app)` function; errors from every command are
mapped to exit codes in one place, `ketaguide.cli.errors`. A module is imported when one of its commands runs (or
`--help` lists them all), not at every start: `ketaguide ask` never loads what the other commands use (rich's
tables, the care engine's forms), which is part of its cold start.
"""

from __future__ import annotations

import functools

import typer
from typer._click.core import Command, Context  # typer vendors click; TyperGroup takes this Context
from typer.main import get_group

from ketaguide.cli.errors import KetaGuideGroup

# Every top-level command, in the order `--help` lists them (commands, then groups), and its module.
COMMANDS = {
    "ask": "ask",
    "assess": "assess",
    "schema": "schema",
    "serve": "serve",
    "kb": "kb",
    "dose": "assess",
    "db": "db",
    "users": "users",
    "audit": "audit",
    "fhir": "fhir",
}


class LazyCommandGroup(KetaGuideGroup):
    """The root group: a command is built from its module when it is first looked up."""

    def list_commands(self, ctx: Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            self.commands.update(_commands_of(COMMANDS[cmd_name]))
        return self.commands.get(cmd_name)

    def resolve_command(self, ctx: Context, args: list[str]) -> tuple[str | None, Command | None, list[str]]:
        if args and args[0] not in COMMANDS:  # unknown: "Did you mean ...?" picks from every command
            for name in COMMANDS:
                self.get_command(ctx, name)
        return super().resolve_command(ctx, args)


app = typer.Typer(
    name="ketaguide",
    cls=LazyCommandGroup,
    help="KetaGuide: offline, evidence-graded clinical decision support for ketamine use disorder.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """Makes `app` a group although no command is registered on it up front (its help is the app's)."""


@functools.cache  # once per process: `passwords.register` adds a command to the users module's own Typer app
def _commands_of(module: str) -> dict[str, Command]:
    """The commands `module` registers, as click commands."""
    commands = typer.Typer()
    _register(module, commands)
    return dict(get_group(commands).commands)


def _register(module: str, app: typer.Typer) -> None:
    """Import `module` and register its commands on `app`."""
    match module:
        case "ask":
            from ketaguide.cli import ask

            ask.register(app)
        case "assess":
            from ketaguide.cli import assess

            assess.register(app)
        case "schema":
            from ketaguide.cli import schema

            schema.register(app)
        case "serve":
            from ketaguide.cli import serve

            serve.register(app)
        case "kb":
            from ketaguide.cli import kb

            kb.register(app)
        case "db":
            from ketaguide.cli import db

            db.register(app)
        case "users":
            from ketaguide.cli import passwords, users

            users.register(app)
            passwords.register(app)  # `ketaguide users password NAME`: web sign-in (issue #12)
        case "audit":
            from ketaguide.cli import audit

            audit.register(app)
        case "fhir":
            from ketaguide.cli import fhir

            fhir.register(app)
