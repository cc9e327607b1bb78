"""List answers: the items a list question asks for (signs, harms, risk factors, which treatments), gathered across
the evidence and grouped by source, reliable sources first, every group cited and labelled.

A list is made only when the evidence that best answers the question names items; otherwise the bottom line leads
with that statement instead (bottom_line.py), so a list never hides the most relevant answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ketaguide.domain.answering.answer_types import LIST_TYPES
from ketaguide.domain.answering.evidence import Evidence
from ketaguide.domain.answering.phrasing import Clause, and_list, attributed, capital, source_label, source_of
from ketaguide.domain.answering.policy import AnswerPolicy
from ketaguide.domain.answering.relevance import key, ranked
from ketaguide.domain.answering.understanding import ADDICTION, QuestionUnderstanding
from ketaguide.domain.evidence.models import AnswerType
from ketaguide.domain.evidence.pack import KnowledgePack

_TREATMENT_LISTS = frozenset({AnswerType.EFFICACY, AnswerType.EVIDENCE_YES_NO, AnswerType.INTERACTIONS})
_TREATMENT_CLASSES = frozenset({"pharmacotherapy", "psychosocial"})
_ITEM_KINDS = frozenset({"drug", "treatment"})
_NOT_ITEMS = frozenset({"ketamine", "esketamine", *_TREATMENT_CLASSES})
_LEADS = {
    AnswerType.INTERACTIONS: "Drugs the sources name as interacting with ketamine",
    AnswerType.EVIDENCE_YES_NO: "Treatments studied",
    AnswerType.MANAGEMENT: "Approaches the sources describe",
    AnswerType.SIGNS: "Signs and symptoms the sources name",
    AnswerType.HARMS: "Harms the sources name",
    AnswerType.RISK_FACTORS: "Risk factors the sources name",
    AnswerType.EFFICACY: "Treatments with reported evidence",
}


@dataclass
class _ItemGroup:
    """The items one source names, and the evidence that names them."""

    label: str
    reliable: bool
    items: list[str]
    evidence: list[Evidence]


def list_answer(
    understanding: QuestionUnderstanding,
    answering: Sequence[Evidence],
    limitations: Sequence[Evidence],
    pack: KnowledgePack,
    policy: AnswerPolicy,
) -> list[Clause]:
    """The list's clauses, or none when the question asks for no list or its best answer names no items."""
    treatments = asks_for_treatments(understanding)
    asked = understanding.answer_type
    if understanding.overview or not (treatments or (asked in LIST_TYPES and not understanding.yes_no)):
        return []
    best = ranked(answering, understanding)
    # A list only when the evidence answering best (as well as the first) names items: else that statement leads.
    top = [e for e in best if key(e, understanding) >= key(best[0], understanding)] if best else []
    if not any(_items(e, pack, asked, treatments=treatments) for e in top):
        return []
    groups = _groups(best, pack, asked, treatments=treatments)
    clauses: list[Clause] = []
    named: set[str] = set()
    for group in groups:
        fresh = [i for i in dict.fromkeys(group.items) if _key(i) not in named][: policy.max_list_items]
        if fresh:
            named |= {_key(i) for i in fresh}
            clauses.append(_clause(_LEADS.get(asked, "The sources name"), group, fresh, first=not clauses))
    if treatments and (limit := _limitation_of(groups[0].evidence[0], limitations, answering)):
        clauses.append(attributed(limit))
    return clauses


def asks_for_treatments(understanding: QuestionUnderstanding) -> bool:
    """Whether the treatments are the answer: "what helps craving?", "which drugs interact with ketamine?", "how is
    ketamine addiction treated?" (not "does CBT work?": one named approach, asked yes or no)."""
    asked, named = understanding.answer_type, understanding.treatments
    if named - _TREATMENT_CLASSES:
        return False
    if asked is AnswerType.MANAGEMENT:
        return not (understanding.conditions - ADDICTION) and not understanding.yes_no
    if asked is AnswerType.EVIDENCE_YES_NO:
        return bool(named)  # "which medications have been studied", not "is there evidence on withdrawal"
    return asked in _TREATMENT_LISTS and not (understanding.yes_no and "psychosocial" in named)


def _clause(lead: str, group: _ItemGroup, items: list[str], *, first: bool) -> Clause:
    listed, evidence = and_list(items), tuple(group.evidence)
    if group.reliable and first:
        return Clause(f"{lead}, according to {group.label}: {listed}.", evidence)
    if first:
        return Clause(f"No reliable source answers this; {group.label} names: {listed}.", evidence)
    return Clause(f"{capital(group.label)} also names: {listed}.", evidence)


def _key(item: str) -> str:
    """Items compared as written apart from case and "+" for "plus" ("paliperidone palmitate + bupropion")."""
    return " ".join(item.lower().replace("+", " plus ").split())


def _groups(
    answering: Sequence[Evidence], pack: KnowledgePack, asked: AnswerType, *, treatments: bool
) -> list[_ItemGroup]:
    """Items per source, reliable sources first, then the less unreliable, in order of relevance."""
    groups: dict[str, _ItemGroup] = {}
    for evidence in answering:
        if items := _items(evidence, pack, asked, treatments=treatments):
            group = groups.setdefault(
                source_of(evidence), _ItemGroup(source_label(evidence), evidence.reliable, [], [])
            )
            group.items.extend(items)
            group.evidence.append(evidence)
    return sorted(groups.values(), key=lambda g: (not g.reliable, -g.evidence[0].reliability.rank))


def _items(evidence: Evidence, pack: KnowledgePack, asked: AnswerType, *, treatments: bool) -> list[str]:
    """What the evidence lists; for a list of treatments, only the items that name one (or its treatments).

    The items are of the kind the evidence answers first: the predictors of hydronephrosis are risk factors, not
    bladder harms, although the same statement also reports how common hydronephrosis is."""
    if not treatments:
        return list(evidence.items) if evidence.answers[:1] == (asked,) else []
    named = [i for i in evidence.items if _names_treatment(i, pack)]
    return named or _treatments_of(evidence, pack)


def _names_treatment(item: str, pack: KnowledgePack) -> bool:
    return any(pack.lexicon.get(c).kind in _ITEM_KINDS for c in pack.lexicon.concepts_in(item))


def _treatments_of(evidence: Evidence, pack: KnowledgePack) -> list[str]:
    """The treatments a piece of evidence reports on (never ketamine itself: it is the drug of misuse here)."""
    concepts = [evidence.treatment] if evidence.claim is not None else sorted(evidence.subjects)
    lexicon = pack.lexicon
    return [
        lexicon.get(c).name
        for c in concepts
        if c and c in lexicon and lexicon.get(c).kind in _ITEM_KINDS and c not in _NOT_ITEMS
    ]


def _limitation_of(first: Evidence, limitations: Sequence[Evidence], answering: Sequence[Evidence]) -> Evidence | None:
    """A reliable limitation for a list of treatments: of the first group's source if it states one."""
    candidates = [e for e in (*limitations, *answering) if e.reliable and states_a_limitation(e)]
    same = [e for e in candidates if source_of(e) == source_of(first)]
    return next(iter(same or candidates), None)


def states_a_limitation(evidence: Evidence) -> bool:
    if evidence.claim is not None:
        return evidence.claim.claim_type.value == "evidence_limitation"
    return evidence.answers == (AnswerType.EVIDENCE_YES_NO,)
