"""Use cases over the knowledge pack itself: check, statistics, export."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from ketaguide.domain.evidence.pack import KnowledgePack
from ketaguide.knowledge.clinical import inspect_clinical
from ketaguide.knowledge.loader import build_pack, inspect_pack
from ketaguide.knowledge.snapshot import content_folder


def check_pack(content_dir: Path | None = None) -> list[str]:
    """Every problem in the content (default: the bundled pack) and the clinical content that cites it; empty when
    all is consistent. Unlike loading a runtime, it reports problems rather than raising on them."""
    root = content_folder(content_dir)
    found = inspect_pack(root)
    if found.problems:
        return found.problems
    return inspect_clinical(build_pack(found), root).problems


def pack_stats(pack: KnowledgePack) -> dict[str, Any]:
    claims = pack.claims
    return {
        "version": pack.version,
        "sources": {
            s.id: {
                "title": s.title,
                "kind": s.kind.value,
                "reliability": s.reliability.level.value,
                "score": s.reliability.score,
                "claims": sum(1 for c in claims if c.source_id == s.id),
            }
            for s in pack.sources.values()
        },
        "claims": len(claims),
        "claim_types": dict(Counter(c.claim_type.value for c in claims).most_common()),
        "study_designs": dict(Counter(c.study_design.value for c in claims).most_common()),
        "conflicts": len(pack.conflicts),
        "factual_slips": sum(1 for c in claims if c.factual_slip),
        "lexicon_concepts": len(pack.lexicon.concepts),
    }


def export_pack(pack: KnowledgePack) -> dict[str, Any]:
    """Claims and sources as plain JSON (`ketaguide kb export --format json`)."""
    return {
        "version": pack.version,
        "claims": [c.model_dump(mode="json") for c in pack.claims],
        "sources": [
            {
                "id": s.id,
                "title": s.title,
                "kind": s.kind.value,
                "reliability": {
                    "level": s.reliability.level.value,
                    "score": s.reliability.score,
                    "items": [i.model_dump(mode="json") for i in s.reliability.items],
                },
                "text": s.text,
            }
            for s in pack.sources.values()
        ],
        "conflicts": [c.model_dump(mode="json") for c in pack.conflicts],
    }


def locate_quote(pack_text: str, quote: str) -> list[tuple[int, int]]:
    """Every (start, end) at which `quote` occurs verbatim: an aid for curators writing claims."""
    spans, at = [], pack_text.find(quote)
    while at >= 0:
        spans.append((at, at + len(quote)))
        at = pack_text.find(quote, at + 1)
    return spans
