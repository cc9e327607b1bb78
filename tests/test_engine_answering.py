"""The answering engine (`compose_answer`) on tiny synthetic packs: each test builds only the evidence it is about.

Hits are given directly (`ranked`), so these tests do not depend on retrieval; one test runs the real lexical index.
"""

from __future__ import annotations

import pytest

from ketaguide.domain.answering.answer import Answer, compose_answer
from ketaguide.domain.evidence.models import ClaimType, Level, SourceKind, StudyDesign
from ketaguide.domain.evidence.pack import KnowledgePack
from ketaguide.retrieval.claims import build_lexical_claim_index
from synthetic import PackBuilder, quotes, ranked

CASE_REPORTS = (
    "Lamotrigine reduced ketamine craving in a case report. "
    "Naltrexone reduced ketamine craving in a second case report. "
    "Clonidine eased opioid withdrawal in a third report. "
    "Ketamine withdrawal brought low mood in a fourth report."
)


def craving_lexicon() -> PackBuilder:
    """Ketamine (in scope), two drugs tried against craving, and the symptom itself."""
    return (
        PackBuilder()
        .concept("ketamine", "drug", "ketamine", scope=True)
        .concept("lamotrigine", "drug", "lamotrigine", "Lamictal")
        .concept("naltrexone", "drug")
        .concept("gabapentin", "drug")
        .concept("clonidine", "drug")
        .concept("opioid", "drug", "opioid", "opioids")
        .concept("craving", "symptom", "craving", "cravings")
        .concept("withdrawal", "symptom")
    )


def two_drugs_pack() -> KnowledgePack:
    """One reliable summary reporting a case report for each of two drugs, and one about opioid withdrawal."""
    return (
        craving_lexicon()
        .source("review", CASE_REPORTS, reliability=Level.MODERATE, kind=SourceKind.CLINICAL_EVIDENCE_SUMMARY)
        .claim(
            "c-lam",
            source="review",
            quote="Lamotrigine reduced ketamine craving in a case report",
            statement="Lamotrigine reduced ketamine craving in one patient.",
            study_design=StudyDesign.CASE_REPORT,
            about={"intervention": "lamotrigine"},
        )
        .claim(
            "c-nal",
            source="review",
            quote="Naltrexone reduced ketamine craving in a second case report",
            statement="Naltrexone reduced ketamine craving in one patient.",
            study_design=StudyDesign.CASE_REPORT,
            about={"intervention": "naltrexone"},
        )
        .claim(
            "c-clo",
            source="review",
            quote="Clonidine eased opioid withdrawal in a third report",
            study_design=StudyDesign.CASE_REPORT,
            about={"intervention": "clonidine", "condition": "opioid withdrawal"},
        )
        .claim(
            "c-ket-wd",
            source="review",
            quote="Ketamine withdrawal brought low mood in a fourth report",
            claim_type=ClaimType.SAFETY_HARM,
            study_design=StudyDesign.CASE_REPORT,
            about={"condition": "ketamine withdrawal"},
        )
        .build()
    )


@pytest.fixture(scope="module")
def two_drugs() -> KnowledgePack:
    return two_drugs_pack()


def cited_claims(answer: Answer) -> set[str]:
    return {r.claim_id for r in quotes(answer).values()}


def statements(answer: Answer, heading: str | None = None) -> list[str]:
    return [s.text for sec in answer.sections if heading in (None, sec.heading) for s in sec.statements]


def test_a_drug_question_is_answered_only_from_claims_about_that_drug(two_drugs: KnowledgePack) -> None:
    # Retrieval ranks the naltrexone claim first: the question names lamotrigine, so it must not be cited.
    answer = compose_answer("Does lamotrigine reduce ketamine craving?", ranked("c-nal", "c-lam"), two_drugs)
    assert not answer.abstained, answer.explanation
    assert cited_claims(answer) == {"c-lam"}
    assert answer.bottom_line is not None
    assert answer.bottom_line.startswith("Lamotrigine reduced ketamine craving in one patient.")
    assert answer.bottom_line_citations == (1,)
    assert "Naltrexone" not in " ".join(statements(answer))


def test_a_brand_name_asks_about_its_drug(two_drugs: KnowledgePack) -> None:
    answer = compose_answer("Does Lamictal help ketamine cravings?", ranked("c-nal", "c-lam"), two_drugs)
    assert cited_claims(answer) == {"c-lam"}


def test_a_question_without_a_drug_is_answered_from_every_relevant_claim(two_drugs: KnowledgePack) -> None:
    answer = compose_answer("What reduces ketamine craving?", ranked("c-lam", "c-nal"), two_drugs)
    assert cited_claims(answer) == {"c-lam", "c-nal"}


def test_a_claim_about_another_substance_does_not_answer_for_ketamine(two_drugs: KnowledgePack) -> None:
    """Opioid withdrawal is not ketamine withdrawal, however high the claim ranks."""
    question = "What helps ketamine withdrawal?"
    assert cited_claims(compose_answer(question, ranked("c-clo", "c-ket-wd"), two_drugs)) == {"c-ket-wd"}
    # Retrieval missing the ketamine withdrawal claim no longer hides it: it is about what the question names.
    assert cited_claims(compose_answer(question, ranked("c-clo"), two_drugs)) == {"c-ket-wd"}
    without = (
        craving_lexicon()
        .source("review", CASE_REPORTS, reliability=Level.MODERATE)
        .claim(
            "c-clo",
            source="review",
            quote="Clonidine eased opioid withdrawal in a third report",
            about={"intervention": "clonidine", "condition": "opioid withdrawal"},
        )
        .build()
    )
    alone = compose_answer(question, ranked("c-clo"), without)
    assert alone.abstained
    assert alone.explanation is not None and "no evidence" in alone.explanation


def test_abstains_when_the_question_names_nothing_in_scope(two_drugs: KnowledgePack) -> None:
    answer = compose_answer("Is aspirin good for headaches?", ranked("c-lam", "c-nal"), two_drugs)
    assert answer.abstained
    assert answer.explanation is not None and "scope" in answer.explanation
    assert answer.certainty is None and answer.bottom_line is None
    assert answer.sections == () and answer.references == ()


def test_abstains_when_the_pack_has_no_evidence_on_the_named_drug(two_drugs: KnowledgePack) -> None:
    """Gabapentin is in the lexicon but no claim is about it: the craving claims of other drugs do not answer."""
    answer = compose_answer("Does gabapentin reduce ketamine craving?", ranked("c-lam", "c-nal"), two_drugs)
    assert answer.abstained
    assert answer.explanation is not None and "no evidence" in answer.explanation
    assert "gabapentin" in answer.explanation
    assert answer.references == ()


def test_abstains_on_a_word_the_pack_has_never_seen(two_drugs: KnowledgePack) -> None:
    answer = compose_answer("Is semaglutide useful against ketamine craving?", ranked("c-lam", "c-nal"), two_drugs)
    assert answer.abstained
    assert answer.explanation is not None and "'semaglutide'" in answer.explanation


def test_a_common_word_the_pack_lacks_is_not_mistaken_for_a_treatment(two_drugs: KnowledgePack) -> None:
    """With a word list, ordinary language the sources never use does not cause an abstention."""
    question = "Honestly, what reduces ketamine craving?"
    assert compose_answer(question, ranked("c-lam"), two_drugs).abstained
    answer = compose_answer(question, ranked("c-lam"), two_drugs, is_common_word=lambda word: word == "honestly")
    assert not answer.abstained
    assert "c-lam" in cited_claims(answer)


WITHDRAWAL_SUMMARY = "Stopping ketamine causes cravings and low mood but no physical withdrawal symptoms."
WITHDRAWAL_BLOG = "Stopping ketamine causes physical withdrawal symptoms such as shaking. Call our helpline today."


def disputed_pack() -> KnowledgePack:
    """A reliable summary and an unreliable blog that disagree on physical withdrawal."""
    return (
        craving_lexicon()
        .source("summary", WITHDRAWAL_SUMMARY, reliability=Level.MODERATE, kind=SourceKind.CLINICAL_EVIDENCE_SUMMARY)
        .source("blog", WITHDRAWAL_BLOG, reliability=Level.VERY_LOW, kind=SourceKind.BLOG)
        .claim(
            "c-none",
            source="summary",
            quote="Stopping ketamine causes cravings and low mood but no physical withdrawal symptoms",
            claim_type=ClaimType.SAFETY_HARM,
        )
        .claim(
            "c-shaking",
            source="blog",
            quote="Stopping ketamine causes physical withdrawal symptoms such as shaking",
            claim_type=ClaimType.SAFETY_HARM,
        )
        .conflict(
            "physical-withdrawal",
            "Whether stopping ketamine causes physical withdrawal",
            {"no physical withdrawal symptoms": ["c-none"], "physical symptoms such as shaking": ["c-shaking"]},
        )
        .build()
    )


@pytest.fixture(scope="module")
def disputed() -> KnowledgePack:
    return disputed_pack()


def test_a_conflict_is_shown_with_both_sides(disputed: KnowledgePack) -> None:
    # Only one side is retrieved; the answer must still show the other.
    answer = compose_answer("Does stopping ketamine cause physical withdrawal?", ranked("c-none"), disputed)
    [conflict] = [sec for sec in answer.sections if sec.heading == "Where sources conflict"]
    [statement] = conflict.statements
    assert {quotes(answer)[n].claim_id for n in statement.citations} == {"c-none", "c-shaking"}
    assert "no physical withdrawal symptoms (source reliability: moderate)" in statement.text
    assert "physical symptoms such as shaking (source reliability: very low)" in statement.text


def test_a_low_reliability_source_is_labelled_and_never_carries_the_bottom_line_alone(
    disputed: KnowledgePack,
) -> None:
    answer = compose_answer("Does stopping ketamine cause shaking?", ranked("c-shaking"), disputed)
    assert not answer.abstained
    # The bottom line says no reliable source answers, then what the blog says, labelled and cited (issue #8).
    assert answer.bottom_line is not None and answer.bottom_line.startswith("No reliable source answers this; ")
    assert "a blog (very low reliability) says: " in answer.bottom_line
    assert [quotes(answer)[n].claim_id for n in answer.bottom_line_citations] == ["c-shaking"]
    labelled = [s for s in statements(answer) if "such as shaking" in s and "Sources conflict" not in s]
    assert labelled and all(s.endswith("[very low-reliability source: blog]") for s in labelled)
    assert answer.certainty is Level.VERY_LOW
    assert any("cannot carry a conclusion alone" in r for r in answer.certainty_reasons)


def test_a_reliable_source_carries_the_bottom_line_even_ranked_below_an_unreliable_one(
    disputed: KnowledgePack,
) -> None:
    answer = compose_answer(
        "Does stopping ketamine cause physical withdrawal symptoms?", ranked("c-shaking", "c-none"), disputed
    )
    carriers = [quotes(answer)[n] for n in answer.bottom_line_citations]
    assert [r.claim_id for r in carriers] == ["c-none"]
    assert all(r.source_reliability in (Level.HIGH, Level.MODERATE) for r in carriers)


def test_a_factual_slip_is_marked_not_repeated_silently() -> None:
    pack = (
        craving_lexicon()
        .source("page", "Lamotrigine is a neuropeptide that reduces ketamine craving.", reliability=Level.LOW)
        .claim(
            "c-slip",
            source="page",
            quote="Lamotrigine is a neuropeptide that reduces ketamine craving",
            about={"intervention": "lamotrigine"},
            factual_slip="lamotrigine is not a neuropeptide",
        )
        .build()
    )
    answer = compose_answer("Does lamotrigine reduce ketamine craving?", ranked("c-slip"), pack)
    [text] = [s for s in statements(answer) if "neuropeptide" in s]
    assert "factual error: lamotrigine is not a neuropeptide" in text


def test_every_reference_quotes_its_source_verbatim(two_drugs: KnowledgePack, disputed: KnowledgePack) -> None:
    for pack, question in [
        (two_drugs, "What reduces ketamine craving?"),
        (disputed, "Does stopping ketamine cause physical withdrawal?"),
    ]:
        answer = compose_answer(question, ranked(*(c.id for c in pack.claims)), pack)
        assert answer.references
        for ref in quotes(answer).values():
            assert pack.sources[ref.source_id].text[ref.start : ref.end] == ref.quote


def test_with_the_real_lexical_index(two_drugs: KnowledgePack) -> None:
    """Retrieval and composition together: the brand name is expanded by the lexicon and finds the drug's claim."""
    index = build_lexical_claim_index(two_drugs)
    try:
        question = "Does Lamictal reduce ketamine craving?"
        answer = compose_answer(question, index.search(question, 40), two_drugs)
    finally:
        index.close()
    assert cited_claims(answer) == {"c-lam"}
