"""Step 5 of answering: number the evidence in reading order and turn every draft clause into a cited statement.

A claim is cited as its verbatim quote pinned to offsets in its source; a reference point as the external reference
(what it states and how confidently it was read). One number per claim or reference, in order of first citation:
the bottom line's first, then the sections', then the caveat's.
"""

from __future__ import annotations

from dataclasses import dataclass

from ketaguide.domain.answering.composition import Composition, SectionDraft
from ketaguide.domain.answering.evidence import Evidence
from ketaguide.domain.answering.models import BottomLineClause, Section
from ketaguide.domain.answering.phrasing import Clause
from ketaguide.domain.citing.references import ExternalReference, Reference, ReferenceList
from ketaguide.domain.citing.statements import Statement, conflict_statement
from ketaguide.domain.evidence.pack import KnowledgePack


@dataclass(frozen=True)
class CitedAnswer:
    bottom_line: tuple[BottomLineClause, ...]
    sections: tuple[Section, ...]
    references: tuple[Reference, ...]

    @property
    def bottom_line_text(self) -> str:
        return " ".join(c.text for c in self.bottom_line)

    @property
    def bottom_line_citations(self) -> tuple[int, ...]:
        return tuple(dict.fromkeys(n for c in self.bottom_line for n in c.citations))


def cite(composition: Composition, pack: KnowledgePack) -> CitedAnswer:
    refs = ReferenceList()
    bottom = tuple(BottomLineClause(text=c.text, citations=_numbers(c, refs, pack)) for c in composition.bottom_line)
    sections = tuple(_section(s, refs, pack) for s in composition.sections)
    return CitedAnswer(bottom_line=bottom, sections=sections, references=refs.references)


def _section(draft: SectionDraft, refs: ReferenceList, pack: KnowledgePack) -> Section:
    statements = [Statement(text=c.text, citations=_numbers(c, refs, pack)) for c in draft.clauses]
    statements += [conflict_statement(conflict, refs, pack) for conflict in draft.conflicts]
    return Section(heading=draft.heading, statements=tuple(statements))


def _numbers(clause: Clause, refs: ReferenceList, pack: KnowledgePack) -> tuple[int, ...]:
    return tuple(dict.fromkeys(cite_evidence(e, refs, pack) for e in clause.evidence))


def cite_evidence(evidence: Evidence, refs: ReferenceList, pack: KnowledgePack) -> int:
    """The reference number of a claim (its quote) or a reference point (its external reference)."""
    if evidence.claim is not None:
        return refs.cite_claim(evidence.claim, pack.source_of(evidence.claim))
    if evidence.reference is None:  # an Evidence is built with one or the other
        raise ValueError(f"evidence {evidence.key} has neither a claim nor a reference")
    record = evidence.reference.model_dump(exclude={"design", "reported_certainty"})
    return refs.cite_external(ExternalReference(**record))
