"""What a care-plan finding cites, and how citations become numbered references and graded evidence.

A finding cites pack claims (verbatim quotes) and/or external references (label, guideline, paper) stored in
`knowledge/content/references.yaml`. External references carry the design and any GRADE rating the source reports,
so options can be graded by `ketaguide.domain.evidence.grading` from the same evidence they cite.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cached_property

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ketaguide.domain.citing.references import Bibliography, ExternalReference, ReferenceList
from ketaguide.domain.evidence.grading import CertaintyAssessment, EvidenceItem, grade_body
from ketaguide.domain.evidence.models import Claim, ClaimType, Level, StudyDesign
from ketaguide.domain.evidence.pack import KnowledgePack


class Cites(BaseModel):
    """The evidence behind one statement: claim ids from the pack and/or external reference ids."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    claims: tuple[str, ...] = ()
    refs: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _cites_something(self) -> Cites:
        if not self.claims and not self.refs:
            raise ValueError("a statement must cite at least one claim or external reference")
        return self

    def __add__(self, other: Cites) -> Cites:
        claims = tuple(dict.fromkeys((*self.claims, *other.claims)))
        return Cites(claims=claims, refs=tuple(dict.fromkeys((*self.refs, *other.refs))))


class ReferenceEntry(ExternalReference):
    """An external reference as stored in references.yaml: the citable part plus what grading needs."""

    design: StudyDesign | None = Field(None, description="set when the reference is evidence for an option")
    reported_certainty: Level | None = None

    def external(self) -> ExternalReference:
        """The citable part, as shown in a plan's references (built once per entry: plans cite it often)."""
        return self._external

    @cached_property
    def _external(self) -> ExternalReference:
        return ExternalReference(**self.model_dump(exclude={"design", "reported_certainty"}))


class Citer:
    """Numbers citations for one care plan and grades the evidence they point to; `bibliography`, when given, is the
    snapshot's (`pack` and `references`), shared by its plans."""

    def __init__(
        self, pack: KnowledgePack, references: Mapping[str, ReferenceEntry], bibliography: Bibliography | None = None
    ) -> None:
        self._pack = pack
        self._references = references
        self.reference_list = ReferenceList(bibliography)

    def cite(self, cites: Cites) -> tuple[int, ...]:
        """Reference numbers for `cites`, in the order given (claims first)."""
        numbers = [self.reference_list.cite_claim(c, self._pack.source_of(c)) for c in self._claims(cites)]
        numbers += [self.reference_list.cite_external(self._references[r].external()) for r in cites.refs]
        return tuple(dict.fromkeys(numbers))

    def grade(self, cites: Cites) -> CertaintyAssessment:
        """GRADE-style certainty of the cited body of evidence (claims and references that carry a design)."""
        return grade_body(list(self.evidence_items(cites)))

    def evidence_items(self, cites: Cites) -> Iterable[EvidenceItem]:
        for claim in self._claims(cites):
            yield EvidenceItem(
                design=claim.study_design,
                source_reliability=self._pack.source_of(claim).reliability.level,
                mechanistic=claim.claim_type is ClaimType.MECHANISM,
                reported_certainty=claim.reported_certainty,
                label=claim.id,
            )
        for ref_id in cites.refs:
            ref = self._references[ref_id]
            if ref.design is not None:
                yield EvidenceItem(
                    design=ref.design,
                    source_reliability=ref.confidence,
                    reported_certainty=ref.reported_certainty,
                    label=ref.id,
                )

    def _claims(self, cites: Cites) -> list[Claim]:
        return [self._pack.claim(claim_id) for claim_id in cites.claims]
