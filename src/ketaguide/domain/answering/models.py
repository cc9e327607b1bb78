"""The answer as the answering engine returns it; `ketaguide.contracts.answer.AnswerReport` adds what the service
knows (retriever, provenance) and is the JSON contract (README, "JSON contract")."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, PositiveInt

from ketaguide.domain.answering.trace import AnswerTrace
from ketaguide.domain.citing.references import Reference
from ketaguide.domain.citing.statements import Statement
from ketaguide.domain.evidence.models import Level


class Section(BaseModel):
    model_config = ConfigDict(frozen=True)

    heading: str
    statements: tuple[Statement, ...]


class BottomLineClause(BaseModel):
    """One clause of the bottom line and the references it rests on.

    Only a clause about KetaGuide's own sources ("None of KetaGuide's sources states ...", the certainty) cites
    nothing; every clause that says something clinical cites its evidence.
    """

    model_config = ConfigDict(frozen=True)

    text: str = Field(min_length=1)
    citations: tuple[PositiveInt, ...] = ()


class Answer(BaseModel):
    """A structured answer, or an abstention (`abstained`, with `explanation`; `certainty` is then null)."""

    model_config = ConfigDict(frozen=True)

    question: str
    abstained: bool
    explanation: str | None = None
    certainty: Level | None = None
    certainty_reasons: tuple[str, ...] = ()
    evidence_profile: str | None = None
    bottom_line: str | None = None
    bottom_line_citations: tuple[PositiveInt, ...] = ()
    sections: tuple[Section, ...] = ()
    references: tuple[Reference, ...] = ()
    certainty_summary: str | None = Field(None, description="the certainty and its reasons in a clinician's words")
    bottom_line_clauses: tuple[BottomLineClause, ...] = Field(
        (), description="the bottom line clause by clause, each with the references it rests on"
    )
    did_you_mean: str | None = Field(None, description="the question with misspellings corrected, when any were")
    trace: AnswerTrace | None = Field(None, description="how the answer was made (`ketaguide ask --explain`)")
