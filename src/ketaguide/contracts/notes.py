"""An answer as a clinical note in Markdown (`ketaguide ask --format markdown`, the web UI's "Copy as note"), and the
plain-text pieces every rendering shares: citation marks, reference lines, the bottom line, the `--explain` lines.

User text echoed back (the question, the question as read) is escaped first, so a question cannot forge a bottom
line or a certainty in what a clinician pastes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ketaguide.contracts.sanitize import markdown_inline

if TYPE_CHECKING:
    from ketaguide.contracts.answer import AnswerReport
    from ketaguide.domain.answering.trace import AnswerTrace
    from ketaguide.domain.citing.references import Reference

_OUTCOME_HEADINGS = {
    "answers": "kept: answers the question",
    "limitation": "kept: a limitation of kept evidence",
    "related": "kept: related (nothing answers the kind of thing asked)",
    "dropped": "dropped",
}


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


def bottom_line(answer: AnswerReport) -> str:
    """The bottom line with each clause's citations after it, so every clause shows what it rests on."""
    if not answer.bottom_line_clauses:
        return f"{answer.bottom_line or ''} {cites(answer.bottom_line_citations)}".strip()
    return " ".join(f"{c.text} {cites(c.citations)}".rstrip() for c in answer.bottom_line_clauses)


def answer_markdown(answer: AnswerReport, explain: bool = False) -> str:
    """Markdown that pastes cleanly into a clinical note."""
    lines = [f"**Question:** {markdown_inline(answer.question)}", ""]
    if answer.did_you_mean:
        lines += [f"**Read as:** {markdown_inline(answer.did_you_mean)}", ""]
    if answer.abstained:
        lines.append(f"**No answer.** {answer.explanation}")
        return "\n".join([*lines, *_markdown_explanation(answer, explain)])
    lines += [f"**Bottom line.** {bottom_line(answer)}", "", f"**Certainty (GRADE):** {answer.certainty}", ""]
    for section in answer.sections:
        lines += [f"### {section.heading}", ""]
        lines += [f"- {s.text} {cites(s.citations)}".rstrip() for s in section.statements]
        lines.append("")
    lines += ["### References", ""]
    lines += [f"{r.n}. {reference_line(r)}" for r in answer.references]
    return "\n".join([*lines, *_markdown_explanation(answer, explain)])


def _markdown_explanation(answer: AnswerReport, explain: bool) -> list[str]:
    if not explain or answer.trace is None:
        return []
    return [
        "",
        "### How this answer was made",
        "",
        *(f"- {markdown_inline(line)}" for line in explanation(answer.trace)),
    ]


def explanation(trace: AnswerTrace) -> list[str]:
    """Every step's decision in a line: understanding, retrieval, selection (kept or dropped, and why), composition."""
    lines = [
        f"Read as: {trace.read_as}",
        *(f"Expanded: {typed!r} -> {meant!r}" for typed, meant in trace.expansions),
        *(f"Spelling: {typed!r} -> {meant!r}" for typed, meant in trace.corrections),
        f"Subjects: {', '.join(trace.subjects) or 'none named'}",
        f"Answer type: {trace.answer_type}"
        + (f" (also asked: {', '.join(trace.also_asked)})" if trace.also_asked else "")
        + (" (an overview: no kind of answer named)" if trace.overview else ""),
        f"In scope: {'yes' if trace.in_scope else 'no'}"
        + (f"; words the evidence lacks: {', '.join(trace.unknown_terms)}" if trace.unknown_terms else ""),
        f"Candidates: {trace.candidates} ({trace.retrieved} retrieved; the rest about what the question names)",
    ]
    for outcome, heading in _OUTCOME_HEADINGS.items():
        decided = [d for d in trace.decisions if d.outcome == outcome]
        lines += [f"{heading}: {d.evidence} ({d.reason})" for d in decided]
    lines.append(f"Bottom line: {trace.bottom_line}")
    return lines
