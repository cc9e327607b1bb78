"""The web UI's security, in process (OWASP ASVS 5.0 level 2 items for server-rendered pages, security.md s.2):
output encoding, the CSP and other headers, cookies, session fixation, CSRF, lock-out, sign-out, timeouts, roles,
open redirects, bounded forms; and API tokens still working for the REST API."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

pytest.importorskip("jinja2", reason="the server extra is not installed")
pytest.importorskip("argon2", reason="the server extra is not installed")

from ketaguide.bootstrap import Runtime, build_runtime
from ketaguide.services.users import revoke_user
from ketaguide.settings import load_settings
from ketaguide.storage.tables import audit_events, patients
from ketaguide.web.accounts import LOCKOUT, MAX_FAILURES, set_password
from ketaguide.web.sessions import ABSOLUTE, IDLE
from web_testing import PASSWORD, Web, make_web, token_in

CLINICIAN_PAGES = [
    "/ask",
    "/ask?q=Is ketamine withdrawal physical?",
    "/sources",
    "/claims",
    "/conflicts",
    "/patients",
    "/assess",
    "/dose",
]
SCRIPT = "<script>alert(1)</script><img src=x onerror=alert(2)>"


@pytest.fixture(scope="module")
def web_runtime() -> Iterator[Runtime]:
    with build_runtime(load_settings(retriever="lexical")) as built:
        yield built


@pytest.fixture
def web(tmp_path: Path, web_runtime: Runtime) -> Iterator[Web]:
    yield from make_web(tmp_path, web_runtime)


def _patient_count(web: Web) -> int:
    with web.records.database.read() as connection:
        return len(connection.execute(select(patients.c.id)).all())


# Output encoding (ASVS 1.2.1) ---------------------------------------------------------------------------------------


def test_a_question_with_html_is_shown_as_text(web: Web) -> None:
    page = web.browser("dr-web").get("/ask", params={"q": SCRIPT})
    assert page.status_code == 200
    assert "<script>alert(1)" not in page.text and "<img src=x" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;" in page.text
    note = re.search(r'<textarea id="note"[^>]*>(.*?)</textarea>', page.text, re.S)
    assert note is not None and "\\<script\\>alert\\(1\\)" in html.unescape(note.group(1))  # inert in the note too


def test_a_patient_name_with_html_is_shown_as_text_everywhere(web: Web) -> None:
    browser = web.browser("dr-web")
    created = browser.post("/patients/new", {"csrf_token": browser.csrf(), "display_name": f"Eve {SCRIPT}"})
    assert created.status_code == 303
    for path in (created.headers["location"], "/patients"):
        page = browser.get(path)
        assert "<script>alert(1)" not in page.text and "<img src=x" not in page.text
        assert "Eve &lt;script&gt;alert(1)&lt;/script&gt;" in page.text


# Headers and cookies (ASVS 3.3, 3.4, 14.3.2) ------------------------------------------------------------------------


def test_every_page_has_a_strict_csp_and_the_other_headers(web: Web) -> None:
    browser = web.browser("dr-web")
    for path in [*CLINICIAN_PAGES, "/login"]:
        page = browser.get(path)
        assert page.status_code == 200, path
        csp = page.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp, path
        assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        assert page.headers["x-content-type-options"] == "nosniff"
        assert page.headers["cache-control"] == "no-store"
        assert page.headers["referrer-policy"] == "no-referrer"
        assert page.headers["x-frame-options"] == "DENY"
        assert "strict-transport-security" not in page.headers  # plain HTTP: HSTS only behind TLS
        # Nothing the CSP would block: no inline script, no event handler attribute, no style attribute.
        assert re.search(r"<script(?![^>]*\bsrc=)", page.text) is None, path
        assert re.search(r"\son[a-z]+=", page.text) is None, path
        assert ' style="' not in page.text, path
    for static in ("/static/app.js", "/static/app.css"):
        assert browser.get(static).status_code == 200
    assert browser.get("/static/../../etc/passwd").status_code == 404
    assert browser.get("/static/.env").status_code == 404


def test_the_session_cookie_is_httponly_and_samesite_and_secure_behind_tls(
    tmp_path: Path, web: Web, web_runtime: Runtime
) -> None:
    signed = web.browser().sign_in("dr-web")
    cookie = signed.headers["set-cookie"]
    assert "kg_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie.split("kg_login")[0]  # plain HTTP in this test
    (tmp_path / "tls").mkdir()
    settings = load_settings(retriever="lexical", public_url="https://kg.example")
    tls: Iterator[Web] = make_web(tmp_path / "tls", web_runtime, settings)
    tls_web = next(tls)
    try:
        browser = tls_web.browser(base_url="https://testserver")  # the Secure cookies go back over TLS only
        page = browser.get("/login")
        assert page.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
        assert "__Host-kg_login=" in page.headers["set-cookie"] and "Secure" in page.headers["set-cookie"]
        form = {"login_token": token_in(page.text, "login_token"), "username": "dr-web", "password": PASSWORD}
        signed = browser.client.post("/login", data=form)
        assert signed.status_code == 303
        session_cookie = next(c for c in signed.headers.get_list("set-cookie") if c.startswith("__Host-kg_session="))
        assert "Secure" in session_cookie and "HttpOnly" in session_cookie and "Path=/" in session_cookie
    finally:
        tls.close()


# Sessions (ASVS 7.2.4, 7.3, 7.4) ------------------------------------------------------------------------------------


def _get_with_session(web: Web, path: str, session_id: str) -> int:
    status: int = web.browser().client.get(path, headers={"Cookie": f"kg_session={session_id}"}).status_code
    return status


def test_signing_in_always_starts_a_new_session_and_ends_the_presented_one(web: Web) -> None:
    attacker = web.browser("cur-web")
    planted = attacker.session_cookie
    assert planted is not None and _get_with_session(web, "/sources", planted) == 200
    for presented in (planted, "A" * 43):  # a live session of someone else, or a well-formed id nobody was given
        victim = web.browser()
        page = victim.get("/login")
        form = {"login_token": token_in(page.text, "login_token"), "username": "dr-web", "password": PASSWORD}
        cookies = f"kg_session={presented}; kg_login={form['login_token']}"
        signed = victim.client.post("/login", data=form, headers={"Cookie": cookies})
        assert signed.status_code == 303
        given = signed.cookies.get("kg_session")
        assert given is not None and given != presented  # a new id at sign-in (session fixation, ASVS 7.2.4)
        assert _get_with_session(web, "/patients", given) == 200
        assert _get_with_session(web, "/sources", presented) == 303  # the presented session is ended, not adopted


def test_signing_out_ends_the_session_on_the_server(web: Web) -> None:
    browser = web.browser("dr-web")
    stolen = browser.session_cookie
    assert stolen is not None
    assert browser.post("/logout", {"csrf_token": browser.csrf()}).status_code == 303
    assert _get_with_session(web, "/patients", stolen) == 303


def test_idle_and_absolute_timeouts_end_the_session(web: Web) -> None:
    browser = web.browser("dr-web")
    web.clock.advance(seconds=IDLE.total_seconds() - 60)
    assert browser.get("/patients").status_code == 200
    web.clock.advance(seconds=IDLE.total_seconds() + 1)
    assert browser.get("/patients").headers["location"] == "/login?next=%2Fpatients"
    busy = web.browser("dr-web")
    for _ in range(int(ABSOLUTE / (IDLE / 2)) + 1):
        web.clock.advance(seconds=IDLE.total_seconds() / 2)
        response = busy.get("/patients")
        if response.status_code != 200:
            break
    assert response.status_code == 303  # ended at its absolute lifetime although it was never idle


def test_a_revoked_user_or_a_new_password_ends_open_sessions(web: Web) -> None:
    browser = web.browser("dr-web")
    set_password(web.records, "dr-web", "another long passphrase")
    assert browser.get("/patients").status_code == 303
    assert web.browser().sign_in("dr-web", "another long passphrase").status_code == 303
    curator = web.browser("cur-web")
    revoke_user(web.records, "cur-web")
    assert curator.get("/sources").status_code == 303
    assert web.browser().sign_in("cur-web").status_code == 401


# Sign-in and lock-out (ASVS 6.3.1, 16.3.1) --------------------------------------------------------------------------


def test_repeated_failures_lock_the_account_then_it_unlocks(web: Web) -> None:
    browser = web.browser()
    for _ in range(MAX_FAILURES):
        refused = browser.sign_in("dr-web", "wrong password, clearly")
        assert refused.status_code == 401 and "wrong, or the account is locked" in refused.text
    locked = browser.sign_in("dr-web")  # the right password, but locked
    assert locked.status_code == 401 and browser.session_cookie is None
    unknown = browser.sign_in("nobody-here", "whatever it is")
    assert unknown.status_code == 401 and unknown.text.count("wrong, or the account is locked") == 1
    web.clock.advance(seconds=LOCKOUT.total_seconds() + 1)
    assert browser.sign_in("dr-web").status_code == 303
    with web.records.database.read() as connection:
        rows = connection.execute(select(audit_events).where(audit_events.c.action == "sign-in")).mappings().all()
    outcomes = [row["outcome"] for row in rows]
    assert outcomes.count("denied") == MAX_FAILURES + 1 and "locked" in outcomes and outcomes[-1] == "success"
    unknown_rows = [row for row in rows if row["user_id"] is None]
    assert len(unknown_rows) == 1 and unknown_rows[0]["user_name"] is None  # a name typed is not recorded
    text = " ".join(str(value) for row in rows for value in row.values())
    assert PASSWORD not in text and "wrong password" not in text


# CSRF (ASVS 3.5.1-3.5.3) --------------------------------------------------------------------------------------------


def test_every_form_needs_its_csrf_token(web: Web) -> None:
    browser = web.browser("dr-web")
    other = web.browser("dr-web")
    for token in (None, "", "x" * 43, other.csrf()):
        form = {"display_name": "Mallory"} | ({"csrf_token": token} if token is not None else {})
        refused = browser.post("/patients/new", form)
        assert refused.status_code == 403 and "security token" in refused.text
    assert _patient_count(web) == 0
    assert browser.post("/logout", {"x": ""}).status_code == 403 and browser.get("/patients").status_code == 200
    token = browser.csrf()
    for headers in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        refused = browser.post("/patients/new", {"csrf_token": token, "display_name": "Mallory"}, headers=headers)
        assert refused.status_code == 403
    assert _patient_count(web) == 0
    ok = browser.post(
        "/patients/new", {"csrf_token": token, "display_name": "Ann"}, headers={"Origin": "http://testserver"}
    )
    assert ok.status_code == 303 and _patient_count(web) == 1


def test_the_sign_in_form_needs_its_own_token(web: Web) -> None:
    browser = web.browser()
    refused = browser.post("/login", {"username": "dr-web", "password": PASSWORD})
    assert refused.status_code == 403 and browser.session_cookie is None
    page = browser.get("/login")
    stale = {"login_token": "y" * 43, "username": "dr-web", "password": PASSWORD}
    assert browser.post("/login", stale).status_code == 403
    fresh = {"login_token": token_in(page.text, "login_token"), "username": "dr-web", "password": PASSWORD}
    assert browser.post("/login", fresh).status_code in (303, 403)  # the refusal above issued a new token


def test_forms_are_bounded_url_encoded_forms(web: Web) -> None:
    browser = web.browser("dr-web")
    token = browser.csrf()
    assert browser.post("/patients/new", {"csrf_token": token, "x": "y" * 70_000}).status_code == 413
    as_json = browser.client.post("/patients/new", json={"csrf_token": token, "display_name": "J"})
    assert as_json.status_code == 415


# Roles and redirects (ASVS 8.2.1, 8.3.1) ----------------------------------------------------------------------------


def test_pages_need_a_session_and_the_right_role(web: Web) -> None:
    anonymous = web.browser()
    for path in [*CLINICIAN_PAGES, "/admin", "/"]:
        response = anonymous.get(path)
        assert response.status_code == 303 and response.headers["location"].startswith("/login"), path
    curator = web.browser("cur-web")
    for path in ("/patients", "/ask", "/assess", "/dose", "/admin"):
        assert curator.get(path).status_code == 403, path
    assert curator.get("/sources").status_code == 200 and curator.get("/claims").status_code == 200
    admin = web.browser("admin-web")
    assert admin.get("/patients").status_code == 403 and admin.get("/admin").status_code == 200
    with web.records.database.read() as connection:
        refusals = (
            connection.execute(
                select(audit_events).where(
                    audit_events.c.outcome == "denied", audit_events.c.resource_type == "patient"
                )
            )
            .mappings()
            .all()
        )
    assert {row["user_name"] for row in refusals} >= {"cur-web", "admin-web"}


def test_after_sign_in_only_local_paths_are_followed(web: Web) -> None:
    for target, expected in (
        ("/patients", "/patients"),
        ("//evil.example/x", "/ask"),
        ("https://evil.example", "/ask"),
        ("/\\evil.example", "/ask"),
    ):
        signed = web.browser().sign_in("dr-web", next_=target)
        assert signed.headers["location"] == expected, target


# The REST API is unchanged --------------------------------------------------------------------------------------


def test_api_tokens_still_work_and_a_session_cookie_is_not_an_api_credential(web: Web) -> None:
    browser = web.browser("dr-web")
    asked = browser.client.post("/api/v1/answers", json={"question": "Is ketamine withdrawal physical?"})
    assert asked.status_code == 401  # the session cookie does not authenticate the API (so no CSRF there)
    bearer = {"Authorization": f"Bearer {web.tokens['dr-web']}"}
    asked = browser.client.post(
        "/api/v1/answers", json={"question": "Is ketamine withdrawal physical?"}, headers=bearer
    )
    assert asked.status_code == 200 and "references" in asked.json()
    assert "/login" not in web.app.openapi()["paths"] and "/ask" not in web.app.openapi()["paths"]
