"""The kind of answer a question asks for, read from its wording (cues in knowledge/content/answering.yaml).

Cues are tried in the phrasebook's priority order; the first that matches gives the answer type, and any other
kind a multi-part question asks ("what are the signs of ketamine bladder and how is it treated?") is kept as
`also_asked`. A question with no cue ("lamotrigine for ketamine use disorder") asks for an overview: everything the
sources say about its subject.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ketaguide.domain.evidence.lexicon import Phrasebook
from ketaguide.domain.evidence.models import AnswerType

__all__ = ["AnswerType", "AnswerTypeReading", "accepted_types", "read_answer_type"]

# A question that opens with an auxiliary verb expects a yes or a no ("is ketamine addictive?").
_YES_NO = re.compile(r"^(is|are|was|were|does|do|did|can|could|should|will|would|has|have|had|may|might|must|am)\b")
# A second clause that asks something else ("... and how is it treated?", "...? Is it reversible?").
_SECOND_QUESTION = re.compile(
    r"\?\s*\S|\b(and|also|plus|or)\s+(how|what|when|where|which|who|why|is|are|does|do|can|should|will)\b"
)
# How far into a question its first question word may be ("what's the usual ...", "how long ...").
_OPENING = 10
# Kinds whose answer is a list gathered across claims (drugs studied, symptoms, warning signs).
LIST_TYPES = frozenset({AnswerType.SIGNS, AnswerType.HARMS, AnswerType.RISK_FACTORS})
# Kinds where a named treatment is the answer, not a different subject: "what helps craving?" lists drugs.
TREATMENT_ANSWERS = frozenset(
    {
        AnswerType.EFFICACY,
        AnswerType.MANAGEMENT,
        AnswerType.EVIDENCE_YES_NO,
        AnswerType.SETTING,
        AnswerType.INTERACTIONS,
        AnswerType.COMPARISON,
        AnswerType.MONITORING,
        AnswerType.OTHER,
    }
)


@dataclass(frozen=True)
class AnswerTypeReading:
    answer_type: AnswerType
    also_asked: tuple[AnswerType, ...]
    overview: bool  # no cue matched: the question names a subject and asks for everything on it
    yes_no: bool


def read_answer_type(
    text: str, phrasebook: Phrasebook, *, names_treatment: bool, names_symptom: bool = False
) -> AnswerTypeReading:
    """The answer type of a normalised, expanded question.

    A multi-part question's first kind is the one asked first. With no cue, a question naming a treatment asks
    whether it works (an overview of it), one naming a symptom whether it is a sign of something ("pelvic pain and
    urgency - ketamine bladder?"), and any other asks for everything on its subject (`other`).
    """
    found = _matches(text, phrasebook)
    yes_no = bool(_YES_NO.match(text))
    if not found:
        # The defaults below read a real phrasebook's silence; a pack without one (a test's) has no cues at all.
        if names_symptom and not names_treatment and phrasebook.answer_types:
            return AnswerTypeReading(answer_type=AnswerType.SIGNS, also_asked=(), overview=False, yes_no=yes_no)
        fallback = AnswerType.EFFICACY if names_treatment else AnswerType.OTHER
        return AnswerTypeReading(answer_type=fallback, also_asked=(), overview=True, yes_no=yes_no)
    kinds = list(dict.fromkeys(kind for kind, _ in found))
    if _SECOND_QUESTION.search(text):
        # The kind asked first leads when it is asked at the start ("what dose ... and how long does it last?");
        # otherwise priority decides ("do urinary symptoms get better ...": better, not symptoms).
        opening = [kind for kind, at in found if at <= _OPENING]
        first = opening[0] if opening else kinds[0]
        kinds = [first, *(k for k in kinds if k is not first)]
        return AnswerTypeReading(answer_type=first, also_asked=tuple(kinds[1:]), overview=False, yes_no=yes_no)
    return AnswerTypeReading(answer_type=kinds[0], also_asked=(), overview=False, yes_no=yes_no)


def _matches(text: str, phrasebook: Phrasebook) -> list[tuple[AnswerType, int]]:
    """(answer type, where its cue first matches) for every matching cue entry, in priority order."""
    found = []
    for entry in phrasebook.answer_types:
        positions = [m.start() for m in (p.search(text) for p in entry.cues) if m]
        if positions:
            found.append((entry.answer_type, min(positions)))
    return found


def accepted_types(answer_type: AnswerType, phrasebook: Phrasebook) -> frozenset[AnswerType]:
    """The claim answer types that answer a question of `answer_type` (the phrasebook's `accepts`)."""
    cue = phrasebook.cue_of(answer_type)
    if answer_type is AnswerType.OTHER:
        return frozenset(AnswerType)
    return cue.accepts if cue is not None else frozenset({answer_type})
