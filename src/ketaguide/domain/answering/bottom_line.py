"""The bottom line: extractive, composed from the selected evidence, every clinical clause resting on cited evidence.

- Nothing answers the kind of thing asked: say so first ("None of KetaGuide's sources gives a time course ...").
- A question about trials: whether any controlled trial is reported, then what a source says of it.
- A list (signs, harms, risk factors, which treatments): the items gathered across the evidence (lists.py).
- Otherwise: the statement that answers best (relevance.py), with a limitation of it or one more source's word.
- When the best answer comes from a source of low reliability it is labelled as such, never presented as settled:
  "No reliable source answers this; a consumer health article (low reliability) says: ...".
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ketaguide.domain.answering.evidence import Evidence
from ketaguide.domain.answering.lists import list_answer, states_a_limitation
from ketaguide.domain.answering.phrasing import (
    Clause,
    attributed,
    capital,
    joined,
    missing_sentence,
    sentence,
    source_label,
    source_of,
    subject_phrase,
    wording,
)
from ketaguide.domain.answering.policy import AnswerPolicy
from ketaguide.domain.answering.relevance import coverage, focus, key, ranked, reach
from ketaguide.domain.answering.selection import Selection
from ketaguide.domain.answering.specifics import unstated_specific
from ketaguide.domain.answering.understanding import QuestionUnderstanding
from ketaguide.domain.evidence.models import AnswerType, StudyDesign
from ketaguide.domain.evidence.pack import KnowledgePack

__all__ = ["Clause", "compose_bottom_line", "missing_sentence", "subject_phrase"]

_ASKS_ABOUT_TRIALS = re.compile(r"\b(trials?|rcts?|randomi[sz]ed|controlled)\b")
# Statements that say trials are missing ("No controlled trials exist", "Clinical trials are urgently needed").
_NO_TRIALS = re.compile(
    r"\bno (controlled |clinical |randomi[sz]ed )?trials?\b|\btrials? (are|is) (urgently )?needed\b"
)
# Statements that count trials among their studies ("12 studies (1 controlled trial, ...)").
_COUNTS_A_TRIAL = re.compile(r"\b(\d+|one|two|three) (controlled|randomi[sz]ed) trials?\b")


def compose_bottom_line(
    understanding: QuestionUnderstanding, selection: Selection, pack: KnowledgePack, policy: AnswerPolicy
) -> tuple[list[Clause], str]:
    """The bottom line's clauses (without the certainty clause) and, for the trace, how they were composed."""
    clauses, how = _compose(understanding, selection, pack, policy)
    if selection.answering and (
        specific := unstated_specific(understanding.text, understanding.answer_type, selection.shown)
    ):
        # Evidence of the right kind, but none states the precise thing asked: say so first (specifics.py).
        drug = joined(understanding.treatments, pack) or "ketamine"
        what = specific.what.format(subject=subject_phrase(understanding, pack), drug=drug)
        lead = Clause(f"None of KetaGuide's sources states {what}; the closest statements follow.")
        return [lead, *clauses], f"{how}, after saying no source states {what}"
    return clauses, how


def _compose(
    understanding: QuestionUnderstanding, selection: Selection, pack: KnowledgePack, policy: AnswerPolicy
) -> tuple[list[Clause], str]:
    if not selection.answering:
        missing = Clause(missing_sentence(understanding, pack))
        return [missing, Clause("The closest related statements from the sources are below.")], "not stated"
    if understanding.answer_type is AnswerType.EVIDENCE_YES_NO and _ASKS_ABOUT_TRIALS.search(understanding.text):
        return _about_trials(understanding, selection, pack), "whether trials exist"
    if items := list_answer(understanding, selection.answering, selection.limitations, pack, policy):
        return items, "items gathered across the evidence"
    if understanding.answer_type is AnswerType.COMPARISON and not _compares(selection):
        # No source sets the two side by side: say so, then what the sources say of each.
        lead = Clause(missing_sentence(understanding, pack).removesuffix(".") + "; what they say of each follows.")
        return [lead, *_best_statements(understanding, selection, pack)], "no direct comparison"
    return _best_statements(understanding, selection, pack), "best statement"


def _compares(selection: Selection) -> bool:
    return any(AnswerType.COMPARISON in e.answers for e in selection.answering)


def _about_trials(understanding: QuestionUnderstanding, selection: Selection, pack: KnowledgePack) -> list[Clause]:
    """Whether any controlled trial is reported: yes with the trial, or no (and who says none exist)."""
    shown = selection.shown
    subject = subject_phrase(understanding, pack)
    trials = _by_reliability([e for e in shown if e.design is StudyDesign.CONTROLLED_TRIAL])
    if trials and trials[0].reliable:
        return [Clause(f"Yes. {sentence(trials[0].text)}", (trials[0],))]
    if trials:
        return [attributed(trials[0], lead=f"No reliable source reports a controlled trial of {subject}; ")]
    # A review may count a trial among its studies without saying which treatment it tested: say what it says.
    if counted := next((e for e in _by_reliability(shown) if _COUNTS_A_TRIAL.search(e.text.lower())), None):
        return [attributed(counted)]
    clauses = [Clause(f"No. KetaGuide's sources report no controlled trial of {subject}.")]
    absence = next((e for e in _by_reliability(shown) if _NO_TRIALS.search(e.text.lower())), None)
    if absence is not None:
        clauses.append(attributed(absence))
    return clauses


def _best_statements(understanding: QuestionUnderstanding, selection: Selection, pack: KnowledgePack) -> list[Clause]:
    """The statement that answers best, labelled if its source is unreliable; then a limitation of it, or a reliable
    source's word when the best came from an unreliable one, or one more source on what the question names."""
    best = ranked(selection.answering, understanding)
    anchor = _anchor(best, understanding)
    if not anchor.reliable:
        return _unreliable_first(best, anchor, understanding, pack)
    clauses = [Clause(sentence(wording(anchor)), (anchor,))]
    if (limitation := _limitation(selection, anchor)) is not None:
        clauses.append(Clause(sentence(wording(limitation)), (limitation,)))
    elif not understanding.overview and (other := _second_voice(best, anchor, understanding)) is not None:
        clauses.append(attributed(other, also=True))
    return _with_dispute_note(clauses, pack)


def _anchor(best: list[Evidence], understanding: QuestionUnderstanding) -> Evidence:
    """The best answer; a reliable one instead if it answers as well (as much of the question, as focused, as much a
    source's conclusion)."""
    top = key(best[0], understanding)[:2]
    return next((e for e in best if e.reliable and key(e, understanding)[:2] >= top), best[0])


def _unreliable_first(
    best: list[Evidence], anchor: Evidence, understanding: QuestionUnderstanding, pack: KnowledgePack
) -> list[Clause]:
    """Only unreliable sources answer this well: say so, say what they say (labelled), then any reliable word."""
    # A reliable source counts as answering "not directly" only if it speaks to much of what the question asks.
    reliable = next((e for e in best if e.reliable and _answers_in_part(e, anchor, understanding)), None)
    lead = "No reliable source answers this directly; " if reliable else "No reliable source answers this; "
    clauses = [attributed(anchor, lead=lead)]
    if reliable is not None:
        # Named, so the reader sees which source is the more reliable voice on the question.
        clauses.append(Clause(f"{capital(source_label(reliable))} reports: {sentence(wording(reliable))}", (reliable,)))
    elif (other := _second_voice(best, anchor, understanding)) is not None:
        clauses.append(attributed(other))
    return _with_dispute_note(clauses, pack)


def _answers_in_part(evidence: Evidence, anchor: Evidence, understanding: QuestionUnderstanding) -> bool:
    """Whether the evidence speaks to at least half as much of the question as the best answer: in its words, or in
    what it is about (naltrexone for withdrawal answers "is benzo tx or naltrexone better" in part although its
    wording shares few of the question's words)."""
    if coverage(evidence, understanding) >= coverage(anchor, understanding) / 2:
        return True
    return focus(evidence, understanding)[0] > 0 and reach(evidence, understanding) >= reach(anchor, understanding) / 2


def _second_voice(best: list[Evidence], anchor: Evidence, understanding: QuestionUnderstanding) -> Evidence | None:
    """One more source that answers nearly as much of the question (labelled if it is unreliable)."""
    needed = coverage(anchor, understanding) / 2
    # A question with no telling word ("is ketamine addictive?") is answered as well by any source on its subject.
    return next(
        (
            e
            for e in best
            if source_of(e) != source_of(anchor) and e.answers and (coverage(e, understanding) > needed or not needed)
        ),
        None,
    )


def _limitation(selection: Selection, anchor: Evidence) -> Evidence | None:
    """A reliable statement of the limits of the evidence from the anchor's own source: a kept limitation, or an
    answering one (an overview keeps limitations among its answering evidence)."""
    candidates = (*selection.limitations, *selection.answering)
    return next(
        (
            e
            for e in candidates
            if e is not anchor and e.reliable and states_a_limitation(e) and source_of(e) == source_of(anchor)
        ),
        None,
    )


def _with_dispute_note(clauses: list[Clause], pack: KnowledgePack) -> list[Clause]:
    """Point to the other side when a claim the bottom line cites is one side of a disagreement."""
    cited = [e for c in clauses for e in c.evidence if e.claim is not None]
    if any(pack.conflicts_of(e.key) for e in cited):
        clauses.append(Clause("Sources disagree on this; both sides are shown under 'Where sources conflict'."))
    return clauses


def _by_reliability(evidence: Sequence[Evidence]) -> list[Evidence]:
    return sorted(evidence, key=lambda e: not e.reliable)
