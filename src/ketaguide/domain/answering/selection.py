"""Step 3 of answering: keep the evidence that answers the question, and nothing else.

Evidence answers when it is about what the question names (subject) AND answers the kind of thing asked (answer
type). Beside it an answer shows only the limitations of the evidence it cites (a review's "no controlled trials")
and, through the conflicts section, the other side of a disagreement. When nothing answers the kind of thing asked,
a few closely related statements on the same subject are kept instead, and the answer says first that no source
answers. Nothing is added to fill space: certainty and the evidence profile are computed over what is kept.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ketaguide.domain.answering.answer_types import LIST_TYPES, TREATMENT_ANSWERS, accepted_types
from ketaguide.domain.answering.candidates import Candidate, named_subjects
from ketaguide.domain.answering.evidence import CONTEXT_DRUGS, Evidence
from ketaguide.domain.answering.policy import AnswerPolicy
from ketaguide.domain.answering.relevance import coverage, key, names_enough, reach, wordless
from ketaguide.domain.answering.trace import EvidenceDecision, Outcome
from ketaguide.domain.answering.understanding import ADDICTION, QuestionUnderstanding
from ketaguide.domain.evidence.models import AnswerType, ClaimType
from ketaguide.domain.evidence.pack import KnowledgePack

_LISTS = frozenset({*LIST_TYPES, AnswerType.INTERACTIONS})
# Kinds of question whose answer is incomplete without the limits of the evidence behind it.
_WITH_LIMITATIONS = frozenset(
    {AnswerType.EFFICACY, AnswerType.MANAGEMENT, AnswerType.COMPARISON, AnswerType.OTHER, AnswerType.SETTING}
)


@dataclass(frozen=True)
class Selection:
    answering: tuple[Evidence, ...]
    limitations: tuple[Evidence, ...]
    related: tuple[Evidence, ...]
    decisions: tuple[EvidenceDecision, ...]
    candidates: int
    retrieved: int

    @property
    def shown(self) -> tuple[Evidence, ...]:
        """Everything the answer cites from selection, answering evidence first."""
        return (*self.answering, *self.limitations, *self.related)


@dataclass
class _Ledger:
    """Decisions in the order they are made; a later decision on the same evidence replaces the earlier one."""

    decisions: dict[str, EvidenceDecision] = field(default_factory=dict)

    def record(self, evidence: Evidence, outcome: Outcome, reason: str) -> None:
        # Built without validation: every field is ours and typed (a question makes dozens of these).
        decision = EvidenceDecision.model_construct(evidence=evidence.key, outcome=outcome, reason=reason)
        self.decisions[evidence.key] = decision


def select_evidence(
    understanding: QuestionUnderstanding,
    candidates: Sequence[Candidate],
    pack: KnowledgePack,
    policy: AnswerPolicy,
) -> Selection:
    """Sort the candidates into answering evidence, its limitations, or (when nothing answers) related evidence."""
    ledger = _Ledger()
    wanted = wanted_types(understanding, pack)
    on_subject: list[Evidence] = []
    # A limitation need not name the question's condition: "no controlled trials of lamotrigine" limits the
    # lamotrigine-for-craving evidence although it does not mention craving.
    on_treatment: list[Evidence] = []
    for candidate in candidates:
        evidence = candidate.evidence
        mismatch = subject_mismatch(evidence, understanding, pack)
        if mismatch:
            ledger.record(evidence, "dropped", mismatch)
        else:
            on_subject.append(evidence)
        if mismatch is None or subject_mismatch(evidence, understanding, pack, conditions=False) is None:
            on_treatment.append(evidence)
    answering = _answering(on_subject, wanted, understanding, pack, policy, ledger)
    limitations = _limitations(answering, on_treatment, understanding, policy, ledger) if answering else []
    related = [] if answering else _related(on_subject, policy, ledger)
    return Selection(
        answering=tuple(answering),
        limitations=tuple(limitations),
        related=tuple(related),
        decisions=tuple(ledger.decisions.values()),
        candidates=len(candidates),
        retrieved=sum(c.retrieved for c in candidates),
    )


def wanted_types(understanding: QuestionUnderstanding, pack: KnowledgePack) -> frozenset[AnswerType]:
    """The claim answer types that answer the question (every type for an overview)."""
    if understanding.overview:
        return frozenset(AnswerType)
    phrasebook = pack.lexicon.phrasebook
    asked = (understanding.answer_type, *understanding.also_asked)
    return frozenset().union(*(accepted_types(t, phrasebook) for t in asked))


def subject_mismatch(
    evidence: Evidence, understanding: QuestionUnderstanding, pack: KnowledgePack, *, conditions: bool = True
) -> str | None:
    """Why the evidence is not about what the question names, or None when it is (`conditions=False`: ignoring
    the conditions the question names)."""
    subjects = evidence.subjects | ADDICTION if evidence.subjects & ADDICTION else evidence.subjects
    u = understanding
    if _against_ketamine(u, pack):
        return _side_mismatch(evidence, subjects, u, pack)
    if u.treatments and not u.treatments & subjects:
        return f"not about {_names(u.treatments, pack)}"
    # An interaction is between the drugs named: evidence on one of them with some other drug does not answer.
    drugs = frozenset(t for t in u.treatments if pack.lexicon.get(t).kind == "drug")
    if u.answer_type is AnswerType.INTERACTIONS and len(drugs) > 1 and (unpaired := drugs - subjects):
        return f"not about {_names(unpaired, pack)}"
    if conditions and _conditions_filter(u) and not _with_addiction(u.conditions) & subjects:
        return f"not about {_names(u.conditions, pack)}"
    if missing := u.populations - subjects:
        return f"not about {_names(missing, pack)}"
    if other := _other_substances(evidence, u, pack):
        return f"about {_names(other, pack)}, which the question does not name"
    if not u.treatments and u.answer_type not in TREATMENT_ANSWERS and (others := _other_drugs(evidence, pack)):
        return f"about {_names(others, pack)}, which the question does not name"
    return None


def _against_ketamine(understanding: QuestionUnderstanding, pack: KnowledgePack) -> bool:
    """A comparison of ketamine with other substances on what the question names ("is ketamine more addictive than
    opioids?"): ketamine is a side, not only the context."""
    u = understanding
    return (
        u.answer_type is AnswerType.COMPARISON
        and "ketamine" in u.subjects
        and bool(u.treatments)
        and bool(u.conditions)
        and all(_is_other_substance(t, pack) for t in u.treatments)
    )


def _side_mismatch(
    evidence: Evidence, subjects: frozenset[str], understanding: QuestionUnderstanding, pack: KnowledgePack
) -> str | None:
    """In a comparison of ketamine with other substances, evidence answers when it is about what is compared (the
    condition: addiction, harms) for one of the sides: ketamine's addictiveness answers although it names no
    opioid; opioid tolerance (not addiction) does not."""
    u = understanding
    if not _with_addiction(u.conditions) & subjects:
        return f"not about {_names(u.conditions, pack)}"
    others = (_other_drugs(evidence, pack) | _other_substances(evidence, u, pack)) - u.treatments
    if others:
        return f"about {_names(frozenset(others), pack)}, which the question does not name"
    return None


def _conditions_filter(understanding: QuestionUnderstanding) -> bool:
    # With a treatment named, "for ketamine use disorder" narrows nothing: the use disorder is KetaGuide's whole
    # domain (naltrexone's interaction with opioids answers "my client with KUD is on opioids, can they take
    # naltrexone?"). Only without a treatment does the use disorder itself decide ("signs of ketamine addiction").
    only_addiction = understanding.conditions <= ADDICTION
    return bool(understanding.conditions) and not (understanding.treatments and only_addiction)


def _with_addiction(concepts: frozenset[str]) -> frozenset[str]:
    return concepts | ADDICTION if concepts & ADDICTION else concepts


def _other_substances(evidence: Evidence, understanding: QuestionUnderstanding, pack: KnowledgePack) -> set[str]:
    """Substances or use disorders a claim's condition names that the question does not: opioid withdrawal does not
    answer for ketamine withdrawal."""
    if evidence.claim is None:
        return set()
    named = pack.lexicon.concepts_in_phrase(evidence.claim.about.condition or "")
    others = {c for c in named if _is_other_substance(c, pack)} - understanding.subjects
    # Alcohol use disorder is about alcohol: a question naming the substance names its use disorder too.
    substances = {s.removesuffix("s") for s in understanding.subjects}
    return {c for c in others if c.removesuffix("_use_disorder") not in substances}


def _is_other_substance(concept_id: str, pack: KnowledgePack) -> bool:
    concept = pack.lexicon.get(concept_id)
    return not concept.scope and (concept.kind == "drug" or concept_id.endswith("_use_disorder"))


def _other_drugs(evidence: Evidence, pack: KnowledgePack) -> set[str]:
    """Drugs other than ketamine that the evidence is about: a claim's intervention, a reference point's first
    subject (what it is mainly about; later subjects may be context, as PCP is for ketamine's DSM class)."""
    if evidence.claim is not None:
        named = {evidence.treatment} if evidence.treatment else set()
    else:
        named = {evidence.point.subjects[0]} if evidence.point else set()
    return (
        {c for c in named if c in pack.lexicon and pack.lexicon.get(c).kind == "drug"} - CONTEXT_DRUGS - {"esketamine"}
    )


def _answering(
    on_subject: list[Evidence],
    wanted: frozenset[AnswerType],
    understanding: QuestionUnderstanding,
    pack: KnowledgePack,
    policy: AnswerPolicy,
    ledger: _Ledger,
) -> list[Evidence]:
    # A list (signs, harms, interacting drugs) gathers across the evidence: it may show as much as an overview.
    listing = understanding.answer_type in _LISTS and not understanding.yes_no
    # An overview is broad only about something named: "lamotrigine for KUD" yes; a question naming nothing, no.
    broad = (understanding.overview and understanding.specific) or listing
    claims_cap, references_cap = policy.caps(overview=broad, general=not (broad or named_subjects(understanding)))
    kept: list[Evidence] = []
    # The best answers first, so that the limit on statements drops the least relevant ones.
    ordered = _by_relevance(on_subject, understanding)
    # A list gathers across the evidence: only other answers are trimmed to what speaks to most of the question.
    least = 0.0 if listing else _least_coverage([e for e in ordered if e.answers_any(wanted)], understanding, policy)
    in_words = not (listing or understanding.overview) and _answered_in_words(
        [e for e in ordered if e.answers_any(wanted)], understanding, policy
    )
    for evidence in ordered:
        overlap = next((k for k in kept if _same_quote(evidence, k)), None)
        if not evidence.answers_any(wanted):
            ledger.record(evidence, "dropped", f"answers {_types(evidence.answers)}, not {_types(wanted)}")
        elif in_words and wordless(evidence, understanding, _text_concepts(evidence, pack)):
            ledger.record(evidence, "dropped", "speaks to none of the question's words; the best evidence does")
        elif (share := reach(evidence, understanding)) < least:
            reason = f"speaks to {share:.0%} of what the question names; the best evidence to twice as much or more"
            ledger.record(evidence, "dropped", reason)
        elif overlap is not None and _contains(evidence, overlap):
            # The wider quote says all the narrower one does, and more: it takes the narrower one's place.
            kept[kept.index(overlap)] = evidence
            ledger.record(overlap, "dropped", f"its quote is part of {evidence.key}'s")
            ledger.record(evidence, "answers", f"answers {_types(set(evidence.answers) & wanted)}")
        elif overlap is not None:
            ledger.record(evidence, "dropped", f"quotes the same text as {overlap.key}")
        elif _count(kept, evidence.claim is not None) >= (claims_cap if evidence.claim else references_cap):
            ledger.record(evidence, "dropped", "beyond the answer's limit of statements of this kind")
        else:
            kept.append(evidence)
            ledger.record(evidence, "answers", f"answers {_types(set(evidence.answers) & wanted)}")
    return kept


def _least_coverage(answering: list[Evidence], understanding: QuestionUnderstanding, policy: AnswerPolicy) -> float:
    """How much of the question evidence must speak to, relative to the evidence that speaks to most of it: a
    question about laryngospasm is not answered with every statement on ketamine (no padding)."""
    if not names_enough(understanding):
        return 0.0
    best = max((reach(e, understanding) for e in answering), default=0.0)
    # Only when some evidence speaks to most of the question does it show what the rest misses.
    return best * policy.min_relative_coverage if best >= policy.min_relative_coverage else 0.0


def _answered_in_words(answering: list[Evidence], understanding: QuestionUnderstanding, policy: AnswerPolicy) -> bool:
    """Whether some evidence answers the question in its own words (uses enough of them) so that evidence using
    none of them is padding: "are there any approved medications?" is not answered by rat studies of lamotrigine."""
    if not names_enough(understanding):
        return False
    best = max((coverage(e, understanding) for e in answering), default=0.0)
    return best >= policy.min_worded_coverage


def _text_concepts(evidence: Evidence, pack: KnowledgePack) -> frozenset[str]:
    """The lexicon concepts the evidence's own wording names."""
    return pack.lexicon.concepts_in_phrase(" ".join([evidence.text, *evidence.items]).lower())


def _by_relevance(evidence: list[Evidence], understanding: QuestionUnderstanding) -> list[Evidence]:
    """Stable: among equally relevant evidence, retrieval's order is kept."""
    return sorted(evidence, key=lambda e: key(e, understanding), reverse=True)


def _limitations(
    answering: list[Evidence],
    on_subject: list[Evidence],
    understanding: QuestionUnderstanding,
    policy: AnswerPolicy,
    ledger: _Ledger,
) -> list[Evidence]:
    """Limitations of the answering evidence, stated by the same source about the same body of evidence: the first
    for each body in turn, so that every body's limits are shown before any body's second."""
    if understanding.answer_type not in _WITH_LIMITATIONS and not understanding.overview:
        return []
    pool = [e for e in on_subject if e not in answering and _is_limitation(e)]
    kept: list[Evidence] = []
    bodies: set[tuple[str, str | None]] = set()
    for body in answering:
        if _body_key(body) in bodies:
            continue
        limit = next((e for e in pool if _same_body(e, body) and not _repeats(e, [*answering, *kept])), None)
        if limit is not None and len(kept) < policy.max_limitations:
            kept.append(limit)
            pool.remove(limit)
            bodies.add(_body_key(body))
            ledger.record(limit, "limitation", f"a limitation of {body.key}")
    return kept


def _body_key(evidence: Evidence) -> tuple[str, str | None]:
    """One body of evidence: a source speaking of one intervention, or one external reference."""
    if evidence.claim is not None:
        return evidence.claim.source_id, evidence.claim.about.intervention
    return evidence.key.split("/")[0], None


def _repeats(evidence: Evidence, shown: list[Evidence]) -> bool:
    return any(_same_quote(evidence, k) for k in shown)


def _related(on_subject: list[Evidence], policy: AnswerPolicy, ledger: _Ledger) -> list[Evidence]:
    """When nothing answers the kind of thing asked: the best-ranked few statements on the same subject."""
    kept: list[Evidence] = []
    for evidence in on_subject:
        if len(kept) < policy.max_related and not any(_same_quote(evidence, k) for k in kept):
            kept.append(evidence)
            ledger.record(evidence, "related", "on the subject, but answers another kind of question")
    return kept


def _is_limitation(evidence: Evidence) -> bool:
    if evidence.claim is not None:
        return evidence.claim.claim_type is ClaimType.EVIDENCE_LIMITATION
    return evidence.answers == (AnswerType.EVIDENCE_YES_NO,)


def _same_body(limitation: Evidence, answering: Evidence) -> bool:
    """The same source speaking of the same intervention or study, or the same external reference."""
    if limitation.claim is None or answering.claim is None:
        return (
            limitation.point is not None
            and answering.point is not None
            and (limitation.point.reference == answering.point.reference)
        )
    a, b = limitation.claim, answering.claim
    same_study = bool(set(a.refs) & set(b.refs)) or a.study_key == b.study_key
    return a.source_id == b.source_id and (a.about.intervention == b.about.intervention or same_study)


def _same_quote(a: Evidence, b: Evidence) -> bool:
    """Two claims quoting overlapping text of one source say the same thing; cite it once."""
    if a.claim is None or b.claim is None:
        return False
    x, y = a.claim, b.claim
    return x.source_id == y.source_id and x.start < y.end and y.start < x.end


def _contains(wider: Evidence, narrower: Evidence) -> bool:
    a, b = wider.claim, narrower.claim
    return (
        a is not None and b is not None and a.start <= b.start and b.end <= a.end and a.end - a.start > b.end - b.start
    )


def _count(kept: Iterable[Evidence], claims: bool) -> int:
    return sum((k.claim is not None) == claims for k in kept)


def _types(types: Iterable[AnswerType]) -> str:
    return ", ".join(sorted(str(t) for t in types)) or "nothing"


def _names(concepts: Iterable[str], pack: KnowledgePack) -> str:
    return ", ".join(sorted(pack.lexicon.get(c).name if c in pack.lexicon else c for c in concepts))


__all__ = ["Selection", "named_subjects", "select_evidence", "subject_mismatch", "wanted_types"]
