"""The web UI end to end: Debian's chromium (Playwright, headless) against a real `ketaguide serve` process.

Flows: sign in; ask and follow a citation to the highlighted quote; create a patient; submit an intake with a bad
field and see the error at that field; see the care plan; add observations and see them on the chart; sign out;
a second user without the role is refused. The same flows by keyboard alone. Every page at 1280 and 390 pixels
wide: a screenshot (see conftest.py for where) and axe-core with no serious or critical violation. The browser's
console shows no Content-Security-Policy violation, and HTML typed by a user is shown as text, never run.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from web_e2e_support import AXE, PASSWORD, WebServer

pytestmark = pytest.mark.slow
QUESTION = "Does lamotrigine help with ketamine craving and relapse?"
WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}


def _sign_in(page: Page, base: str, name: str, password: str = PASSWORD) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def _csp_watch(page: Page) -> list[str]:
    """Console messages about the Content-Security-Policy (a blocked inline script or style would show here)."""
    found: list[str] = []
    page.on(
        "console", lambda message: found.append(message.text) if "Content Security Policy" in message.text else None
    )
    return found


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    made = browser.new_context(viewport={"width": 1280, "height": 900})
    yield made
    made.close()


def _create_patient(page: Page, base: str, name: str) -> str:
    page.goto(f"{base}/patients")
    page.get_by_label("Name (required)").fill(name)
    page.get_by_label("MRN (optional)").fill(f"MRN-{abs(hash(name)) % 10**8}")
    page.get_by_role("button", name="Add the patient").click()
    page.wait_for_url(re.compile(r"/patients/[0-9a-f-]{36}$"))
    return page.url


def test_a_clinician_asks_follows_a_citation_and_follows_a_patient_over_time(
    web_server: WebServer, context: BrowserContext, screenshots: Path
) -> None:
    page = context.new_page()
    csp = _csp_watch(page)
    base = web_server.base
    _sign_in(page, base, "dr-e2e")
    expect(page).to_have_url(f"{base}/ask")

    # Ask, then follow the first citation to the highlighted quote in its source.
    page.get_by_label("Question about ketamine use disorder").fill(QUESTION)
    page.get_by_role("button", name="Ask", exact=True).click()
    expect(page.get_by_role("heading", name="Bottom line")).to_be_visible()
    expect(page.locator("details.certainty summary")).to_contain_text("Certainty (GRADE)")
    page.locator("details.certainty summary").click()
    expect(page.locator("details.certainty li").first).to_be_visible()
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    page.get_by_role("button", name="Copy as note").click()
    expect(page.locator("#copy-status")).to_have_text("Copied the note to the clipboard.")
    assert page.evaluate("navigator.clipboard.readText()") == page.locator("#note").input_value()
    first_quote = (
        page.locator("ol.refs li blockquote").first.inner_text().strip().removeprefix("\u201c").removesuffix("\u201d")
    )
    page.locator(".bottom-line a.cite").first.click()
    page.wait_for_url(re.compile(r"/sources/.+\?start=\d+&end=\d+#quote$"))
    quote = page.locator("#quote")
    expect(quote).to_be_visible()
    expect(quote).to_be_in_viewport()
    marked = page.locator(".source-text mark.quote").evaluate_all("marks => marks.map(m => m.textContent).join('')")
    document = page.locator(".source-text").evaluate("element => element.textContent")
    match = re.search(r"start=(\d+)&end=(\d+)", page.url)
    assert match is not None
    start, end = int(match[1]), int(match[2])
    assert marked == document[start:end]  # exactly the quoted characters, at their offsets, are highlighted
    assert " ".join(marked.split()) == " ".join(first_quote.split())  # and they are the quote the answer cites
    assert page.locator(".source-text mark.claim").count() > 0  # the document's other claims are marked
    expect(page.get_by_role("heading", name=re.compile(r"^Reliability: "))).to_be_visible()

    # A patient: a bad field is reported at that field, nothing typed is lost; then the care plan.
    patient_url = _create_patient(page, base, "Jo E2E Example")
    page.get_by_role("link", name="New intake").click()
    page.get_by_label("Age (years) (required)").fill("thirty")
    page.get_by_label("Sex (required)").select_option("female")
    page.get_by_label("Craving", exact=True).check()
    page.get_by_label("Tolerance").check()
    page.get_by_label("Hours since last ketamine use").fill("2400")
    page.get_by_label("Medicines").fill("Depakote 500 mg\nLAMICTAL")
    page.get_by_role("button", name="Store the intake and show the care plan").click()
    age_field = page.locator(".field.has-error").filter(has=page.locator("#f-age"))
    expect(age_field.locator(".field-error")).to_contain_text("whole number")
    expect(page.locator("#f-age")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#f-age")).to_have_value("thirty")
    expect(page.locator("#f-medications")).to_have_value("Depakote 500 mg\nLAMICTAL")
    expect(page.get_by_label("Tolerance")).to_be_checked()
    page.screenshot(path=str(screenshots / "desktop-dr-e2e-intake-with-an-error.png"), full_page=True)
    page.locator("#f-age").fill("29")
    page.locator("#f-asq-q1-yes").check()
    for item in ("q2", "q3", "q4"):
        page.locator(f"#f-asq-{item}-no").check()
    page.get_by_role("button", name="Store the intake and show the care plan").click()
    page.wait_for_url(re.compile(r"/patients/[0-9a-f-]{36}#care-plan$"))
    expect(page.get_by_role("heading", name=re.compile("Latest care plan"))).to_be_visible()
    first_flag = page.locator(".flag").first
    expect(first_flag).to_contain_text("Emergency")  # red flags first, the urgency in words
    expect(page.get_by_role("heading", name="Options by phase")).to_be_visible()

    # Two observations appear on the chart (points) and in its table.
    for day, craving, use_days, screen in (("2026-11-20", "7", "3", "positive"), ("2026-11-27", "4", "1", "negative")):
        page.get_by_label("Date (required)").fill(day)
        page.get_by_label("Craving score (0-10)", exact=True).fill(craving)
        page.get_by_label("Days of ketamine use in the past 7 (0-7)").fill(use_days)
        page.get_by_label("Urine drug screen", exact=True).select_option(screen)
        page.get_by_role("button", name="Add the observation").click()
        page.wait_for_url(re.compile(r"#monitoring$"))
    expect(page.locator("svg circle.point-1")).to_have_count(2)
    expect(page.locator("svg rect.point-2")).to_have_count(2)
    expect(page.locator("svg .event-label")).to_have_count(1)
    expect(page.locator(".chart-table tbody tr")).to_have_count(2)
    assert patient_url in page.url

    # Sign out: the session is over, a page sends the browser back to sign-in.
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You have signed out.")).to_be_visible()
    page.goto(f"{base}/ask")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    assert csp == []


def test_a_user_without_the_role_is_refused(web_server: WebServer, context: BrowserContext) -> None:
    page = context.new_page()
    _sign_in(page, web_server.base, "cur-e2e")
    expect(page).to_have_url(f"{web_server.base}/sources")
    for path in ("/patients", "/ask", "/admin"):
        response = page.goto(f"{web_server.base}{path}")
        assert response is not None and response.status == 403
        expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    assert page.get_by_role("link", name="Patients").count() == 0  # not offered in the navigation either


def test_every_flow_by_keyboard_alone(web_server: WebServer, context: BrowserContext) -> None:
    page = context.new_page()
    base = web_server.base
    page.goto(f"{base}/login")
    keyboard = page.keyboard
    _tab_to(page, "#username")
    keyboard.type("dr-e2e")
    keyboard.press("Tab")
    keyboard.type(PASSWORD)
    keyboard.press("Enter")
    page.wait_for_url(f"{base}/ask")
    _tab_to(page, "#q")
    keyboard.type(QUESTION)
    keyboard.press("Enter")
    page.wait_for_selector(".bottom-line")
    _tab_to(page, ".bottom-line a.cite")
    keyboard.press("Enter")
    page.wait_for_url(re.compile(r"#quote$"))
    expect(page.locator("#quote")).to_be_in_viewport()

    page.goto(f"{base}/patients")
    _tab_to(page, "#f-display_name")
    keyboard.type("Kim Keyboard")
    keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/patients/[0-9a-f-]{36}$"))
    _tab_to(page, "a.button")  # New intake
    keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/intake$"))
    _tab_to(page, "#f-age")
    keyboard.type("41")
    _tab_to(page, "#f-sex")
    keyboard.press("ArrowDown")  # the first sex after "Choose…"
    _tab_to(page, "#f-criteria-craving")
    keyboard.press("Space")
    _tab_to(page, "button[type=submit]:not(header button)")
    keyboard.press("Enter")
    page.wait_for_url(re.compile(r"#care-plan$"))
    expect(page.get_by_role("heading", name=re.compile("Latest care plan"))).to_be_visible()
    _tab_to(page, "header button")  # Sign out
    keyboard.press("Enter")
    expect(page.get_by_text("You have signed out.")).to_be_visible()


def _tab_to(page: Page, selector: str, limit: int = 200) -> None:
    """Press Tab until the element matching `selector` has the focus (fails if it never does)."""
    target = page.locator(selector).first
    for _ in range(limit):
        if target.evaluate("element => element === document.activeElement"):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"{selector} was not reached with the Tab key")


def test_user_html_is_shown_as_text_never_run(web_server: WebServer, context: BrowserContext) -> None:
    page = context.new_page()
    base = web_server.base
    _sign_in(page, base, "dr-e2e")
    script = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'
    page.goto(f"{base}/ask?q={script}")
    expect(page.locator("#q")).to_have_value(script)
    assert page.evaluate("window.__pwned") is None
    _create_patient(page, base, f"Eve {script}")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Eve {script}")
    assert page.evaluate("window.__pwned") is None


# Every page at both widths: a screenshot, and axe-core ---------------------------------------------------------


def _pages(web_server: WebServer, browser: Browser) -> dict[str, list[str]]:
    """Fills the server with example data (as the clinician) and names the pages to visit, per user."""
    context = browser.new_context()
    page = context.new_page()
    base = web_server.base
    _sign_in(page, base, "dr-e2e")
    patient = _create_patient(page, base, "Sam Screenshot")
    page.goto(f"{patient}/intake")
    intake = json.loads(
        (Path(__file__).resolve().parents[2] / "examples/intakes/severe-relapse-prevention.json").read_text()
    )
    page.locator("#f-age").fill(str(intake["age"]))
    page.locator("#f-sex").select_option(intake["sex"])
    for group in ("criteria", "symptoms", "conditions", "other_substances"):
        for code in intake.get(group, []):
            page.locator(f"#f-{group}-{code}").check()
    page.locator("#f-medications").fill("\n".join(intake["medications"]))
    page.locator("#f-last_ketamine_use_hours").fill(str(intake["last_ketamine_use_hours"]))
    page.locator("#f-craving_score").fill(str(intake["craving_score"]))
    page.get_by_role("button", name="Store the intake and show the care plan").click()
    page.wait_for_url(re.compile("#care-plan$"))
    for day, craving, use_days, screen in (
        ("2026-11-02", "8", "5", "positive"),
        ("2026-11-16", "6", "2", "negative"),
        ("2026-11-30", "3", "0", "not_done"),
    ):
        page.get_by_label("Date (required)").fill(day)
        page.get_by_label("Craving score (0-10)", exact=True).fill(craving)
        page.get_by_label("Days of ketamine use in the past 7 (0-7)").fill(use_days)
        page.get_by_label("Urine drug screen", exact=True).select_option(screen)
        page.get_by_role("button", name="Add the observation").click()
        page.wait_for_url(re.compile("#monitoring$"))
    page.goto(f"{base}/ask?q={QUESTION}")
    source = page.locator(".bottom-line a.cite").first.get_attribute("href")
    encounter = page.goto(patient) and page.locator("ol.encounters a").first.get_attribute("href")
    context.close()
    clinician = [
        "/ask",
        f"/ask?q={QUESTION}",
        "/ask?q=What is the best pizza topping?",
        str(source).replace("#quote", ""),
        "/sources",
        "/claims",
        "/claims?type=efficacy&design=case_report",
        "/conflicts",
        "/patients",
        patient.removeprefix(base),
        f"{patient.removeprefix(base)}/intake",
        str(encounter),
        "/assess",
        "/dose",
        "/dose?tool=lamotrigine&with=Depakote+500+mg%0ATegretol&age=30",
        "/dose?tool=ketamine&weight_kg=70&route=iv&mg=140&minutes=40",
        "/dose?tool=lamotrigine&with=Notamedicine",
    ]
    return {"dr-e2e": clinician, "admin-e2e": ["/admin"], "anonymous": ["/login"]}


def _slug(path: str) -> str:
    named = re.sub(
        r"/patients/[0-9a-f-]{36}", "/patients/ID", re.sub(r"/encounters/[0-9a-f-]{36}", "/encounters/ID", path)
    )
    return re.sub(r"[^A-Za-z0-9]+", "-", named).strip("-")[:80] or "home"


def _axe(page: Page) -> list[dict[str, Any]]:
    page.add_script_tag(path=str(AXE))
    tags = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
    script = "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}})"
    result: dict[str, Any] = page.evaluate(script, tags)
    return [v for v in result["violations"] if v.get("impact") in ("serious", "critical")]


def test_every_page_at_both_widths_has_no_serious_axe_violation(
    web_server: WebServer, browser: Browser, screenshots: Path
) -> None:
    pages = _pages(web_server, browser)
    failures: list[str] = []
    report: list[dict[str, Any]] = []
    for user, paths in pages.items():
        for width_name, (width, height) in WIDTHS.items():
            # axe is injected as a script: this context lets it past the CSP (the other tests keep the CSP).
            context = browser.new_context(viewport={"width": width, "height": height}, bypass_csp=True)
            page = context.new_page()
            if user != "anonymous":
                _sign_in(page, web_server.base, user)
            for path in paths:
                response = page.goto(f"{web_server.base}{path}")
                assert response is not None and response.status < 500, path
                page.screenshot(path=str(screenshots / f"{width_name}-{user}-{_slug(path)}.png"), full_page=True)
                serious = _axe(page)
                report.append({"user": user, "width": width, "path": path, "serious_or_critical": len(serious)})
                failures += [f"{width_name} {path}: {v['id']} ({v['impact']}): {v['help']}" for v in serious]
            if width_name == "desktop" and user == "dr-e2e":
                patient = next(p for p in paths if re.fullmatch(r"/patients/[0-9a-f-]{36}", p))
                page.goto(f"{web_server.base}{patient}")
                page.emulate_media(media="print")
                page.evaluate("window.dispatchEvent(new Event('beforeprint'))")  # as the browser does on printing
                page.screenshot(path=str(screenshots / "print-care-plan.png"), full_page=True)
                page.emulate_media(media="screen")
            context.close()
    (screenshots / "axe-report.json").write_text(json.dumps(report, indent=1))
    assert failures == []
