"""Card building blocks: the wire models refuse what the spec forbids; indicators, summaries and text."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from ketaguide.cdshooks.cards import (
    OVERRIDE_REASONS,
    Finding,
    Presentation,
    cards,
    indicator_for_severity,
    indicator_for_status,
    indicator_for_urgency,
)
from ketaguide.cdshooks.chart import ChartMedicine
from ketaguide.cdshooks.text import fit, literal, names
from ketaguide.cdshooks.wire import Action, Card, CdsResponse, Coding, HookRequest, Link, Source, Suggestion
from test_cds_support import check_cards

SOURCE = Source(label="KetaGuide")


def test_indicator_tables() -> None:
    assert [indicator_for_urgency(u) for u in ("emergency", "urgent", "routine")] == ["critical", "warning", "info"]
    assert [indicator_for_severity(s) for s in ("major", "moderate", "unrated", "minor")] == [
        "warning",
        "warning",
        "warning",
        "info",
    ]
    assert [indicator_for_status(s) for s in ("contraindicated", "caution", "recommended", "consider")] == [
        "critical",
        "warning",
        None,
        None,
    ]


@pytest.mark.parametrize(
    "fields",
    [
        {"summary": "x" * 140},
        {"detail": ""},
        {"links": ()},
        {"overrideReasons": ()},
        {"suggestions": (Suggestion(label="a"),)},
        {
            "suggestions": (Suggestion(label="a", isRecommended=True), Suggestion(label="b", isRecommended=True)),
            "selectionBehavior": "at-most-one",
        },
        {"indicator": "hard-stop"},
        {"source": {"label": ""}},
    ],
    ids=["summary-140", "empty-detail", "empty-links", "empty-reasons", "resp-6", "resp-1", "hard-stop", "empty-label"],
)
def test_cards_the_spec_forbids_cannot_be_built(fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        Card(**{"uuid": "u", "summary": "ok", "indicator": "info", "source": SOURCE, **fields})


def test_actions_and_links() -> None:
    with pytest.raises(ValidationError):
        Action(type="delete", description="x")  # a delete names its resourceId
    with pytest.raises(ValidationError):
        Action(type="create", description="x", resourceId="MedicationRequest/1")
    with pytest.raises(ValidationError):
        Link(label="x", url="https://a", type="absolute", appContext="p")  # cds-resp-3
    with pytest.raises(ValidationError):
        Link(label="x", url="javascript:alert(1)", type="absolute")


def test_an_empty_card_list_is_the_one_empty_array() -> None:
    assert CdsResponse(cards=()).dump() == {"cards": []}


def test_the_request_envelope_is_strict() -> None:
    good = {"hook": "patient-view", "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea", "context": {}}
    assert HookRequest.model_validate(good).fhirServer is None
    for bad in (
        {**good, "hookInstance": "abc"},
        {**good, "user": "Practitioner/1"},
        {**good, "fhirServer": "ftp://x"},
        {
            **good,
            "fhirServer": "https://x",
            "fhirAuthorization": {
                "access_token": "t",
                "token_type": "MAC",
                "expires_in": 1,
                "scope": "s",
                "subject": "x",
            },
        },
    ):
        with pytest.raises(ValidationError):
            HookRequest.model_validate(bad)


def test_the_access_token_is_not_in_the_models_repr() -> None:
    request = HookRequest.model_validate(
        {
            "hook": "order-sign",
            "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
            "context": {},
            "fhirServer": "https://fhir.example.org",
            "fhirAuthorization": {
                "access_token": "secret-token-value",
                "token_type": "Bearer",
                "expires_in": 300,
                "scope": "patient/*.read",
                "subject": "ketaguide",
            },
        }
    )
    assert "secret-token-value" not in repr(request) and "secret-token-value" not in str(request.model_dump())


def test_fit_keeps_summaries_under_140_characters() -> None:
    long = "Naltrexone: contra-indicated for this patient (" + "very long medicine name " * 10 + ")"
    assert len(fit(long)) <= 139 and fit(long).endswith("…")
    assert fit("short\nsummary\x1b[31m") == "short summary[31m"


def test_literal_shows_markup_as_written() -> None:
    assert literal("**bold** [x](y) <b>") == "\\*\\*bold\\*\\* \\[x\\](y) \\<b\\>"
    assert literal("line one\n# heading") == "line one # heading"


def test_names() -> None:
    assert names(["a"]) == "a"
    assert names(["a", "b"]) == "a and b"
    assert names(["a", "b", "c", "d", "e"], 3) == "a, b, c and 2 more"


def test_a_critical_finding_suggests_removing_its_drafts() -> None:
    draft = ChartMedicine("MedicationRequest/d1", "naltrexone 50 mg", "naltrexone 50 mg", "naltrexone", True, True)
    presentation = Presentation("KetaGuide", lambda t: f"https://k.test/e/{t}", lambda d: None)
    counter = iter(range(100))
    findings = [
        Finding("info.x", "info", "info first?", "detail"),
        Finding("option.naltrexone.contraindicated", "critical", "Naltrexone: contra-indicated", "detail", (draft,)),
    ]
    built = cards(findings, presentation, lambda: f"u{next(counter)}")
    body = check_cards(CdsResponse(cards=tuple(built)).dump())
    assert [c["indicator"] for c in body] == ["critical", "info"]
    critical = body[0]
    assert critical["selectionBehavior"] == "at-most-one"
    assert critical["suggestions"][0]["isRecommended"] is True
    assert critical["suggestions"][0]["actions"] == [
        {"type": "delete", "description": "Remove MedicationRequest/d1", "resourceId": "MedicationRequest/d1"}
    ]
    assert [r["code"] for r in critical["overrideReasons"]] == [r.code for r in OVERRIDE_REASONS]
    assert "overrideReasons" not in body[1] and "suggestions" not in body[1]
    assert critical["source"] == {
        "label": "KetaGuide",
        "url": "https://k.test/e/option.naltrexone.contraindicated",
        "topic": {"system": "urn:ketaguide:cds:card-type", "code": "option.naltrexone.contraindicated"},
    }


def test_a_response_is_serialised_as_json_response_would() -> None:
    """`dump_json` (what the endpoint sends) is byte for byte `JSONResponse(dump())`: UTF-8 kept as is, control
    characters and quotes escaped, no member left empty."""
    from starlette.responses import JSONResponse

    source = Source(label="KetaGuide", url="https://k.test/e", topic=Coding(system="urn:x", code="a"))
    text = '“quoted” — é, a tab\t, a newline\n, \x01 \x7f \u2028 and \\ "escapes"'
    card = Card(uuid="u1", summary="Summary é", detail=text, indicator="warning", source=source)
    response = CdsResponse(cards=(card,))
    assert response.dump_json() == JSONResponse(response.dump()).body
    assert CdsResponse(cards=()).dump_json() == b'{"cards":[]}'


def test_each_content_has_its_own_drug_names(content: Any) -> None:
    """The names of the formulary are built once per content, and new content gets its own."""
    from dataclasses import replace

    from ketaguide.cdshooks.cards import _formulary_names
    from ketaguide.domain.care.interactions import DrugEntry, Formulary

    first = replace(
        content,
        formulary=Formulary(
            medications=(DrugEntry(id="drug_a", generic_name="a generic", names=("a",)),), substances=()
        ),
    )
    second = replace(
        content,
        formulary=Formulary(
            medications=(DrugEntry(id="drug_b", generic_name="b generic", names=("b",)),), substances=()
        ),
    )
    assert _formulary_names(first) == {"drug_a": "drug_a", "a generic": "drug_a"}
    assert _formulary_names(second) == {"drug_b": "drug_b", "b generic": "drug_b"}
    assert _formulary_names(first) is _formulary_names(first)
