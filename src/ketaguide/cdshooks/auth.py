"""Trusting CDS clients: the JWT every call carries (CDS Hooks 2.0.1, "Trusting CDS Clients"; docs/security.md 3).

A call is accepted only when all of these hold, checked in this order; anything else is a bare 401:
1. `Authorization: Bearer <JWT>`, at most 8 KB, three segments;
2. header `alg` is ES384 or RS384 (never taken from the token to pick a verifier: `none`, HMAC and every other
   algorithm are refused before any key is touched), `typ` is JWT, `kid` is present;
3. `iss` is a registered client; a `jku` header, if any, equals the client's registered `jwks_url` (KetaGuide never
   fetches a URL a token names);
4. the key named by `kid` is the client's, of the type the algorithm needs, and the signature verifies;
5. `aud` equals the exact URL called (string, or one element of an array); `iss`, `exp`, `iat`, `jti` present;
6. time, the Clock's (passed in), with 30 s leeway: not expired, `iat` not in the future, `nbf` passed, and the token
   lives at most an hour (`exp - iat`; the best-practices page's "no more than an hour");
7. `tenant`, when the client lists tenants, is one of them;
8. the `jti` has not been used by this issuer before (the replay cache, shared by every worker): claimed here, or,
   when the call's records are written in one transaction with the claim (`verify(..., seen=recorder.seen)`),
   checked here against what the recorder knows and claimed with the records (`Caller.replay_claim`), where the
   claim decides.
The token itself is never logged or stored; the security log line names the reason and, for a registered client,
its issuer.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from ketaguide.cdshooks.clients import KEY_TYPES, Client, ClientRegistry, key_problem
from ketaguide.cdshooks.stores import REPLAYED, ReplayCache, ReplayClaim

ALGORITHMS = ("ES384", "RS384")
MAX_TOKEN_BYTES = 8192
LEEWAY_SECONDS = 30
MAX_LIFETIME_SECONDS = 3600
_REQUIRED_CLAIMS = ["iss", "aud", "exp", "iat", "jti"]
Seen = Callable[[str, str], bool]  # (issuer, jti) -> known to be used already

security_log = logging.getLogger("ketaguide.cdshooks.security")


class Unauthorized(Exception):
    """Not a call from a trusted client: answered with a bare 401. `reason` is for the security log only."""

    def __init__(self, reason: str, iss: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.iss = iss


@dataclass(frozen=True)
class Caller:
    """A verified client call: who sent it and the token's identifiers (never the token)."""

    client: Client
    jti: str
    tenant: str | None
    expires_at: datetime

    @property
    def iss(self) -> str:
        return self.client.iss

    @property
    def replay_claim(self) -> ReplayClaim:
        """The claim on this token's jti, kept until no clock could still accept the token."""
        return ReplayClaim(self.iss, self.jti, self.expires_at + timedelta(seconds=LEEWAY_SECONDS))


class KeySets:
    """Each client's public keys: inline ones as registered, `jwks_url` ones fetched and cached for an hour.

    An unknown `kid` refetches a client's JWKS at most once a minute (key rotation without a fetch per forged
    token); a failed fetch keeps the keys already held.
    """

    def __init__(
        self,
        fetch_jwks: Callable[[str], Mapping[str, Any]] | None = None,
        *,
        cache_seconds: float = 3600,
        refetch_seconds: float = 60,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch_jwks or fetch_jwks_over_https
        self._monotonic = monotonic
        self._cache_seconds = cache_seconds
        self._refetch_seconds = refetch_seconds
        self._lock = threading.Lock()
        self._fetched: dict[str, tuple[dict[str, jwt.PyJWK], float]] = {}
        self._attempted: dict[str, float] = {}
        self._inline: dict[str, dict[str, jwt.PyJWK]] = {}

    def key(self, client: Client, kid: str) -> jwt.PyJWK:
        if client.jwks is not None:
            keys = self._inline.get(client.iss)
            if keys is None:
                keys = self._inline[client.iss] = _keyset(client.jwks.keys)
            found = keys.get(kid)
        else:
            found = self._from_url(str(client.jwks_url), kid)
        if found is None:
            raise Unauthorized("unknown kid", client.iss)
        return found

    def _from_url(self, url: str, kid: str) -> jwt.PyJWK | None:
        now = self._monotonic()
        with self._lock:
            keys, fetched_at = self._fetched.get(url, ({}, float("-inf")))
            if kid in keys and now - fetched_at < self._cache_seconds:
                return keys[kid]
            if now - self._attempted.get(url, float("-inf")) < self._refetch_seconds:
                return keys.get(kid)  # fetched a moment ago: no fetch per unknown kid
            self._attempted[url] = now
        try:
            fetched = _keyset(self._fetch(url).get("keys") or [], skip_bad=True)
        except Exception:  # any failure to fetch fails closed for new keys and keeps the keys already held
            security_log.warning("JWKS fetch failed for a registered client")
            return keys.get(kid)
        with self._lock:
            self._fetched[url] = (fetched, now)
        return fetched.get(kid)


def _keyset(keys: Any, *, skip_bad: bool = False) -> dict[str, jwt.PyJWK]:
    found: dict[str, jwt.PyJWK] = {}
    for key in keys if isinstance(keys, list | tuple) else []:
        if not isinstance(key, Mapping) or key_problem(key):
            if skip_bad:
                continue
            raise ValueError("a registered key cannot verify CDS Hooks JWTs")
        found[str(key["kid"])] = jwt.PyJWK(dict(key), algorithm=KEY_TYPES[str(key["kty"])])
    return found


def fetch_jwks_over_https(url: str) -> Mapping[str, Any]:
    """GET a registered JWKS URL: https only, 5 s, 64 KB at most, no redirects."""
    import httpx

    if not url.startswith("https://"):
        raise ValueError("a JWKS URL is fetched over https only")
    with httpx.Client(follow_redirects=False, trust_env=False, timeout=5.0) as client:
        response = client.get(url, headers={"Accept": "application/json"})
    if response.status_code != 200 or len(response.content) > 65_536:
        raise ValueError("the JWKS could not be fetched")
    document = response.json()
    if not isinstance(document, dict):
        raise ValueError("a JWKS is a JSON object")
    return document


class TokenVerifier:
    """Checks the JWT of each call (see the module docstring for the rules, in order)."""

    def __init__(self, clients: ClientRegistry, replay: ReplayCache, keys: KeySets | None = None):
        self.clients = clients
        self.replay = replay
        self.keys = keys or KeySets()

    def verify(self, authorization: str | None, audience: str, now: datetime, *, seen: Seen | None = None) -> Caller:
        """The verified caller of a call to `audience` (the exact URL called) at `now` (the Clock's time): its jti
        claimed now; or, given `seen`, only checked as not used yet by it, and claimed by the caller later
        (`Caller.replay_claim`)."""
        try:
            return self._verify(authorization, audience, now, seen)
        except Unauthorized as exc:
            refused(exc)
            raise

    def _verify(self, authorization: str | None, audience: str, now: datetime, seen: Seen | None) -> Caller:
        token = _bearer(authorization)
        header = _header(token)
        client = self.clients.get(_unverified_claims(token).get("iss"))
        if client is None:
            raise Unauthorized("issuer not registered")
        jku = header.get("jku")
        if jku is not None and client.jwks_url is not None and jku != client.jwks_url:
            raise Unauthorized("jku is not the registered JWKS URL", client.iss)
        key = self.keys.key(client, str(header["kid"]))
        if KEY_TYPES.get(str(key.key_type)) != header["alg"]:
            raise Unauthorized("the key does not fit the algorithm", client.iss)
        claims = _decode(token, key, str(header["alg"]), audience, client)
        expires_at = _check_times(claims, client, now.timestamp())
        tenant = claims.get("tenant")
        if client.tenants is not None and tenant not in client.tenants:
            raise Unauthorized("tenant not allowed", client.iss)
        jti = claims.get("jti")
        if not isinstance(jti, str) or not 0 < len(jti) <= 256:
            raise Unauthorized("jti is not a string of 1 to 256 characters", client.iss)
        caller = Caller(
            client=client, jti=jti, tenant=tenant if isinstance(tenant, str) else None, expires_at=expires_at
        )
        used_before = seen(client.iss, jti) if seen is not None else not self.claim(caller)
        if used_before:
            raise Unauthorized(REPLAYED, client.iss)
        return caller

    def claim(self, caller: Caller) -> bool:
        """Claim the caller's jti now; False when it was used before."""
        found = caller.replay_claim
        return self.replay.first_use(found.issuer, found.jti, found.keep_until)


def refused(exc: Unauthorized) -> None:
    """The security log line of a refused call: the reason and, for a registered client, its issuer."""
    security_log.info("CDS Hooks call refused: %s (issuer %s)", exc.reason, exc.iss or "not registered")


def _check_times(claims: Mapping[str, Any], client: Client, now: float) -> datetime:
    exp, iat, nbf = claims.get("exp"), claims.get("iat"), claims.get("nbf", float("-inf"))
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (exp, iat, nbf)):
        raise Unauthorized("exp, iat or nbf is not a number", client.iss)
    assert isinstance(exp, int | float) and isinstance(iat, int | float) and isinstance(nbf, int | float)
    if now > exp + LEEWAY_SECONDS:
        raise Unauthorized("expired", client.iss)
    if iat > now + LEEWAY_SECONDS or nbf > now + LEEWAY_SECONDS:
        raise Unauthorized("issued in the future or not yet valid", client.iss)
    if not 0 < exp - iat <= MAX_LIFETIME_SECONDS:
        raise Unauthorized("lifetime is not between 0 and an hour", client.iss)
    return datetime.fromtimestamp(exp, UTC)


def _bearer(authorization: str | None) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("no bearer token")
    if len(token) > MAX_TOKEN_BYTES or token.count(".") != 2:
        raise Unauthorized("token too long or not a compact JWS")
    return token


def _header(token: str) -> dict[str, Any]:
    header = _unverified_segment(token, 0, "header")
    if header.get("alg") not in ALGORITHMS:
        raise Unauthorized("algorithm not allowed")
    if str(header.get("typ", "")).upper() != "JWT":
        raise Unauthorized("typ is not JWT")
    if not isinstance(header.get("kid"), str) or not header["kid"]:
        raise Unauthorized("no kid")
    return header


def _unverified_claims(token: str) -> dict[str, Any]:
    """The claims before verification, read only to find the issuer's keys."""
    return _unverified_segment(token, 1, "payload")


def _unverified_segment(token: str, n: int, name: str) -> dict[str, Any]:
    """The token's header (0) or payload (1) as a JSON object, read without verifying anything: only to choose the
    issuer's key (PyJWT reads both again, strictly, when it verifies). Reading them here rather than with PyJWT's
    unverified decoding saves two passes of its character-by-character base64url check (~0.3 ms a call)."""
    segment = token.split(".")[n]
    try:
        value = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, UnicodeDecodeError, RecursionError):  # binascii.Error and JSONDecodeError are ValueErrors
        raise Unauthorized(f"malformed {name}") from None
    if not isinstance(value, dict):
        raise Unauthorized(f"malformed {name}")
    return value


def _decode(token: str, key: jwt.PyJWK, algorithm: str, audience: str, client: Client) -> dict[str, Any]:
    options: Any = {
        "require": _REQUIRED_CLAIMS,
        # Times are checked against KetaGuide's Clock (TokenVerifier._check_times), not the system clock.
        "verify_exp": False,
        "verify_iat": False,
        "verify_nbf": False,
    }
    try:
        claims: dict[str, Any] = jwt.decode(
            token, key.key, algorithms=[algorithm], audience=audience, issuer=client.iss, options=options
        )
    except jwt.PyJWTError as exc:
        raise Unauthorized(type(exc).__name__, client.iss) from None
    return claims
