"""The composition root: `build_runtime(settings)` wires content, evidence index, word list, clock and policy.

Every service takes the `Runtime`; nothing else loads content or builds an index, and nothing is cached in module
globals, so a test, a server worker or a reload gets its own runtime.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from types import TracebackType

from ketaguide.contracts.provenance import Provenance
from ketaguide.domain.answering.policy import DEFAULT_POLICY, AnswerPolicy
from ketaguide.domain.ports import Clock, EvidenceIndex
from ketaguide.knowledge.dictionary import EnglishWords
from ketaguide.knowledge.snapshot import KnowledgeSnapshot, load_snapshot
from ketaguide.settings import Settings, load_settings
from ketaguide.version import __version__

# Provenance names the retriever by mode; the index's own name says which kind was built.
_RETRIEVER_MODES = {"fts5": "lexical", "hybrid": "hybrid"}


class SystemClock:
    """The real clock, in UTC. The only place KetaGuide reads the time; everything else is handed a Clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)  # noqa: TID251  # the one sanctioned clock read


class Runtime:
    """One loaded, immutable knowledge snapshot with the evidence index over it; a context manager that closes
    the index. The index is built on first use (under a lock), so commands that never search never pay for it."""

    def __init__(
        self,
        settings: Settings,
        knowledge: KnowledgeSnapshot,
        *,
        clock: Clock | None = None,
        answer_policy: AnswerPolicy = DEFAULT_POLICY,
        is_common_word: Callable[[str], bool] | None = None,
    ) -> None:
        self.settings = settings
        self.knowledge = knowledge
        self.clock: Clock = clock or SystemClock()
        self.answer_policy = answer_policy
        self.is_common_word = is_common_word or EnglishWords(settings.cache_dir)  # kept there: cold start
        self._lock = threading.Lock()
        self._index: tuple[EvidenceIndex, str] | None = None

    @property
    def index(self) -> EvidenceIndex:
        return self._claim_index()[0]

    @property
    def retrieval_note(self) -> str:
        """Which retriever answers questions, in words (and why hybrid is unavailable, when it is)."""
        return self._claim_index()[1]

    def _claim_index(self) -> tuple[EvidenceIndex, str]:
        with self._lock:
            if self._index is None:
                from ketaguide.retrieval.claims import build_claim_index

                self._index = build_claim_index(self.knowledge.pack, self.settings.retriever, self.settings.cache_dir)
            return self._index

    def provenance(self, *, retriever: EvidenceIndex | None, policy_version: str) -> Provenance:
        return Provenance(
            ketaguide_version=__version__,
            content_version=self.knowledge.version,
            content_hash=self.knowledge.content_hash,
            retriever=_RETRIEVER_MODES.get(retriever.name, retriever.name) if retriever else None,
            policy_version=policy_version,
            generated_at=self.clock.now(),
        )

    def close(self) -> None:
        with self._lock:
            index, self._index = self._index, None
        close = getattr(index[0], "close", None) if index else None
        if close is not None:
            close()

    def __enter__(self) -> Runtime:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()


def build_runtime(settings: Settings | None = None, *, clock: Clock | None = None, eager: bool = False) -> Runtime:
    """The runtime for `settings` (default: from the KETAGUIDE_* environment).

    A command loads what it uses on first use; a server passes `eager=True` to load and check all the content and
    build the index before it serves, so a defect stops it at start-up and no request pays for loading. The pack
    compiled from the same content is read from the cache folder when it is there (`knowledge.pack_cache`)."""
    settings = settings or load_settings()
    knowledge = load_snapshot(settings.content_dir, cache_dir=settings.cache_dir, eager=eager)
    runtime = Runtime(settings, knowledge, clock=clock)
    if eager:
        _ = runtime.index
    return runtime
