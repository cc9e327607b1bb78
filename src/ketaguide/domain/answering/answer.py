"""Compose a cited, evidence-graded answer to a clinical question, or abstain: the answering pipeline.

    understanding (understanding.py)  what the question is about and what kind of answer it asks for
    candidates    (candidates.py)     retrieved claims, and every claim and reference about what it names
    selection     (selection.py)      only evidence about the subject AND answering the kind of question
    composition   (composition.py,    a composed bottom line, sections, conflicts, a readable caveat
                   bottom_line.py)
    citation      (citation.py)       numbered verbatim quotes and external references

Every step's decisions are kept in the answer's trace (`ketaguide ask --explain`). The answer is extractive: every
statement is a claim's normalised wording cited to its verbatim quote, or an external reference's stored statement.
KetaGuide abstains when the question is outside its scope or names something its evidence does not contain.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ketaguide.domain.answering.candidates import gather_candidates
from ketaguide.domain.answering.certainty import evidence_item, evidence_profile
from ketaguide.domain.answering.citation import cite
from ketaguide.domain.answering.composition import compose, section_of
from ketaguide.domain.answering.models import Answer, BottomLineClause, Section
from ketaguide.domain.answering.policy import DEFAULT_POLICY, AnswerPolicy
from ketaguide.domain.answering.selection import Selection, select_evidence, wanted_types
from ketaguide.domain.answering.trace import AnswerTrace
from ketaguide.domain.answering.understanding import QuestionUnderstanding, understand_question
from ketaguide.domain.evidence.pack import KnowledgePack
from ketaguide.domain.ports import Hit

__all__ = [
    "Answer",
    "BottomLineClause",
    "Section",
    "answer_question",
    "compose_answer",
    "evidence_item",
    "evidence_profile",
    "section_of",
]


def _no_word(word: str) -> bool:
    return False


def compose_answer(
    question: str,
    hits: Sequence[Hit],
    pack: KnowledgePack,
    is_common_word: Callable[[str], bool] = _no_word,
    policy: AnswerPolicy = DEFAULT_POLICY,
) -> Answer:
    """Understand `question`, then answer it from `hits` (retrieval's ranking) and the pack; see `answer_question`.

    `is_common_word` tells ordinary language from specialist terms; without it every word the pack does not know
    is treated as a specialist term (the cautious default).
    """
    understanding = understand_question(question, pack, is_common_word)
    return answer_question(understanding, hits, pack, policy)


def answer_question(
    understanding: QuestionUnderstanding,
    hits: Sequence[Hit],
    pack: KnowledgePack,
    policy: AnswerPolicy = DEFAULT_POLICY,
) -> Answer:
    """A cited answer from the evidence about the question's subject that answers its kind of question, or an
    abstention that says why."""
    if refusal := _refusal(understanding, pack):
        return _abstain(understanding, refusal)
    candidates = gather_candidates(understanding, hits, pack, wanted_types(understanding, pack))
    selection = select_evidence(understanding, candidates, pack, policy)
    if not selection.shown:
        return _abstain(understanding, _no_evidence(understanding, pack), selection)
    composition = compose(understanding, selection, pack, policy)
    cited = cite(composition, pack)
    return Answer(
        question=understanding.question,
        abstained=False,
        certainty=composition.certainty.level,
        certainty_reasons=tuple(composition.certainty.reasons),
        certainty_summary=composition.certainty_summary,
        evidence_profile=composition.profile,
        bottom_line=cited.bottom_line_text,
        bottom_line_citations=cited.bottom_line_citations,
        bottom_line_clauses=cited.bottom_line,
        sections=tuple(s for s in cited.sections if s.statements),
        references=cited.references,
        did_you_mean=understanding.did_you_mean,
        trace=_trace(understanding, selection, composition.how),
    )


def _refusal(understanding: QuestionUnderstanding, pack: KnowledgePack) -> str | None:
    if not understanding.in_scope:
        return "The question names nothing within KetaGuide's scope (ketamine and its use disorder)."
    if understanding.names_unknown_subject:
        named = dict.fromkeys([*understanding.absent_subjects, *understanding.unknown_terms])
        words = ", ".join(f"'{w}'" for w in named)
        return (
            f"The question names {words}, which the knowledge pack does not contain; KetaGuide answers only from its "
            "evidence and does not guess. Check the spelling, or ask without it if it is not the subject."
        )
    return None


def _no_evidence(understanding: QuestionUnderstanding, pack: KnowledgePack) -> str:
    named = understanding.treatments | understanding.conditions | understanding.populations
    names = ", ".join(sorted(pack.lexicon.get(c).name for c in named)) or "this question"
    return f"The knowledge pack has no evidence that answers this question (on {names}). Nothing is inferred."


def _abstain(understanding: QuestionUnderstanding, why: str, selection: Selection | None = None) -> Answer:
    return Answer(
        question=understanding.question,
        abstained=True,
        explanation=why,
        did_you_mean=understanding.did_you_mean,
        trace=_trace(understanding, selection, "abstained"),
    )


def _trace(understanding: QuestionUnderstanding, selection: Selection | None, how: str) -> AnswerTrace:
    return AnswerTrace(
        read_as=understanding.text,
        expansions=understanding.expansions,
        corrections=understanding.corrections,
        subjects=tuple(sorted(understanding.subjects)),
        answer_type=understanding.answer_type,
        also_asked=understanding.also_asked,
        overview=understanding.overview,
        in_scope=understanding.in_scope,
        unknown_terms=understanding.unknown_terms,
        retrieved=selection.retrieved if selection else 0,
        candidates=selection.candidates if selection else 0,
        decisions=selection.decisions if selection else (),
        bottom_line=how,
    )
