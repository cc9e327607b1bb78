"""Step 2 of answering: the candidate evidence for a question.

Retrieval (lexical or hybrid, done by the service through the runtime's index) ranks claims by the question's words;
that misses claims worded differently from the question. So every claim and reference point about what the
question names is a candidate too, found through the curated facets, and the next step decides by subject and answer
type which of them answer. Retrieval's order is kept: it ranks the candidates that selection keeps.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ketaguide.domain.answering.evidence import Evidence, claim_evidence, claim_subjects, point_evidence
from ketaguide.domain.answering.understanding import ADDICTION, QuestionUnderstanding
from ketaguide.domain.evidence.models import AnswerType
from ketaguide.domain.evidence.pack import KnowledgePack
from ketaguide.domain.ports import Hit

# A question about ketamine in general is answered by references about ketamine in general.
_GENERAL_SUBJECTS = frozenset({"ketamine", *ADDICTION})


@dataclass(frozen=True)
class Candidate:
    evidence: Evidence
    score: float  # the retrieval score; 0 for evidence found through its subjects only
    retrieved: bool


def gather_candidates(
    understanding: QuestionUnderstanding,
    hits: Sequence[Hit],
    pack: KnowledgePack,
    wanted: frozenset[AnswerType] = frozenset(AnswerType),
) -> list[Candidate]:
    """Retrieved claims in rank order, then the reference points about the question's subjects (or, for a question
    about ketamine in general, the points about ketamine and those answering its kind of question), then the other
    claims about its subjects, in pack order; each once."""
    found: dict[str, Candidate] = {}
    for hit in hits:
        if pack.has_claim(hit.doc_id) and hit.doc_id not in found:
            found[hit.doc_id] = Candidate(claim_evidence(pack.claim(hit.doc_id), pack), hit.score, retrieved=True)
    named = named_subjects(understanding)
    for point in pack.lexicon.phrasebook.reference_points:
        subjects = set(point.subjects)
        general = subjects & _GENERAL_SUBJECTS or set(point.answers) & wanted
        if point.record is not None and (subjects & named if named else general):
            evidence = point_evidence(point, point.record)
            found.setdefault(evidence.key, Candidate(evidence, 0.0, retrieved=False))
    # A question naming nothing but ketamine ("how does ketamine work?") is answered by the claims of its kind even
    # when retrieval misses their wording; an overview of ketamine in general (every kind) is left to retrieval.
    of_its_kind = not named and wanted != frozenset(AnswerType)
    for claim in pack.claims:
        if claim.id in found:
            continue
        if (claim_subjects(claim, pack) & named) if named else (of_its_kind and set(claim.answer_types) & wanted):
            found[claim.id] = Candidate(claim_evidence(claim, pack), 0.0, retrieved=False)
    return list(found.values())


def named_subjects(understanding: QuestionUnderstanding) -> frozenset[str]:
    """The specific subjects a question names, with the use disorder's two names standing for each other."""
    named = understanding.treatments | understanding.conditions | understanding.populations
    return named | ADDICTION if named & ADDICTION else named
