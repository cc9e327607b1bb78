"""The evidence pages: ask a question, the sources by reliability, one source with a quote highlighted, the claims
(searchable and filterable), and the conflicts side by side."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from ketaguide.bootstrap import Runtime
from ketaguide.contracts.answer import AnswerReport
from ketaguide.contracts.notes import answer_markdown
from ketaguide.domain.errors import InputError
from ketaguide.domain.evidence.models import ClaimType, Level, StudyDesign
from ketaguide.services import evidence, sources
from ketaguide.services.access import Role
from ketaguide.web.rendering import page
from ketaguide.web.security import WebCaller, signed_in
from ketaguide.web.source_view import Highlight, highlight_of, runs

Clinician = Annotated[WebCaller, Depends(signed_in(Role.CLINICIAN))]
Reader = Annotated[WebCaller, Depends(signed_in(Role.CLINICIAN, Role.CURATOR))]
CLAIMS_PER_PAGE = 50


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def references_by_number(references: Any) -> dict[int, Any]:
    return {ref.n: ref for ref in references}


def register(router: APIRouter) -> None:
    @router.get("/ask")
    def ask(request: Request, who: Clinician, q: Annotated[str, Query(max_length=4000)] = "") -> Response:
        answer: AnswerReport | None = None
        error = ""
        if q.strip():
            try:
                answer = evidence.ask(runtime_of(request), q)
            except InputError as problem:
                error = "; ".join(p.problem for p in problem.problems)
        context = {
            "question": q,
            "answer": answer,
            "error": error,
            "refs": references_by_number(answer.references) if answer else {},
            "note": answer_markdown(answer) if answer else "",
        }
        title = f"{q[:60]} - Ask - KetaGuide" if q.strip() else "Ask - KetaGuide"
        return page(request, "ask.html", context, status=422 if error else 200, title=title)

    @router.get("/sources")
    def source_list(request: Request, who: Reader) -> Response:
        found = sources.list_sources(runtime_of(request))
        found.sort(key=lambda s: (-_rank(s.reliability_level), -s.reliability_score, s.title))
        return page(request, "sources.html", {"sources": found}, title="Sources - KetaGuide")

    @router.get("/sources/{source_id}")
    def source_view(
        request: Request,
        source_id: str,
        who: Reader,
        start: Annotated[int | None, Query(ge=0, le=100_000_000)] = None,
        end: Annotated[int | None, Query(ge=0, le=100_000_000)] = None,
    ) -> Response:
        runtime = runtime_of(request)
        source = sources.get_source(runtime, source_id)
        claims = sorted(
            (c for c in runtime.knowledge.pack.claims if c.source_id == source_id), key=lambda c: (c.start, c.end)
        )
        highlight = highlight_of(source.text, claims, start, end)
        shown = highlight if isinstance(highlight, Highlight) else None
        context = {
            "source": source,
            "claims": claims,
            "highlight": shown,
            "highlight_problem": highlight if isinstance(highlight, str) else "",
            "segments": runs(source.text, claims, shown),
        }
        return page(request, "source.html", context, title=f"{source.title[:80]} - KetaGuide")

    @router.get("/claims")
    def claim_list(
        request: Request,
        who: Reader,
        q: Annotated[str, Query(max_length=200)] = "",
        type: Annotated[str, Query(max_length=40)] = "",
        design: Annotated[str, Query(max_length=40)] = "",
        source: Annotated[str, Query(max_length=100)] = "",
        offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    ) -> Response:
        runtime = runtime_of(request)
        pack = runtime.knowledge.pack
        found = sources.find_claims(runtime, q or None, source or None, 1_000_000, 0).items
        found = [c for c in found if (not type or c.claim_type.value == type)]
        found = [c for c in found if (not design or c.study_design.value == design)]
        shown = found[offset : offset + CLAIMS_PER_PAGE]
        filters = {"q": q, "type": type, "design": design, "source": source}

        def href(at: int) -> str:
            return "/claims?" + urlencode({**{k: v for k, v in filters.items() if v}, "offset": at})

        context = {
            "filters": filters,
            "types": [t.value for t in ClaimType],
            "designs": [(d.value, d.label) for d in StudyDesign],
            "sources": sorted(pack.sources.values(), key=lambda s: s.title),
            "titles": {s.id: s.title for s in pack.sources.values()},
            "levels": {s.id: s.reliability.level for s in pack.sources.values()},
            "total": len(found),
            "shown": shown,
            "offset": offset,
            "previous_href": href(max(0, offset - CLAIMS_PER_PAGE)) if offset > 0 else "",
            "next_href": href(offset + CLAIMS_PER_PAGE) if offset + CLAIMS_PER_PAGE < len(found) else "",
        }
        return page(request, "claims.html", context, title="Claims - KetaGuide")

    @router.get("/conflicts")
    def conflicts(request: Request, who: Reader) -> Response:
        pack = runtime_of(request).knowledge.pack
        shown = []
        for conflict in pack.conflicts:
            sides = []
            for side in conflict.sides:
                claims = []
                for claim_id in side.claims:
                    claim = pack.claim(claim_id)
                    src = pack.source_of(claim)
                    claims.append(
                        {
                            "quote": claim.quote,
                            "source_id": claim.source_id,
                            "start": claim.start,
                            "end": claim.end,
                            "title": src.title,
                            "level": src.reliability.level,
                            "design": claim.study_design.label,
                        }
                    )
                sides.append({"position": side.position, "claims": claims})
            shown.append({"topic": conflict.topic, "sides": sides})
        return page(request, "conflicts.html", {"conflicts": shown}, title="Conflicts - KetaGuide")


def _rank(level: str) -> int:
    return Level(level).rank
