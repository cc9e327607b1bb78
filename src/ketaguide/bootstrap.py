"""The composition root: wires the knowledge pack, the evidence index and settings into a Runtime."""

from __future__ import annotations

from dataclasses import dataclass

from ketaguide.domain.evidence.pack import KnowledgePack
from ketaguide.domain.ports import EvidenceIndex
from ketaguide.knowledge.loader import load_pack
from ketaguide.retrieval.claims import build_claim_index
from ketaguide.settings import Settings, load_settings


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    pack: KnowledgePack
    index: EvidenceIndex
    retrieval_note: str


def build_runtime(settings: Settings | None = None) -> Runtime:
    settings = settings or load_settings()
    pack = load_pack()
    index, note = build_claim_index(pack, settings.retriever, settings.cache_dir)
    return Runtime(settings=settings, pack=pack, index=index, retrieval_note=note)
