"""Shared helpers for the CDS Hooks tests (imported as `test_cds_support`), and the tests of the card checker itself.

- keys: an ES384 and an RS384 key pair made once per session, registered as two clients' JWKS;
- `token(...)`: a client JWT with every claim the spec requires, any of them overridden or removed;
- `check_cards(body)`: the spec's card rules on every response the tests see: no null or empty member anywhere,
  summary under 140 characters, indicator, source label, unique uuids, override reasons with a display (cds-resp-4),
  appContext only on smart links (cds-resp-3), and the FHIRPath invariants cds-resp-1 and cds-resp-6 evaluated with
  fhirpathpy, as the spec writes them (HL7/cds-hooks input/fsh/invariants);
- `FakeFhirServer`: a real HTTP server on 127.0.0.1 serving canned FHIR JSON, recording each request, optionally slow;
- `cds_test_app(...)`: the router in a bare app with a fixed clock, memory stores and the session's content.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fhirpathpy import evaluate as fhirpath

DATA = Path(__file__).parent / "data" / "cds"
BASE = "https://ketaguide.test"
EHR_ES = "https://ehr-es.example.org"
EHR_RS = "https://ehr-rs.example.org"
FHIR = "http://127.0.0.1:1"  # replaced by a FakeFhirServer's URL where a test fetches
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)

# cds-resp-1 and cds-resp-6 as the spec's FSH invariants state them.
CDS_RESP_1 = "(selectionBehavior = 'at-most-one') implies (suggestions.where(isRecommended = true).count() <= 1)"
CDS_RESP_6 = "suggestions.exists() implies selectionBehavior.exists()"


class FixedClock:
    def __init__(self, now: datetime = NOW) -> None:
        self.current = now

    def now(self) -> datetime:
        return self.current


@dataclass(frozen=True)
class SigningKey:
    kid: str
    alg: str
    private: Any

    @property
    def public_jwk(self) -> dict[str, Any]:
        algorithm = jwt.get_algorithm_by_name(self.alg)
        jwk: dict[str, Any] = json.loads(algorithm.to_jwk(self.private.public_key()))
        return {**jwk, "kid": self.kid, "use": "sig", "alg": self.alg}


ES384 = SigningKey("es-1", "ES384", ec.generate_private_key(ec.SECP384R1()))
RS384 = SigningKey("rs-1", "RS384", rsa.generate_private_key(public_exponent=65537, key_size=2048))
OTHER_ES384 = SigningKey("es-1", "ES384", ec.generate_private_key(ec.SECP384R1()))  # same kid, not registered
ES256 = SigningKey("es-256", "ES256", ec.generate_private_key(ec.SECP256R1()))


def clients_document(**extra: Any) -> list[dict[str, Any]]:
    """Two registered EHRs: one signing ES384, one RS384 (both may name the test FHIR servers)."""
    return [
        {"iss": EHR_ES, "jwks": {"keys": [ES384.public_jwk]}, "origins": ["https://ehr-es.example.org"], **extra},
        {"iss": EHR_RS, "jwks": {"keys": [RS384.public_jwk]}, **extra},
    ]


def token(
    audience: str | list[str] | None,
    *,
    key: SigningKey = ES384,
    iss: str | None = None,
    now: datetime = NOW,
    drop: tuple[str, ...] = (),
    header: Mapping[str, Any] | None = None,
    **claims: Any,
) -> str:
    """A client JWT for `audience` (the exact URL called), valid at `now`; `claims` override, `drop` removes."""
    payload: dict[str, Any] = {
        "iss": iss or (EHR_RS if key.alg.startswith("RS") else EHR_ES),
        "aud": audience,
        "exp": int((now + timedelta(minutes=5)).timestamp()),
        "iat": int(now.timestamp()),
        "jti": str(uuid.uuid4()),
        **claims,
    }
    for name in drop:
        payload.pop(name, None)
    headers = {"kid": key.kid, "typ": "JWT", **(header or {})}
    return jwt.encode(payload, key.private, algorithm=key.alg, headers=headers)


def bearer(audience: str | list[str] | None, **kwargs: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(audience, **kwargs)}"}


def service_url(service_id: str, base: str = BASE) -> str:
    return f"{base}/cds-services/{service_id}"


# --- card checks ------------------------------------------------------------------------------------------------


def empty_members(value: Any, path: str = "$") -> list[str]:
    """Every null or empty member under `value` (spec: Use of JSON), by path."""
    found = []
    if isinstance(value, dict):
        for key, item in value.items():
            if item is None or (isinstance(item, str | list | dict) and len(item) == 0):
                found.append(f"{path}.{key}")
            found += empty_members(item, f"{path}.{key}")
    elif isinstance(value, list):
        for n, item in enumerate(value):
            found += empty_members(item, f"{path}[{n}]")
    return found


def card_problems(card: Mapping[str, Any]) -> list[str]:
    problems = []
    summary = card.get("summary")
    if not isinstance(summary, str) or not 0 < len(summary) < 140:
        problems.append(f"summary is not a string under 140 characters: {summary!r}")
    if card.get("indicator") not in ("info", "warning", "critical"):
        problems.append(f"indicator {card.get('indicator')!r}")
    if not isinstance(card.get("source"), dict) or not card["source"].get("label"):
        problems.append("source.label missing")
    for name, expression in (("cds-resp-1", CDS_RESP_1), ("cds-resp-6", CDS_RESP_6)):
        if fhirpath(dict(card), expression) != [True]:
            problems.append(f"{name} fails")
    if any(not r.get("display") for r in card.get("overrideReasons", [])):
        problems.append("cds-resp-4 fails (an override reason without display)")
    if any("appContext" in link and link.get("type") != "smart" for link in card.get("links", [])):
        problems.append("cds-resp-3 fails (appContext on a non-smart link)")
    if card.get("selectionBehavior") not in (None, "at-most-one", "any"):
        problems.append("selectionBehavior unknown")
    return problems


def check_cards(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Assert the spec's rules on a CDS response; return its cards."""
    assert isinstance(body.get("cards"), list), body
    cards: list[dict[str, Any]] = body["cards"]
    assert empty_members({k: v for k, v in body.items() if k != "cards"}) == []
    for n, card in enumerate(cards):
        assert empty_members(card, f"cards[{n}]") == [], card
        assert card_problems(card) == [], card
        assert "uuid" in card
    uuids = [c["uuid"] for c in cards] + [s["uuid"] for c in cards for s in c.get("suggestions", [])]
    assert len(uuids) == len(set(uuids))
    return cards


# The opioid-cds-r4 responses' defects (docs/cds-hooks.md 7.1.3), as the checker must see them.
def test_the_checker_finds_a_157_character_summary() -> None:
    card = {"summary": "x" * 157, "indicator": "warning", "source": {"label": "CDC"}}
    assert card_problems(card) == [f"summary is not a string under 140 characters: {'x' * 157!r}"]


def test_the_checker_finds_suggestions_without_selection_behavior() -> None:
    card = {"summary": "ok", "indicator": "info", "source": {"label": "x"}, "suggestions": [{"label": "a"}]}
    assert card_problems(card) == ["cds-resp-6 fails"]


def test_the_checker_finds_two_recommended_suggestions_with_at_most_one() -> None:
    suggestions = [{"label": "a", "isRecommended": True}, {"label": "b", "isRecommended": True}]
    card = {"summary": "ok", "indicator": "info", "source": {"label": "x"}, "suggestions": suggestions}
    assert card_problems({**card, "selectionBehavior": "at-most-one"}) == ["cds-resp-1 fails"]
    assert card_problems({**card, "selectionBehavior": "any"}) == []


def test_the_checker_finds_empty_and_null_members() -> None:
    assert empty_members({"a": None, "b": [], "c": {"d": ""}, "e": [{"f": {}}]}) == ["$.a", "$.b", "$.c.d", "$.e[0].f"]


# --- a real FHIR server on loopback ------------------------------------------------------------------------------


@dataclass
class FakeFhirServer:
    """Serves `routes` (path with query -> (status, JSON)) on 127.0.0.1; `delay` seconds before each answer."""

    routes: dict[str, tuple[int, Any]] = field(default_factory=dict)
    delay: float = 0.0
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake.requests.append((self.path, dict(self.headers)))
                time.sleep(fake.delay)
                status, body = fake.routes.get(
                    self.path.removeprefix("/fhir"), (404, {"resourceType": "OperationOutcome"})
                )
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/fhir+json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client gave up (the timeout tests)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/fhir"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def fhir_server() -> Iterator[FakeFhirServer]:
    server = FakeFhirServer()
    yield server
    server.close()


# --- the app under test -----------------------------------------------------------------------------------------


def care_engine() -> Any:
    """The care engine on the bundled content, as the server runs it."""
    from ketaguide.bootstrap import build_runtime
    from ketaguide.cdshooks.service import CareEngine
    from ketaguide.services.assessment import assess

    runtime = build_runtime()
    return CareEngine(knowledge=runtime.knowledge, assess=lambda document: assess(runtime, document))


def cds_test_app(
    engine: Any,
    *,
    clients: list[dict[str, Any]] | None = None,
    stores: Any = None,
    audit: Any = None,
    clock: FixedClock | None = None,
    public_url: str | None = BASE,
    budget: float = 2.0,
    keys: Any = None,
    fetcher: Any = None,
    recorder: Any = None,
) -> Any:
    from fastapi.testclient import TestClient

    from ketaguide.cdshooks.clients import parse_clients
    from ketaguide.cdshooks.stores import CdsStores, MemoryHookAudit
    from ketaguide.http.cds_hooks import Backend, cds_app, cds_hooks_router

    backend = Backend(engine=engine, clock=clock or FixedClock(), audit=audit or MemoryHookAudit(), recorder=recorder)
    stores = stores or CdsStores.memory()
    router = cds_hooks_router(
        backend,
        clients=parse_clients(clients if clients is not None else clients_document()),
        stores=stores,
        public_url=public_url,
        fetch_budget_seconds=budget,
        keys=keys,
        fetcher=fetcher,
    )
    client = TestClient(cds_app(router), base_url=BASE)
    client.backend = backend
    client.stores = stores
    return client


def load_case(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((DATA / name).read_text(encoding="utf-8"))
    return document


def order_sign_case(name: str = "sign-naltrexone-with-methadone") -> dict[str, Any]:
    """A golden case (`data/cds/cases/<name>.json`): its service, request and expected cards."""
    case: dict[str, Any] = json.loads((DATA / "cases" / f"{name}.json").read_text("utf-8"))
    return case


def server_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The settings `ketaguide serve` reads for CDS Hooks, on a migrated SQLite database in `tmp_path`: the two test
    EHRs registered, the database-backed stores (no Redis), the lexical retriever."""
    from ketaguide.storage.engine import Database
    from ketaguide.storage.schema import upgrade

    database = Database(f"sqlite:///{tmp_path / 'ketaguide.db'}")
    upgrade(database)
    database.close()
    clients = tmp_path / "cds-clients.json"
    clients.write_text(json.dumps(clients_document()), encoding="utf-8")
    monkeypatch.setenv("KETAGUIDE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("KETAGUIDE_RETRIEVER", "lexical")
    monkeypatch.setenv("KETAGUIDE_CDS_CLIENTS", str(clients))
    monkeypatch.setenv("KETAGUIDE_PUBLIC_URL", BASE)
    monkeypatch.delenv("KETAGUIDE_REDIS_URL", raising=False)
    return tmp_path


def call(client: Any, service_id: str, body: Any, **token_kwargs: Any) -> Any:
    headers = {**bearer(service_url(service_id), **token_kwargs), "Content-Type": "application/json"}
    return client.post(f"/cds-services/{service_id}", content=json.dumps(body), headers=headers)


def timed(operation: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    result = operation()
    return result, time.perf_counter() - started
