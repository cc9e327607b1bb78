"""Rendering of answers for the terminal (rich) and for clinical notes (markdown), from the typed contract.

User text echoed back (the question) is made inert first: control sequences stripped for the terminal, Markdown
and HTML escaped for a note, so a question cannot forge a bottom line or a certainty in what a clinician pastes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.console import Console, Group
from rich.panel import Panel
from rich.text import Text

from ketaguide.cli.sanitize import markdown_inline, plain

if TYPE_CHECKING:  # annotations only, to keep the models out of every command's start-up
    from ketaguide.contracts.answer import AnswerReport
    from ketaguide.domain.citing.references import Reference


def cites(numbers: Sequence[int]) -> str:
    return "".join(f"[{n}]" for n in numbers)


def reference_line(ref: Reference, with_statement: bool = False) -> str:
    """One numbered reference: a verbatim quote with its source, or an external reference (and what it says)."""
    if ref.kind == "external":
        where = f", {ref.section}" if ref.section else ""
        line = f"{ref.title} ({ref.publisher}{where}) {ref.url or ''}".rstrip()
        return f"{line}\n   says: {ref.statement} [confidence: {ref.confidence}]" if with_statement else line
    return (
        f"\u201c{ref.quote}\u201d \u2014 {ref.source_title} ({ref.source_id}, chars {ref.start}-{ref.end}); "
        f"design: {ref.study_design.value.replace('_', ' ')}; source reliability: {ref.source_reliability}"
    )


def answer_markdown(answer: AnswerReport) -> str:
    """Markdown that pastes cleanly into a clinical note."""
    lines = [f"**Question:** {markdown_inline(answer.question)}", ""]
    if answer.abstained:
        return "\n".join([*lines, f"**No answer.** {answer.explanation}"])
    lines += [
        f"**Bottom line.** {answer.bottom_line} {cites(answer.bottom_line_citations)}".rstrip(),
        "",
        f"**Certainty (GRADE):** {answer.certainty}",
        "",
    ]
    for section in answer.sections:
        lines += [f"### {section.heading}", ""]
        lines += [f"- {s.text} {cites(s.citations)}".rstrip() for s in section.statements]
        lines.append("")
    lines += ["### References", ""]
    lines += [f"{r.n}. {reference_line(r)}" for r in answer.references]
    return "\n".join(lines)


def print_answer(answer: AnswerReport, console: Console) -> None:
    """A terminal rendering: the bottom line boxed, sections, then numbered verbatim references."""
    if answer.abstained:
        console.print(Panel(Text(plain(answer.explanation or "")), title="No answer", border_style="yellow"))
        return
    head = Text.assemble((answer.bottom_line or "", "bold"), " ", (cites(answer.bottom_line_citations), "cyan"))
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


def _provenance_line(answer: AnswerReport) -> str:
    p = answer.provenance
    content = f"content {p.content_version} ({p.content_hash[:19]})"
    return f"KetaGuide {p.ketaguide_version}; {content}; answer policy {p.policy_version}"
