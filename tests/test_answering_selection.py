"""Steps 2 and 3, candidates and selection: evidence is kept only when it is about what the question names AND
answers the kind of thing asked (failure classes 2 and 3 of issue #8: answer type ignored, padding).

Synthetic packs with the bundled phrasebook (its answer-type cues), so each test states only the evidence it is
about; hits are given directly, as retrieval would rank them.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from ketaguide.domain.answering.answer import Answer, compose_answer
from ketaguide.domain.evidence.lexicon import Lexicon
from ketaguide.domain.evidence.models import AnswerType, ClaimType, Level, SourceKind, StudyDesign
from ketaguide.domain.evidence.pack import KnowledgePack
from synthetic import PackBuilder, quotes, ranked

SUMMARY = (
    "Lamotrigine reduced ketamine craving in a case report. "
    "Lamotrigine inhibits glutamate release. "
    "No controlled trials of lamotrigine exist. "
    "Lamotrigine should be titrated slowly to avoid rash. "
    "Ketamine misuse is common among young adults. "
    "In rats, naltrexone reduced ketamine seeking. "
    "Withdrawal symptoms include anxiety and insomnia."
)


def with_phrasebook(pack: KnowledgePack, bundled: KnowledgePack) -> KnowledgePack:
    """The synthetic pack read with the bundled phrasebook (shorthand, cues), without its reference points."""
    phrasebook = replace(bundled.lexicon.phrasebook, reference_points=())
    return replace(pack, lexicon=Lexicon(pack.lexicon.concepts, phrasebook=phrasebook))


@pytest.fixture(scope="module")
def summary(pack: KnowledgePack) -> KnowledgePack:
    built = (
        PackBuilder()
        .concept("ketamine", "drug", "ketamine", scope=True)
        .concept("lamotrigine", "drug")
        .concept("naltrexone", "drug")
        .concept("craving", "outcome")
        .concept("rash", "symptom")
        .concept("withdrawal", "condition")
        .concept("young_people", "population", "young adults")
        .source("s", SUMMARY, reliability=Level.MODERATE, kind=SourceKind.CLINICAL_EVIDENCE_SUMMARY)
        .claim(
            "c-case",
            source="s",
            quote="Lamotrigine reduced ketamine craving in a case report",
            study_design=StudyDesign.CASE_REPORT,
            about={"intervention": "lamotrigine", "outcome": "craving"},
        )
        .claim(
            "c-glutamate",
            source="s",
            quote="Lamotrigine inhibits glutamate release",
            claim_type=ClaimType.MECHANISM,
            about={"intervention": "lamotrigine"},
        )
        .claim(
            "c-no-trials",
            source="s",
            quote="No controlled trials of lamotrigine exist",
            claim_type=ClaimType.EVIDENCE_LIMITATION,
            about={"intervention": "lamotrigine"},
        )
        .claim(
            "c-titrate",
            source="s",
            quote="Lamotrigine should be titrated slowly to avoid rash",
            claim_type=ClaimType.DOSING,
            about={"intervention": "lamotrigine", "outcome": "rash"},
        )
        .claim(
            "c-young",
            source="s",
            quote="Ketamine misuse is common among young adults",
            claim_type=ClaimType.EPIDEMIOLOGY,
        )
        .claim(
            "c-rats",
            source="s",
            quote="In rats, naltrexone reduced ketamine seeking",
            study_design=StudyDesign.ANIMAL_PRECLINICAL,
            about={"intervention": "naltrexone"},
        )
        .claim(
            "c-withdrawal",
            source="s",
            quote="Withdrawal symptoms include anxiety and insomnia",
            claim_type=ClaimType.DIAGNOSIS_SIGNS,
            about={"condition": "ketamine withdrawal"},
        )
        .build()
    )
    return with_phrasebook(built, pack)


ALL = ("c-case", "c-glutamate", "c-no-trials", "c-titrate", "c-young", "c-rats", "c-withdrawal")


def cited(answer: Answer) -> set[str]:
    return {r.claim_id for r in quotes(answer).values()}


def answer(question: str, pack: KnowledgePack) -> Answer:
    # Every claim ranked, as a retriever matching every word might: selection alone must keep the right ones.
    return compose_answer(question, ranked(*ALL), pack)


@pytest.mark.parametrize(
    ("question", "kept"),
    [
        ("Does lamotrigine reduce ketamine craving?", {"c-case", "c-no-trials"}),  # efficacy, and its limitation
        ("How does lamotrigine work?", {"c-glutamate"}),
        ("What dose of lamotrigine?", {"c-titrate"}),
        ("What are the symptoms of ketamine withdrawal?", {"c-withdrawal"}),
        ("How common is ketamine misuse in young adults?", {"c-young"}),
        ("Are there controlled trials of lamotrigine?", {"c-no-trials"}),
    ],
)
def test_only_evidence_about_the_subject_answering_the_kind_asked_is_kept(
    question: str, kept: set[str], summary: KnowledgePack
) -> None:
    assert cited(answer(question, summary)) == kept


def test_no_padding_an_answer_does_not_fill_up_with_neighbouring_claims(summary: KnowledgePack) -> None:
    """Rats on naltrexone, epidemiology and withdrawal are not shown beside a lamotrigine question."""
    shown = cited(answer("Does lamotrigine help with ketamine craving?", summary))
    assert not shown & {"c-rats", "c-young", "c-withdrawal", "c-titrate", "c-glutamate"}


def test_certainty_and_profile_are_computed_over_the_kept_evidence_only(summary: KnowledgePack) -> None:
    """The rat study of another drug is not in the profile of a lamotrigine answer."""
    result = answer("Does lamotrigine reduce ketamine craving?", summary)
    assert result.evidence_profile is not None and "animal" not in result.evidence_profile


def test_when_nothing_answers_the_kind_asked_it_says_so_then_shows_related_statements(summary: KnowledgePack) -> None:
    result = answer("How long does lamotrigine take to work on craving?", summary)
    assert not result.abstained
    assert result.bottom_line is not None
    assert result.bottom_line.startswith("None of KetaGuide's sources gives a time course")
    assert result.bottom_line_clauses[0].citations == ()
    assert 1 <= len(cited(result)) <= 3


def test_the_decisions_are_recorded_with_their_reasons(summary: KnowledgePack) -> None:
    result = answer("How does lamotrigine work?", summary)
    assert result.trace is not None
    decisions = {d.evidence: d for d in result.trace.decisions}
    assert decisions["c-glutamate"].outcome == "answers"
    assert decisions["c-case"].outcome == "dropped" and "not mechanism" in decisions["c-case"].reason
    assert decisions["c-rats"].outcome == "dropped" and "not about lamotrigine" in decisions["c-rats"].reason


def test_a_named_population_must_be_what_the_evidence_is_about(summary: KnowledgePack) -> None:
    result = answer("Is lamotrigine for ketamine craving safe in young adults?", summary)
    assert result.abstained
    assert result.explanation is not None and "no evidence" in result.explanation


def test_claims_found_by_subject_when_retrieval_misses_them(summary: KnowledgePack) -> None:
    """Retrieval returned nothing useful; the claims about what the question names are still candidates."""
    result = compose_answer("What are the symptoms of ketamine withdrawal?", ranked("c-young"), summary)
    assert cited(result) == {"c-withdrawal"}


def test_the_real_pack_answers_a_tolerance_question_with_tolerance_claims(pack: KnowledgePack) -> None:
    """Failure class 2: "why does the same amount stop working" gets tolerance claims, not dosing claims."""
    from ketaguide.retrieval.claims import build_lexical_claim_index

    index = build_lexical_claim_index(pack)
    try:
        question = "Why does the same amount of ketamine stop working?"
        result = compose_answer(question, index.search(question, 40), pack)
    finally:
        index.close()
    assert result.trace is not None and result.trace.answer_type is AnswerType.MECHANISM
    ids = cited(result)
    assert "c001-tolerance-larger-doses" in ids
    assert not {c for c in ids if pack.claim(c).claim_type is ClaimType.DOSING}
