"""Steps 4 and 5, composition and citation: a bottom line that answers (failure class 4 of issue #8), external
references cited beside the pack's claims (class 5), and certainty in a clinician's words."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ketaguide.bootstrap import Runtime, build_runtime
from ketaguide.contracts.answer import AnswerReport
from ketaguide.domain.answering.certainty import readable_certainty
from ketaguide.domain.answering.evidence import claim_evidence
from ketaguide.domain.citing.references import ExternalCitation, QuoteCitation
from ketaguide.domain.evidence.grading import grade_body
from ketaguide.domain.evidence.models import Level, SourceKind, StudyDesign
from ketaguide.domain.evidence.pack import KnowledgePack
from ketaguide.services.evidence import ask
from ketaguide.settings import load_settings
from synthetic import PackBuilder


@pytest.fixture(scope="module")
def runtime() -> Iterator[Runtime]:
    with build_runtime(load_settings(retriever="lexical")) as built:
        yield built


def external(answer: AnswerReport) -> dict[str, ExternalCitation]:
    return {r.id: r for r in answer.references if isinstance(r, ExternalCitation)}


def test_ask_cites_the_reference_the_care_plan_cites_for_urine_screens(runtime: Runtime) -> None:
    """Class 5: `assess` knew from Merck that routine urine drug screens miss ketamine; `ask` now says it too."""
    answer = ask(runtime, "Will a routine urine drug screen show ketamine?")
    merck = external(answer)["merck.ketamine-pcp"]
    assert answer.bottom_line is not None and answer.bottom_line.startswith("Routine urine drug screens do not detect")
    assert merck.n in answer.bottom_line_citations
    assert merck.confidence is Level.HIGH and "GC-MS" in merck.statement


def test_a_list_question_gathers_items_across_sources(runtime: Runtime) -> None:
    answer = ask(runtime, "What are the symptoms of ketamine withdrawal?")
    assert answer.bottom_line is not None
    for item in ("anxiety", "sweating", "insomnia", "tremors"):
        assert item in answer.bottom_line
    # Each clause cites the sources of its own items; the low-reliability ones are labelled in it.
    labelled = [c for c in answer.bottom_line_clauses if "(low reliability)" in c.text]
    assert labelled and all(c.citations for c in labelled)


def test_a_question_about_trials_is_answered_yes_or_no_first(runtime: Runtime) -> None:
    answer = ask(runtime, "Has lamotrigine been tested in randomised controlled trials for KUD?")
    assert answer.bottom_line is not None
    assert answer.bottom_line.startswith("No. KetaGuide's sources report no controlled trial of lamotrigine")
    second = answer.bottom_line_clauses[1]
    assert [quotes_of(answer)[n].claim_id for n in second.citations] == ["c000-no-controlled-trials"]


def test_a_review_that_counts_a_trial_is_not_contradicted(runtime: Runtime) -> None:
    """The review counts one controlled trial among its studies: the answer says that, never "no trials"."""
    answer = ask(runtime, "Are there any controlled trials of treatments for ketamine use disorder?")
    assert answer.bottom_line is not None and not answer.bottom_line.startswith("No.")
    assert "1 controlled trial" in answer.bottom_line


def test_only_low_reliability_sources_is_said_first_and_labelled(runtime: Runtime) -> None:
    answer = ask(runtime, "Is ketamine safe in pregnancy?")
    assert answer.bottom_line is not None
    assert answer.bottom_line.startswith(
        "No reliable source answers this; a treatment-provider page (very low reliability) says: "
    )
    assert answer.certainty is Level.VERY_LOW


def test_a_disputed_bottom_line_points_to_the_other_side(runtime: Runtime) -> None:
    answer = ask(runtime, "Is naltrexone useful for KUD?")
    assert answer.bottom_line is not None and "Sources disagree" in answer.bottom_line
    assert "Where sources conflict" in [s.heading for s in answer.sections]


def test_a_reference_statement_applying_to_another_use_says_so(runtime: Runtime) -> None:
    """The lamotrigine escalation table is the label's bipolar table: the answer says what it applies to."""
    answer = ask(runtime, "What dose of lamotrigine is used?")
    assert answer.bottom_line is not None
    assert "applies to: Escalation Regimen for LAMICTAL in Adults with Bipolar Disorder" in answer.bottom_line


def test_every_bottom_line_clause_that_says_something_clinical_cites_it(runtime: Runtime) -> None:
    for question in ("Is ketamine addictive?", "Which drugs interact dangerously with ketamine?"):
        answer = ask(runtime, question)
        for clause in answer.bottom_line_clauses:
            uncited_kinds = ("None of KetaGuide's sources", "Certainty:", "Sources disagree", "The closest", "No.")
            assert clause.citations or clause.text.startswith(uncited_kinds), clause


def test_readable_certainty_reads_as_a_clinician_writes() -> None:
    text = "In one case report, lamotrigine helped. In rats, lamotrigine helped. GRADE rated it very low."
    pack = (
        PackBuilder()
        .concept("ketamine", "drug", scope=True)
        .concept("lamotrigine", "drug")
        .source("s", text, reliability=Level.MODERATE, kind=SourceKind.CLINICAL_EVIDENCE_SUMMARY)
        .claim("c1", source="s", quote="In one case report, lamotrigine helped", study_design=StudyDesign.CASE_REPORT)
        .claim("c2", source="s", quote="In rats, lamotrigine helped", study_design=StudyDesign.ANIMAL_PRECLINICAL)
        .claim(
            "c3",
            source="s",
            quote="GRADE rated it very low",
            study_design=StudyDesign.SYSTEMATIC_REVIEW,
            reported_certainty=Level.VERY_LOW,
        )
        .build()
    )
    evidence = [claim_evidence(c, pack) for c in pack.claims]
    summary = readable_certainty(grade_body([e.grading_item() for e in evidence]), evidence)
    assert summary == (
        "Certainty is very low: one systematic review, one case report and animal studies; no controlled trials; "
        "the source itself rates the evidence very low (GRADE)."
    )


def quotes_of(answer: AnswerReport) -> dict[int, QuoteCitation]:
    return {r.n: r for r in answer.references if isinstance(r, QuoteCitation)}


def test_the_pack_fixture_is_the_bundled_one(pack: KnowledgePack) -> None:
    assert pack.lexicon.phrasebook.reference_points, "the bundled pack declares reference points"
