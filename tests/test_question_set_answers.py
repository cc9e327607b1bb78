"""Every question of the clinical question set, asked of the engine (lexical retrieval): the invariants that must
always hold, whatever the answer says.

An answer either abstains (with an explanation, no certainty, nothing cited) or answers (a certainty and a bottom
line); every statement cites at least one reference of the answer; every quote is verbatim at its offsets in the
pack's source text. How good the answers are is the benchmark's business (`ketaguide-bench answer-quality`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from ketaguide import KetaGuide
from ketaguide_bench.answer_quality import Question, load_question_set

if TYPE_CHECKING:
    from ketaguide.domain.evidence.pack import KnowledgePack

SET = load_question_set(Path(__file__).parent / "data" / "questions")


@pytest.fixture(scope="module")
def guide() -> Iterator[KetaGuide]:
    with KetaGuide.from_settings(retriever="lexical") as guide:
        yield guide


@pytest.mark.parametrize("question", SET, ids=[q.id for q in SET])
def test_answer_invariants(question: Question, guide: KetaGuide, pack: KnowledgePack) -> None:
    answer = guide.ask(question.question).model_dump(mode="json")  # the JSON contract
    if answer["abstained"]:
        assert answer["explanation"] and answer["certainty"] is None
        assert not answer["sections"] and not answer["references"] and answer["bottom_line"] is None
        return
    assert answer["certainty"] is not None and answer["bottom_line"]
    numbers = {r["n"] for r in answer["references"]}
    assert set(answer["bottom_line_citations"]) <= numbers
    for section in answer["sections"]:
        for statement in section["statements"]:
            assert statement["citations"], f"uncited statement in {section['heading']}: {statement['text']}"
            assert set(statement["citations"]) <= numbers, f"cites a reference the answer lacks: {statement['text']}"
    for ref in answer["references"]:
        if ref["kind"] == "quote":
            assert pack.sources[ref["source_id"]].text[ref["start"] : ref["end"]] == ref["quote"], ref["claim_id"]
