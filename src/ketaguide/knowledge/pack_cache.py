"""The knowledge pack compiled once and kept in KETAGUIDE_CACHE_DIR, so a command need not parse and check the YAML.

Parsing the pack's YAML and running its checks is most of the time `load_pack` takes (PyYAML builds its objects in
Python even with libyaml's parser); a pack that passed every check is written here as JSON and validated back with
pydantic (`model_validate_json`, no pickle), which gives an equal pack (`test_pack_cache.py`) several times faster.

Layout: `<cache_dir>/knowledge/pack-<key digest>.json`: one header line, `{"key": ..., "sha256": ...}`, then the
pack as JSON. The key is the file format, the KetaGuide version, the content's SHA-256, a hash of the code that
reads, checks and compiles the pack (a development checkout edits it without changing the version), and the Python
and pydantic versions. The header's key and the payload's SHA-256 are checked on every read.

The cache can only cost time, never an answer: a file that is absent, unreadable, another key's, torn or edited
is a miss, and the caller loads the YAML and writes the file again. Writes go to a temporary file renamed over the
target (`os.replace`), so a reader never sees half a file and two writers leave one whole file. A folder that
cannot be written is reported once and the run goes on without the cache.
"""

from __future__ import annotations

import hashlib
import json
import sys
from importlib import resources
from pathlib import Path

from pydantic import VERSION as PYDANTIC_VERSION
from pydantic import BaseModel, ConfigDict

from ketaguide.cache_files import Report, ReportOnce, report_to_stderr, write_atomically
from ketaguide.domain.evidence.lexicon import Concept, Lexicon, Phrasebook
from ketaguide.domain.evidence.models import Claim, Conflict, Source
from ketaguide.domain.evidence.pack import KnowledgePack
from ketaguide.version import __version__

# Bumped whenever the file's layout or meaning changes.
FORMAT = 1
# The packages whose code decides what a compiled pack holds: the loader and checks, the evidence models.
_COMPILERS = ("ketaguide.knowledge", "ketaguide.domain.evidence")
# Files kept: one per content version in use (the bundled pack, a content folder, a curator's edits).
KEEP = 8


class CompiledPack(BaseModel):
    """A checked knowledge pack as data: what `KnowledgePack` and its `Lexicon` are built from."""

    model_config = ConfigDict(frozen=True)

    version: str
    sources: tuple[Source, ...]
    claims: tuple[Claim, ...]
    conflicts: tuple[Conflict, ...]
    concepts: tuple[Concept, ...]
    phrasebook: Phrasebook  # its regular expressions are stored as patterns and compiled when read

    @classmethod
    def of(cls, pack: KnowledgePack) -> CompiledPack:
        lexicon = pack.lexicon
        return cls(
            version=pack.version,
            sources=tuple(pack.sources.values()),
            claims=pack.claims,
            conflicts=pack.conflicts,
            concepts=lexicon.concepts,
            phrasebook=lexicon.phrasebook,
        )

    def pack(self) -> KnowledgePack:
        lexicon = Lexicon(self.concepts, phrasebook=self.phrasebook)
        return KnowledgePack(self.version, {s.id: s for s in self.sources}, self.claims, self.conflicts, lexicon)


class PackCache:
    """Compiled packs under `cache_dir`, by content hash; `report` is told once that the folder cannot be written."""

    def __init__(self, cache_dir: Path, report: Report = report_to_stderr) -> None:
        self.directory = cache_dir / "knowledge"
        self._report_once = ReportOnce(report)

    def path(self, key: str) -> Path:
        return self.directory / f"pack-{hashlib.sha256(key.encode('utf-8')).hexdigest()[:32]}.json"

    def read(self, content_hash: str) -> KnowledgePack | None:
        """The pack compiled from the content with this hash, or None if there is no usable file for it."""
        key = cache_key(content_hash)
        try:
            header, payload = self.path(key).read_bytes().split(b"\n", 1)
            expected = {"key": key, "sha256": hashlib.sha256(payload).hexdigest()}
            if json.loads(header) != expected:
                return None  # another key's file under this name, or torn or edited since it was written
            return CompiledPack.model_validate_json(payload).pack()
        # Broad on purpose: whatever reading a cache file raises (OSError, a missing header line, invalid JSON or
        # UTF-8, a validation error, a pattern that no longer compiles...), it is only a miss.
        except Exception:
            return None

    def write(self, content_hash: str, pack: KnowledgePack) -> None:
        """Keep `pack` (which passed every check) for the content with this hash; a failure is reported once."""
        key = cache_key(content_hash)
        payload = CompiledPack.of(pack).model_dump_json().encode("utf-8")
        header = json.dumps({"key": key, "sha256": hashlib.sha256(payload).hexdigest()})
        path = self.path(key)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            write_atomically(path, lambda file: file.write(header.encode("utf-8") + b"\n" + payload))
        except OSError as error:
            self._report_once(f"ketaguide: knowledge pack cache not written ({error}); continuing without it")
            return
        self._prune(keep=path)

    def _prune(self, keep: Path) -> None:
        """Remove all but the KEEP most recently written packs (the one just written is always kept)."""
        try:
            others = [p for p in self.directory.glob("pack-*.json") if p != keep]
            others.sort(key=lambda p: p.stat().st_mtime_ns, reverse=True)
            for stale in others[KEEP - 1 :]:
                stale.unlink(missing_ok=True)
        except OSError:
            pass  # another process pruned the same file first; the next write tries again


def cache_key(content_hash: str) -> str:
    """Everything a compiled pack depends on: the file format, the release, the content, the code and runtimes."""
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    return f"{FORMAT}|{__version__}|{content_hash}|{_code_hash()}|python {python}|pydantic {PYDANTIC_VERSION}"


def _code_hash() -> str:
    """SHA-256 over the source of the modules that read, check and compile the pack."""
    digest = hashlib.sha256()
    for package in _COMPILERS:
        for node in sorted(resources.files(package).iterdir(), key=lambda n: n.name):
            if node.name.endswith(".py"):
                digest.update(node.name.encode("utf-8") + b"\0" + node.read_bytes())
    return digest.hexdigest()
