"""The record of how an answer was made, step by step, for `ketaguide ask --explain` and the JSON contract.

A clinician or curator reads it to see why an answer looks as it does: what the question was taken to be about,
which words were read differently, and which evidence was kept or dropped, and why.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from ketaguide.domain.evidence.models import AnswerType

Outcome = Literal["answers", "limitation", "related", "dropped"]


class EvidenceDecision(BaseModel):
    """What selection did with one candidate: a claim id, or "ref:<reference id>/<point>"."""

    model_config = ConfigDict(frozen=True)

    evidence: str
    outcome: Outcome
    reason: str


class AnswerTrace(BaseModel):
    model_config = ConfigDict(frozen=True)

    read_as: str  # the question after shorthand and spelling were resolved
    expansions: tuple[tuple[str, str], ...] = ()  # (typed, meant): shorthand, slang, contractions
    corrections: tuple[tuple[str, str], ...] = ()  # (typed, meant): spelling
    subjects: tuple[str, ...] = ()
    answer_type: AnswerType
    also_asked: tuple[AnswerType, ...] = ()
    overview: bool = False
    in_scope: bool
    unknown_terms: tuple[str, ...] = ()
    retrieved: int = 0  # claims retrieval returned
    candidates: int = 0  # evidence considered (retrieved, or about what the question names)
    decisions: tuple[EvidenceDecision, ...] = ()
    bottom_line: str = ""  # how the bottom line was composed
