"""Which answering evidence answers best (relevance.py) and how the bottom line uses it: the order decides what the
bottom line leads with (failure class 4 of issue #8), so each rule here is pinned with a question it decides."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ketaguide.bootstrap import Runtime, build_runtime
from ketaguide.contracts.answer import AnswerReport
from ketaguide.domain.answering.evidence import Evidence, claim_evidence
from ketaguide.domain.answering.relevance import coverage, names_enough, ranked
from ketaguide.domain.answering.understanding import understand_question
from ketaguide.domain.citing.references import QuoteCitation
from ketaguide.domain.evidence.pack import KnowledgePack
from ketaguide.services.evidence import ask
from ketaguide.settings import load_settings


@pytest.fixture(scope="module")
def runtime() -> Iterator[Runtime]:
    with build_runtime(load_settings(retriever="lexical")) as built:
        yield built


def claims(pack: KnowledgePack, *ids: str) -> list[Evidence]:
    return [claim_evidence(pack.claim(i), pack) for i in ids]


def first_cited_claims(answer: AnswerReport) -> list[str]:
    by_n = {r.n: r for r in answer.references}
    first = next(c for c in answer.bottom_line_clauses if c.citations)
    return [r.claim_id for n in first.citations if isinstance(r := by_n[n], QuoteCitation)]


def test_words_asking_for_the_kind_of_answer_weigh_less_than_its_subject(pack: KnowledgePack) -> None:
    """ "cause" asks for harms; "physical" and "withdrawal" say what about: the statement on physical withdrawal
    answers better than one that only shares "stop" and "causes"."""
    understood = understand_question("Does stopping special K cause physical withdrawal?", pack)
    assert "cause" in understood.kind_words
    physical, impossible = claims(pack, "c001-withdrawal-no-physical-no-taper", "c004-nearly-impossible-without-help")
    assert coverage(physical, understood) > coverage(impossible, understood)


def test_a_long_cue_is_not_taken_for_kind_words(pack: KnowledgePack) -> None:
    """A cue that reads the kind from the sentence's shape leaves its content words counting in full."""
    understood = understand_question("Isn't ketamine withdrawal mostly psychological?", pack)
    assert "psychological" not in understood.kind_words


def test_a_hyphenated_word_in_the_evidence_meets_its_parts_in_the_question(pack: KnowledgePack) -> None:
    understood = understand_question("Is ketamine FDA approved?", pack)
    approved, *others = claims(pack, "c001-fda-approved-general-anesthetic", "c003-schedule-iii")
    assert ranked([*others, approved], understood)[0] is approved


def test_a_claim_about_drugs_in_general_yields_to_one_about_ketamine(pack: KnowledgePack) -> None:
    """ "When a drug enters the body, the brain adapts" shares "brain" with the question but is not about ketamine."""
    understood = understand_question("How does ketamine work in the brain?", pack)
    general, nmda = claims(pack, "c002-tolerance-brain-adaptation", "c003-nmda-receptor-blockade")
    assert ranked([general, nmda], understood)[0] is nmda
    # One telling word is too thin a reason to drop the rest of ketamine's mechanism.
    assert not names_enough(understood)


def test_a_patients_age_and_sex_do_not_decide_the_answer(runtime: Runtime) -> None:
    """ "24 y/o" must not prefer the case report of a 32-year-old man over the summary's recommendation."""
    answer = ask(runtime, "pt 24 y/o w/ hx of ket use, tx options for craving?")
    assert first_cited_claims(answer) == ["c000-practical-reasonable-option"]


def test_a_comparison_of_ketamine_with_another_drug_keeps_to_what_is_compared(runtime: Runtime) -> None:
    """ "More addictive than opioids": ketamine's addictiveness answers; ketamine for opioid tolerance does not."""
    answer = ask(runtime, "Is ketamine more addictive than opioids?")
    cited = {r.claim_id for r in answer.references if isinstance(r, QuoteCitation)}
    assert "c003-addiction-risk-differs" in cited
    assert not {c for c in cited if c.startswith("c002-")}
    assert answer.bottom_line is not None and "(low reliability)" in answer.bottom_line


def test_list_items_are_of_the_kind_their_evidence_answers_first(runtime: Runtime) -> None:
    """The predictors of hydronephrosis are risk factors: they are not listed as the harms ketamine causes."""
    answer = ask(runtime, "What bladder problems does ketamine cause?")
    assert answer.bottom_line is not None
    assert "hydronephrosis" in answer.bottom_line and "cystitis" in answer.bottom_line
    assert "serum creatinine" not in answer.bottom_line


def test_a_reliable_source_after_an_unreliable_best_answer_is_named(runtime: Runtime) -> None:
    answer = ask(runtime, "Isn't ketamine withdrawal mostly psychological?")
    assert answer.bottom_line is not None
    assert answer.bottom_line.startswith("No reliable source answers this directly; a consumer health article")
    assert "PsychDB (moderate confidence) reports:" in answer.bottom_line
