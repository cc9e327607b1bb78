"""`ketaguide ask`: a cited, evidence-graded answer to a clinical question."""

from __future__ import annotations

import json
from enum import StrEnum

import typer
from rich.console import Console

from ketaguide.bootstrap import build_runtime
from ketaguide.cli.render import answer_markdown, print_answer
from ketaguide.domain.errors import InputError
from ketaguide.services.evidence import answer_contract, ask


class AnswerFormat(StrEnum):
    text = "text"
    markdown = "markdown"
    json = "json"


def ask_command(
    question: str = typer.Argument(..., help="A clinical question about ketamine use disorder."),
    fmt: AnswerFormat = typer.Option(AnswerFormat.text, "--format", "-f", help="text, markdown or json."),
) -> None:
    """Answer a clinical question with verbatim, cited evidence and a GRADE-style certainty."""
    try:
        runtime = build_runtime()
        answer = ask(question, runtime.index, runtime.pack)
    except InputError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    contract = answer_contract(answer, runtime.retrieval_note)
    if fmt is AnswerFormat.json:
        typer.echo(json.dumps(contract, indent=2, ensure_ascii=False))
    elif fmt is AnswerFormat.markdown:
        typer.echo(answer_markdown(contract))
    else:
        print_answer(contract, Console())


def register(app: typer.Typer) -> None:
    app.command("ask")(ask_command)
