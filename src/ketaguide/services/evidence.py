"""Use case: answer a clinical question from the knowledge pack."""

from __future__ import annotations

from typing import Any

from ketaguide.domain.answering.answer import Answer, compose_answer
from ketaguide.domain.citing.references import Reference
from ketaguide.domain.errors import InputError
from ketaguide.domain.evidence.pack import KnowledgePack
from ketaguide.domain.ports import EvidenceIndex
from ketaguide.knowledge.dictionary import is_dictionary_word

# Candidates handed to composition; it filters by concept and score, so recall matters more than precision here.
CANDIDATES = 40
MAX_QUESTION_CHARS = 2000


def ask(question: str, index: EvidenceIndex, pack: KnowledgePack) -> Answer:
    """Answer `question` with cited claims, or abstain."""
    question = question.strip()
    if not question:
        raise InputError("question", "is empty; ask a clinical question about ketamine use disorder")
    if len(question) > MAX_QUESTION_CHARS:
        raise InputError("question", f"is {len(question)} characters; the limit is {MAX_QUESTION_CHARS}")
    return compose_answer(question, index.search(question, CANDIDATES), pack, is_dictionary_word)


def reference_contract(ref: Reference) -> dict[str, Any]:
    if ref.kind == "external" and ref.external is not None:
        return {"n": ref.n, "kind": "external", **ref.external.model_dump(mode="json")}
    return {
        "n": ref.n,
        "kind": "quote",
        "source_id": ref.source_id,
        "source_title": ref.source_title,
        "quote": ref.quote,
        "start": ref.start,
        "end": ref.end,
        "study_design": ref.study_design.value if ref.study_design else None,
        "source_reliability": ref.source_reliability.value if ref.source_reliability else None,
        "claim_id": ref.claim_id,
    }


def answer_contract(answer: Answer, retriever: str) -> dict[str, Any]:
    """The documented JSON shape of an answer (README, "JSON contract")."""
    return {
        "question": answer.question,
        "abstained": answer.abstained,
        "explanation": answer.explanation,
        "certainty": answer.certainty.value if answer.certainty else None,
        "certainty_reasons": list(answer.certainty_reasons),
        "evidence_profile": answer.evidence_profile,
        "bottom_line": answer.bottom_line,
        "bottom_line_citations": list(answer.bottom_line_citations),
        "sections": [
            {
                "heading": s.heading,
                "statements": [{"text": t.text, "citations": list(t.citations)} for t in s.statements],
            }
            for s in answer.sections
        ],
        "references": [reference_contract(r) for r in answer.references],
        "retriever": retriever,
    }
