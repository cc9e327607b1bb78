"""The answer policy: the tunable numbers of answer composition, versioned so every answer can say which it used.

They are KetaGuide's choices, not clinical facts; changing any of them changes answers, so it changes `version`
(shown in every answer's provenance).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class AnswerPolicy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str = "2026.12.1"
    candidates: int = Field(40, gt=0, description="claims retrieved per question; selection filters by concept")
    max_claims: int = Field(12, gt=0, description="claims an answer cites at most")
    min_relative_score: float = Field(
        0.25, ge=0, le=1, description="a claim scoring under this share of the best relevant claim is too weak to cite"
    )
    min_anchor_coverage: float = Field(
        0.7,
        ge=0,
        le=1,
        description="share of the question's concepts (weight 2) and other content words (weight 1) that a "
        "bottom-line claim must cover",
    )


DEFAULT_POLICY = AnswerPolicy()
