"""The web UI's pages in process: the source view's exact offsets, claim filters, the intake form generated from the
schema (errors at their fields, nothing lost), care plans, patients over time, dose tools, admin, the note, and
`ketaguide users password`."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

pytest.importorskip("jinja2", reason="the server extra is not installed")
pytest.importorskip("argon2", reason="the server extra is not installed")

from ketaguide.bootstrap import Runtime, build_runtime
from ketaguide.contracts.notes import answer_markdown
from ketaguide.contracts.schemas import json_schema
from ketaguide.services import evidence
from ketaguide.settings import load_settings
from ketaguide.web.intake_form import ASQ_QUESTIONS, field_names, intake_groups
from ketaguide.web.source_view import Highlight, runs
from web_testing import INTAKES, PASSWORD, Browser, Web, make_web


@pytest.fixture(scope="module")
def web_runtime() -> Iterator[Runtime]:
    with build_runtime(load_settings(retriever="lexical")) as built:
        yield built


@pytest.fixture
def web(tmp_path: Path, web_runtime: Runtime) -> Iterator[Web]:
    yield from make_web(tmp_path, web_runtime)


def _text_of(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", fragment))


def _marked(page: str) -> str:
    body = page.split('<div class="source-text">', 1)[1].split("</div>", 1)[0]
    return "".join(_text_of(m) for m in re.findall(r'<mark class="quote"[^>]*>(.*?)</mark>', body, re.S))


# Evidence -----------------------------------------------------------------------------------------------------------


def test_the_source_view_highlights_exactly_the_quoted_characters(web: Web, web_runtime: Runtime) -> None:
    pack = web_runtime.knowledge.pack
    browser = web.browser("dr-web")
    for source in pack.sources.values():
        claims = [c for c in pack.claims if c.source_id == source.id]
        for claim in claims[:: max(1, len(claims) // 4)]:
            page = browser.get(f"/sources/{source.id}", params={"start": claim.start, "end": claim.end})
            assert page.status_code == 200
            assert _marked(page.text) == source.text[claim.start : claim.end] == claim.quote
            assert page.text.count('id="quote"') == 1 and claim.id in page.text
        whole = browser.get(f"/sources/{source.id}").text.split('<div class="source-text">', 1)[1].split("</div>")[0]
        assert _text_of(whole) == source.text  # the whole document, every character, in order
    outside = browser.get(f"/sources/{source.id}", params={"start": 5, "end": 10**7})
    assert outside.status_code == 200 and "outside this document" in outside.text and 'id="quote"' not in outside.text
    assert browser.get("/sources/no-such-source").status_code == 404


def test_runs_cover_the_text_and_overlapping_claims(web_runtime: Runtime) -> None:
    pack = web_runtime.knowledge.pack
    source = next(iter(pack.sources.values()))
    claims = [c for c in pack.claims if c.source_id == source.id]
    found = runs(source.text, claims, Highlight(3, 40, ()))
    assert "".join(r.text for r in found) == source.text
    assert "".join(r.text for r in found if r.kind == "quote") == source.text[3:40]
    assert sum(r.first for r in found) == 1


def test_claims_are_searchable_and_filterable(web: Web, web_runtime: Runtime) -> None:
    pack = web_runtime.knowledge.pack
    browser = web.browser("cur-web")
    source = next(iter(pack.sources.values()))
    expected = [c for c in pack.claims if c.source_id == source.id and c.claim_type.value == "efficacy"]
    page = browser.get("/claims", params={"type": "efficacy", "source": source.id})
    assert f"{len(expected)} claim" in page.text
    assert page.text.count('<p class="statement">') == min(len(expected), 50)
    designs = browser.get("/claims", params={"design": "case_report"}).text
    count = sum(1 for c in pack.claims if c.study_design.value == "case_report")
    assert f"{count} claim" in designs
    words = browser.get("/claims", params={"q": "lamotrigine rash"}).text
    wanted = [
        c for c in pack.claims if all(w in f"{c.statement} {c.quote}".casefold() for w in ("lamotrigine", "rash"))
    ]
    assert f"{len(wanted)} claim" in words
    conflicts = browser.get("/conflicts").text
    for conflict in pack.conflicts:
        assert html.escape(conflict.topic, quote=False) in conflicts
    assert conflicts.count('class="side"') == sum(len(c.sides) for c in pack.conflicts)


def test_sources_are_listed_most_reliable_first(web: Web) -> None:
    page = web.browser("dr-web").get("/sources").text
    levels = re.findall(r"reliability: (high|moderate|low|very low)</span>", page)
    order = ["high", "moderate", "low", "very low"]
    assert levels and [order.index(level) for level in levels] == sorted(order.index(level) for level in levels)


def test_the_answer_page_and_its_note(web: Web, web_runtime: Runtime) -> None:
    question = "Does lamotrigine help with ketamine craving and relapse?"
    page = web.browser("dr-web").get("/ask", params={"q": question}).text
    answer = evidence.ask(web_runtime, question)
    note = re.search(r'<textarea id="note"[^>]*>(.*?)</textarea>', page, re.S)
    assert note is not None and html.unescape(note.group(1)) == answer_markdown(answer)
    assert "Bottom line" in page and "Certainty (GRADE)" in page
    for ref in answer.references:
        if ref.kind == "quote":
            assert f"/sources/{ref.source_id}?start={ref.start}&end={ref.end}#quote" in page
            assert f"source reliability: {ref.source_reliability}" in page
    out_of_scope = web.browser("dr-web").get("/ask", params={"q": "What is the best pizza topping?"}).text
    assert "No answer" in out_of_scope
    too_long = web.browser("dr-web").get("/ask", params={"q": "x" * 2500})
    assert too_long.status_code == 422 and "limit is 2000" in too_long.text


# The intake form ----------------------------------------------------------------------------------------------------


def test_the_intake_form_has_a_field_with_help_for_every_schema_property() -> None:
    schema = json_schema("intake")
    groups = intake_groups()
    names = {f.name for g in groups for f in g.fields}
    assert names == set(schema["properties"])
    assert all(f.help for g in groups for f in g.fields)
    assert {n for n in field_names() if n.startswith("asq.")} == {f"asq.{q}" for q in ASQ_QUESTIONS}


def _assess(browser: Browser, form: dict[str, Any]) -> Any:
    return browser.post("/assess", {"csrf_token": browser.csrf("/assess"), **form})


def _field_errors(page: str) -> dict[str, str]:
    found = re.findall(r'<p class="field-error" id="([^"]+)-error">(.*?)</p>', page, re.S)
    return {name: _text_of(text).removeprefix("Error: ") for name, text in found}


def test_intake_errors_are_shown_at_their_fields_and_nothing_is_lost(web: Web) -> None:
    browser = web.browser("dr-web")
    form = {
        "age": "thirty",
        "sex": "female",
        "weight_kg": "0",
        "criteria": ["craving", "tolerance"],
        "medications": "LAMICTAL\nDepakote 500 mg",
        "asq.q1": "yes",
        "last_ketamine_use_hours": "12",
    }
    page = _assess(browser, form)
    assert page.status_code == 422
    errors = _field_errors(page.text)
    assert "whole number" in errors["age"]
    # The intake rules report the rest once the form is fixed.
    fixed = _assess(browser, {**form, "age": "30"})
    errors = _field_errors(fixed.text)
    assert set(errors) >= {"weight_kg", "asq-q2", "asq-q3", "asq-q4"}
    assert 'id="f-weight_kg" name="weight_kg"' in fixed.text and 'aria-invalid="true"' in fixed.text
    for kept in ('value="30"', 'value="0"', "LAMICTAL\nDepakote 500 mg", 'value="craving" checked', 'value="12"'):
        assert kept in fixed.text, kept
    assert re.search(r'id="f-asq-q1-yes" name="asq.q1" type="radio" value="yes" checked', fixed.text)
    assert 'href="#f-weight_kg"' in fixed.text  # the summary links to the field
    for question in ASQ_QUESTIONS.values():
        assert html.escape(question, quote=False) in fixed.text


def test_an_assessment_shows_red_flags_first_with_their_urgency_in_words(web: Web) -> None:
    browser = web.browser("dr-web")
    form = {
        "age": "24",
        "sex": "male",
        "criteria": ["craving", "tolerance", "cut_down"],
        "last_ketamine_use_hours": "1",
    }
    form |= {"symptoms": ["slowed_breathing", "hematuria"], "other_substances": ["alcohol"]}
    page = _assess(browser, form)
    assert page.status_code == 200
    urgencies = re.findall(r'class="badge urgency-(\w+)"><span aria-hidden="true">[!]+</span> (\w+)</span>', page.text)
    assert urgencies and urgencies[0] == ("emergency", "Emergency")
    order = {"emergency": 0, "urgent": 1, "routine": 2}
    assert [order[u] for u, _ in urgencies] == sorted(order[u] for u, _ in urgencies)
    assert all(word.lower() == urgency for urgency, word in urgencies)
    assert "Options by phase" in page.text and "Intoxication" in page.text
    assert re.search(r'class="badge status-(recommended|consider|caution|contraindicated)">', page.text)


def test_an_assessment_shows_a_prescription_the_findings_change(web: Web) -> None:
    """Esketamine on the medicines of a person with ketamine use disorder: its own section, with the effect in
    words, the medicine as written, the rule's message, its citation and what triggered it."""
    browser = web.browser("dr-web")
    form = {"age": "30", "sex": "female", "criteria": ["craving", "tolerance", "cut_down"], "medications": "Spravato"}
    page = _assess(browser, form)
    assert page.status_code == 200
    section = page.text.split('id="cp-prescribing"', 1)[1].split("</section>", 1)[0]
    assert '<span class="badge status-caution">Caution</span>' in section
    assert "<strong>Spravato for a patient with ketamine use disorder</strong>" in section
    assert "drug liking" in section and "Because: ketamine use disorder (DSM-5 criteria met)." in section
    plain = _assess(browser, {**form, "medications": "LAMICTAL"})
    assert 'id="cp-prescribing"' not in plain.text


# Patients over time ---------------------------------------------------------------------------------------------


def test_a_patient_with_an_intake_and_observations(web: Web) -> None:
    browser = web.browser("dr-web")
    token = browser.csrf()
    created = browser.post(
        "/patients/new", {"csrf_token": token, "display_name": "Robin Test", "mrn": "R-1", "birth_year": "1990"}
    )
    patient = created.headers["location"]
    intake = json.loads((INTAKES / "severe-relapse-prevention.json").read_text())
    form: dict[str, Any] = {
        k: str(v) for k, v in intake.items() if isinstance(v, int | float) and not isinstance(v, bool)
    }
    form |= {k: v for k, v in intake.items() if isinstance(v, list) and k != "medications"}
    form |= {"sex": intake["sex"], "medications": "\n".join(intake["medications"]), "observed_at": "2026-11-30T08:15"}
    stored = browser.post(f"{patient}/intake", {"csrf_token": token, **form})
    assert stored.status_code == 303 and stored.headers["location"].endswith("#care-plan")
    for day, craving, use_days, screen in (("2026-11-20", "7", "3", "positive"), ("2026-11-27", "4", "1", "negative")):
        added = browser.post(
            f"{patient}/observations",
            {
                "csrf_token": token,
                "observed_on": day,
                "craving_score": craving,
                "use_days_past_7": use_days,
                "urine_drug_screen": screen,
            },
        )
        assert added.status_code == 303
    page = browser.get(patient).text
    assert "Latest care plan" in page and "2026-11-30 08:15 UTC" in page
    assert page.count('class="point point-1"') == 2 and page.count('class="point point-2"') == 2
    assert page.count('class="event"') == 1 and ">E1<" in page
    assert "urine drug screen Positive" in page and "urine drug screen Negative" in page
    bad = browser.post(
        f"{patient}/observations", {"csrf_token": token, "observed_on": "2026-11-28", "craving_score": "14"}
    )
    assert bad.status_code == 422 and "less than or equal to 10" in _field_errors(bad.text)["craving_score"]
    assert 'value="14"' in bad.text
    future = browser.post(f"{patient}/observations", {"csrf_token": token, "observed_on": "2030-01-01"})
    assert future.status_code == 422 and "in the future" in future.text
    encounter = re.search(r'href="(/patients/[^"]+/encounters/[^"]+)"', page)
    assert encounter is not None and "Care plan" in browser.get(encounter.group(1)).text
    duplicate = browser.post("/patients/new", {"csrf_token": token, "display_name": "Other", "mrn": "R-1"})
    assert duplicate.status_code == 422 and "already exists" in _field_errors(duplicate.text)["mrn"]
    found = browser.post("/patients/search", {"csrf_token": token, "q": "robin"})
    assert "Robin Test" in found.text and "1 patient match" in found.text
    assert browser.get("/patients/fhir/R-1").headers["location"] == patient
    assert browser.get("/patients/00000000-0000-0000-0000-000000000000").status_code == 404


# Dose tools and admin -------------------------------------------------------------------------------------------


def test_the_dose_tools(web: Web) -> None:
    browser = web.browser("dr-web")
    valproate = browser.get(
        "/dose", params={"tool": "lamotrigine", "with": "Depakote 500 mg\ncombined pill", "age": "30"}
    )
    assert valproate.status_code == 200 and "valproate" in valproate.text.lower() and "<table>" in valproate.text
    unknown = browser.get("/dose", params={"tool": "lamotrigine", "with": "Notamedicine"})
    assert unknown.status_code == 422 and "Notamedicine" in _field_errors(unknown.text)["with"]
    order = browser.get("/dose", params={"tool": "ketamine", "weight_kg": "70", "route": "iv", "mg": "140"})
    assert order.status_code == 200 and "mg/kg" in order.text
    missing = browser.get("/dose", params={"tool": "ketamine", "weight_kg": "x", "route": "oral"})
    errors = _field_errors(missing.text)
    assert missing.status_code == 422 and {"weight_kg", "mg", "route"} <= set(errors)


def test_the_admin_page(web: Web) -> None:
    admin = web.browser("admin-web")
    page = admin.get("/admin").text
    assert "hash chain intact" in page and "dr-web" in page and "password set" in page
    assert "sign-in" in page  # the sign-ins are in the trail
    assert "not connected" in page  # no CDS Hooks feedback store given to the pages in this test
    with web.records.database.write() as connection:  # tamper with the trail behind the application's back
        connection.exec_driver_sql("DROP TRIGGER audit_events_no_update")
        connection.exec_driver_sql("UPDATE audit_events SET outcome = 'denied' WHERE seq = 1")
    assert "hash chain intact" in admin.get("/admin").text  # the last check is shown until it is a minute old
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    assert admin.post("/admin/verify", {"csrf_token": token.group(1)}).status_code == 303
    tampered = admin.get("/admin").text
    assert "Tampering detected" in tampered and "event 1: content does not match its hash (altered)" in tampered


# The command that sets a password -------------------------------------------------------------------------------


def test_users_password_reads_standard_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, web_runtime: Runtime
) -> None:
    from ketaguide.cli.app import app

    monkeypatch.setenv("KETAGUIDE_DATABASE_URL", f"sqlite:///{tmp_path / 'k.db'}")
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    assert runner.invoke(app, ["users", "add", "dr-cli", "--role", "clinician"]).exit_code == 0
    short = runner.invoke(app, ["users", "password", "dr-cli"], input="short\n")
    assert short.exit_code == 2 and "at least 12" in short.output
    two = runner.invoke(app, ["users", "password", "dr-cli"], input="one line\nanother line\n")
    assert two.exit_code == 2
    done = runner.invoke(app, ["users", "password", "dr-cli"], input=PASSWORD + "\n")
    assert done.exit_code == 0 and "password set for dr-cli" in done.output
    assert PASSWORD not in done.output
    from ketaguide.bootstrap import SystemClock
    from ketaguide.services.records import Records
    from ketaguide.storage.engine import Database
    from ketaguide.web.accounts import sign_in

    database = Database(f"sqlite:///{tmp_path / 'k.db'}")
    try:
        assert sign_in(Records(database, SystemClock()), "dr-cli", PASSWORD).name == "dr-cli"
    finally:
        database.close()
