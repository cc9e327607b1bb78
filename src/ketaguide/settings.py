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

    @field_validator("cache_dir", "content_dir", mode="after")
    @classmethod
    def _expand_user(cls, value: Path | None) -> Path | None:
        return value.expanduser() if value is not None else None


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment (and explicit overrides); every bad value is reported, naming its variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]  # overrides are validated by pydantic like env values
    except ValidationError as exc:
        raise ConfigurationError(_problem(e) for e in exc.errors()) from None


def _problem(error: Any) -> FieldProblem:
    variable = ENV_PREFIX + "_".join(str(p) for p in error["loc"]).upper()
    return FieldProblem(variable, f"{error['msg']} (got {error.get('input')!r})")
