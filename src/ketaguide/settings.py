"""One typed settings object. Precedence: explicit arguments > KETAGUIDE_* environment > defaults.

Nothing is read at import time: `load_settings()` reads the environment when a command or app starts.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ketaguide.domain.errors import ConfigurationError, FieldProblem

ENV_PREFIX = "KETAGUIDE_"
# A rate in the notation of the `limits` library, one limit per setting: "30/minute", "100000 per hour", "5/10 seconds".
_RATE = re.compile(r"\s*[1-9]\d{0,8}\s*(?:/|per)\s*(?:[1-9]\d{0,5}\s*)?(?:second|minute|hour|day)s?\s*", re.IGNORECASE)


def _default_cache_dir() -> Path:
    return Path.home() / ".cache" / "ketaguide"


def _default_data_dir() -> Path:
    return Path.home() / ".local" / "share" / "ketaguide"


class Settings(BaseSettings):
    # env_ignore_empty: an empty variable (KETAGUIDE_CACHE_DIR=) means "unset", as in most Unix tools.
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", env_ignore_empty=True, frozen=True)

    retriever: Literal["auto", "lexical", "hybrid"] = Field(
        "auto", description="auto uses hybrid retrieval when the dense extra is installed, else lexical"
    )
    cache_dir: Path = Field(default_factory=_default_cache_dir, description="embedding cache and other derived data")
    content_dir: Path | None = Field(
        None, description="a content folder to use instead of the bundled knowledge pack (same layout)"
    )

    data_dir: Path = Field(
        default_factory=_default_data_dir, description="the server's own data: the embedded SQLite database"
    )
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL of the server's database (sqlite:///... or postgresql://...); "
        "default: an SQLite file under data_dir",
    )
    public_url: str | None = Field(
        None, description="the server's external base URL (behind a proxy), used in printed links"
    )
    # CDS Hooks (ketaguide.cdshooks): the EHRs allowed to call, and the store several workers share.
    cds_clients: Path | None = Field(
        None, description="a JSON file listing the EHRs (JWT issuers and their keys) allowed to call CDS Hooks"
    )
    redis_url: str | None = Field(
        None, description="redis:// URL of a Redis shared by workers (CDS Hooks JWT replay guard, issued cards)"
    )

    # The server's exposure (OWASP ASVS 5.0 13.4.5, 2.4.1) and the retry window of POSTs (security.md 5.4).
    api_docs: bool = Field(
        False, description="serve the OpenAPI document and its pages (/openapi.json, /docs); off: they answer 404"
    )
    rate_limit: bool = Field(True, description="false turns off every rate limit below (a load test on loopback)")
    rate_limit_auth_failures: str = Field(
        "30/minute",
        description="failed authentications (a wrong bearer token, a refused web sign-in) allowed per client address",
    )
    rate_limit_token: str = Field("100000/hour", description="requests allowed per API token")
    trusted_proxies: str | None = Field(
        None,
        description="comma-separated addresses of reverse proxies whose X-Forwarded-For names the client "
        "(for the rate limits per client address)",
    )
    database_pool_size: int = Field(
        40,
        ge=1,
        le=1000,
        description="PostgreSQL connections each worker keeps: one for each thread that may hold one (40, the "
        "server's thread limit), so no request waits for one and none is opened and closed per burst; workers x "
        "this must stay within the server's max_connections",
    )
    idempotency_ttl_hours: int = Field(
        24, ge=1, le=24 * 365, description="how long an Idempotency-Key is remembered; older keys are purged"
    )

    @field_validator("cache_dir", "content_dir", "data_dir", "cds_clients", mode="after")
    @classmethod
    def _expand_user(cls, value: Path | None) -> Path | None:
        return value.expanduser() if value is not None else None

    @field_validator("database_url", mode="after")
    @classmethod
    def _known_database(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("sqlite://", "postgresql://", "postgresql+psycopg://")):
            raise ValueError("must be an sqlite:// or postgresql:// URL")
        return value

    @field_validator("public_url", mode="after")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/") if value is not None else None

    @field_validator("redis_url", mode="after")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must be a redis://, rediss:// or unix:// URL")
        return value

    @field_validator("rate_limit_auth_failures", "rate_limit_token", mode="after")
    @classmethod
    def _rate(cls, value: str) -> str:
        if not _RATE.fullmatch(value):
            raise ValueError("must be a rate such as 30/minute, 100000 per hour or 5/10 seconds")
        return value.strip()

    @field_validator("trusted_proxies", mode="after")
    @classmethod
    def _addresses(cls, value: str | None) -> str | None:
        for address in (value or "").split(","):
            if address.strip():
                ipaddress.ip_address(address.strip())  # its ValueError names the bad address
        return value

    def trusted_proxy_addresses(self) -> frozenset[str]:
        """`trusted_proxies` as a set of addresses (empty: trust no X-Forwarded-For)."""
        given = (a.strip() for a in (self.trusted_proxies or "").split(","))
        return frozenset(str(ipaddress.ip_address(a)) for a in given if a)

    def resolved_database_url(self) -> str:
        """`database_url`, or the embedded SQLite file under `data_dir`."""
        return self.database_url or f"sqlite:///{self.data_dir / 'ketaguide.db'}"


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment (and explicit overrides); every bad value is reported, naming its variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]  # overrides are validated by pydantic like env values
    except ValidationError as exc:
        raise ConfigurationError(_problem(e) for e in exc.errors()) from None


def _problem(error: Any) -> FieldProblem:
    variable = ENV_PREFIX + "_".join(str(p) for p in error["loc"]).upper()
    return FieldProblem(variable, f"{error['msg']} (got {error.get('input')!r})")
