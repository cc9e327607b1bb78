"""Loads and checks the knowledge pack (package data). The only module that reads its YAML.

`inspect_pack()` gathers every problem (schema errors, quotes that are not verbatim at their offsets, duplicate
ids, dangling references, unknown vocabulary, claims that say nothing of what they answer, answering data that does
not compile or names an unknown reference) so `ketaguide kb check` can list them all; `load_pack()` returns a pack
only when there are none.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass, field
from importlib.resources.abc import Traversable
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from ketaguide.domain.errors import KnowledgePackError
from ketaguide.domain.evidence.lexicon import AnswerTypeCue, Lexicon, Phrasebook, Shorthand
from ketaguide.domain.evidence.models import AnswerType, Claim, Conflict, ReferencePoint, ReferenceRecord, Source
from ketaguide.domain.evidence.pack import KnowledgePack
from ketaguide.domain.evidence.reliability import assess_source
from ketaguide.domain.evidence.text import TOKEN, normalise_text
from ketaguide.knowledge.schema import (
    AnsweringFile,
    AnswerTypeEntry,
    ClaimsEnvelope,
    ConflictsFile,
    LexiconFile,
    ReferenceStatements,
    ShorthandEntry,
    SourceEntry,
    SourcesFile,
)
from ketaguide.knowledge.snapshot import content_root as content_root  # re-exported: where the loader looks

_Model = TypeVar("_Model", bound=BaseModel)
# libyaml's safe loader when PyYAML was built with it: the same documents, several times faster (cold start).
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


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
    answering: AnsweringFile | None = None
    references: dict[str, ReferenceRecord] = field(default_factory=dict)


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
    found.answering = read_model(root / "answering.yaml", AnsweringFile, "answering.yaml", found.problems)
    references = read_model(root / "references.yaml", ReferenceStatements, "references.yaml", found.problems)
    found.references = {r.id: r for r in references.references} if references else {}
    concepts = tuple(lexicon.concepts) if lexicon else ()
    found.lexicon = Lexicon(concepts, phrasebook=_phrasebook(found, found.problems))
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
    problems += _answering_problems(found)
    return problems


def _phrasebook(found: PackInspection, problems: list[str]) -> Phrasebook:
    """The answering data, compiled; a pattern that does not compile is a problem, never a crash at question time."""
    data = found.answering
    if data is None:
        return Phrasebook()
    return Phrasebook(
        shorthand=tuple(s for s in (_shorthand(e, problems) for e in data.shorthand) if s is not None),
        answer_types=_cues(data, problems),
        subject_words=frozenset(normalise_text(w) for w in data.subject_words),
        ordinary_words=frozenset(normalise_text(w) for w in data.ordinary_words),
        drug_name_endings=tuple(normalise_text(e) for e in data.drug_name_endings),
        medicine_words=frozenset(normalise_text(w) for w in data.medicine_words),
        reference_points=tuple(
            ReferencePoint(
                id=f"{ref.id}/{n}", reference=ref.id, record=found.references.get(ref.id), **point.model_dump()
            )
            for ref in data.references
            for n, point in enumerate(ref.points, start=1)
        ),
        vocabulary=_vocabulary([*found.texts.values(), *(r.statement for r in found.references.values())]),
    )


def _vocabulary(texts: list[str]) -> frozenset[str]:
    return frozenset(w for text in texts for w in TOKEN.findall(normalise_text(text)))


def _shorthand(entry: ShorthandEntry, problems: list[str]) -> Shorthand | None:
    # A typed word matches whole: not inside a longer word or a hyphenated compound ("k" is not the k of "k-hole").
    typed = entry.typed or entry.pattern or ""
    source = rf"(?<![\w-]){re.escape(normalise_text(entry.typed))}(?![\w-])" if entry.typed else typed
    try:
        return Shorthand(typed=typed, pattern=re.compile(source), meant=entry.meant, kind=entry.kind)
    except re.error as exc:
        problems.append(f"answering.yaml: shorthand {typed!r}: pattern does not compile: {exc}")
        return None


def _cues(data: AnsweringFile, problems: list[str]) -> tuple[AnswerTypeCue, ...]:
    """Every cue entry in priority order, each carrying its type's wording (from the type's defining entry)."""
    defining = {e.type: e for e in data.answer_types if e.missing}
    cues = [_cue(e, defining.get(e.type, e), problems) for e in data.answer_types]
    return tuple(c for c in cues if c is not None)


def _cue(entry: AnswerTypeEntry, defining: AnswerTypeEntry, problems: list[str]) -> AnswerTypeCue | None:
    try:
        cues = tuple(re.compile(c) for c in entry.cues)
    except re.error as exc:
        problems.append(f"answering.yaml: answer type {entry.type}: a cue does not compile: {exc}")
        return None
    return AnswerTypeCue(
        answer_type=entry.type,
        cues=cues,
        accepts=frozenset(defining.accepts or [entry.type]),
        missing=defining.missing or "",
        missing_with_treatment=defining.missing_with_treatment,
    )


def _answering_problems(found: PackInspection) -> list[str]:
    """Answering data against the pack: concepts known, references known, point texts verbatim, types covered."""
    if found.answering is None:
        return []
    defining = [e for e in found.answering.answer_types if e.missing]
    problems = _duplicates("answer type (entry with 'missing')", [str(e.type) for e in defining])
    problems += [
        f"answering.yaml: answer type '{t}' has no entry with 'missing'"
        for t in AnswerType
        if t not in {e.type for e in defining}
    ]
    for entry in defining:
        problems += _placeholder_problems(entry.type, "missing", entry.missing or "", {"subject"})
        if entry.missing_with_treatment:
            wording, allowed = entry.missing_with_treatment, {"treatment", "condition"}
            problems += _placeholder_problems(entry.type, "missing_with_treatment", wording, allowed)
    problems += _duplicates("answering reference", [r.id for r in found.answering.references])
    for point in found.lexicon.phrasebook.reference_points:
        problems += _point_problems(point, found)
    return problems


def _placeholder_problems(answer_type: AnswerType, name: str, wording: str, allowed: set[str]) -> list[str]:
    try:
        used = {field for _, field, _, _ in string.Formatter().parse(wording) if field is not None}
    except ValueError as exc:
        return [f"answering.yaml: answer type {answer_type}: {name}: {exc}"]
    unknown = sorted(used - allowed)
    return [f"answering.yaml: answer type {answer_type}: {name}: unknown placeholder {{{u}}}" for u in unknown]


def _point_problems(point: ReferencePoint, found: PackInspection) -> list[str]:
    where = f"answering.yaml: reference {point.id}"
    record = found.references.get(point.reference)
    if record is None:
        return [f"{where}: unknown reference (not in references.yaml)"]
    statement = record.statement
    problems = [
        f"{where}: unknown subject '{s}' (not a lexicon concept)" for s in point.subjects if s not in found.lexicon
    ]
    text = point.text or statement
    if point.text is not None and point.text not in statement:
        problems.append(f"{where}: text is not verbatim in the reference's statement")
    problems += [f"{where}: item {i!r} is not in its text" for i in point.items if i.lower() not in text.lower()]
    if point.context and point.context not in f"{record.title} {record.section or ''}":
        problems.append(f"{where}: context is not verbatim in the reference's title or section")
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
    problems += _answers_problems(claim, found.lexicon)
    missing = set(claim.refs) - _reference_numbers_after(text, claim.end)
    if missing:
        problems.append(f"claim {claim.id}: refs {sorted(missing)} are not cited in the source after the quote")
    return problems


def _answers_problems(claim: Claim, lexicon: Lexicon) -> list[str]:
    """What a claim answers must be said (at least one answer type) and said in the pack's vocabulary."""
    problems = [] if claim.answers else [f"claim {claim.id}: no answer type (answers: [...])"]
    problems += [
        f"claim {claim.id}: unknown facet '{f}' (not a lexicon concept)" for f in claim.facets if f not in lexicon
    ]
    statement = claim.statement.lower()
    problems += [
        f"claim {claim.id}: item {i!r} is not in its statement" for i in claim.items if i.lower() not in statement
    ]
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
