"""Rendering of answers for the terminal (rich), from the typed contract; the Markdown note is
`ketaguide.contracts.notes` (shared with the web UI's "Copy as note").

User text echoed back (the question as read, the words of it KetaGuide did not know) has control sequences stripped
first, so it cannot drive the terminal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console, Group
from rich.panel import Panel
from rich.text import Text

from ketaguide.contracts.notes import bottom_line, cites, explanation, reference_line
from ketaguide.contracts.sanitize import plain

if TYPE_CHECKING:  # annotations only, to keep the models out of every command's start-up
    from ketaguide.contracts.answer import AnswerReport


def print_answer(answer: AnswerReport, console: Console, explain: bool = False) -> None:
    """A terminal rendering: the bottom line boxed, sections, then numbered verbatim references."""
    if answer.did_you_mean:
        console.print(Text(f"Read as: {plain(answer.did_you_mean)}", style="yellow"))
    if answer.abstained:
        console.print(Panel(Text(plain(answer.explanation or "")), title="No answer", border_style="yellow"))
        _print_explanation(answer, console, explain)
        return
    head = Text(bottom_line(answer), style="bold")
    console.print(Panel(head, title=f"Bottom line \u00b7 certainty: {answer.certainty}", border_style="green"))
    body = "\n".join(
        f"### {s.heading}\n" + "\n".join(f"- {t.text} {cites(t.citations)}" for t in s.statements)
        for s in answer.sections
    )
    from rich.markdown import Markdown  # only the text rendering needs it (~40 ms of cold start)

    console.print(Markdown(body))
    refs = Group(*(Text(f"{r.n}. {reference_line(r)}") for r in answer.references))
    console.print(Panel(refs, title="References (verbatim quotes)", border_style="blue"))
    console.print(Text(f"Retrieval: {answer.retriever}", style="dim"))
    console.print(Text(_provenance_line(answer), style="dim"))
    _print_explanation(answer, console, explain)


def _print_explanation(answer: AnswerReport, console: Console, explain: bool) -> None:
    if explain and answer.trace is not None:
        lines = Group(*(Text(plain(line)) for line in explanation(answer.trace)))
        console.print(Panel(lines, title="How this answer was made", border_style="magenta"))


def _provenance_line(answer: AnswerReport) -> str:
    p = answer.provenance
    content = f"content {p.content_version} ({p.content_hash[:19]})"
    return f"KetaGuide {p.ketaguide_version}; {content}; answer policy {p.policy_version}"
