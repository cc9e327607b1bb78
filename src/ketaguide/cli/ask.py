"""`ketaguide ask`: a cited, evidence-graded answer to a clinical question."""

from __future__ import annotations

from enum import StrEnum

import typer

from ketaguide.cli.emit import emit_json, emit_rich
from ketaguide.cli.streams import write_output


class AnswerFormat(StrEnum):
    text = "text"
    markdown = "markdown"
    json = "json"


def ask_command(
    question: str = typer.Argument(..., help="A clinical question about ketamine use disorder."),
    fmt: AnswerFormat = typer.Option(AnswerFormat.text, "--format", "-f", help="text, markdown or json."),
    explain: bool = typer.Option(
        False,
        "--explain",
        help="Also show how the answer was made: the subjects and answer type found, words read differently, and "
        "which evidence was kept or dropped and why (always in the JSON, as `trace`).",
    ),
) -> None:
    """Answer a clinical question with verbatim, cited evidence and a GRADE-style certainty."""
    from ketaguide.bootstrap import build_runtime
    from ketaguide.cli.render import print_answer
    from ketaguide.contracts.notes import answer_markdown
    from ketaguide.services.evidence import ask

    with build_runtime() as runtime:
        answer = ask(runtime, question)
    if fmt is AnswerFormat.json:
        emit_json(answer)
    elif fmt is AnswerFormat.markdown:
        write_output(answer_markdown(answer, explain))
    else:
        emit_rich(lambda console: print_answer(answer, console, explain))


def register(app: typer.Typer) -> None:
    app.command("ask")(ask_command)
