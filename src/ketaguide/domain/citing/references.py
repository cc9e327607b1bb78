"""Numbered references: a verbatim quote from a pack source, or a named public reference (label, guideline, paper).

Answers and care plans cite statements by number; `ReferenceList` hands out the numbers, one per distinct claim
or external reference, in order of first citation.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from ketaguide.domain.evidence.models import Claim, Level, Source, StudyDesign


class ExternalReference(BaseModel):
    """A public reference stored with a rule: what it is, where it says it, and how to find it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9_.-]+$")
    title: str
    publisher: str
    section: str | None = None
    url: str | None = None
    statement: str = Field(min_length=1, description="what the reference says, as stored with the rule")
    confidence: Level = Field(description="how directly the reference was read (high = label/guideline text)")


class Reference(BaseModel):
    """A numbered reference as shown to the user; `kind` says which of the two shapes it has."""

    model_config = ConfigDict(frozen=True)

    n: int
    kind: str  # "quote" | "external"
    source_id: str | None = None
    source_title: str | None = None
    quote: str | None = None
    start: int | None = None
    end: int | None = None
    study_design: StudyDesign | None = None
    source_reliability: Level | None = None
    claim_id: str | None = None
    external: ExternalReference | None = None


class ReferenceList:
    """Assigns reference numbers in order of first citation and remembers them."""

    def __init__(self) -> None:
        self._numbers: dict[str, int] = {}
        self._references: list[Reference] = []

    def cite_claim(self, claim: Claim, source: Source) -> int:
        if claim.id not in self._numbers:
            self._add(
                claim.id,
                Reference(
                    n=len(self._references) + 1,
                    kind="quote",
                    source_id=claim.source_id,
                    source_title=source.title,
                    quote=claim.quote,
                    start=claim.start,
                    end=claim.end,
                    study_design=claim.study_design,
                    source_reliability=source.reliability.level,
                    claim_id=claim.id,
                ),
            )
        return self._numbers[claim.id]

    def cite_external(self, ref: ExternalReference) -> int:
        key = f"ext:{ref.id}"
        if key not in self._numbers:
            self._add(key, Reference(n=len(self._references) + 1, kind="external", external=ref))
        return self._numbers[key]

    def _add(self, key: str, reference: Reference) -> None:
        self._numbers[key] = reference.n
        self._references.append(reference)

    @property
    def references(self) -> tuple[Reference, ...]:
        return tuple(self._references)
