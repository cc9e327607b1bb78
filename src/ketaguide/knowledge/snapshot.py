"""One immutable, versioned snapshot of the content: the knowledge pack and the clinical content that cites it.

The engines read only a snapshot, never the files: a database-backed, versioned evidence base can later build
the same snapshot without touching them. The content hash identifies exactly which files produced an output
(provenance for an audit); the version is the curators' name for the release (`sources.yaml`).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import TYPE_CHECKING

from ketaguide.domain.errors import ConfigurationError, FieldProblem
from ketaguide.domain.evidence.pack import KnowledgePack

if TYPE_CHECKING:
    from ketaguide.domain.care.rules import ClinicalContent


class KnowledgeSnapshot:
    """Everything the engines read; `content_hash` is a SHA-256 over every content file, taken at load.

    The pack is loaded and checked at once. The clinical content (care rules, formulary, dose tables) is loaded on
    first use, under a lock: a question never needs it, and importing and validating the care models is a third of
    `ketaguide ask`'s cold start. `load_snapshot(..., eager=True)` loads it at once, as a server should at start-up
    so that broken content stops it before it serves anything.
    """

    def __init__(self, pack: KnowledgePack, root: Traversable, content_hash: str, origin: str) -> None:
        self.pack = pack
        self.content_hash = content_hash
        self.origin = origin  # "bundled" or the content folder's path
        self._root = root
        self._lock = threading.Lock()
        self._clinical: ClinicalContent | None = None

    @property
    def version(self) -> str:
        return self.pack.version

    @property
    def clinical(self) -> ClinicalContent:
        with self._lock:
            if self._clinical is None:
                from ketaguide.knowledge.clinical import load_clinical

                self._clinical = load_clinical(self.pack, self._root)
            return self._clinical


def load_snapshot(
    content_dir: Path | None = None, *, cache_dir: Path | None = None, eager: bool = False
) -> KnowledgeSnapshot:
    """The snapshot of `content_dir` (default: the bundled content); raises KnowledgePackError listing every
    problem, or ConfigurationError when the folder itself is unusable. `eager` loads the clinical content now.

    With a `cache_dir`, the pack compiled from content with the same hash is read from it instead of the YAML, and
    a pack loaded from the YAML is written there for the next start (`ketaguide.knowledge.pack_cache`)."""
    root = content_folder(content_dir)
    origin = "bundled" if content_dir is None else str(content_dir.resolve())
    digest = content_hash(root)
    snapshot = KnowledgeSnapshot(_pack(root, digest, cache_dir), root, digest, origin)
    if eager:
        _ = snapshot.clinical
    return snapshot


def _pack(root: Traversable, digest: str, cache_dir: Path | None) -> KnowledgePack:
    if cache_dir is None:
        return _load_pack(root)
    from ketaguide.knowledge.pack_cache import PackCache

    cache = PackCache(cache_dir)
    pack = cache.read(digest)
    if pack is None:
        pack = _load_pack(root)
        if content_hash(root) == digest:  # not edited while it was being read: the pack is the hash's
            cache.write(digest, pack)
    return pack


def _load_pack(root: Traversable) -> KnowledgePack:
    # Imported here: a start that finds its pack in the cache never loads the YAML reader, file schema or checks.
    from ketaguide.knowledge.loader import load_pack

    return load_pack(root)


def content_root() -> Traversable:
    """The bundled content (package data)."""
    return resources.files("ketaguide.knowledge").joinpath("content")


def content_folder(content_dir: Path | None) -> Traversable:
    """The content folder to read: `content_dir`, or the bundled content when it is None."""
    if content_dir is None:
        return content_root()
    if not content_dir.is_dir():
        problem = "does not exist" if not content_dir.exists() else "is not a folder"
        raise ConfigurationError([FieldProblem("KETAGUIDE_CONTENT_DIR", f"{str(content_dir)!r} {problem}")])
    return content_dir


def content_hash(root: Traversable) -> str:
    """SHA-256 over every file's relative path and bytes, in sorted order: equal hashes mean equal content."""
    digest = hashlib.sha256()
    for relative, node in sorted(_files(root, "")):
        digest.update(relative.encode("utf-8") + b"\0")
        digest.update(hashlib.sha256(node.read_bytes()).digest())
    return "sha256:" + digest.hexdigest()


def _files(node: Traversable, prefix: str) -> Iterator[tuple[str, Traversable]]:
    for child in node.iterdir():
        name = f"{prefix}{child.name}"
        if child.is_dir():
            if child.name != "__pycache__":
                yield from _files(child, name + "/")
        elif not name.endswith((".pyc", "__init__.py")):
            yield name, child
