"""Answers to clinical questions (tests/data/clinical_questions.yaml): understood as asked, the expected evidence
cited, a bottom line that answers, abstention only where the evidence lacks the subject, quote fidelity, the JSON
contract."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from ketaguide.bootstrap import Runtime, build_runtime
from ketaguide.contracts.schemas import json_schema
from ketaguide.domain.evidence.models import Level
from ketaguide.domain.evidence.pack import KnowledgePack
from ketaguide.services.evidence import ask
from ketaguide.settings import load_settings

CASES = yaml.safe_load((Path(__file__).parent / "data" / "clinical_questions.yaml").read_text())
ALL_QUESTIONS = [c["question"] for c in CASES["answered"] + CASES["not_stated"]] + CASES["abstained"]
RELIABLE = ("high", "moderate")


def short(case: dict[str, Any]) -> str:
    return str(case["question"])[:50]


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


def cited_ids(answer: dict[str, Any]) -> set[str]:
    """Claim ids and external reference ids the answer cites."""
    return {r["claim_id"] if r["kind"] == "quote" else r["id"] for r in answer["references"]}


def reliability(reference: dict[str, Any]) -> str:
    return str(reference["source_reliability"] if reference["kind"] == "quote" else reference["confidence"])


@pytest.mark.parametrize("case", CASES["answered"], ids=short)
def test_answers_cite_the_expected_evidence(case: dict[str, Any], runtime: Runtime) -> None:
    answer = answer_json(case["question"], runtime)
    assert not answer["abstained"], answer["explanation"]
    missing = {*case.get("expect_claims", []), *case.get("expect_references", [])} - cited_ids(answer)
    assert not missing, f"not cited: {sorted(missing)}"
    for phrase in case.get("expect_text", []):
        assert phrase.lower() in all_text(answer).lower(), phrase
    assert answer["certainty"] == case["certainty"]


@pytest.mark.parametrize("case", CASES["answered"], ids=short)
def test_the_question_is_understood_as_asked(case: dict[str, Any], runtime: Runtime) -> None:
    trace = answer_json(case["question"], runtime)["trace"]
    assert trace["answer_type"] == case["answer_type"]
    assert set(case["subjects"]) <= set(trace["subjects"])
    for typed, meant in case.get("corrections", {}).items():
        assert [typed, meant] in trace["corrections"]


@pytest.mark.parametrize("case", CASES["answered"], ids=short)
def test_the_bottom_line_answers_what_was_asked(case: dict[str, Any], runtime: Runtime) -> None:
    answer = answer_json(case["question"], runtime)
    assert any(p in answer["bottom_line"] for p in case["bottom_line_any"]), answer["bottom_line"]
    by_n = {r["n"]: r for r in answer["references"]}
    first = next(c for c in answer["bottom_line_clauses"] if c["citations"])
    if case["reliable"]:
        assert {reliability(by_n[n]) for n in first["citations"]} <= set(RELIABLE), first
    else:
        # Only low-reliability sources answer (directly): it says so first, and every such source it cites is labelled.
        assert answer["bottom_line"].startswith(
            ("No reliable source answers this; ", "No reliable source answers this directly; ")
        )
        assert "reliability)" in first["text"]


@pytest.mark.parametrize("question", ALL_QUESTIONS)
def test_bottom_line_clauses_cite_reliable_sources_or_say_they_are_not(question: str, runtime: Runtime) -> None:
    """A clause resting on a low-reliability source names it as such; none rests on one silently."""
    answer = answer_json(question, runtime)
    by_n = {r["n"]: r for r in answer["references"]}
    for clause in answer["bottom_line_clauses"]:
        levels = {reliability(by_n[n]) for n in clause["citations"]}
        if levels - set(RELIABLE):
            assert "reliability)" in clause["text"], clause
    assert answer["bottom_line_citations"] == list(
        dict.fromkeys(n for c in answer["bottom_line_clauses"] for n in c["citations"])
    )


@pytest.mark.parametrize("case", CASES["not_stated"], ids=short)
def test_says_first_when_no_source_answers_the_kind_of_thing_asked(case: dict[str, Any], runtime: Runtime) -> None:
    answer = answer_json(case["question"], runtime)
    assert not answer["abstained"], answer["explanation"]
    assert answer["trace"]["answer_type"] == case["answer_type"]
    assert answer["bottom_line"].startswith("None of KetaGuide's sources ")
    shown = [s for sec in answer["sections"] if sec["heading"] != "Caveat" for s in sec["statements"]]
    assert 1 <= len(shown) <= runtime.answer_policy.max_related + 2  # the related statements and any conflicts


@pytest.mark.parametrize("question", CASES["abstained"])
def test_abstains_when_the_pack_has_no_answer(question: str, runtime: Runtime) -> None:
    answer = answer_json(question, runtime)
    assert answer["abstained"] is True
    assert answer["certainty"] is None
    assert answer["bottom_line"] is None
    assert answer["sections"] == [] and answer["references"] == []
    assert answer["explanation"]


@pytest.mark.parametrize("question", ALL_QUESTIONS)
def test_every_quote_is_verbatim_and_every_statement_cited(
    question: str, runtime: Runtime, pack: KnowledgePack
) -> None:
    answer = answer_json(question, runtime)
    for ref in answer["references"]:
        if ref["kind"] == "quote":
            assert pack.sources[ref["source_id"]].text[ref["start"] : ref["end"]] == ref["quote"]
            assert ref["source_reliability"] == pack.sources[ref["source_id"]].reliability.level.value
        else:
            assert ref["statement"] and ref["confidence"] in ("high", "moderate", "low", "very low")
    numbers = {r["n"] for r in answer["references"]}
    for section in answer["sections"]:
        for statement in section["statements"]:
            assert statement["citations"], statement["text"]
            assert set(statement["citations"]) <= numbers
    assert set(answer["bottom_line_citations"]) <= numbers
    assert answer["abstained"] == (answer["certainty"] is None)


def test_external_statements_are_the_references_own_words(runtime: Runtime) -> None:
    """A statement citing an external reference repeats (part of) what references.yaml stores for it."""
    answer = answer_json("Will a UDS pick up ketamine?", runtime)
    by_n = {r["n"]: r for r in answer["references"]}
    for section in answer["sections"]:
        for statement in section["statements"]:
            for n in statement["citations"]:
                if by_n[n]["kind"] == "external" and section["heading"] != "Caveat":
                    assert statement["text"][1:].split(" (applies to")[0] in by_n[n]["statement"]


@pytest.mark.parametrize("question", [CASES["answered"][1]["question"], CASES["abstained"][0]])
def test_json_contract_schema(question: str, runtime: Runtime) -> None:
    answer = answer_json(question, runtime)
    # The published schema (`ketaguide schema answer`), generated from the contract's model.
    jsonschema.validate(answer, json_schema("answer"))


def test_low_reliability_statements_are_labelled(runtime: Runtime) -> None:
    answer = answer_json("Is ketamine highly addictive?", runtime)
    by_n = {r["n"]: r for r in answer["references"]}
    for section in answer["sections"]:
        for statement in section["statements"]:
            levels = {reliability(by_n[n]) for n in statement["citations"]}
            if section["heading"] not in ("Caveat", "Where sources conflict") and levels & {"low", "very low"}:
                assert "reliability source" in statement["text"]


def test_conflicts_show_both_sides(runtime: Runtime) -> None:
    answer = answer_json("How addictive is ketamine?", runtime)
    conflicts = [s for s in answer["sections"] if s["heading"] == "Where sources conflict"]
    assert conflicts, "the addictive-potential conflict must be shown"
    cited_sources = {
        r["source_id"]
        for s in conflicts[0]["statements"]
        for r in answer["references"]
        if r["n"] in s["citations"] and r["kind"] == "quote"
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


def test_certainty_never_exceeds_low_for_this_evidence(runtime: Runtime) -> None:
    """No controlled trial of any KUD treatment is in the evidence: no answer may be more certain than low."""
    for case in CASES["answered"]:
        answer = answer_json(case["question"], runtime)
        assert Level(answer["certainty"]).rank <= Level.LOW.rank, case["question"]


def test_certainty_is_explained_in_words(runtime: Runtime) -> None:
    answer = answer_json("Does lamotrigine help with ketamine craving and relapse?", runtime)
    assert answer["certainty_summary"].startswith("Certainty is very low: ")
    assert "no controlled trials" in answer["certainty_summary"]
    assert "the source itself rates the evidence very low (GRADE)" in answer["certainty_summary"]
    [caveat] = [s for sec in answer["sections"] if sec["heading"] == "Caveat" for s in sec["statements"]]
    assert caveat["text"] == answer["certainty_summary"]


def test_the_empty_question_is_an_input_error(runtime: Runtime) -> None:
    from ketaguide.domain.errors import InputError

    with pytest.raises(InputError, match="question"):
        ask(runtime, "   ")
