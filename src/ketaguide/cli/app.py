"""The `ketaguide` command: thin Typer commands that call services and render their typed results.

Each command group lives in its own module with a `register(app)` function; errors from every command are
mapped to exit codes in one place, `ketaguide.cli.errors`.
"""

from __future__ import annotations

import typer

from ketaguide.cli import ask, assess, audit, db, fhir, kb, passwords, schema, serve, users
from ketaguide.cli.errors import KetaGuideGroup

app = typer.Typer(
    name="ketaguide",
    cls=KetaGuideGroup,
    help="KetaGuide: offline, evidence-graded clinical decision support for ketamine use disorder.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

for _module in (ask, kb, assess, schema, serve, db, users, audit, fhir):
    _module.register(app)
passwords.register(app)  # `ketaguide users password NAME`: web sign-in (issue #12)
