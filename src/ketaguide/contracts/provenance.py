"""Which KetaGuide, which content and which rules produced an output: what an EHR audit needs to reproduce it."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class Provenance(BaseModel):
    model_config = ConfigDict(frozen=True)

    ketaguide_version: str
    content_version: str = Field(description="the curators' release name of the knowledge content")
    content_hash: str = Field(description="SHA-256 over every content file: equal hashes mean equal content")
    retriever: str | None = Field(description="lexical or hybrid for answers; null where nothing is retrieved")
    policy_version: str = Field(
        description="the answer policy's version for answers; the care conventions' version for care plans and doses"
    )
    generated_at: datetime = Field(description="when the output was produced (UTC)")
