"""Answers to clinical questions: expected facts and sources, abstention, quote fidelity, the JSON contract."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from ketaguide.domain.evidence.models import Level
from ketaguide.domain.evidence.pack import KnowledgePack
from ketaguide.domain.ports import EvidenceIndex
from ketaguide.retrieval.claims import build_lexical_claim_index
from ketaguide.services.evidence import answer_contract, ask

CASES = yaml.safe_load((Path(__file__).parent / "data" / "clinical_questions.yaml").read_text())
SCHEMA = yaml.safe_load((Path(__file__).parent / "data" / "answer.schema.yaml").read_text())


@pytest.fixture(scope="module")
def index(pack: KnowledgePack) -> EvidenceIndex:
    return build_lexical_claim_index(pack)


def answer_json(question: str, index: EvidenceIndex, pack: KnowledgePack) -> dict[str, Any]:
    return answer_contract(ask(question, index, pack), retriever=index.name)


def all_text(answer: dict[str, Any]) -> str:
    statements = [s["text"] for section in answer["sections"] for s in section["statements"]]
    return " ".join([answer["bottom_line"] or "", *statements])


@pytest.mark.parametrize("case", CASES["answered"], ids=lambda c: c["question"][:50])
def test_answers_cite_expected_evidence(case: dict[str, Any], index: EvidenceIndex, pack: KnowledgePack) -> None:
    answer = answer_json(case["question"], index, pack)
    assert not answer["abstained"], answer["explanation"]
    cited = {r["claim_id"] for r in answer["references"]}
    assert set(case["expect_claims"]) <= cited
    for phrase in case["expect_text"]:
        assert phrase.lower() in all_text(answer).lower(), phrase
    assert answer["certainty"] == case["certainty"]
    if "expect_profile" in case:
        assert case["expect_profile"] in answer["evidence_profile"]
    if "expect_section" in case:
        assert case["expect_section"] in [s["heading"] for s in answer["sections"]]


@pytest.mark.parametrize("case", CASES["answered"], ids=lambda c: c["question"][:50])
def test_bottom_line_is_never_carried_by_unreliable_sources(
    case: dict[str, Any], index: EvidenceIndex, pack: KnowledgePack
) -> None:
    answer = answer_json(case["question"], index, pack)
    by_n = {r["n"]: r for r in answer["references"]}
    carriers = [by_n[n] for n in answer["bottom_line_citations"]]
    if case["bottom_line_source"] is None:
        assert carriers == []
        assert "no conclusion is drawn" in answer["bottom_line"]
    else:
        assert [r["source_id"] for r in carriers] == [case["bottom_line_source"]]
        assert all(r["source_reliability"] in ("high", "moderate") for r in carriers)


@pytest.mark.parametrize("question", CASES["abstained"])
def test_abstains_when_the_pack_has_no_answer(question: str, index: EvidenceIndex, pack: KnowledgePack) -> None:
    answer = answer_json(question, index, pack)
    assert answer["abstained"] is True
    assert answer["certainty"] is None
    assert answer["bottom_line"] is None
    assert answer["sections"] == [] and answer["references"] == []
    assert answer["explanation"]


@pytest.mark.parametrize("case", CASES["answered"], ids=lambda c: c["question"][:50])
def test_every_quote_is_verbatim_and_every_statement_cited(
    case: dict[str, Any], index: EvidenceIndex, pack: KnowledgePack
) -> None:
    answer = answer_json(case["question"], index, pack)
    for ref in answer["references"]:
        assert pack.sources[ref["source_id"]].text[ref["start"] : ref["end"]] == ref["quote"]
        assert ref["source_reliability"] == pack.sources[ref["source_id"]].reliability.level.value
    numbers = {r["n"] for r in answer["references"]}
    for section in answer["sections"]:
        for statement in section["statements"]:
            assert statement["citations"], statement["text"]
            assert set(statement["citations"]) <= numbers


@pytest.mark.parametrize(
    "question", [CASES["answered"][0]["question"], CASES["answered"][5]["question"], CASES["abstained"][0]]
)
def test_json_contract_schema(question: str, index: EvidenceIndex, pack: KnowledgePack) -> None:
    jsonschema.validate(answer_json(question, index, pack), SCHEMA)


def test_low_reliability_statements_are_labelled(index: EvidenceIndex, pack: KnowledgePack) -> None:
    answer = answer_json("Is ketamine highly addictive?", index, pack)
    by_n = {r["n"]: r for r in answer["references"]}
    for section in answer["sections"]:
        for statement in section["statements"]:
            levels = {by_n[n]["source_reliability"] for n in statement["citations"]}
            if section["heading"] not in ("Caveat", "Where sources conflict") and levels & {"low", "very low"}:
                assert "reliability source" in statement["text"]


def test_conflicts_show_both_sides(index: EvidenceIndex, pack: KnowledgePack) -> None:
    answer = answer_json("How addictive is ketamine?", index, pack)
    conflicts = [s for s in answer["sections"] if s["heading"] == "Where sources conflict"]
    assert conflicts, "the addictive-potential conflict must be shown"
    cited_sources = {
        r["source_id"] for s in conflicts[0]["statements"] for r in answer["references"] if r["n"] in s["citations"]
    }
    assert {"003_4454fa2a4e19c3b6", "004_452b14dc06c0c0a1"} <= cited_sources


def test_factual_slip_is_marked_not_repeated_silently(index: EvidenceIndex, pack: KnowledgePack) -> None:
    answer = answer_json("What does imatinib do to opioid tolerance and PDGFR-beta?", index, pack)
    slipped = [
        s
        for sec in answer["sections"]
        for s in sec["statements"]
        if "PDGFR" in s["text"] and "neuropeptide" in s["text"]
    ]
    assert slipped and all("factual error" in s["text"] for s in slipped)


def test_certainty_never_exceeds_reported_grade(index: EvidenceIndex, pack: KnowledgePack) -> None:
    for case in CASES["answered"]:
        answer = answer_json(case["question"], index, pack)
        assert Level(answer["certainty"]).rank <= Level.LOW.rank


def test_empty_question_is_an_input_error(index: EvidenceIndex, pack: KnowledgePack) -> None:
    from ketaguide.domain.errors import InputError

    with pytest.raises(InputError, match="question"):
        ask("   ", index, pack)
