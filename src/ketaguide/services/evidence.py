"""Use case: answer a clinical question from the runtime's knowledge snapshot."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ketaguide.contracts.answer import AnswerReport
from ketaguide.domain.answering.answer import compose_answer
from ketaguide.domain.errors import InputError
from ketaguide.domain.evidence.text import normalise_text

if TYPE_CHECKING:
    from ketaguide.bootstrap import Runtime

MAX_QUESTION_CHARS = 2000


def ask(runtime: Runtime, question: str) -> AnswerReport:
    """Answer `question` with cited claims, or abstain. The question is checked before any index is built."""
    shown = _checked_question(question)
    policy = runtime.answer_policy
    understood = normalise_text(shown)
    hits = runtime.index.search(understood, policy.candidates)
    answer = compose_answer(understood, hits, runtime.knowledge.pack, runtime.is_common_word, policy)
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
