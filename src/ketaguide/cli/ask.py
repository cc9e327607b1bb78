"""`ketaguide ask`: a cited, evidence-graded answer to a clinical question."""

from __future__ import annotations

import atexit
import functools
import gc
import os
import sys
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
    _no_final_collection()
    # Imported as needed: JSON output never loads the terminal renderer (cold start).
    from ketaguide.bootstrap import build_runtime
    from ketaguide.services.evidence import ask

    if "numpy" not in sys.modules:
        # Hybrid retrieval's numpy work is products of a few hundred vectors, which OpenBLAS runs on one thread;
        # starting its thread pool when numpy is imported costs 60 ms of a cold start on 2 cores. Set only in a
        # process that has not imported numpy (this command's own), and never over a setting of the user's.
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

    with build_runtime() as runtime:
        answer = ask(runtime, question)
    if fmt is AnswerFormat.json:
        emit_json(answer)
    elif fmt is AnswerFormat.markdown:
        from ketaguide.contracts.notes import answer_markdown

        write_output(answer_markdown(answer, explain))
    else:
        from ketaguide.cli.render import print_answer

        emit_rich(lambda console: print_answer(answer, console, explain))


@functools.cache  # once per process
def _no_final_collection() -> None:
    """At exit, keep the garbage collector from taking apart, object by object, what the process built (issue #8).

    A process that answers a question ends right after. At exit, Python's collector passes over the objects its
    imports and models made (some 46,000) and frees the module cycles one by one, 20 ms of a 0.3 s cold start;
    `gc.freeze()` at exit (atexit runs before those passes) moves them out of its view, and the system takes the
    memory back at once when the process ends. Nothing is lost: files and connections are closed explicitly first
    (the index by the runtime, output by the stream), and an in-process caller's collector works as before.
    """
    atexit.register(gc.freeze)


def register(app: typer.Typer) -> None:
    app.command("ask")(ask_command)
