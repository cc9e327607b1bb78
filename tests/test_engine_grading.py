"""The grading engine as answers use it, on tiny synthetic packs: design, source reliability and reported ratings
set an answer's certainty (docs: evidence-methods.md s.2; the rules one by one are in test_grading.py)."""

from __future__ import annotations

from typing import Any

from ketaguide.domain.answering.answer import Answer, compose_answer, evidence_item, evidence_profile
from ketaguide.domain.evidence.grading import grade_body
from ketaguide.domain.evidence.models import ClaimType, Level, SourceKind, StudyDesign
from ketaguide.domain.evidence.pack import KnowledgePack
from synthetic import PackBuilder, quotes, ranked

QUESTION = "Does lamotrigine reduce ketamine craving?"
TRIAL = "In a controlled trial, lamotrigine reduced ketamine craving."


def lexicon() -> PackBuilder:
    return (
        PackBuilder()
        .concept("ketamine", "drug", scope=True)
        .concept("lamotrigine", "drug")
        .concept("naltrexone", "drug")
        .concept("craving", "symptom", "craving", "cravings")
    )


def one_claim_pack(
    design: StudyDesign,
    reliability: Level,
    *,
    claim_type: ClaimType = ClaimType.EFFICACY,
    text: str = TRIAL,
    quote: str = "lamotrigine reduced ketamine craving",
) -> KnowledgePack:
    """One source, one lamotrigine claim: everything but the design and the source's reliability held fixed."""
    return (
        lexicon()
        .source("s", text, reliability=reliability)
        .claim(
            "c",
            source="s",
            quote=quote,
            claim_type=claim_type,
            study_design=design,
            about={"intervention": "lamotrigine"},
        )
        .build()
    )


def answer_from(pack: KnowledgePack, *claim_ids: str, question: str = QUESTION) -> Answer:
    answer = compose_answer(question, ranked(*(claim_ids or [c.id for c in pack.claims])), pack)
    assert not answer.abstained, answer.explanation
    return answer


def test_a_controlled_trial_from_a_reliable_source_is_high_certainty() -> None:
    answer = answer_from(one_claim_pack(StudyDesign.CONTROLLED_TRIAL, Level.HIGH))
    assert answer.certainty is Level.HIGH
    assert "starting level: controlled trial: starts high (high)" in answer.certainty_reasons
    assert answer.evidence_profile == "1 controlled trial"


def test_a_trial_reported_only_by_an_unreliable_source_is_very_low() -> None:
    """A source of low reliability rates the trial down for risk of bias, and cannot carry a conclusion alone."""
    answer = answer_from(one_claim_pack(StudyDesign.CONTROLLED_TRIAL, Level.LOW))
    assert answer.certainty is Level.VERY_LOW
    assert "risk of bias (-1): reported by a source of low reliability" in answer.certainty_reasons
    assert any("cannot carry a conclusion alone" in r for r in answer.certainty_reasons)
    # The bottom line may cite it, but only saying that no reliable source answers and labelling it (issue 8).
    assert answer.bottom_line is not None and "low reliability" in answer.bottom_line
    assert answer.bottom_line.startswith("No reliable source")


def test_animal_evidence_is_rated_down_for_indirectness() -> None:
    text = "In rat models, lamotrigine reduced ketamine craving."
    answer = answer_from(one_claim_pack(StudyDesign.ANIMAL_PRECLINICAL, Level.HIGH, text=text))
    assert answer.certainty is Level.VERY_LOW
    assert "indirectness (-1): animal model; patients may respond differently" in answer.certainty_reasons
    assert answer.evidence_profile == "animal studies; no controlled trials"
    assert answer.sections[0].heading == "Evidence: preclinical"


def test_a_mechanism_is_indirect_evidence() -> None:
    text = "In a controlled trial, lamotrigine reduced glutamate release, which may reduce ketamine craving."
    pack = one_claim_pack(
        StudyDesign.CONTROLLED_TRIAL,
        Level.HIGH,
        claim_type=ClaimType.MECHANISM,
        text=text,
        quote="lamotrigine reduced glutamate release, which may reduce ketamine craving",
    )
    answer = answer_from(pack)
    assert answer.certainty is Level.MODERATE
    assert "indirectness (-1): mechanistic reasoning, not observed outcomes" in answer.certainty_reasons


def rated_review(rating_about: dict[str, str], rating_refs: tuple[int, ...] = ()) -> KnowledgePack:
    """A reliable review reporting a trial of lamotrigine, and elsewhere its own GRADE rating of some evidence."""
    text = f"{TRIAL} The review rated this evidence as low quality by GRADE criteria."
    return (
        lexicon()
        .source("review", text, reliability=Level.HIGH, kind=SourceKind.CLINICAL_EVIDENCE_SUMMARY)
        .claim(
            "c-trial",
            source="review",
            quote="lamotrigine reduced ketamine craving",
            study_design=StudyDesign.CONTROLLED_TRIAL,
            about={"intervention": "lamotrigine"},
            refs=(3,),
        )
        .claim(
            "c-rating",
            source="review",
            quote="The review rated this evidence as low quality by GRADE criteria",
            claim_type=ClaimType.EVIDENCE_LIMITATION,
            study_design=StudyDesign.SYSTEMATIC_REVIEW,
            about=rating_about,
            refs=rating_refs,
            reported_certainty=Level.LOW,
        )
        .build()
    )


def test_a_reported_rating_caps_the_certainty_even_when_retrieval_missed_it() -> None:
    pack = rated_review({"intervention": "lamotrigine"})
    answer = answer_from(pack, "c-trial")
    assert answer.certainty is Level.LOW
    assert "reported rating: the source reports GRADE certainty 'low'" in answer.certainty_reasons
    # The rating the level rests on is cited in the caveat, so a reader can check it.
    [caveat] = [s for sec in answer.sections if sec.heading == "Caveat" for s in sec.statements]
    assert "c-rating" in {quotes(answer)[n].claim_id for n in caveat.citations}


def test_a_rating_of_the_same_cited_study_caps_the_certainty() -> None:
    answer = answer_from(rated_review({}, rating_refs=(3,)), "c-trial")
    assert answer.certainty is Level.LOW


def test_a_rating_of_other_evidence_does_not_cap() -> None:
    answer = answer_from(rated_review({"intervention": "naltrexone"}, rating_refs=(4,)), "c-trial")
    assert answer.certainty is Level.HIGH
    assert not any(r.startswith("reported rating") for r in answer.certainty_reasons)


def test_an_unreliable_trial_never_lifts_a_reliable_body() -> None:
    """The body takes the best item from a reliable source; a trial on a spun page does not raise it."""
    text = "A controlled trial found lamotrigine reduced ketamine craving (n=1000)."
    pack = (
        lexicon()
        .source("case", "In a case report, lamotrigine reduced ketamine craving.", reliability=Level.MODERATE)
        .source("spun", text, reliability=Level.VERY_LOW, kind=SourceKind.SPUN_SEO_PAGE)
        .claim(
            "c-case",
            source="case",
            quote="lamotrigine reduced ketamine craving",
            study_design=StudyDesign.CASE_REPORT,
            about={"intervention": "lamotrigine"},
        )
        .claim(
            "c-spun",
            source="spun",
            quote="lamotrigine reduced ketamine craving",
            study_design=StudyDesign.CONTROLLED_TRIAL,
            about={"intervention": "lamotrigine"},
        )
        .build()
    )
    answer = answer_from(pack, "c-spun", "c-case")
    assert answer.certainty is Level.VERY_LOW
    assert answer.certainty_reasons[0].startswith("best evidence: case report")
    assert [quotes(answer)[n].claim_id for n in answer.bottom_line_citations] == ["c-case"]


def test_the_body_takes_its_best_reliable_item() -> None:
    text = "A cohort study found lamotrigine reduced ketamine craving. One case report agreed."
    pack = (
        lexicon()
        .source("s", text, reliability=Level.MODERATE)
        .claim(
            "c-cohort",
            source="s",
            quote="A cohort study found lamotrigine reduced ketamine craving",
            study_design=StudyDesign.OBSERVATIONAL,
            about={"intervention": "lamotrigine"},
        )
        .claim(
            "c-case",
            source="s",
            quote="One case report agreed",
            study_design=StudyDesign.CASE_REPORT,
            about={"intervention": "lamotrigine"},
        )
        .build()
    )
    items = [evidence_item(c, pack) for c in pack.claims]
    assert grade_body(items).level is Level.LOW
    assert answer_from(pack).certainty is Level.LOW


def test_claims_on_one_study_count_once_in_the_evidence_profile() -> None:
    text = "A patient stopped craving ketamine on lamotrigine 1. The same patient stayed abstinent 1."
    one_case: dict[str, Any] = {"study_design": StudyDesign.CASE_REPORT, "refs": (1,)}
    pack = (
        lexicon()
        .source("s", text, reliability=Level.MODERATE)
        .claim("c1", source="s", quote="A patient stopped craving ketamine on lamotrigine", **one_case)
        .claim("c2", source="s", quote="The same patient stayed abstinent", **one_case)
        .build()
    )
    assert evidence_profile(pack.claims) == "1 case report; no controlled trials"
