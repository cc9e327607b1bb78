"""KetaGuide's command line: thin Typer commands that call services and render their results.

Each command group lives in its own module with a `register(app)` function.
"""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    name="ketaguide",
    help="KetaGuide: offline, evidence-graded clinical decision support for ketamine use disorder.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Modules that add commands to `app`; each defines register(app).
_COMMAND_MODULES = ("ask", "kb", "assess", "bench")

for _name in _COMMAND_MODULES:
    importlib.import_module(f"ketaguide.cli.{_name}").register(app)


def main() -> None:
    app()
