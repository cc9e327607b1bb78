"""One typed settings object. Precedence: explicit arguments > KETAGUIDE_* environment > defaults.

Nothing is read at import time: `load_settings()` reads the environment when a command or app starts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ketaguide.domain.errors import ConfigurationError, FieldProblem

ENV_PREFIX = "KETAGUIDE_"


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
