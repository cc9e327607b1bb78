"""What the web UI's in-process tests share: an app on a fresh SQLite database with one user per role (each with a
password), a clock the tests move, and a browser-like client that signs in and reads CSRF tokens from pages."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("jinja2", reason="the server extra is not installed")
pytest.importorskip("argon2", reason="the server extra is not installed")

from fastapi.testclient import TestClient

from ketaguide.bootstrap import Runtime
from ketaguide.http.app import create_app
from ketaguide.services.records import Records
from ketaguide.services.users import add_user
from ketaguide.settings import Settings, load_settings
from ketaguide.storage.engine import Database
from ketaguide.storage.schema import upgrade
from ketaguide.web.accounts import set_password

PASSWORD = "a long test passphrase"
ROLES = {"dr-web": "clinician", "cur-web": "curator", "admin-web": "admin"}
INTAKES = Path(__file__).resolve().parents[1] / "examples" / "intakes"


class MovableClock:
    """Now, as the test sets it (UTC); thread-safe, as the app reads it from worker threads."""

    def __init__(self) -> None:
        self.current = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
        self.lock = threading.Lock()

    def now(self) -> datetime:
        with self.lock:
            return self.current

    def advance(self, **delta: float) -> None:
        with self.lock:
            self.current += timedelta(**delta)


def token_in(html: str, name: str = "csrf_token") -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found is not None, f"no {name} in the page"
    return found.group(1)


class Browser:
    """A TestClient with its own cookies, as one browser."""

    def __init__(self, app: Any, base_url: str = "http://testserver") -> None:
        self.client = TestClient(app, base_url=base_url, follow_redirects=False)

    def sign_in(self, name: str, password: str = PASSWORD, next_: str = "/") -> Any:
        page = self.client.get("/login")
        form = {"login_token": token_in(page.text, "login_token"), "username": name, "password": password}
        return self.client.post("/login", data={**form, "next": next_})

    def csrf(self, path: str = "/patients") -> str:
        return token_in(self.client.get(path).text)

    def get(self, path: str, **kw: Any) -> Any:
        return self.client.get(path, **kw)

    def post(self, path: str, data: Any, **kw: Any) -> Any:
        return self.client.post(path, data=data, **kw)

    @property
    def session_cookie(self) -> str | None:
        return self.client.cookies.get("kg_session")


class Web:
    """The app, its records and clock, and one signed-in browser per role."""

    def __init__(self, app: Any, records: Records, clock: MovableClock, tokens: dict[str, str]) -> None:
        self.app, self.records, self.clock, self.tokens = app, records, clock, tokens

    def browser(self, name: str | None = None, base_url: str = "http://testserver") -> Browser:
        browser = Browser(self.app, base_url)
        if name is not None:
            assert browser.sign_in(name).status_code == 303
        return browser


def make_web(tmp_path: Path, runtime: Runtime, settings: Settings | None = None) -> Iterator[Web]:
    database = Database(f"sqlite:///{tmp_path / 'web.db'}")
    upgrade(database)
    clock = MovableClock()
    records = Records(database=database, clock=clock)
    tokens = {}
    for name, role in ROLES.items():
        tokens[name] = add_user(records, name, role)[1]
        set_password(records, name, PASSWORD)
    app = create_app(settings or load_settings(retriever="lexical"), runtime=runtime, records=records)
    with TestClient(app):  # runs the lifespan once: the app's state is set for every browser
        yield Web(app, records, clock, tokens)
    database.close()


WEB_FIXTURES = """
Each test module declares the two fixtures itself (importing fixtures would shadow them):

    @pytest.fixture(scope="module")
    def web_runtime() -> Iterator[Runtime]:
        with build_runtime(load_settings(retriever="lexical")) as built:
            yield built

    @pytest.fixture
    def web(tmp_path: Path, web_runtime: Runtime) -> Iterator[Web]:
        yield from make_web(tmp_path, web_runtime)
"""
