"""File schema of the knowledge pack. Strict (extra="forbid") so a typo in a content file fails loudly."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ketaguide.domain.evidence.lexicon import Concept
from ketaguide.domain.evidence.models import Conflict, SourceKind
from ketaguide.domain.evidence.reliability import CuratorObservations


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SourceEntry(_Strict):
    id: str = Field(pattern=r"^[0-9a-z_]+$")
    title: str
    kind: SourceKind
    file: str
    origin: str = Field(description="where the document came from")
    observations: CuratorObservations


class SourcesFile(_Strict):
    version: str
    sources: list[SourceEntry]


class ClaimsEnvelope(_Strict):
    """A claims file before its claims are validated one by one (see loader._read_claims_file)."""

    source_id: str
    claims: list[dict[str, Any]]


class ConflictsFile(_Strict):
    conflicts: list[Conflict]


class LexiconFile(_Strict):
    concepts: list[Concept]
