"""The EHRs allowed to call KetaGuide's CDS services: the JSON file named by KETAGUIDE_CDS_CLIENTS.

    [{"iss": "https://ehr.example.org",                 # the JWT issuer, exactly as the EHR writes it
      "jwks": {"keys": [...]},                           # its public keys (pinned, registered out of band) ...
      "jwks_url": "https://ehr.example.org/jwks.json",   # ... or where to fetch them (exactly one of the two)
      "tenants": ["a"],                                  # optional: the `tenant` claims allowed
      "fhir_servers": ["https://ehr.example.org/fhir"],  # optional: servers KetaGuide may fetch missing data from
      "origins": ["https://ehr.example.org"],            # optional: browser origins allowed by CORS
      "smart_launch_url": "https://..."}]                # optional: patient-view links become SMART links

The file is checked when the service starts: an unknown member, a private or symmetric key, a key that is not
ES384/RS384-capable or an issuer listed twice is a configuration error naming KETAGUIDE_CDS_CLIENTS. Without the
setting no client is trusted and every call is refused (401).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ketaguide.domain.errors import ConfigurationError, FieldProblem

VARIABLE = "KETAGUIDE_CDS_CLIENTS"
# What each accepted algorithm needs of a key (RFC 7518): ES384 a P-384 EC key, RS384 an RSA key.
KEY_TYPES = {"EC": "ES384", "RSA": "RS384"}
_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "k"})


class Jwks(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    keys: tuple[dict[str, Any], ...] = Field(min_length=1)

    @field_validator("keys")
    @classmethod
    def _public_asymmetric(cls, keys: tuple[dict[str, Any], ...]) -> tuple[dict[str, Any], ...]:
        for n, key in enumerate(keys):
            problem = key_problem(key)
            if problem:
                raise ValueError(f"keys[{n}]: {problem}")
        return keys


def key_problem(key: Mapping[str, Any]) -> str | None:
    """Why a JWK cannot verify CDS Hooks JWTs (None when it can)."""
    if _PRIVATE_MEMBERS & set(key):
        return "holds private key material; list the public key only"
    kind = key.get("kty")
    if kind not in KEY_TYPES:
        return f"kty {kind!r} is not EC or RSA (no symmetric keys: HMAC is not allowed)"
    if kind == "EC" and key.get("crv") != "P-384":
        return "an EC key must be on P-384 (ES384)"
    if "alg" in key and key["alg"] != KEY_TYPES[kind]:
        return f"alg {key['alg']!r} is not {KEY_TYPES[kind]}"
    if not isinstance(key.get("kid"), str) or not key["kid"]:
        return "has no kid (the JWT header names its key by kid)"
    return None


class Client(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    iss: str = Field(min_length=1, max_length=500)
    jwks: Jwks | None = None
    jwks_url: str | None = Field(None, pattern=r"^https?://")
    tenants: tuple[str, ...] | None = None
    fhir_servers: tuple[str, ...] = ()
    origins: tuple[str, ...] = ()
    smart_launch_url: str | None = Field(None, pattern=r"^https?://")

    @model_validator(mode="after")
    def _one_key_source(self) -> Client:
        if (self.jwks is None) == (self.jwks_url is None):
            raise ValueError("give exactly one of jwks (inline public keys) and jwks_url")
        return self

    @field_validator("fhir_servers", "origins")
    @classmethod
    def _urls(cls, urls: tuple[str, ...]) -> tuple[str, ...]:
        for url in urls:
            if not url.startswith(("https://", "http://")):
                raise ValueError(f"{url!r} is not an http(s) URL")
        return tuple(u.rstrip("/") for u in urls)

    def may_fetch_from(self, server: str | None) -> bool:
        return server is not None and server.rstrip("/") in self.fhir_servers


class ClientRegistry:
    """The trusted clients, by issuer."""

    def __init__(self, clients: Sequence[Client]) -> None:
        self._by_iss = {c.iss: c for c in clients}

    def get(self, iss: object) -> Client | None:
        return self._by_iss.get(iss) if isinstance(iss, str) else None

    @property
    def origins(self) -> frozenset[str]:
        return frozenset(o for c in self._by_iss.values() for o in c.origins)

    def __len__(self) -> int:
        return len(self._by_iss)


def load_clients(path: Path | None) -> ClientRegistry:
    """The registry from the clients file (an empty one when no file is configured)."""
    if path is None:
        return ClientRegistry(())
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigurationError([FieldProblem(VARIABLE, f"cannot read {path}: {exc}")]) from None
    return parse_clients(document)


def parse_clients(document: object) -> ClientRegistry:
    if not isinstance(document, list):
        raise ConfigurationError([FieldProblem(VARIABLE, "must hold a JSON array of clients")])
    problems: list[FieldProblem] = []
    clients: list[Client] = []
    for n, item in enumerate(document):
        try:
            clients.append(Client.model_validate(item))
        except ValidationError as exc:
            problems += [FieldProblem(VARIABLE, f"[{n}]: {_where(e)}{e['msg']}") for e in exc.errors()]
    issuers = [c.iss for c in clients]
    problems += [FieldProblem(VARIABLE, f"issuer {i!r} is listed twice") for i in set(issuers) if issuers.count(i) > 1]
    if problems:
        raise ConfigurationError(problems)
    return ClientRegistry(clients)


def _where(error: Mapping[str, Any]) -> str:
    location = ".".join(str(p) for p in error.get("loc", ()))
    return f"{location}: " if location else ""
