"""Trusting CDS clients: a matrix of bad tokens, each a bare 401, and the good ones (ES384, RS384) accepted.

docs/security.md 3.4 lists the cases; every refusal is also in the audit with its reason (never the token).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from test_cds_support import (
    BASE,
    EHR_ES,
    ES256,
    ES384,
    NOW,
    OTHER_ES384,
    RS384,
    bearer,
    cds_test_app,
    clients_document,
    service_url,
    token,
)

DISCOVERY = f"{BASE}/cds-services"
PUBLIC_PEM = RS384.private.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)


def _part(value: dict[str, Any] | bytes) -> str:
    data = value if isinstance(value, bytes) else json.dumps(value).encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unsigned(payload: dict[str, Any], header: dict[str, Any]) -> str:
    return f"{_part(header)}.{_part(payload)}."


def _hmac_with_public_key(payload: dict[str, Any]) -> str:
    """The classic algorithm confusion: HS256 keyed with the RSA public key the service holds."""
    signing_input = f"{_part({'alg': 'HS256', 'typ': 'JWT', 'kid': 'rs-1'})}.{_part(payload)}"
    signature = hmac.new(PUBLIC_PEM, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_part(signature)}"


def _claims(**extra: Any) -> dict[str, Any]:
    return {
        "iss": EHR_ES,
        "aud": DISCOVERY,
        "exp": int((NOW + timedelta(minutes=5)).timestamp()),
        "iat": int(NOW.timestamp()),
        "jti": "j-1",
        **extra,
    }


def _tampered() -> str:
    head, payload, signature = token(DISCOVERY).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["iss"] = EHR_ES
    claims["tenant"] = "another"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{head}.{forged}.{signature}"


# Each case: a name and the Authorization header (None: no header at all).
BAD: dict[str, Callable[[], str | None]] = {
    "no Authorization header": lambda: None,
    "Basic scheme": lambda: "Basic dXNlcjpwYXNz",
    "Bearer without a token": lambda: "Bearer ",
    "Bearer garbage": lambda: "Bearer not-a-jwt",
    "alg none": lambda: "Bearer " + _unsigned(_claims(), {"alg": "none", "typ": "JWT", "kid": "es-1"}),
    "HS256 with the RSA public key as secret (alg confusion)": lambda: (
        "Bearer " + _hmac_with_public_key(_claims(iss="https://ehr-rs.example.org"))
    ),
    "HS384 with a shared secret": lambda: (
        "Bearer " + jwt.encode(_claims(), "shared-secret-" * 4, algorithm="HS384", headers={"kid": "es-1"})
    ),
    "ES256 (not an allowed algorithm)": lambda: "Bearer " + token(DISCOVERY, key=ES256, iss=EHR_ES),
    "RS256 with the registered RSA key": lambda: (
        "Bearer "
        + jwt.encode(
            _claims(iss="https://ehr-rs.example.org"), RS384.private, algorithm="RS256", headers={"kid": "rs-1"}
        )
    ),
    "signed with the wrong key (registered kid)": lambda: "Bearer " + token(DISCOVERY, key=OTHER_ES384),
    "unknown kid": lambda: "Bearer " + token(DISCOVERY, header={"kid": "rotated-away"}),
    "missing kid": lambda: "Bearer " + jwt.encode(_claims(), ES384.private, algorithm="ES384", headers={"typ": "JWT"}),
    "typ not JWT": lambda: "Bearer " + token(DISCOVERY, header={"typ": "at+jwt"}),
    "issuer not registered": lambda: "Bearer " + token(DISCOVERY, iss="https://attacker.example"),
    "missing iss": lambda: "Bearer " + token(DISCOVERY, drop=("iss",)),
    "missing aud": lambda: "Bearer " + token(None, drop=("aud",)),
    "aud of another service": lambda: "Bearer " + token(service_url("ketaguide-order-sign")),
    "aud with the http scheme": lambda: "Bearer " + token(DISCOVERY.replace("https://", "http://")),
    "aud of another host": lambda: "Bearer " + token("https://cds.example.org/cds-services"),
    "expired": lambda: "Bearer " + token(DISCOVERY, now=NOW - timedelta(minutes=10)),
    "iat in the future": lambda: "Bearer " + token(DISCOVERY, now=NOW + timedelta(minutes=5)),
    "nbf in the future": lambda: "Bearer " + token(DISCOVERY, nbf=int((NOW + timedelta(minutes=3)).timestamp())),
    "lifetime over an hour": lambda: "Bearer " + token(DISCOVERY, exp=int((NOW + timedelta(hours=2)).timestamp())),
    "missing exp": lambda: "Bearer " + token(DISCOVERY, drop=("exp",)),
    "missing iat": lambda: "Bearer " + token(DISCOVERY, drop=("iat",)),
    "missing jti": lambda: "Bearer " + token(DISCOVERY, drop=("jti",)),
    "exp not a number": lambda: "Bearer " + token(DISCOVERY, exp="tomorrow"),
    "tampered payload": _tampered,
    "RSA kid under ES384": lambda: (
        "Bearer " + token(DISCOVERY, iss="https://ehr-rs.example.org", header={"kid": "rs-1"})
    ),
    "oversized token": lambda: "Bearer " + token(DISCOVERY, padding="x" * 9000),
}


@pytest.fixture(scope="module")
def client() -> Any:
    return cds_test_app(engine=None)


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_token_is_a_bare_401(client: Any, case: str) -> None:
    header = BAD[case]()
    response = client.get("/cds-services", headers={"Authorization": header} if header is not None else {})
    assert response.status_code == 401
    assert response.content == b""
    assert response.headers["www-authenticate"] == "Bearer"
    event = client.backend.audit.events[-1]
    assert event.status == 401 and event.reason and event.action == "cds-discovery"


def test_the_matrix_has_at_least_18_bad_tokens() -> None:
    assert len(BAD) >= 18


def test_a_replayed_jti_is_refused(client: Any) -> None:
    header = bearer(DISCOVERY)
    assert client.get("/cds-services", headers=header).status_code == 200
    assert client.get("/cds-services", headers=header).status_code == 401
    assert client.backend.audit.events[-1].reason == "jti replayed"


def test_the_same_jti_from_two_issuers_is_two_tokens(client: Any) -> None:
    assert client.get("/cds-services", headers=bearer(DISCOVERY, key=ES384, jti="shared")).status_code == 200
    assert client.get("/cds-services", headers=bearer(DISCOVERY, key=RS384, jti="shared")).status_code == 200


@pytest.mark.parametrize("key", [ES384, RS384], ids=["ES384", "RS384"])
def test_good_tokens_are_accepted(client: Any, key: Any) -> None:
    response = client.get("/cds-services", headers=bearer(DISCOVERY, key=key))
    assert response.status_code == 200
    assert {s["id"] for s in response.json()["services"]} == {
        "ketaguide-patient-view",
        "ketaguide-order-select",
        "ketaguide-order-sign",
    }


def test_aud_as_an_array_and_extra_claims_are_accepted(client: Any) -> None:
    # Epic sends nbf 5 minutes before iat and a sub; aud may be an array holding the URL called.
    nbf = int((NOW - timedelta(minutes=5)).timestamp())
    headers = bearer([DISCOVERY, "https://other.example"], nbf=nbf, sub="client-id", tenant="t1")
    assert client.get("/cds-services", headers=headers).status_code == 200


def test_a_token_within_the_leeway_is_accepted(client: Any) -> None:
    headers = bearer(DISCOVERY, now=NOW - timedelta(minutes=5, seconds=20))  # expired 20 s ago, leeway 30 s
    assert client.get("/cds-services", headers=headers).status_code == 200


def test_tenants_are_checked_when_the_client_lists_them() -> None:
    client = cds_test_app(engine=None, clients=clients_document(tenants=["clinic-a"]))
    assert client.get("/cds-services", headers=bearer(DISCOVERY, tenant="clinic-a")).status_code == 200
    assert client.get("/cds-services", headers=bearer(DISCOVERY, tenant="clinic-b")).status_code == 401
    assert client.get("/cds-services", headers=bearer(DISCOVERY)).status_code == 401


def test_aud_follows_the_public_url_not_the_host_called() -> None:
    # Behind a proxy the app is called as http://internal; the client signs for the public URL.
    client = cds_test_app(engine=None, public_url="https://cds.example.org/ketaguide")
    good = bearer("https://cds.example.org/ketaguide/cds-services")
    assert client.get("/cds-services", headers=good).status_code == 200
    assert client.get("/cds-services", headers=bearer(DISCOVERY)).status_code == 401


def test_no_clients_file_means_every_call_is_refused() -> None:
    client = cds_test_app(engine=None, clients=[])
    assert client.get("/cds-services", headers=bearer(DISCOVERY)).status_code == 401


class _Jwks:
    """A JWKS URL's documents in turn, counting fetches (no network)."""

    def __init__(self, *documents: dict[str, Any]) -> None:
        self.documents = list(documents)
        self.fetched: list[str] = []

    def __call__(self, url: str) -> dict[str, Any]:
        self.fetched.append(url)
        return self.documents[min(len(self.fetched), len(self.documents)) - 1]


class _Seconds:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _url_client(jwks: _Jwks, seconds: _Seconds | None = None) -> Any:
    from ketaguide.cdshooks.auth import KeySets

    clients = [{"iss": EHR_ES, "jwks_url": "https://ehr-es.example.org/jwks.json"}]
    keys = KeySets(jwks, refetch_seconds=60, monotonic=seconds or _Seconds())
    return cds_test_app(engine=None, clients=clients, keys=keys)


def test_jwks_url_keys_are_fetched_once_and_cached() -> None:
    jwks = _Jwks({"keys": [ES384.public_jwk]})
    client = _url_client(jwks)
    for _ in range(3):
        assert client.get("/cds-services", headers=bearer(DISCOVERY)).status_code == 200
    assert jwks.fetched == ["https://ehr-es.example.org/jwks.json"]


def test_a_rotated_key_is_fetched_but_unknown_kids_do_not_refetch_each_time() -> None:
    rotated = {**OTHER_ES384.public_jwk, "kid": "es-2"}
    jwks = _Jwks({"keys": [ES384.public_jwk]}, {"keys": [ES384.public_jwk, rotated]})
    seconds = _Seconds()
    client = _url_client(jwks, seconds)
    assert client.get("/cds-services", headers=bearer(DISCOVERY)).status_code == 200
    new_key = type(OTHER_ES384)("es-2", "ES384", OTHER_ES384.private)
    # Within a minute of the last fetch an unknown kid is refused without a fetch ...
    assert client.get("/cds-services", headers=bearer(DISCOVERY, key=new_key)).status_code == 401
    # ... after it, the unknown kid refetches once and finds the rotated key ...
    seconds.now += 61
    assert client.get("/cds-services", headers=bearer(DISCOVERY, key=new_key)).status_code == 200
    # ... and a forged kid right after does not cause another fetch.
    assert client.get("/cds-services", headers=bearer(DISCOVERY, header={"kid": "forged"})).status_code == 401
    assert len(jwks.fetched) == 2


def test_registered_keys_are_parsed_once_per_client_not_per_call(monkeypatch: pytest.MonkeyPatch) -> None:
    parsed: list[str] = []

    class CountedJwk(jwt.PyJWK):
        def __init__(self, data: dict[str, Any], algorithm: str | None = None) -> None:
            parsed.append(str(data["kid"]))
            super().__init__(data, algorithm)

    monkeypatch.setattr(jwt, "PyJWK", CountedJwk)
    client = cds_test_app(engine=None)
    for _ in range(3):
        for key in (ES384, RS384):
            assert client.get("/cds-services", headers=bearer(DISCOVERY, key=key)).status_code == 200
    assert sorted(parsed) == ["es-1", "rs-1"]


def test_a_jku_other_than_the_registered_url_is_refused_without_a_fetch() -> None:
    jwks = _Jwks({"keys": [ES384.public_jwk]})
    client = _url_client(jwks)
    headers = bearer(DISCOVERY, header={"jku": "https://attacker.example/jwks.json"})
    assert client.get("/cds-services", headers=headers).status_code == 401
    assert jwks.fetched == []


def test_a_registered_jku_is_accepted() -> None:
    client = _url_client(_Jwks({"keys": [ES384.public_jwk]}))
    headers = bearer(DISCOVERY, header={"jku": "https://ehr-es.example.org/jwks.json"})
    assert client.get("/cds-services", headers=headers).status_code == 200


def test_tokens_are_never_logged(client: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    good, bad = token(DISCOVERY), token(DISCOVERY, key=OTHER_ES384)
    client.get("/cds-services", headers={"Authorization": f"Bearer {good}"})
    client.get("/cds-services", headers={"Authorization": f"Bearer {bad}"})
    assert "refused" in caplog.text
    assert good not in caplog.text and bad not in caplog.text and "eyJ" not in caplog.text


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ({"iss": "x"}, "exactly one of jwks"),
        ({"iss": "x", "jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "a"}]}}, "private key"),
        ({"iss": "x", "jwks": {"keys": [{**ES256.public_jwk}]}}, "P-384"),
        ({"iss": "x", "jwks": {"keys": [{**ES384.public_jwk, "kid": ""}]}}, "kid"),
        ({"iss": "x", "jwks_url": "https://a", "surprise": 1}, "Extra inputs"),
    ],
)
def test_a_bad_clients_file_names_the_variable(document: dict[str, Any], problem: str) -> None:
    from ketaguide.cdshooks.clients import parse_clients
    from ketaguide.domain.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="KETAGUIDE_CDS_CLIENTS") as raised:
        parse_clients([document])
    assert problem in str(raised.value)


def test_a_clients_file_with_a_duplicate_issuer_is_refused() -> None:
    from ketaguide.cdshooks.clients import parse_clients
    from ketaguide.domain.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="listed twice"):
        parse_clients(clients_document() + clients_document())
