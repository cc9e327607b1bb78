"""Step 1, understanding (ketaguide.domain.answering.understanding): a question as a clinician types it, read into
its subjects, its answer type and its scope, on the bundled pack. Failure class 1 of issue #8 (ordinary wording
refused) and the reading half of class 2 (answer type ignored, lexicon senses colliding)."""

from __future__ import annotations

import pytest

from ketaguide.domain.answering.understanding import AnswerType, QuestionUnderstanding, understand_question
from ketaguide.domain.evidence.pack import KnowledgePack
from ketaguide.knowledge.dictionary import EnglishWords

WORDS = EnglishWords()


def read(question: str, pack: KnowledgePack) -> QuestionUnderstanding:
    return understand_question(question, pack, WORDS)


# (question, subjects it must name) in ordinary clinical wording: none may be refused.
ORDINARY_WORDING = [
    ("my client's use of special K is getting worse, what are the risks?", {"ketamine"}),
    ("pt's bladder sx after ket use?", {"ketamine", "ketamine_uropathy"}),
    ("24 y/o w/ hx of KUD, tx for cravings?", {"ketamine_use_disorder", "craving"}),
    ("Can bzds be used for K withdrawal?", {"benzodiazepines", "withdrawal", "ketamine"}),
    ("isn't ketamine withdrawal mostly psychological?", {"ketamine", "withdrawal"}),
    ("What's the evidence that lamotrigin helps?", {"lamotrigine"}),
    ("whats the dose of naltrexon for cravings", {"naltrexone", "craving"}),
    ("Will a UDS pick up kets?", {"ketamine"}),
    ("My son snorts ketamine at raves, can it wreck his bladdr?", {"ketamine", "ketamine_uropathy"}),
    ("How do I support someone who's hooked on ket?", {"ketamine_use_disorder"}),
    ("Honestly, is cat valium addictive?", {"ketamine"}),
    ("What happens when someone stops ketamine suddenly?", {"ketamine", "withdrawal"}),
    ("how long until withdrawel symptoms settle down after quitting kit kat", {"withdrawal", "ketamine"}),
]


@pytest.mark.parametrize(("question", "subjects"), ORDINARY_WORDING)
def test_ordinary_clinical_wording_is_understood_not_refused(
    question: str, subjects: set[str], pack: KnowledgePack
) -> None:
    understood = read(question, pack)
    assert understood.in_scope
    assert not understood.names_unknown_subject, understood.unknown_terms
    assert subjects <= understood.subjects


@pytest.mark.parametrize(
    ("question", "typed", "meant"),
    [
        ("Does lamotrigin reduce craving?", "lamotrigin", "lamotrigine"),
        ("ketamine withdrawel symptoms", "withdrawel", "withdrawal"),
        ("is ketamine bladdr reversible", "bladdr", "bladder"),
        ("does naltrexon help", "naltrexon", "naltrexone"),
        ("benzodiazapine for ketamine agitation", "benzodiazapine", "benzodiazepine"),
    ],
)
def test_misspellings_are_corrected_and_offered_as_did_you_mean(
    question: str, typed: str, meant: str, pack: KnowledgePack
) -> None:
    understood = read(question, pack)
    assert (typed, meant) in understood.corrections
    assert understood.did_you_mean is not None and meant in understood.did_you_mean


@pytest.mark.parametrize("question", ["Does ketamine help depression?", "Is it safe to drink on ketamine?"])
def test_a_correctly_spelt_question_has_no_did_you_mean(question: str, pack: KnowledgePack) -> None:
    assert read(question, pack).did_you_mean is None


def test_a_drug_name_is_never_corrected_into_another_drug(pack: KnowledgePack) -> None:
    """Arketamine is two edits from esketamine but begins differently: it stays an unknown word, never esketamine."""
    understood = read("Does arketamine reduce ketamine craving?", pack)
    assert "esketamine" not in understood.subjects
    assert understood.names_unknown_subject


@pytest.mark.parametrize(
    ("question", "answer_type"),
    [
        ("Does lamotrigine help with ketamine craving?", AnswerType.EFFICACY),
        ("What medications reduce ketamine cravings?", AnswerType.EFFICACY),
        ("Are there randomised trials of naltrexone for KUD?", AnswerType.EVIDENCE_YES_NO),
        ("How does lamotrigine work in ketamine addiction?", AnswerType.MECHANISM),
        ("Why does the same amount of ketamine stop working?", AnswerType.MECHANISM),
        ("What dose of naltrexone was used?", AnswerType.DOSE),
        ("How long does ketamine withdrawal last?", AnswerType.TIME_COURSE),
        ("Is ketamine bladder permanent?", AnswerType.TIME_COURSE),
        ("Can ketamine damage the kidneys?", AnswerType.HARMS),
        ("Is ketamine addictive?", AnswerType.HARMS),
        ("What are the symptoms of ketamine withdrawal?", AnswerType.SIGNS),
        ("Who is most at risk of ketamine addiction?", AnswerType.RISK_FACTORS),
        ("How is acute ketamine intoxication managed?", AnswerType.MANAGEMENT),
        ("Should ketamine withdrawal be treated inpatient or outpatient?", AnswerType.SETTING),
        ("When should I refer ketamine bladder to urology?", AnswerType.SETTING),
        ("Is it safe to mix ketamine and alcohol?", AnswerType.INTERACTIONS),
        ("My patient takes lamotrigine; will ketamine anaesthesia still work?", AnswerType.INTERACTIONS),
        ("What should I monitor during lamotrigine treatment?", AnswerType.MONITORING),
        ("Do urine drug screens detect ketamine?", AnswerType.DETECTION),
        ("Is ketamine more addictive than opioids?", AnswerType.COMPARISON),
        ("How common is ketamine misuse among young adults?", AnswerType.EPIDEMIOLOGY),
        ("What is ketamine bladder?", AnswerType.DEFINITION),
        ("How is ketamine use disorder classified in DSM-5?", AnswerType.DEFINITION),
    ],
)
def test_the_answer_type_is_read_from_the_wording(question: str, answer_type: AnswerType, pack: KnowledgePack) -> None:
    assert read(question, pack).answer_type is answer_type


def test_a_question_naming_only_a_treatment_asks_for_an_overview_of_it(pack: KnowledgePack) -> None:
    understood = read("Lamotrigine for Ketamine Use Disorder", pack)
    assert understood.overview and understood.answer_type is AnswerType.EFFICACY
    assert {"lamotrigine", "ketamine_use_disorder"} <= understood.subjects


def test_a_multi_part_question_keeps_every_kind_it_asks(pack: KnowledgePack) -> None:
    understood = read("What are the signs of ketamine bladder and how is it treated?", pack)
    assert {understood.answer_type, *understood.also_asked} >= {AnswerType.SIGNS, AnswerType.MANAGEMENT}


def test_social_withdrawal_is_not_drug_withdrawal(pack: KnowledgePack) -> None:
    """Lexicon senses no longer collide: the longer phrase names social isolation."""
    understood = read("Is social withdrawal a sign of ketamine addiction?", pack)
    assert "social_isolation" in understood.subjects
    assert "withdrawal" not in understood.subjects


def test_answer_type_topics_are_not_subjects(pack: KnowledgePack) -> None:
    understood = read("What are the signs and the mechanism of ketamine tolerance?", pack)
    assert not understood.subjects & {"signs", "mechanism", "dosing", "interaction", "evidence_quality"}


@pytest.mark.parametrize(
    ("question", "word"),
    [
        ("Is semaglutide helpful for ketamine craving?", "semaglutide"),
        ("Does melatonin help ketamine withdrawal insomnia?", "melatonin"),
        ("Can zolpidem help ketamine withdrawal?", "zolpidem"),
        ("Does ketamine cause liver damage?", "liver"),
        ("Does lamotrigine cause liver problems in ketamine users?", "liver"),
    ],
)
def test_a_subject_the_evidence_lacks_is_named(question: str, word: str, pack: KnowledgePack) -> None:
    understood = read(question, pack)
    assert understood.names_unknown_subject
    assert word in (*understood.unknown_terms, *understood.absent_subjects)


@pytest.mark.parametrize("question", ["What is the capital of France?", "Does lamotrigine treat epilepsy?"])
def test_outside_the_scope(question: str, pack: KnowledgePack) -> None:
    assert not read(question, pack).in_scope


def test_without_a_word_list_unknown_words_are_taken_for_specialist_terms(pack: KnowledgePack) -> None:
    """The cautious default: with no dictionary, a word the pack does not know may name something it lacks."""
    assert understand_question("Is frobnicated ketamine addictive?", pack).names_unknown_subject
    assert not read("Honestly, is ketamine addictive?", pack).names_unknown_subject


def test_understanding_is_frozen_and_typed_as_the_interface_promises(pack: KnowledgePack) -> None:
    understood = read("Does lamotrigin help ketamine craving?", pack)
    assert isinstance(understood.subjects, frozenset)
    assert isinstance(understood.answer_type, AnswerType)
    assert all(isinstance(pair, tuple) and len(pair) == 2 for pair in understood.corrections)
    assert isinstance(understood.in_scope, bool)
    with pytest.raises(Exception, match="frozen"):
        understood.in_scope = False  # type: ignore[misc]


def test_answer_type_values_are_the_agreed_ones() -> None:
    """The evaluation set (tests/data/questions/) labels questions with exactly these values."""
    assert {t.value for t in AnswerType} == {
        "efficacy",
        "evidence_yes_no",
        "mechanism",
        "dose",
        "time_course",
        "harms",
        "signs",
        "risk_factors",
        "management",
        "setting",
        "interactions",
        "monitoring",
        "detection",
        "comparison",
        "epidemiology",
        "definition",
        "other",
    }
