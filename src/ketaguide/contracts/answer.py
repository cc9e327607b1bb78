"""The answer contract (README, "JSON contract"): a cited answer, or an abstention, with its provenance."""

from __future__ import annotations

from pydantic import Field, SerializeAsAny, model_validator

from ketaguide.contracts.provenance import Provenance
from ketaguide.domain.answering.answer import Answer
from ketaguide.domain.citing.references import Reference


class AnswerReport(Answer):
    """An answer as served: `certainty` is null exactly when `abstained` is true."""

    # As in `CarePlanReport`: validated as the discriminated union (and so documented), written by each reference's
    # own type, which serialises an answer about a sixth faster than the union trying its members for each item.
    references: SerializeAsAny[tuple[Reference, ...]] = ()
    retriever: str = Field(description="which retrieval produced the candidates, in words")
    provenance: Provenance

    @model_validator(mode="after")
    def _certainty_iff_answered(self) -> AnswerReport:
        if self.abstained != (self.certainty is None):
            raise ValueError("certainty is null exactly when the answer abstains")
        return self
