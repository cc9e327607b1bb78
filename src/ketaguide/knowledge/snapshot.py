"""One immutable, versioned snapshot of the content: the knowledge pack and the clinical content that cites it.

The engines read only a snapshot, never the files: a database-backed, versioned evidence base can later build
the same snapshot without touching them. The content hash identifies exactly which files produced an output
(provenance for an audit); the version is the curators' name for the release (`sources.yaml`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from pathlib import Path

from ketaguide.domain.care.rules import ClinicalContent
from ketaguide.domain.errors import ConfigurationError, FieldProblem
from ketaguide.domain.evidence.pack import KnowledgePack
from ketaguide.knowledge.clinical import load_clinical
from ketaguide.knowledge.loader import content_root, load_pack


@dataclass(frozen=True)
class KnowledgeSnapshot:
    """Everything the engines read, validated together; `content_hash` is a SHA-256 over every content file."""

    pack: KnowledgePack
    clinical: ClinicalContent
    content_hash: str
    origin: str  # "bundled" or the content folder's path

    @property
    def version(self) -> str:
        return self.pack.version


def load_snapshot(content_dir: Path | None = None) -> KnowledgeSnapshot:
    """The snapshot of `content_dir` (default: the bundled content); raises KnowledgePackError listing every
    problem, or ConfigurationError when the folder itself is unusable."""
    root = content_folder(content_dir)
    pack = load_pack(root)
    clinical = load_clinical(pack, root)
    origin = "bundled" if content_dir is None else str(content_dir.resolve())
    return KnowledgeSnapshot(pack=pack, clinical=clinical, content_hash=content_hash(root), origin=origin)


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
