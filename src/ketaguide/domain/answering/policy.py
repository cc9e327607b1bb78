"""The answer policy: the tunable numbers of answer composition, versioned so every answer can say which it used.

They are KetaGuide's choices, not clinical facts; changing any of them, or how answers are composed, changes
answers, so it changes `version` (shown in every answer's provenance).

2026.12.2 (issue #8): question understanding (shorthand, spelling, answer type); evidence kept only when it is about
the question's subject AND answers its kind of question, with no padding; external references cited beside the
pack's claims; composed, cited bottom lines that say first when no source answers.
2026.12.3 (issue #8, follow-up): a bottom line says first when no source states the precise thing asked (a
half-life, a lethal dose, a detection window, how long to continue, a country's figures: specifics.py); evidence
that uses none of the question's words and names none of its concepts is dropped when the best evidence answers
in its words (`min_worded_coverage`); "IM" and "IV" count as words when ranking evidence.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class AnswerPolicy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str = "2026.12.3"
    candidates: int = Field(40, gt=0, description="claims retrieved per question; selection filters them")
    max_claims: int = Field(10, gt=0, description="answering claims an answer cites at most")
    max_references: int = Field(4, gt=0, description="answering external reference points an answer cites at most")
    max_overview_claims: int = Field(
        30, gt=0, description="answering claims at most when the question asks for an overview of its subject"
    )
    max_overview_references: int = Field(8, gt=0, description="answering reference points at most in an overview")
    max_general_claims: int = Field(
        6,
        gt=0,
        description="answering claims at most when the question names nothing beyond ketamine and asks for no list "
        "(every claim of its kind is about its subject: the most relevant few answer)",
    )
    max_limitations: int = Field(3, ge=0, description="limitations of the cited evidence shown beside it at most")
    max_related: int = Field(
        3, gt=0, description="closely related statements shown when no evidence answers the kind of thing asked"
    )
    max_list_items: int = Field(8, gt=0, description="items a list bottom line names per source at most")
    min_relative_coverage: float = Field(
        0.5,
        ge=0,
        le=1,
        description="share of the question's telling words evidence must use, relative to the evidence that uses "
        "most of them, to be shown",
    )

    min_worded_coverage: float = Field(
        0.3,
        ge=0,
        le=1,
        description="share of the question's words the best evidence must use for evidence that uses none of them "
        "(and names none of its concepts) to be dropped as padding",
    )

    def caps(self, *, overview: bool, general: bool = False) -> tuple[int, int]:
        """How many claims and how many reference points may answer."""
        if overview:
            return self.max_overview_claims, self.max_overview_references
        if general:
            return self.max_general_claims, self.max_references
        return self.max_claims, self.max_references


DEFAULT_POLICY = AnswerPolicy()
