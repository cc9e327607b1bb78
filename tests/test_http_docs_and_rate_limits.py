"""What the server exposes and how it slows automation: the API docs only when asked for (OWASP ASVS 5.0 13.4.5),
and rate limits (2.4.1): failed authentications per client address (bearer tokens and web sign-ins), a request
budget per token, 429 with `Retry-After` and a problem body, counts shared through Redis by workers."""

from __future__ import annotations

import shutil
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("limits")

from fastapi.testclient import TestClient
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter

from ketaguide.bootstrap import Runtime, SystemClock, build_runtime
from ketaguide.domain.errors import ConfigurationError
from ketaguide.http.app import create_app
from ketaguide.http.ratelimit import SweptMemoryStorage, storage_url
from ketaguide.services.records import Records
from ketaguide.services.users import add_user
from ketaguide.settings import load_settings
from ketaguide.storage.engine import Database
from test_server_support import sqlite_template  # noqa: F401  # fixture
from web_testing import PASSWORD, make_web, token_in

PROBLEM = "application/problem+json"
WRONG = {"Authorization": "Bearer kg_" + "A" * 43}  # well formed, unknown
REDIS = "redis://127.0.0.1:6379/15"


@pytest.fixture(scope="module")
def runtime() -> Iterator[Runtime]:
    with build_runtime(load_settings(retriever="lexical")) as built:
        yield built


@pytest.fixture
def records(tmp_path: Path, sqlite_template: Path) -> Iterator[Records]:  # noqa: F811
    shutil.copy(sqlite_template, tmp_path / "ketaguide.db")
    database = Database(f"sqlite:///{tmp_path / 'ketaguide.db'}")
    yield Records(database, SystemClock())
    database.close()


class Server:
    """An app on `records` built with `settings`; `client(address)` is a TestClient calling from that address."""

    def __init__(self, runtime: Runtime, records: Records, **settings: Any) -> None:
        self.app = create_app(load_settings(retriever="lexical", **settings), runtime=runtime, records=records)
        self.clients: list[TestClient] = []

    def client(self, address: str = "198.51.100.7") -> TestClient:
        client = TestClient(self.app, client=(address, 50000))
        client.__enter__()  # the lifespan: app.state.records
        self.clients.append(client)
        return client

    def close(self) -> None:
        for client in self.clients:
            client.__exit__(None, None, None)


@pytest.fixture
def serve(runtime: Runtime, records: Records) -> Iterator[Any]:
    servers: list[Server] = []

    def build(**settings: Any) -> Server:
        servers.append(Server(runtime, records, **settings))
        return servers[-1]

    yield build
    for server in servers:
        server.close()


def _bearer(records: Records, role: str = "clinician") -> dict[str, str]:
    return {"Authorization": f"Bearer {add_user(records, f'u-{uuid.uuid4().hex[:8]}', role)[1]}"}


def _too_many(response: Any, limit_seconds: int) -> dict[str, Any]:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == PROBLEM
    assert 1 <= int(response.headers["retry-after"]) <= limit_seconds
    body: dict[str, Any] = response.json()
    assert body["status"] == 429 and body["title"] == "Too many requests" and "kg_" not in response.text
    return body


# API docs (ASVS 13.4.5) -----------------------------------------------------------------------------------------


def test_a_default_server_publishes_no_api_docs(serve: Any) -> None:
    client = serve().client()
    for path in ("/openapi.json", "/docs", "/redoc", "/docs/oauth2-redirect"):
        response = client.get(path)
        assert response.status_code == 404 and response.headers["content-type"] == PROBLEM, path
    assert "/api/v1/patients" in client.app.openapi()["paths"]  # still built, for tests and `app.openapi()`


def test_api_docs_on_serve_the_document_and_its_page(serve: Any) -> None:
    client = serve(api_docs=True).client()
    document = client.get("/openapi.json").json()
    assert document["paths"] == client.app.openapi()["paths"]
    assert client.get("/docs").status_code == 200 and "swagger" in client.get("/docs").text.lower()
    assert client.get("/redoc").status_code == 404


def test_the_document_lists_429_with_retry_after_for_every_operation_with_a_token(serve: Any) -> None:
    document = serve().client().app.openapi()
    operations = [op for item in document["paths"].values() for op in item.values()]
    secured = [op for op in operations if op.get("security")]
    assert secured and len(secured) < len(operations)  # /health and /ready take no token
    for operation in operations:
        too_many = operation["responses"].get("429")
        assert (too_many is not None) == bool(operation.get("security"))
        if too_many is not None:
            assert too_many["headers"]["Retry-After"]["schema"]["type"] == "integer"
            assert too_many["content"][PROBLEM]["schema"]["$ref"].endswith("/Problem")


# Failed bearer tokens, per client address (ASVS 2.4.1) ------------------------------------------------------------


def test_a_burst_of_wrong_tokens_gets_429_after_the_limit(serve: Any, records: Records) -> None:
    server = serve(rate_limit_auth_failures="5/minute")
    attacker, other = server.client("203.0.113.9"), server.client("198.51.100.20")
    good = _bearer(records)
    statuses = [attacker.get("/api/v1/patients", headers=WRONG).status_code for _ in range(8)]
    assert statuses == [401] * 5 + [429] * 3
    _too_many(attacker.get("/api/v1/patients", headers={"Authorization": "Bearer not-even-a-token"}), 60)
    # The address is refused before its token is looked up, a valid one included (see ketaguide.http.ratelimit)...
    _too_many(attacker.get("/api/v1/patients", headers=good), 60)
    # ...while another address, with the same valid token, is served; and a request with no token stays 401.
    assert other.get("/api/v1/patients", headers=good).status_code == 200
    assert attacker.get("/api/v1/patients").status_code == 401


def test_requests_without_a_token_guess_nothing_and_are_not_counted(serve: Any, records: Records) -> None:
    client = serve(rate_limit_auth_failures="3/minute").client()
    assert {client.get("/api/v1/patients").status_code for _ in range(20)} == {401}
    assert client.get("/api/v1/patients", headers=_bearer(records)).status_code == 200


def test_the_address_is_served_again_once_its_failures_leave_the_window(serve: Any, records: Records) -> None:
    client = serve(rate_limit_auth_failures="2/second").client()
    assert [client.get("/api/v1/claims", headers=WRONG).status_code for _ in range(3)] == [401, 401, 429]
    time.sleep(1.1)
    assert client.get("/api/v1/claims", headers=_bearer(records)).status_code == 200


def test_good_traffic_within_the_default_limits_is_never_throttled(serve: Any, records: Records) -> None:
    client = serve().client()
    headers = _bearer(records)
    statuses = {client.get("/api/v1/claims", headers=headers, params={"q": "craving"}).status_code for _ in range(300)}
    statuses |= {client.get("/api/v1/patients", headers=_bearer(records)).status_code for _ in range(20)}
    assert statuses == {200}


def test_each_token_has_a_budget(serve: Any, records: Records) -> None:
    client = serve(rate_limit_token="3/minute").client()
    spender, other = _bearer(records), _bearer(records)
    assert [client.get("/api/v1/patients", headers=spender).status_code for _ in range(4)] == [200, 200, 200, 429]
    body = _too_many(client.get("/api/v1/patients", headers=spender), 60)
    assert "budget" in body["detail"]
    assert client.get("/api/v1/patients", headers=other).status_code == 200


def test_rate_limit_false_turns_every_limit_off(serve: Any, records: Records) -> None:
    client = serve(rate_limit=False, rate_limit_auth_failures="1/minute", rate_limit_token="1/minute").client()
    assert {client.get("/api/v1/patients", headers=WRONG).status_code for _ in range(10)} == {401}
    headers = _bearer(records)
    assert {client.get("/api/v1/patients", headers=headers).status_code for _ in range(10)} == {200}


def test_behind_a_trusted_proxy_the_forwarded_address_counts(serve: Any, records: Records) -> None:
    server = serve(rate_limit_auth_failures="2/minute", trusted_proxies="10.0.0.1, ::1")
    proxy = server.client("10.0.0.1")

    def via_proxy(address: str, headers: dict[str, str]) -> int:
        # The client's own X-Forwarded-For entries (here a forged one) are left of the one the proxy appends.
        forwarded = {"X-Forwarded-For": f"192.0.2.250, {address}"}
        return proxy.get("/api/v1/patients", headers={**headers, **forwarded}).status_code

    assert [via_proxy("203.0.113.1", WRONG) for _ in range(3)] == [401, 401, 429]
    assert via_proxy("203.0.113.2", _bearer(records)) == 200  # another client behind the same proxy
    # From an address that is not a trusted proxy, X-Forwarded-For is ignored: changing it does not evade the limit.
    direct = server.client("198.51.100.99")
    spoofed = [
        direct.get("/api/v1/patients", headers={**WRONG, "X-Forwarded-For": f"192.0.2.{n}"}).status_code
        for n in range(3)
    ]
    assert spoofed == [401, 401, 429]


def test_the_memory_store_counts_as_limits_does_and_sweeps_at_most_once_a_second(monkeypatch: Any) -> None:
    # `SweptMemoryStorage` replaces this private method of `limits`' store: a release renaming it must fail here.
    assert "_MemoryStorage__schedule_expiry" in vars(MemoryStorage)
    started: list[threading.Timer] = []

    class CountedTimer(threading.Timer):
        def start(self) -> None:
            started.append(self)
            super().start()

    monkeypatch.setattr(threading, "Timer", CountedTimer)
    storage = SweptMemoryStorage(wrap_exceptions=True)
    budget, failures = FixedWindowRateLimiter(storage), MovingWindowRateLimiter(storage)
    per_second = parse("3/second")
    hits = []
    for _ in range(5):  # limits' own store started a sweep thread for each of these (its last one had ended)
        hits.append((budget.hit(per_second, "token"), failures.hit(per_second, "address")))
        time.sleep(0.03)
    assert hits == [(True, True)] * 3 + [(False, False)] * 2
    assert len(started) == 1  # the first sweep, started with the store
    time.sleep(1.05)  # both windows have passed: counts are read with their expiry, swept or not
    assert budget.hit(per_second, "token") and failures.test(per_second, "address")
    assert len(started) == 2


def test_rates_are_checked_when_settings_load() -> None:
    for good in ("30/minute", "100000 per hour", "5/10 seconds", "2/Second"):
        assert load_settings(rate_limit_token=good).rate_limit_token == good
    for bad in ("30", "lots", "0/minute", "30/fortnight", "1/minute;2/hour"):
        with pytest.raises(ConfigurationError, match="KETAGUIDE_RATE_LIMIT_AUTH_FAILURES"):
            load_settings(rate_limit_auth_failures=bad)
    with pytest.raises(ConfigurationError, match="KETAGUIDE_TRUSTED_PROXIES"):
        load_settings(trusted_proxies="nginx")
    assert storage_url(None) == "memory://" and storage_url("unix:///run/redis.sock") == "redis+unix:///run/redis.sock"


# Web sign-in, per client address ----------------------------------------------------------------------------------


def _sign_in(client: TestClient, name: str, password: str) -> Any:
    form = {"login_token": token_in(client.get("/login").text, "login_token"), "username": name, "next": "/"}
    return client.post("/login", data={**form, "password": password})


def test_failed_web_sign_ins_are_throttled_per_address(tmp_path: Path, runtime: Runtime) -> None:
    settings = load_settings(retriever="lexical", rate_limit_auth_failures="3/minute")
    for web in make_web(tmp_path, runtime, settings):
        sprayer = TestClient(web.app, client=("203.0.113.50", 1), follow_redirects=False)
        # One password tried on several accounts: the lock-out per account (5 failures) never triggers...
        assert [_sign_in(sprayer, name, "Summer2026!").status_code for name in web.tokens] == [401, 401, 401]
        # ...the limit per address does, before the password is checked (the right one is refused too).
        refused = _sign_in(sprayer, "dr-web", PASSWORD)
        assert refused.status_code == 429 and "text/html" in refused.headers["content-type"]
        assert 1 <= int(refused.headers["retry-after"]) <= 60 and "Too many" in refused.text
        assert "content-security-policy" in refused.headers and "kg_session" not in refused.cookies
        colleague = TestClient(web.app, client=("198.51.100.51", 1), follow_redirects=False)
        assert _sign_in(colleague, "dr-web", PASSWORD).status_code == 303


# Redis: one count for every worker --------------------------------------------------------------------------------


def _redis_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


@pytest.mark.skipif(not _redis_answers(), reason="no Redis on 127.0.0.1:6379")
def test_workers_share_the_counts_through_redis(serve: Any, records: Records) -> None:
    address = f"2001:db8::{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}"  # unique: Redis keeps counts a minute
    limit = {"redis_url": REDIS, "rate_limit_auth_failures": "4/minute"}
    first, second = serve(**limit).client(address), serve(**limit).client(address)
    statuses = [client.get("/api/v1/patients", headers=WRONG).status_code for client in (first, second) * 2]
    assert statuses == [401] * 4
    _too_many(first.get("/api/v1/patients", headers=WRONG), 60)
    _too_many(second.get("/api/v1/patients", headers=WRONG), 60)


def test_a_limit_store_that_does_not_answer_lets_requests_through(serve: Any, records: Records) -> None:
    client = serve(redis_url="redis://127.0.0.1:9/0", rate_limit_auth_failures="1/minute").client()
    assert {client.get("/api/v1/patients", headers=WRONG).status_code for _ in range(3)} == {401}
    assert client.get("/api/v1/patients", headers=_bearer(records)).status_code == 200
