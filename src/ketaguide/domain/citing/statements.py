"""Cited statements shared by both engines: a statement with its reference numbers, and both sides of a conflict."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, PositiveInt

from ketaguide.domain.citing.references import ReferenceList
from ketaguide.domain.evidence.models import Conflict
from ketaguide.domain.evidence.pack import KnowledgePack


class Statement(BaseModel):
    model_config = ConfigDict(frozen=True)

    text: str = Field(min_length=1)
    citations: tuple[PositiveInt, ...] = Field(min_length=1, description="reference numbers; never empty")


def conflict_statement(conflict: Conflict, refs: ReferenceList, pack: KnowledgePack) -> Statement:
    """Both sides of a disagreement, each cited, so an answer never shows one side alone."""
    parts, cites = [], []
    for side in conflict.sides:
        numbers = [refs.cite_claim(pack.claim(cid), pack.source_of(pack.claim(cid))) for cid in side.claims]
        levels = sorted({str(pack.source_of(pack.claim(cid)).reliability.level) for cid in side.claims})
        parts.append(f"{side.position} (source reliability: {', '.join(levels)})")
        cites += numbers
    return Statement(
        text=f"Sources conflict on {conflict.topic.lower()}: " + "; versus: ".join(parts) + ".",
        citations=tuple(cites),
    )
