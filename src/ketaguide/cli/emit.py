"""Printing a command's result: JSON from the typed contract, or a rich rendering, through one checked writer."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import TYPE_CHECKING

from ketaguide.cli.streams import dump_json, write_output

if TYPE_CHECKING:  # annotations only: JSON output never loads rich or builds a console
    from pydantic import BaseModel
    from rich.console import Console


class OutputFormat(StrEnum):
    text = "text"
    json = "json"


def emit_json(result: BaseModel) -> None:
    """The contract as JSON: exactly `model_dump(mode="json")`, with no NaN or Infinity."""
    write_output(dump_json(result.model_dump(mode="json")))


def emit_rich(render: Callable[[Console], None]) -> None:
    """Render to a buffer first, so a closed or full standard output is reported once instead of mid-table."""
    from rich.console import Console

    console = Console()
    with console.capture() as captured:
        render(console)
    write_output(captured.get(), newline=False)
