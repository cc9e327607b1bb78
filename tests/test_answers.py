"""Answers to clinical questions: expected facts and sources, abstention, quote fidelity, the JSON contract."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from ketaguide.bootstrap import Runtime, build_runtime
from ketaguide.domain.evidence.models import Level
from ketaguide.domain.evidence.pack import KnowledgePack
from ketaguide.services.evidence import ask
from ketaguide.settings import load_settings

CASES = yaml.safe_load((Path(__file__).parent / "data" / "clinical_questions.yaml").read_text())
SCHEMA = yaml.safe_load((Path(__file__).parent / "data" / "answer.schema.yaml").read_text())


@pytest.fixture(scope="module")
def runtime() -> Iterator[Runtime]:
    """The runtime `ask` answers from, with lexical retrieval (hybrid answers: test_hybrid_claims.py)."""
    with build_runtime(load_settings(retriever="lexical")) as built:
        yield built


@pytest.fixture(scope="module")
def pack(runtime: Runtime) -> KnowledgePack:
    return runtime.knowledge.pack


def answer_json(question: str, runtime: Runtime) -> dict[str, Any]:
    """The answer as its JSON contract (README, "JSON contract")."""
    data: dict[str, Any] = ask(runtime, question).model_dump(mode="json")
    return data


def all_text(answer: dict[str, Any]) -> str:
    statements = [s["text"] for section in answer["sections"] for s in section["statements"]]
    return " ".join([answer["bottom_line"] or "", *statements])


@pytest.mark.parametrize("case", CASES["answered"], ids=lambda c: c["question"][:50])
def test_answers_cite_expected_evidence(case: dict[str, Any], runtime: Runtime) -> None:
    answer = answer_json(case["question"], runtime)
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
def test_bottom_line_is_never_carried_by_unreliable_sources(case: dict[str, Any], runtime: Runtime) -> None:
    answer = answer_json(case["question"], runtime)
    by_n = {r["n"]: r for r in answer["references"]}
    carriers = [by_n[n] for n in answer["bottom_line_citations"]]
    if case["bottom_line_source"] is None:
        assert carriers == []
        assert "no conclusion is drawn" in answer["bottom_line"]
    else:
        assert [r["source_id"] for r in carriers] == [case["bottom_line_source"]]
        assert all(r["source_reliability"] in ("high", "moderate") for r in carriers)


@pytest.mark.parametrize("question", CASES["abstained"])
def test_abstains_when_the_pack_has_no_answer(question: str, runtime: Runtime) -> None:
    answer = answer_json(question, runtime)
    assert answer["abstained"] is True
    assert answer["certainty"] is None
    assert answer["bottom_line"] is None
    assert answer["sections"] == [] and answer["references"] == []
    assert answer["explanation"]


@pytest.mark.parametrize("case", CASES["answered"], ids=lambda c: c["question"][:50])
def test_every_quote_is_verbatim_and_every_statement_cited(
    case: dict[str, Any], runtime: Runtime, pack: KnowledgePack
) -> None:
    answer = answer_json(case["question"], runtime)
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
def test_json_contract_schema(question: str, runtime: Runtime) -> None:
    jsonschema.validate(answer_json(question, runtime), SCHEMA)


def test_low_reliability_statements_are_labelled(runtime: Runtime) -> None:
    answer = answer_json("Is ketamine highly addictive?", runtime)
    by_n = {r["n"]: r for r in answer["references"]}
    for section in answer["sections"]:
        for statement in section["statements"]:
            levels = {by_n[n]["source_reliability"] for n in statement["citations"]}
            if section["heading"] not in ("Caveat", "Where sources conflict") and levels & {"low", "very low"}:
                assert "reliability source" in statement["text"]


def test_conflicts_show_both_sides(runtime: Runtime) -> None:
    answer = answer_json("How addictive is ketamine?", runtime)
    conflicts = [s for s in answer["sections"] if s["heading"] == "Where sources conflict"]
    assert conflicts, "the addictive-potential conflict must be shown"
    cited_sources = {
        r["source_id"] for s in conflicts[0]["statements"] for r in answer["references"] if r["n"] in s["citations"]
    }
    assert {"003_4454fa2a4e19c3b6", "004_452b14dc06c0c0a1"} <= cited_sources


def test_factual_slip_is_marked_not_repeated_silently(runtime: Runtime) -> None:
    answer = answer_json("What does imatinib do to opioid tolerance and PDGFR-beta?", runtime)
    slipped = [
        s
        for sec in answer["sections"]
        for s in sec["statements"]
        if "PDGFR" in s["text"] and "neuropeptide" in s["text"]
    ]
    assert slipped and all("factual error" in s["text"] for s in slipped)


def test_certainty_never_exceeds_reported_grade(runtime: Runtime) -> None:
    for case in CASES["answered"]:
        answer = answer_json(case["question"], runtime)
        assert Level(answer["certainty"]).rank <= Level.LOW.rank


def test_empty_question_is_an_input_error(runtime: Runtime) -> None:
    from ketaguide.domain.errors import InputError

    with pytest.raises(InputError, match="question"):
        ask(runtime, "   ")
