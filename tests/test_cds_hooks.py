"""Golden CDS Hooks requests (tests/data/cds/cases/*.json) and the cards KetaGuide answers them with.

Each case file holds a request in the spec's shape (written for KetaGuide, with the public examples' shapes and
defects in mind: docs/cds-hooks.md 7.1.3), the HTTP status expected, and for 200 the cards as recorded (indicator,
card type, summary, suggestions, links). A deliberate change of the cards re-records them:
`KETAGUIDE_UPDATE_GOLDEN=1 pytest tests/test_cds_hooks.py`, then review the diff like any other change. Every response
is checked against the spec's card rules (`test_cds_support.check_cards`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from test_cds_support import BASE, DATA, call, care_engine, cds_test_app, check_cards, order_sign_case, service_url

CASES = sorted((DATA / "cases").glob("*.json"))
UPDATE = os.environ.get("KETAGUIDE_UPDATE_GOLDEN") == "1"


@pytest.fixture(scope="module")
def engine() -> Any:
    return care_engine()


@pytest.fixture(scope="module")
def client(engine: Any) -> Any:
    return cds_test_app(engine)


def _recorded(card: dict[str, Any]) -> dict[str, Any]:
    recorded = {"indicator": card["indicator"], "type": card["source"]["topic"]["code"], "summary": card["summary"]}
    if "suggestions" in card:
        recorded["suggestions"] = [
            {"label": s["label"], "actions": [a.get("resourceId", a["type"]) for a in s.get("actions", [])]}
            for s in card["suggestions"]
        ]
    if "links" in card:
        recorded["links"] = [{"label": link["label"], "type": link["type"]} for link in card["links"]]
    return recorded


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_golden_case(client: Any, path: Path) -> None:
    case = json.loads(path.read_text(encoding="utf-8"))
    response = call(client, case["service"], case["request"])
    assert response.status_code == case["status"], response.text
    if case["status"] != 200:
        outcome = response.json()
        assert response.headers["content-type"].startswith("application/fhir+json")
        assert outcome["resourceType"] == "OperationOutcome"
        assert case["outcome"] in outcome["issue"][0]["diagnostics"]
        return
    cards = [_recorded(card) for card in check_cards(response.json())]
    if UPDATE:
        case["cards"] = cards
        path.write_text(json.dumps(case, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    assert cards == case["cards"]


def test_every_card_type_has_an_evidence_page(client: Any) -> None:
    """source.url resolves, for every card the golden cases produce."""
    seen: dict[str, str] = {}
    for path in CASES:
        case = json.loads(path.read_text(encoding="utf-8"))
        if case["status"] == 200:
            for card in call(client, case["service"], case["request"]).json()["cards"]:
                seen.setdefault(card["source"]["topic"]["code"], card["source"]["url"])
    assert len(seen) >= 10
    for card_type, url in seen.items():
        page = client.get(url.removeprefix(BASE))
        assert page.status_code == 200, card_type
        assert page.headers["content-type"].startswith("text/html")
        assert "<script" not in page.text


def test_cards_are_audited_and_ledgered(client: Any) -> None:
    case = json.loads((DATA / "cases" / "sign-naltrexone-with-methadone.json").read_text(encoding="utf-8"))
    body = call(client, case["service"], case["request"]).json()
    event = client.backend.audit.events[-1]
    assert event.action == "cds-call" and event.status == 200
    assert event.hook_instance == case["request"]["hookInstance"]
    assert event.patient_id == "example-kud" and event.iss == "https://ehr-es.example.org"
    assert event.card_uuids == tuple(card["uuid"] for card in body["cards"])
    assert event.content_version


def test_the_same_request_gives_new_card_uuids_and_the_same_cards(client: Any) -> None:
    case = json.loads((DATA / "cases" / "sign-naltrexone-with-methadone.json").read_text(encoding="utf-8"))
    first = call(client, case["service"], case["request"]).json()["cards"]
    second = call(client, case["service"], case["request"]).json()["cards"]
    assert [c["uuid"] for c in first] != [c["uuid"] for c in second]
    assert [_recorded(c) for c in first] == [_recorded(c) for c in second]


def test_the_critical_card_quotes_its_evidence_and_offers_reasons(client: Any) -> None:
    case = json.loads((DATA / "cases" / "sign-naltrexone-with-methadone.json").read_text(encoding="utf-8"))
    card = call(client, case["service"], case["request"]).json()["cards"][0]
    assert card["indicator"] == "critical"
    assert "**Evidence**" in card["detail"] and "label" in card["detail"]
    assert {r["code"] for r in card["overrideReasons"]} >= {"cds-not-applicable", "recipient-disagrees-evidence"}
    assert card["source"]["url"].startswith(f"{BASE}/cds-evidence/")
    assert card["suggestions"][0]["actions"][0] == {
        "type": "delete",
        "description": "Remove MedicationRequest/nal-draft",
        "resourceId": "MedicationRequest/nal-draft",
    }


def test_chart_text_cannot_forge_markdown(client: Any) -> None:
    case = json.loads((DATA / "cases" / "sign-unrecognised-draft.json").read_text(encoding="utf-8"))
    request = json.loads(json.dumps(case["request"]).replace("Zyprexa 5 mg", "[click](https://evil.example) <b>x</b>"))
    card = call(client, case["service"], request).json()["cards"][0]
    assert "\\[click\\](https://evil.example) \\<b\\>x\\</b\\>" in card["detail"]


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b"{not json", "application/json", 400),
        (b'{"hook": "order-sign", "hook": "patient-view"}', "application/json", 400),
        (b'{"hook": "order-sign", "context": {"patientId": "p1", "patientId": "p2"}}', "application/json", 400),
        (b'{"x": NaN}', "application/json", 400),
        (b"[]", "application/json", 400),
        (b"hook=order-sign", "application/x-www-form-urlencoded", 415),
        (b"{" * 100_000 + b"}" * 100_000, "application/json", 400),
    ],
    ids=["malformed", "duplicate-key", "nested-duplicate-key", "nan", "not-an-object", "form", "deeply-nested"],
)
def test_bad_bodies(client: Any, body: bytes, content_type: str, status: int) -> None:
    from test_cds_support import bearer

    headers = {**bearer(service_url("ketaguide-order-sign")), "Content-Type": content_type}
    response = client.post("/cds-services/ketaguide-order-sign", content=body, headers=headers)
    assert response.status_code == status
    assert response.json()["resourceType"] == "OperationOutcome"


def test_an_oversized_body_is_refused(client: Any) -> None:
    from test_cds_support import bearer

    headers = {**bearer(service_url("ketaguide-order-sign")), "Content-Type": "application/json"}
    body = json.dumps({"padding": "x" * 2_100_000})
    assert client.post("/cds-services/ketaguide-order-sign", content=body, headers=headers).status_code == 400


def test_unknown_service_is_404_after_authentication(client: Any) -> None:
    response = call(client, "no-such-service", {"hook": "patient-view"})
    assert response.status_code == 404
    assert response.json()["issue"][0]["code"] == "not-found"
    assert client.post("/cds-services/no-such-service", json={}).status_code == 401


def test_get_on_a_service_is_not_allowed(client: Any) -> None:
    assert client.get("/cds-services/ketaguide-order-sign").status_code == 405


def test_discovery_lists_the_three_services_with_prefetch(client: Any) -> None:
    from test_cds_support import bearer, empty_members

    services = client.get("/cds-services", headers=bearer(f"{BASE}/cds-services")).json()["services"]
    assert [(s["id"], s["hook"]) for s in services] == [
        ("ketaguide-patient-view", "patient-view"),
        ("ketaguide-order-select", "order-select"),
        ("ketaguide-order-sign", "order-sign"),
    ]
    for service in services:
        assert empty_members(service) == []
        assert service["prefetch"] == {
            "patient": "Patient/{{context.patientId}}",
            "conditions": "Condition?patient={{context.patientId}}&clinical-status=active",
            "medications": "MedicationRequest?patient={{context.patientId}}&status=active",
        }


def test_cors_preflight_and_response_for_an_allowed_origin(client: Any) -> None:
    origin = "https://ehr-es.example.org"
    headers = {"Origin": origin, "Access-Control-Request-Method": "POST"}
    preflight = client.options("/cds-services/ketaguide-order-sign", headers=headers)
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == origin
    assert "Authorization" in preflight.headers["access-control-allow-headers"]
    response = client.get("/cds-services", headers={"Origin": origin})
    assert response.status_code == 401 and response.headers["access-control-allow-origin"] == origin


def test_cors_is_not_granted_to_other_origins(client: Any) -> None:
    headers = {"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    preflight = client.options("/cds-services/ketaguide-order-sign", headers=headers)
    assert "access-control-allow-origin" not in preflight.headers
    assert "access-control-allow-methods" not in preflight.headers


def test_evidence_of_another_content_version_is_not_served(client: Any) -> None:
    response = client.get("/cds-evidence/1999.1.1/interaction.naltrexone-opioids")
    assert response.status_code == 404
    assert "not served here" in response.text


def test_the_lamotrigine_schedule_page(client: Any, engine: Any) -> None:
    page = client.get(f"/cds-evidence/{engine.version}/lamotrigine-schedule?with=valproate")
    assert page.status_code == 200
    assert "valproate" in page.text.lower() and "<table>" in page.text


def test_a_drafted_medicine_the_engine_did_not_check_says_so(engine: Any) -> None:
    """Should the engine report a recognised medicine as not checked (no curated pair names it), a draft of it gets
    a card saying so."""
    from ketaguide.cdshooks.service import CareEngine
    from ketaguide.domain.care.findings import NotChecked

    def assess(document: Any) -> Any:
        report = engine.assess(document)
        unpaired = NotChecked(written_as="naltrexone 50 mg", drug="naltrexone", reason="no pair names it")
        return report.model_copy(update={"not_checked": (*report.not_checked, unpaired)})

    client = cds_test_app(CareEngine(knowledge=engine.knowledge, assess=assess))
    case = json.loads((DATA / "cases" / "sign-naltrexone-with-methadone.json").read_text(encoding="utf-8"))
    cards = check_cards(call(client, case["service"], case["request"]).json())
    assert cards[-1]["summary"] == "Interactions not checked by KetaGuide: naltrexone"
    assert cards[-1]["indicator"] == "info" and "no pair names it" in cards[-1]["detail"]


@pytest.mark.parametrize(
    ("case_name", "card_type", "quoted"),
    [
        ("sign-esketamine-for-kud", "order.ketamine-for-use-disorder", ['all beat placebo on "drug liking"']),
        (
            "sign-ketamine-for-kud-snomed",
            "order.ketamine-for-use-disorder",
            ["Recorded in the chart:** ketamine use disorder"],
        ),
        (
            "sign-ketamine-for-ketamine-cystitis",
            "order.ketamine-for-uropathy",
            [
                "consider stopping ketamine",
                "Sustained abstinence is the key to recovery",
                "Recorded in the chart:** ketamine uropathy",
            ],
        ),
        ("sign-esketamine-with-ketamine-uropathy", "order.esketamine-for-uropathy", ["no data on esketamine"]),
        (
            "pv-kud-active-esketamine-uropathy",
            "order.ketamine-for-use-disorder",
            ["**Active order in the chart:** esketamine Nasal Spray"],
        ),
    ],
)
def test_an_order_rule_card_shows_its_finding_and_cites_its_evidence(
    client: Any, case_name: str, card_type: str, quoted: list[str]
) -> None:
    """The card for a ketamine or esketamine order that a patient finding changes: the rule's message, what the
    chart recorded, the draft, and the evidence with what each reference states; its source page exists."""
    case = order_sign_case(case_name)
    response = call(client, case["service"], case["request"])
    card = next(c for c in response.json()["cards"] if c["source"]["topic"]["code"] == card_type)
    detail = card["detail"]
    assert "**Recorded in the chart:**" in detail and "**Evidence**" in detail
    assert ("**Ordered now:**" in detail) == (case["request"]["hook"] == "order-sign")
    for text in quoted:
        assert text in detail
    assert "read with high confidence" in detail  # the label the warning rests on
    page = client.get(card["source"]["url"].removeprefix(BASE))
    assert page.status_code == 200 and "ordered for a patient with" in page.text
