"""Which of the evidence that answers a question answers it best: the order in which the bottom line uses it.

All of it is about the question's subject and answers its kind of question (selection decided that); this orders
it by how much of the question it speaks to in its own words ("does a k-hole leave you paralysed" is best answered
by the statement about temporary paralysis, not by one on intoxication in general), then by how focused it is on
what the question names, then by whether it is a source's own conclusion, the kind of finding asked for, the study
design. Reliability is not part of the order: the bottom line labels an unreliable source instead (bottom_line.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from ketaguide.domain.answering.evidence import Evidence
from ketaguide.domain.answering.understanding import ADDICTION, QuestionUnderstanding
from ketaguide.domain.evidence.models import AnswerType, ClaimType, StudyDesign
from ketaguide.domain.evidence.text import QUESTION_FILLER, stem, tokens

# Words every answer shares, which tell one statement from another nothing; the use disorder's own words are the
# context of every question too ("does CBT help people addicted to ketamine" is told apart by "CBT", not "addicted").
_UNTELLING_WORDS = (
    "ketamine special patient user drug take get addiction addicted addictive dependence dependent abuse misuse "
    "disorder use uses used using history "
    # A patient's age and sex describe who asks about, not what is asked ("24 y/o M w/ KUD, tx options?").
    "year years old man woman male female"
)
# Compare words by the first letters of their stems: "paralysed" meets "paralysis", "addictive" meets "addiction".
_PREFIX = 6
_KIND_WEIGHT = 0.5
# Classes of treatment: every claim on a drug is about pharmacotherapy, so being about it tells nothing.
_TREATMENT_CLASSES = frozenset({"pharmacotherapy"})
_SHORT = 4
# Routes of giving a drug, written short: too short for a word, but what tells the IM dose from the IV one.
_ROUTE_WORDS = frozenset({"im", "iv"})
_ENOUGH_WORDS = 2
_HUMAN_DESIGN_RANK = {
    StudyDesign.CONTROLLED_TRIAL: 5,
    StudyDesign.SYSTEMATIC_REVIEW: 4,
    StudyDesign.OBSERVATIONAL: 3,
    StudyDesign.CASE_SERIES: 2,
    StudyDesign.CASE_REPORT: 2,
    StudyDesign.ANIMAL_PRECLINICAL: 1,
}
_BACKGROUND = frozenset({ClaimType.MECHANISM, ClaimType.EVIDENCE_LIMITATION})
_SAFETY_ASKED = frozenset({AnswerType.HARMS, AnswerType.INTERACTIONS})
_BACKGROUND_ASKED = frozenset({AnswerType.MECHANISM, AnswerType.EVIDENCE_YES_NO, AnswerType.DEFINITION})


def key(evidence: Evidence, understanding: QuestionUnderstanding) -> tuple[int, int, int]:
    """How well the evidence answers what was asked: how much of the question it speaks to (in its words, then in
    what it is about) and whether it is a source's own conclusion; not how narrowly it keeps to it."""
    claim = evidence.claim
    conclusion = int(claim is not None and claim.conclusion)
    return (round(4 * coverage(evidence, understanding)), focus(evidence, understanding)[0], conclusion)


def ranked(answering: Sequence[Evidence], understanding: QuestionUnderstanding) -> list[Evidence]:
    """The answering evidence, the best answer first (ties keep selection's order: retrieval rank)."""
    order = sorted(enumerate(answering), key=lambda pair: _preference(pair, understanding), reverse=True)
    return [evidence for _, evidence in order]


def coverage(evidence: Evidence, understanding: QuestionUnderstanding) -> float:
    """The share of the question's words (all but the ones every answer shares) the evidence uses: how directly it
    answers, in the question's own terms (0 when it has no such word). Words asking for the kind of answer ("cause",
    "signs") weigh half: repeating them says less than naming what the question is about."""
    kind = _words(" ".join(understanding.kind_words))
    asked = _words(understanding.text) - _words(_UNTELLING_WORDS)
    if not asked:
        return 0.0
    used = asked & _evidence_words(evidence)
    return (len(used - kind) + _KIND_WEIGHT * len(used & kind)) / (len(asked - kind) + _KIND_WEIGHT * len(asked & kind))


def reach(evidence: Evidence, understanding: QuestionUnderstanding) -> float:
    """The share of what the question is about that the evidence speaks to: each concept it names (twice the weight:
    the subject) that the evidence is about, and each other telling word (not asking for a kind of answer) it uses.
    0 when the question names neither."""
    concepts = _named(understanding)
    words = _question_words(understanding)
    total = 2 * len(concepts) + len(words)
    if not total:
        return 0.0
    covered = 2 * len(concepts & evidence.subjects) + len(words & _evidence_words(evidence))
    return covered / total


def names_enough(understanding: QuestionUnderstanding) -> bool:
    """Whether the question names enough to tell evidence that speaks to it from evidence that does not: a concept
    beyond ketamine, or two telling words. One word alone ("how does ketamine work in the brain?") is too thin a
    reason to drop what the sources say of ketamine's mechanism."""
    return bool(_named(understanding)) or len(_question_words(understanding)) >= _ENOUGH_WORDS


def wordless(evidence: Evidence, understanding: QuestionUnderstanding, text_concepts: frozenset[str]) -> bool:
    """Whether the evidence speaks to none of what the question asks in so many words: it uses none of the
    question's words, its own wording (`text_concepts`) names none of the question's concepts, and its being about
    them (its facets) does not settle it. Facets settle it when the question asks nothing beyond specific concepts
    ("is ketamine cystitis reversible?" is answered by evidence on ketamine uropathy in other words), or when it asks
    about safety; not when its only concept is a class of treatment, which every drug claim is about ("are there any
    approved medications?")."""
    if coverage(evidence, understanding) > 0:
        return False
    named = _named(understanding)
    if named & text_concepts:
        return False
    specific = named - _TREATMENT_CLASSES
    # A warning about what the question names is never padding on a question of safety ("is it safe to drink
    # alcohol with ketamine?": the label's warning on CNS depressants, which the pack files under alcohol).
    settled = not _question_words(understanding) or understanding.answer_type in _SAFETY_ASKED
    return not (specific and specific <= evidence.subjects and settled)


def focus(evidence: Evidence, understanding: QuestionUnderstanding) -> tuple[int, int]:
    """How much of what the question names the evidence is about, then how much of the evidence is about it, each
    in tenths: "imatinib and opioid tolerance" prefers a claim on all three over one on opioid tolerance alone."""
    named = understanding.treatments | understanding.conditions | understanding.populations
    specific = evidence.subjects - {"ketamine", *ADDICTION}
    if not named or not specific:
        return (0, 0)
    shared = len(specific & named)
    return (round(10 * shared / len(named)), round(10 * shared / len(specific)))


def _preference(ranked_item: tuple[int, Evidence], understanding: QuestionUnderstanding) -> tuple[object, ...]:
    rank, evidence = ranked_item
    asked = understanding.answer_type
    if understanding.overview:
        asked = AnswerType.EFFICACY if understanding.treatments else AnswerType.DEFINITION
    claim = evidence.claim
    background = claim is not None and claim.claim_type in _BACKGROUND and asked not in _BACKGROUND_ASKED
    # A claim about drugs in general answers a question about ketamine alone only when nothing about ketamine does
    # (a question naming more, "injecting or snorting", may be answered best by what holds for any drug).
    general = _generic(evidence) and asked is not AnswerType.DEFINITION and not _named(understanding)
    return (
        int(not general),
        round(4 * coverage(evidence, understanding)),  # in quarters: near-equal coverage leaves the rest to decide
        int(claim is not None and claim.conclusion),
        focus(evidence, understanding),
        int(asked in evidence.answers),
        int(not _generic(evidence)),
        int(not background),
        _HUMAN_DESIGN_RANK.get(evidence.design, 0),
        -rank,
    )


def _generic(evidence: Evidence) -> bool:
    """A claim about drugs in general ("tolerance means needing an escalating dose"), not about a named one."""
    claim = evidence.claim
    if claim is None or claim.about.intervention:
        return False
    return not any("ketamine" in text.lower() for text in (claim.statement, claim.quote, claim.about.condition or ""))


def _named(understanding: QuestionUnderstanding) -> frozenset[str]:
    named = understanding.treatments | understanding.conditions | understanding.populations
    return named - ADDICTION


def _question_words(understanding: QuestionUnderstanding) -> frozenset[str]:
    return _words(" ".join(understanding.telling_words)) - _words(_UNTELLING_WORDS)


def _evidence_words(evidence: Evidence) -> frozenset[str]:
    claim = evidence.claim
    extra = [*claim.keywords, claim.about.outcome or ""] if claim is not None else []
    title = [evidence.reference.title] if evidence.reference is not None else []
    return _words(" ".join([evidence.text, *evidence.items, *extra, *title]), parts=True)


@lru_cache(maxsize=4096)
def _words(text: str, *, parts: bool = False) -> frozenset[str]:
    """The comparable words of a text; with `parts`, a hyphenated word's parts as well (evidence's "FDA-approved"
    answers "is ketamine FDA approved?"; a question's "long-term" still counts once)."""
    found = tokens(text.lower())
    if parts:
        found = [part for token in found for part in {token, *token.split("-")} if part]
    return frozenset(_root(t) for t in found if t not in QUESTION_FILLER and (len(t) > 2 or t in _ROUTE_WORDS))


def _root(token: str) -> str:
    """A word's comparable root: British and American spellings alike ("anaesthesia", "haematuria"; not "does"),
    short inflections too ("aged" meets "age", "uses" meets "use", "stopping" meets "stop"), then the first letters
    of its stem."""
    if len(token) > _SHORT:
        token = token.replace("ae", "e").replace("oe", "e")
    stemmed = stem(token)
    if stemmed != token and len(stemmed) >= _SHORT and stemmed[-1] == stemmed[-2] and stemmed[-1] not in "lsz":
        stemmed = stemmed[:-1]  # "stopping" meets "stop"
    if stemmed == token and len(token) <= _SHORT:
        stemmed = next((token[: -len(s)] for s in ("s", "d") if token.endswith(s) and len(token) > len(s) + 2), token)
    return stemmed[:_PREFIX]
