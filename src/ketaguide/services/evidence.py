"""Use case: answer a clinical question from the runtime's knowledge snapshot.

The pipeline (ketaguide.domain.answering.answer) with retrieval in its place: the question is understood first
(pure), the runtime's index retrieves claims for the question as understood (shorthand expanded, spelling
corrected), and the engine selects, composes and cites from those claims, every claim about what the question
names, and the external references the care plan also cites (read with the pack: a question never loads the care
content).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ketaguide.contracts.answer import AnswerReport
from ketaguide.domain.answering.answer import answer_question
from ketaguide.domain.answering.understanding import understand_question
from ketaguide.domain.errors import InputError

if TYPE_CHECKING:
    from ketaguide.bootstrap import Runtime

MAX_QUESTION_CHARS = 2000


def ask(runtime: Runtime, question: str) -> AnswerReport:
    """Answer `question` with cited evidence, or abstain. The question is checked before any index is built."""
    shown = _checked_question(question)
    policy = runtime.answer_policy
    pack = runtime.knowledge.pack
    understanding = understand_question(shown, pack, runtime.is_common_word)
    # A question refused before retrieval (out of scope, an unknown subject) still reports the retriever it would use.
    hits = runtime.index.search(understanding.text, policy.candidates) if understanding.text else []
    answer = answer_question(understanding, hits, pack, policy)
    return AnswerReport(
        **{**dict(answer), "question": shown},
        retriever=runtime.retrieval_note,
        provenance=runtime.provenance(retriever=runtime.index, policy_version=policy.version),
    )


def _checked_question(question: str) -> str:
    # A lone surrogate (from undecodable input) cannot be written as UTF-8 anywhere downstream: show it as "?".
    shown = question.encode("utf-8", "replace").decode("utf-8").strip()
    if not shown:
        raise InputError("question", "is empty; ask a clinical question about ketamine use disorder")
    if len(shown) > MAX_QUESTION_CHARS:
        raise InputError("question", f"is {len(shown)} characters; the limit is {MAX_QUESTION_CHARS}")
    return shown
