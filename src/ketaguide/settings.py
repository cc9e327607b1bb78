"""One typed settings object. Precedence: explicit arguments > KETAGUIDE_* environment > defaults."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_cache_dir() -> Path:
    return Path.home() / ".cache" / "ketaguide"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KETAGUIDE_", extra="ignore")

    retriever: Literal["auto", "lexical", "hybrid"] = Field(
        "auto", description="auto uses hybrid retrieval when the dense extra is installed, else lexical"
    )
    cache_dir: Path = Field(default_factory=_default_cache_dir, description="embedding cache and other derived data")
