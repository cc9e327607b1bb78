"""Loads and checks the knowledge pack (package data). The only module that reads its YAML.

`inspect_pack()` gathers every problem (schema errors, quotes that are not verbatim at their offsets, duplicate
ids, dangling references, unknown vocabulary) so `ketaguide kb check` can list them all; `load_pack()` returns a
pack only when there are none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from ketaguide.domain.errors import KnowledgePackError
from ketaguide.domain.evidence.lexicon import Lexicon
from ketaguide.domain.evidence.models import Claim, Conflict, Source
from ketaguide.domain.evidence.pack import KnowledgePack
from ketaguide.domain.evidence.reliability import assess_source
from ketaguide.knowledge.schema import ClaimsEnvelope, ConflictsFile, LexiconFile, SourceEntry, SourcesFile

_Model = TypeVar("_Model", bound=BaseModel)
# libyaml's safe loader when PyYAML was built with it: the same documents, several times faster (cold start).
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def content_root() -> Traversable:
    return resources.files("ketaguide.knowledge").joinpath("content")


@dataclass
class PackInspection:
    """Everything read from the pack, and every problem found on the way."""

    problems: list[str] = field(default_factory=list)
    version: str = ""
    entries: list[SourceEntry] = field(default_factory=list)
    texts: dict[str, str] = field(default_factory=dict)
    claims: list[Claim] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    lexicon: Lexicon = field(default_factory=lambda: Lexicon(()))


def read_model(node: Traversable, model: type[_Model], name: str, problems: list[str]) -> _Model | None:
    """One content file validated by `model`, or None with every problem appended to `problems`."""
    try:
        raw: Any = yaml.load(node.read_text(encoding="utf-8"), Loader=_SAFE_LOADER)
        return model.model_validate(raw)
    except (OSError, yaml.YAMLError) as exc:
        problems.append(f"{name}: cannot read: {exc}")
    except ValidationError as exc:
        problems += [f"{name}: {_where(e)}: {e['msg']}" for e in exc.errors()]
    return None


def _where(error: Any) -> str:
    return ".".join(str(p) for p in error["loc"])


def inspect_pack(root: Traversable | None = None) -> PackInspection:
    """Read every content file and run the cross-file checks."""
    root = root or content_root()
    found = PackInspection()
    _read_sources(root, found)
    _read_claims(root, found)
    conflicts = read_model(root / "conflicts.yaml", ConflictsFile, "conflicts.yaml", found.problems)
    found.conflicts = conflicts.conflicts if conflicts else []
    lexicon = read_model(root / "lexicon.yaml", LexiconFile, "lexicon.yaml", found.problems)
    found.lexicon = Lexicon(tuple(lexicon.concepts) if lexicon else ())
    found.problems.extend(cross_check(found))
    return found


def _read_sources(root: Traversable, found: PackInspection) -> None:
    sources = read_model(root / "sources.yaml", SourcesFile, "sources.yaml", found.problems)
    if sources is None:
        return
    found.version = sources.version
    found.entries = sources.sources
    for entry in sources.sources:
        try:
            found.texts[entry.id] = (root / entry.file).read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            found.problems.append(f"sources.yaml: {entry.id}: cannot read {entry.file}: {exc}")


def _read_claims(root: Traversable, found: PackInspection) -> None:
    for node in sorted(root.joinpath("claims").iterdir(), key=lambda n: n.name):
        if node.name.endswith(".yaml"):
            _read_claims_file(node, f"claims/{node.name}", found)


def _read_claims_file(node: Traversable, name: str, found: PackInspection) -> None:
    """Validate claim by claim, so one bad claim is reported without hiding the problems of the others."""
    envelope = read_model(node, ClaimsEnvelope, name, found.problems)
    if envelope is None:
        return
    for position, raw in enumerate(envelope.claims):
        try:
            claim = Claim.model_validate(raw)
        except ValidationError as exc:
            label = raw.get("id", f"#{position}") if isinstance(raw, dict) else f"#{position}"
            found.problems += [f"{name}: {label}: {_where(e)}: {e['msg']}" for e in exc.errors()]
            continue
        if claim.source_id != envelope.source_id:
            found.problems.append(f"{name}: {claim.id}: source_id differs from the file's")
        found.claims.append(claim)


def cross_check(found: PackInspection) -> list[str]:
    """Checks that span files: ids, offsets, references, vocabulary."""
    problems = _duplicates("source", [e.id for e in found.entries])
    problems += _duplicates("claim", [c.id for c in found.claims])
    problems += _duplicates("conflict", [c.id for c in found.conflicts])
    problems += _duplicates("concept", [c.id for c in found.lexicon.concepts])
    for claim in found.claims:
        problems += _check_claim(claim, found)
    claim_ids = {c.id for c in found.claims}
    for conflict in found.conflicts:
        problems += [f"conflicts.yaml: {conflict.id}: unknown claim {cid}" for cid in conflict.claim_ids - claim_ids]
    return problems


def _duplicates(kind: str, ids: list[str]) -> list[str]:
    seen: set[str] = set()
    dupes = {i for i in ids if i in seen or seen.add(i)}  # type: ignore[func-returns-value]  # set.add -> None
    return [f"duplicate {kind} id: {i}" for i in sorted(dupes)]


def _check_claim(claim: Claim, found: PackInspection) -> list[str]:
    text = found.texts.get(claim.source_id)
    if text is None:
        return [f"claim {claim.id}: unknown source {claim.source_id}"]
    problems = []
    if text[claim.start : claim.end] != claim.quote:
        actual = text.find(claim.quote)
        hint = f"quote found at {actual}" if actual >= 0 else "quote not found in the source"
        problems.append(f"claim {claim.id}: quote is not verbatim at {claim.start}:{claim.end} ({hint})")
    if claim.about.intervention and claim.about.intervention not in found.lexicon:
        problems.append(f"claim {claim.id}: intervention '{claim.about.intervention}' is not a lexicon concept")
    missing = set(claim.refs) - _reference_numbers_after(text, claim.end)
    if missing:
        problems.append(f"claim {claim.id}: refs {sorted(missing)} are not cited in the source after the quote")
    return problems


def _reference_numbers_after(text: str, end: int) -> set[int]:
    """In-text reference numbers between the end of a quote and the end of its line ("... abuse 2, 3")."""
    line_end = text.find("\n", end)
    rest = text[end : line_end if line_end >= 0 else len(text)]
    return {int(n) for n in re.findall(r"(?<![\w.])(\d{1,3})(?!\w|\.\d)", rest)}


def build_pack(found: PackInspection) -> KnowledgePack:
    if found.problems:
        raise KnowledgePackError(found.problems)
    sources = {
        e.id: Source(
            id=e.id,
            title=e.title,
            kind=e.kind,
            text=found.texts[e.id],
            reliability=assess_source(found.texts[e.id], e.observations),
        )
        for e in found.entries
    }
    return KnowledgePack(found.version, sources, tuple(found.claims), tuple(found.conflicts), found.lexicon)


def load_pack(root: Traversable | None = None) -> KnowledgePack:
    """The knowledge pack in `root` (default: the bundled one), validated; raises KnowledgePackError listing every
    problem. Not cached: the runtime (`ketaguide.bootstrap`) holds the one loaded snapshot."""
    return build_pack(inspect_pack(root))
