"""The evidence: sources with their text and reliability items, and the claims quoted from them (curators, and
clinicians, whose answers cite them)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from ketaguide.domain.evidence.models import Claim
from ketaguide.http.requests import StrictJSONRoute
from ketaguide.http.routes import AUTHENTICATED, problems
from ketaguide.http.security import EVIDENCE_READERS, require
from ketaguide.services import sources
from ketaguide.services.access import Caller

router = APIRouter(route_class=StrictJSONRoute, tags=["evidence"])
Reader = Annotated[Caller, Depends(require(*EVIDENCE_READERS))]


@router.get("/sources", response_model=list[sources.SourceSummary], responses=problems(*AUTHENTICATED))
def list_sources(request: Request, caller: Reader) -> list[sources.SourceSummary]:
    """Every source of the knowledge pack with its reliability level and score."""
    return sources.list_sources(request.app.state.runtime)


@router.get("/sources/{source_id}", response_model=sources.SourceDetail, responses=problems(*AUTHENTICATED, 404))
def get_source(source_id: str, request: Request, caller: Reader) -> sources.SourceDetail:
    """A source's text, byte for byte, and its itemised reliability assessment."""
    return sources.get_source(request.app.state.runtime, source_id)


@router.get("/claims", response_model=sources.ClaimPage, responses=problems(*AUTHENTICATED, 422))
def list_claims(
    request: Request,
    caller: Reader,
    q: Annotated[str | None, Query(max_length=200, description="words the statement or quote contains")] = None,
    source: Annotated[str | None, Query(max_length=100, description="only this source's claims")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> sources.ClaimPage:
    """Claims, optionally those containing every word of `q`, from one source."""
    return sources.find_claims(request.app.state.runtime, q, source, limit, offset)


@router.get("/claims/{claim_id}", response_model=Claim, responses=problems(*AUTHENTICATED, 404))
def get_claim(claim_id: str, request: Request, caller: Reader) -> Claim:
    """One claim: its verbatim quote with offsets, statement, study design and certainty inputs."""
    return sources.get_claim(request.app.state.runtime, claim_id)
