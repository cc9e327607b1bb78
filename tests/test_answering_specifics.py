"""A precise thing asked that no source states (a half-life, a lethal dose, a detection window) is said to be
unstated first; evidence that speaks to none of the question is not shown beside evidence that answers it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ketaguide.bootstrap import Runtime, build_runtime
from ketaguide.contracts.answer import AnswerReport
from ketaguide.domain.citing.references import ExternalCitation, QuoteCitation
from ketaguide.services.evidence import ask
from ketaguide.settings import load_settings


@pytest.fixture(scope="module")
def runtime() -> Iterator[Runtime]:
    with build_runtime(load_settings(retriever="lexical")) as built:
        yield built


def cited(answer: AnswerReport) -> set[str]:
    return {r.claim_id if isinstance(r, QuoteCitation) else r.id for r in answer.references}


@pytest.mark.parametrize(
    ("question", "lead"),
    [
        ("What is ketamine's half-life?", "None of KetaGuide's sources states the half-life of ketamine;"),
        ("What is the lethal dose of ketamine?", "None of KetaGuide's sources states a lethal dose of ketamine;"),
        (
            "How many days after use can ketamine be detected in urine?",
            "None of KetaGuide's sources states how long after use ketamine can be detected;",
        ),
        (
            "How long should lamotrigine be continued for ketamine use disorder?",
            "None of KetaGuide's sources states how long to continue lamotrigine",
        ),
        (
            "What's the prevalence of ketamine use disorder in the UK?",
            "None of KetaGuide's sources states this for the UK;",
        ),
    ],
)
def test_an_unstated_specific_is_said_first(runtime: Runtime, question: str, lead: str) -> None:
    answer = ask(runtime, question)
    assert not answer.abstained and answer.bottom_line is not None
    assert answer.bottom_line.startswith(lead)
    # The closest statements still follow, each cited.
    assert answer.bottom_line_clauses[0].citations == ()
    assert any(c.citations for c in answer.bottom_line_clauses[1:])


def test_a_stated_specific_is_answered_plainly(runtime: Runtime) -> None:
    """Whether a screen detects ketamine is no detection window: Merck's statement answers it, with no lead."""
    answer = ask(runtime, "Do routine drug tests detect ketamine?")
    assert answer.bottom_line is not None and not answer.bottom_line.startswith("None of")


def test_the_im_dose_is_answered_by_the_im_dosing(runtime: Runtime) -> None:
    answer = ask(runtime, "IM ketamine dose for anesthesia?")
    assert answer.bottom_line is not None and answer.bottom_line.startswith("Induction: IM 6.5-13 mg/kg")
    assert any(r.id.startswith("ketalar.label.im-dosing") for r in answer.references if isinstance(r, ExternalCitation))


def test_evidence_speaking_to_none_of_the_question_is_not_padding(runtime: Runtime) -> None:
    """ "Approved medications": the statement on approval answers; rat studies of lamotrigine do not."""
    answer = ask(runtime, "Are there any approved medications for ketamine use disorder?")
    assert answer.bottom_line is not None and "no approved pharmacological treatments" in answer.bottom_line
    shown = cited(answer)
    assert "c000-rat-breakpoint" not in shown and "c000-rat-reinstatement" not in shown
    # The statement that names pharmacological treatment in its own words stays.
    assert "c000-practical-reasonable-option" in shown


def test_a_safety_warning_on_what_is_named_stays(runtime: Runtime) -> None:
    """The label's CNS-depressant warning is filed under alcohol: a safety question keeps it."""
    answer = ask(runtime, "Is it safe to drink alcohol with ketamine?")
    assert any(
        r.id.startswith("ketalar.label.interactions") for r in answer.references if isinstance(r, ExternalCitation)
    )
