"""`ketaguide schema NAME`: the JSON Schema of a document KetaGuide reads (intake) or writes (every output)."""

from __future__ import annotations

from enum import StrEnum

import typer

from ketaguide.cli.streams import dump_json, write_output


# The names of `ketaguide.contracts.schemas.DOCUMENTS`, spelled out so `--help` lists them without importing
# every model at start-up; a test checks the two agree.
class DocumentName(StrEnum):
    intake = "intake"
    answer = "answer"
    care_plan = "care-plan"
    lamotrigine_schedule = "lamotrigine-schedule"
    ketamine_order = "ketamine-order"
    problem = "problem"


def schema_command(
    name: DocumentName = typer.Argument(..., help="Which document's schema to print."),
) -> None:
    """Print the JSON Schema (draft 2020-12) of an input or output document, generated from its model."""
    from ketaguide.contracts.schemas import json_schema

    write_output(dump_json(json_schema(name.value)))


def register(app: typer.Typer) -> None:
    app.command("schema")(schema_command)
