"""One typed settings object. Precedence: explicit arguments > KETAGUIDE_* environment > defaults."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from ketaguide.domain.errors import InputError


def _default_cache_dir() -> Path:
    return Path.home() / ".cache" / "ketaguide"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KETAGUIDE_", extra="ignore")

    retriever: Literal["auto", "lexical", "hybrid"] = Field(
        "auto", description="auto uses hybrid retrieval when the dense extra is installed, else lexical"
    )
    cache_dir: Path = Field(default_factory=_default_cache_dir, description="embedding cache and other derived data")


def load_settings() -> Settings:
    """Settings from the environment; a bad value is an InputError naming the variable and the problem."""
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "KETAGUIDE_" + "_".join(str(p) for p in first["loc"]).upper()
        raise InputError(name, f"{first['msg']} (got {first.get('input')!r})") from exc
