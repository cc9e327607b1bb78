"""The clinical question set (tests/data/questions/) is itself valid: its schema, its mix, and every expected fact
traced to the pack.

Clinical safety: a fact the benchmark expects must be one a source states. Each fact's text occurs in the quote or
statement of the claim it names, or in the statement of the external reference it names; each bottom-line phrase
occurs in some claim or reference; every subject is a lexicon concept. The engine is not run here (that is the
benchmark's job, and tests/test_question_set_answers.py checks only its invariants).
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from pydantic import ValidationError

from ketaguide_bench.answer_quality import (
    ANSWER_TYPE_TOPICS,
    ANSWER_TYPES,
    FORMS,
    Question,
    contains,
    external_references,
    load_question_set,
    normalise,
    phrase_pattern,
)

if TYPE_CHECKING:
    from ketaguide.domain.evidence.pack import KnowledgePack

QUESTIONS = Path(__file__).parent / "data" / "questions"
SEED_000 = Path(__file__).parents[1] / "src" / "ketaguide" / "knowledge" / "content" / "sources"
SET = load_question_set(QUESTIONS)
ANSWERABLE = [q for q in SET if q.answerable]
UNANSWERABLE = [q for q in SET if not q.answerable]
REFERENCES = external_references()  # references.yaml of the bundled content: id -> title, statement


def test_the_set_is_large_and_varied_enough() -> None:
    assert len(ANSWERABLE) >= 120 and len(UNANSWERABLE) >= 20
    ids = [q.id for q in SET]
    assert len(ids) == len(set(ids)), [i for i, n in Counter(ids).items() if n > 1]
    questions = [normalise(q.question) for q in SET]
    assert len(questions) == len(set(questions)), "a question is asked twice"
    # Every answer type issue #8 names but `other` is asked, and every wording style is used.
    assert set(ANSWER_TYPES) - {"other"} <= {q.answer_type for q in ANSWERABLE}
    assert set(FORMS) <= {s for q in SET for s in q.style}
    assert {"lay", "clinical", "shorthand"} <= {s for q in SET for s in q.style}


def test_answerable_ids_and_files_agree() -> None:
    assert all(q.id.startswith("a") for q in ANSWERABLE)
    assert all(q.id.startswith("u") for q in UNANSWERABLE)


def test_every_seed_document_is_asked_about(pack: KnowledgePack) -> None:
    cited = {pack.claim(c).source_id for q in ANSWERABLE for c in q.expected_claims}
    assert cited == set(pack.sources)


@pytest.mark.parametrize("question", SET, ids=[q.id for q in SET])
def test_subjects_are_lexicon_concepts(question: Question, pack: KnowledgePack) -> None:
    unknown = [s for s in question.subjects if s not in pack.lexicon]
    assert not unknown, f"not lexicon concepts: {unknown}"
    assert not set(question.subjects) & ANSWER_TYPE_TOPICS, "answer-type topics belong in answer_type"
    assert len(set(question.subjects)) == len(question.subjects)


@pytest.mark.parametrize("question", ANSWERABLE, ids=[q.id for q in ANSWERABLE])
def test_every_fact_occurs_in_its_claim_or_reference(question: Question, pack: KnowledgePack) -> None:
    for fact in question.facts:
        if fact.claim is not None:
            assert pack.has_claim(fact.claim), f"no claim {fact.claim}"
            claim = pack.claim(fact.claim)
            held = f"{claim.quote} \n {claim.statement}"
        else:
            assert fact.reference in REFERENCES, f"no external reference {fact.reference}"
            held = REFERENCES[fact.reference]["statement"]
        assert contains(held, fact.text), f"{fact.text!r} is not in {fact.claim or fact.reference}"


@pytest.fixture(scope="module")
def said(pack: KnowledgePack) -> str:
    """Every claim's quote and statement and every external reference's statement, normalised once."""
    texts = [f"{c.quote} \n {c.statement}" for c in pack.claims] + [r["statement"] for r in REFERENCES.values()]
    return normalise(" \n ".join(texts))


@pytest.mark.parametrize("question", ANSWERABLE, ids=[q.id for q in ANSWERABLE])
def test_bottom_line_phrases_come_from_the_sources(question: Question, said: str) -> None:
    for phrase in question.bottom_line_must:
        assert phrase_pattern(phrase).search(said), f"{phrase!r} occurs in no claim or reference"


def test_seed_000_entry_maps_its_model_answer(pack: KnowledgePack) -> None:
    seeds = [q for q in SET if q.seed_000]
    assert len(seeds) == 1
    seed = seeds[0]
    first_line = next(SEED_000.glob("000_*.txt")).read_text(encoding="utf-8").splitlines()[0]
    assert seed.question == first_line
    # The model answer has 23 cited statements; each is mapped to claims quoting seed 000 at that statement.
    assert len(seed.seed_statements) == 23
    for mapped in seed.seed_statements:
        for claim_id in mapped.claims:
            assert pack.claim(claim_id).source_id.startswith("000_"), claim_id
    claims = [c for s in seed.seed_statements for c in s.claims]
    assert len(claims) == len(set(claims)), "a claim is mapped to two statements"


def test_what_unanswerable_questions_ask_for_is_nowhere_in_the_evidence(pack: KnowledgePack) -> None:
    """Each `absent` word (the drug, test or figure asked about) occurs as a word in no source text, claim or
    external reference; the curated `why` covers what a word search cannot (a dose or duration never given)."""
    texts = [s.text for s in pack.sources.values()] + [f"{c.quote} {c.statement}" for c in pack.claims]
    texts += [f"{r['title']} {r['statement']}" for r in REFERENCES.values()]
    evidence = normalise(" \n ".join(texts))
    assert sum(bool(q.absent) for q in UNANSWERABLE) >= 15
    for question in UNANSWERABLE:
        found = [w for w in question.absent if re.search(rf"(?<![\w-]){re.escape(normalise(w))}(?![\w-])", evidence)]
        assert not found, f"{question.id}: {found} occur in the evidence"


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ({"answer_type": "dosage"}, "answer_type 'dosage'"),
        ({"style": ["yes_no"]}, "no register"),
        ({"facts": []}, "1-4 facts"),
        ({"facts": [{"text": "x", "claim": "c", "reference": "r"}]}, "exactly one"),
        ({"answerable": False}, "unanswerable question has a why"),
        ({"seed_000": True}, "seed_statements"),
        ({"absent": ["topiramate"]}, "absent words"),
        ({"extra": 1}, "Extra inputs"),
    ],
)
def test_the_schema_refuses_malformed_entries(entry: dict[str, object], problem: str) -> None:
    good = {
        "id": "a999",
        "question": "Is ketamine addictive?",
        "subjects": ["ketamine"],
        "answer_type": "harms",
        "answerable": True,
        "style": ["lay"],
        "facts": [{"text": "risk of addiction", "claim": "c003-addiction-risk-differs"}],
        "bottom_line_must": ["addiction"],
    }
    Question.model_validate(good)
    with pytest.raises(ValidationError, match=problem):
        Question.model_validate(good | entry)
