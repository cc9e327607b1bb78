"""EHR orders named by an RxNorm code: a sourced code is read before the display text, and a code the formulary
does not hold falls back to the name rules, never to a guess."""

from __future__ import annotations

import pytest

from ketaguide.cdshooks.chart import recognise
from ketaguide.cdshooks.fhir import RXNORM, Code, CodedText
from ketaguide.domain.care.rules import ClinicalContent


@pytest.mark.parametrize(
    ("code", "drug"),
    [("198430", "lamotrigine"), ("7243", "naltrexone"), ("1099570", "valproate"), ("864706", "methadone")],
)
def test_an_order_with_only_a_sourced_code_is_recognised(content: ClinicalContent, code: str, drug: str) -> None:
    _, entry, engine_name = recognise(CodedText((Code(RXNORM, code, None),)), content.formulary)
    assert entry is not None and entry.id == drug
    assert engine_name == entry.generic


def test_the_code_wins_over_a_misleading_display(content: ClinicalContent) -> None:
    medicine = CodedText((Code(RXNORM, "28439", "something else entirely"),), "local pharmacy name")
    written, entry, _ = recognise(medicine, content.formulary)
    assert written == "local pharmacy name" and entry is not None and entry.id == "lamotrigine"


def test_a_code_of_another_system_is_not_read_as_rxnorm(content: ClinicalContent) -> None:
    medicine = CodedText((Code("http://snomed.info/sct", "28439", None),))
    assert recognise(medicine, content.formulary)[1] is None


def test_an_unlisted_code_falls_back_to_the_display(content: ClinicalContent) -> None:
    medicine = CodedText((Code(RXNORM, "999999999", "Lamotrigine 100 MG Oral Tablet"),))
    _, entry, _ = recognise(medicine, content.formulary)
    assert entry is not None and entry.id == "lamotrigine"
    # Ketamine's code is not stored (no primary source), so an order with nothing but that code is not recognised.
    assert recognise(CodedText((Code(RXNORM, "6130", None),)), content.formulary)[1] is None
