"""The evidence as served: sources with their text and itemised reliability, and the claims quoted from them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from ketaguide.domain.evidence.models import Claim, ReliabilityAssessment, Source, SourceKind
from ketaguide.storage.errors import NotFound

if TYPE_CHECKING:
    from ketaguide.bootstrap import Runtime


class SourceSummary(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    title: str
    kind: SourceKind
    reliability_level: str
    reliability_score: int
    claims: int


class SourceDetail(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    title: str
    kind: SourceKind
    text: str
    reliability: ReliabilityAssessment


class ClaimPage(BaseModel):
    model_config = ConfigDict(frozen=True)

    items: Sequence[Claim]
    total: int
    limit: int
    offset: int


def list_sources(runtime: Runtime) -> list[SourceSummary]:
    pack = runtime.knowledge.pack
    counts: dict[str, int] = {}
    for claim in pack.claims:
        counts[claim.source_id] = counts.get(claim.source_id, 0) + 1
    return [_summary(source, counts.get(source.id, 0)) for source in pack.sources.values()]


def _summary(source: Source, claims: int) -> SourceSummary:
    reliability = source.reliability
    return SourceSummary(
        id=source.id,
        title=source.title,
        kind=source.kind,
        reliability_level=reliability.level.value,
        reliability_score=reliability.score,
        claims=claims,
    )


def get_source(runtime: Runtime, source_id: str) -> SourceDetail:
    source = runtime.knowledge.pack.sources.get(source_id)
    if source is None:
        raise NotFound("no such source")
    return SourceDetail(
        id=source.id, title=source.title, kind=source.kind, text=source.text, reliability=source.reliability
    )


def find_claims(runtime: Runtime, query: str | None, source_id: str | None, limit: int, offset: int) -> ClaimPage:
    """Claims whose statement or quote contains every word of `query` (any case), from `source_id` if given."""
    words = (query or "").casefold().split()
    found = [
        claim
        for claim in runtime.knowledge.pack.claims
        if (source_id is None or claim.source_id == source_id)
        and all(word in f"{claim.statement} {claim.quote}".casefold() for word in words)
    ]
    return ClaimPage(items=found[offset : offset + limit], total=len(found), limit=limit, offset=offset)


def get_claim(runtime: Runtime, claim_id: str) -> Claim:
    pack = runtime.knowledge.pack
    if not pack.has_claim(claim_id):
        raise NotFound("no such claim")
    return pack.claim(claim_id)
