"""File schema of the knowledge pack. Strict (extra="forbid") so a typo in a content file fails loudly."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ketaguide.domain.evidence.lexicon import Concept
from ketaguide.domain.evidence.models import AnswerType, Conflict, ReferenceRecord, SourceKind, StudyDesign
from ketaguide.domain.evidence.reliability import CuratorObservations


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SourceEntry(_Strict):
    id: str = Field(pattern=r"^[0-9a-z_]+$")
    title: str
    kind: SourceKind
    file: str
    origin: str = Field(description="where the document came from")
    observations: CuratorObservations


class SourcesFile(_Strict):
    version: str
    sources: list[SourceEntry]


class ClaimsEnvelope(_Strict):
    """A claims file before its claims are validated one by one (see loader._read_claims_file)."""

    source_id: str
    claims: list[dict[str, Any]]


class ConflictsFile(_Strict):
    conflicts: list[Conflict]


class LexiconFile(_Strict):
    concepts: list[Concept]


class ShorthandEntry(_Strict):
    """A word as typed (`typed`, matched whole) or a regular expression over the normalised question (`pattern`)."""

    typed: str | None = Field(None, min_length=1)
    pattern: str | None = Field(None, min_length=1)
    meant: str
    kind: Literal["abbreviation", "slang", "contraction", "spelling"]

    @model_validator(mode="after")
    def _one_form(self) -> ShorthandEntry:
        if (self.typed is None) == (self.pattern is None):
            raise ValueError("give exactly one of typed or pattern")
        return self


class AnswerTypeEntry(_Strict):
    """Cues for one answer type at one priority; the type's one defining entry also says `missing` (and `accepts`)."""

    type: AnswerType
    cues: list[str] = Field(default_factory=list, description="regular expressions over the normalised question")
    accepts: list[AnswerType] = Field(default_factory=list, description="claim answer types that answer it")
    missing: str | None = Field(None, min_length=1, description="what no source states, with {subject}")
    missing_with_treatment: str | None = Field(
        None, min_length=1, description="the same when the question names a treatment, with {treatment}, {condition}"
    )


class ReferencePointEntry(_Strict):
    text: str | None = Field(None, min_length=1)
    subjects: list[str] = Field(min_length=1)
    answers: list[AnswerType] = Field(min_length=1)
    design: StudyDesign | None = None
    items: list[str] = Field(default_factory=list)
    context: str | None = Field(None, min_length=1, description="what the statement applies to (title or section)")


class ReferenceAnswers(_Strict):
    id: str
    points: list[ReferencePointEntry] = Field(min_length=1)


class AnsweringFile(_Strict):
    shorthand: list[ShorthandEntry]
    answer_types: list[AnswerTypeEntry]
    subject_words: list[str]
    ordinary_words: list[str]
    drug_name_endings: list[str]
    medicine_words: list[str]
    references: list[ReferenceAnswers]


class ReferenceStatements(BaseModel):
    """references.yaml as `ask` reads it: each entry's citable fields (the care engine's loader checks the file
    strictly, so unknown fields are ignored here rather than reported twice)."""

    references: list[ReferenceRecord]
