"""Numbered references: a verbatim quote from a pack source, or a named public reference (label, guideline, paper).

Answers and care plans cite statements by number; `ReferenceList` hands out the numbers, one per distinct claim
or external reference, in order of first citation.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveInt

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


class QuoteCitation(BaseModel):
    """A numbered reference to a verbatim quote: `source_text[start:end] == quote`."""

    model_config = ConfigDict(frozen=True)

    n: PositiveInt
    kind: Literal["quote"] = "quote"
    source_id: str
    source_title: str
    quote: str = Field(min_length=1)
    start: int = Field(ge=0)
    end: PositiveInt
    study_design: StudyDesign
    source_reliability: Level
    claim_id: str


class ExternalCitation(ExternalReference):
    """A numbered reference to a named public reference, with what it states and how confidently it was read."""

    n: PositiveInt
    kind: Literal["external"] = "external"


# What a numbered reference is, told apart by `kind` (a discriminated union in the JSON Schema).
Reference = Annotated[QuoteCitation | ExternalCitation, Field(discriminator="kind")]


class Bibliography:
    """The references of one knowledge snapshot, each built (and validated) once for each number it is cited as.

    Plans cite the same references in much the same order, so a plan's `ReferenceList` mostly finds its references
    already built; built afresh for every plan, the ~50 references of a care plan were about a third of the care
    engine's time (issue #10). The references are frozen, so plans can share them. One is kept for each id and number
    it was cited as (about 270 after the six example intakes; never more than the ids the content cites squared).
    Kept by claim and reference id, one bibliography serves one snapshot.
    """

    def __init__(self) -> None:
        self._quotes: dict[tuple[str, int], QuoteCitation] = {}
        self._externals: dict[tuple[str, int], ExternalCitation] = {}

    def quote(self, claim: Claim, source: Source, n: int) -> QuoteCitation:
        """The verbatim quote of `claim`, numbered `n`."""
        if (built := self._quotes.get((claim.id, n))) is None:  # two threads may build it: the same thing
            built = self._quotes.setdefault((claim.id, n), _quote(claim, source, n))
        return built

    def external(self, ref: ExternalReference, n: int) -> ExternalCitation:
        """The public reference `ref`, numbered `n`."""
        if (built := self._externals.get((ref.id, n))) is None:
            built = self._externals.setdefault((ref.id, n), ExternalCitation(n=n, **ref.model_dump()))
        return built


def _quote(claim: Claim, source: Source, n: int) -> QuoteCitation:
    return QuoteCitation(
        n=n,
        source_id=claim.source_id,
        source_title=source.title,
        quote=claim.quote,
        start=claim.start,
        end=claim.end,
        study_design=claim.study_design,
        source_reliability=source.reliability.level,
        claim_id=claim.id,
    )


class ReferenceList:
    """Assigns reference numbers in order of first citation and remembers them; the references come from
    `bibliography` (a snapshot's, shared by its plans; by default one of the list's own)."""

    def __init__(self, bibliography: Bibliography | None = None) -> None:
        self._bibliography = bibliography or Bibliography()
        self._numbers: dict[str, int] = {}
        self._references: list[Reference] = []

    def cite_claim(self, claim: Claim, source: Source) -> int:
        if claim.id not in self._numbers:
            self._add(claim.id, self._bibliography.quote(claim, source, len(self._references) + 1))
        return self._numbers[claim.id]

    def cite_external(self, ref: ExternalReference) -> int:
        key = f"ext:{ref.id}"
        if key not in self._numbers:
            self._add(key, self._bibliography.external(ref, len(self._references) + 1))
        return self._numbers[key]

    def _add(self, key: str, reference: Reference) -> None:
        self._numbers[key] = reference.n
        self._references.append(reference)

    @property
    def references(self) -> tuple[Reference, ...]:
        return tuple(self._references)

    @property
    def claim_ids(self) -> tuple[str, ...]:
        """The claims cited so far, in citation order."""
        return tuple(r.claim_id for r in self._references if isinstance(r, QuoteCitation))
