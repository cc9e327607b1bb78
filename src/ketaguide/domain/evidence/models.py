"""Evidence vocabulary: sources, claims, study designs and certainty levels.

Every clinical statement KetaGuide shows is a `Claim`: a verbatim quote pinned to character offsets in a stored
`Source`, plus the curator's normalised statement and classification. Nothing here reads files; the knowledge pack
loader builds these objects.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class Level(StrEnum):
    """Four-step scale shared by GRADE certainty and source reliability (highest first)."""

    HIGH = "high"
    MODERATE = "moderate"
    LOW = "low"
    VERY_LOW = "very low"

    @property
    def rank(self) -> int:
        """3 for high down to 0 for very low, so levels can be compared and stepped."""
        return _LEVEL_ORDER.index(self)

    @classmethod
    def from_rank(cls, rank: int) -> Level:
        """The level at `rank`, clamped to the scale (GRADE never goes below very low or above high)."""
        return _LEVEL_ORDER[max(0, min(rank, len(_LEVEL_ORDER) - 1))]


_LEVEL_ORDER = (Level.VERY_LOW, Level.LOW, Level.MODERATE, Level.HIGH)


class StudyDesign(StrEnum):
    """The design behind a claim, as the source itself states it."""

    ANIMAL_PRECLINICAL = "animal_preclinical"
    CASE_REPORT = "case_report"
    CASE_SERIES = "case_series"
    OBSERVATIONAL = "observational"
    CONTROLLED_TRIAL = "controlled_trial"
    SYSTEMATIC_REVIEW = "systematic_review"
    NARRATIVE_EXPERT = "narrative_expert"
    UNSTATED = "unstated"

    @property
    def label(self) -> str:
        return _DESIGN_LABELS[self]

    @property
    def is_human_clinical(self) -> bool:
        return self not in (
            StudyDesign.ANIMAL_PRECLINICAL,
            StudyDesign.NARRATIVE_EXPERT,
            StudyDesign.UNSTATED,
        )


_DESIGN_LABELS = {
    StudyDesign.ANIMAL_PRECLINICAL: "animal/preclinical study",
    StudyDesign.CASE_REPORT: "case report",
    StudyDesign.CASE_SERIES: "case series",
    StudyDesign.OBSERVATIONAL: "observational study",
    StudyDesign.CONTROLLED_TRIAL: "controlled trial",
    StudyDesign.SYSTEMATIC_REVIEW: "systematic review",
    StudyDesign.NARRATIVE_EXPERT: "narrative/expert statement",
    StudyDesign.UNSTATED: "design not stated",
}


class ClaimType(StrEnum):
    MECHANISM = "mechanism"
    EFFICACY = "efficacy"
    SAFETY_HARM = "safety_harm"
    DOSING = "dosing"
    DIAGNOSIS_SIGNS = "diagnosis_signs"
    EPIDEMIOLOGY = "epidemiology"
    TREATMENT_SETTING = "treatment_setting"
    INTERACTION = "interaction"
    EVIDENCE_LIMITATION = "evidence_limitation"


class AnswerType(StrEnum):
    """The kind of thing a question asks for, and the kinds of question a claim or reference can answer.

    A question gets one; a claim lists every kind it answers (`Claim.answers`), so an answer is built only from
    claims that answer what was asked, not from claims that merely mention its words.
    """

    EFFICACY = "efficacy"  # does a treatment work, what helps
    EVIDENCE_YES_NO = "evidence_yes_no"  # whether evidence exists (trials, studies) and how good it is
    MECHANISM = "mechanism"  # how or why it works, pharmacology
    DOSE = "dose"  # how much, titration
    TIME_COURSE = "time_course"  # onset, duration, how soon, how long, course over time
    HARMS = "harms"  # risks, adverse effects, dangers, safety
    SIGNS = "signs"  # signs and symptoms, how to recognise
    RISK_FACTORS = "risk_factors"  # who is at risk, what raises the risk
    MANAGEMENT = "management"  # what to do, how to treat or manage
    SETTING = "setting"  # where and by whom care is given
    INTERACTIONS = "interactions"  # with other drugs
    MONITORING = "monitoring"  # what to watch or measure
    DETECTION = "detection"  # detection by a test
    COMPARISON = "comparison"  # one thing against another
    EPIDEMIOLOGY = "epidemiology"  # how common, who uses
    DEFINITION = "definition"  # what it is, criteria, classification
    OTHER = "other"  # none of the above: anything about the subject answers


# What a claim answers when its curator has not said (synthetic packs in tests): the kind its type implies.
_ANSWERS_OF_TYPE = {
    "mechanism": (AnswerType.MECHANISM,),
    "efficacy": (AnswerType.EFFICACY,),
    "safety_harm": (AnswerType.HARMS,),
    "dosing": (AnswerType.DOSE,),
    "diagnosis_signs": (AnswerType.SIGNS,),
    "epidemiology": (AnswerType.EPIDEMIOLOGY,),
    "treatment_setting": (AnswerType.MANAGEMENT, AnswerType.SETTING),
    "interaction": (AnswerType.INTERACTIONS,),
    "evidence_limitation": (AnswerType.EVIDENCE_YES_NO,),
}


class Phase(StrEnum):
    """The phase of care, one concept for both engines: what a claim is about, what an option is for, and where a
    patient is. `unknown` is an assessment only (time of last use not recorded), never a phase an option is for."""

    INTOXICATION = "intoxication"
    WITHDRAWAL = "withdrawal"
    EARLY_ABSTINENCE = "early_abstinence"
    RELAPSE_PREVENTION = "relapse_prevention"
    UNKNOWN = "unknown"


class Hedging(StrEnum):
    """How firmly the source words the claim ("may", "appears", "suggests" are hedged)."""

    ASSERTED = "asserted"
    HEDGED = "hedged"


class SourceKind(StrEnum):
    CLINICAL_EVIDENCE_SUMMARY = "clinical evidence summary"
    TREATMENT_PROVIDER_PAGE = "treatment-provider page"
    BLOG = "blog"
    CONSUMER_HEALTH_ARTICLE = "consumer health article"
    SPUN_SEO_PAGE = "spun SEO page"
    PEER_REVIEWED_ARTICLE = "peer-reviewed article"
    LABEL_OR_GUIDELINE = "label or guideline"
    OTHER = "other"


class About(BaseModel):
    """What a claim is about, in PICO-like terms."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    intervention: str | None = Field(None, description="intervention or exposure (a lexicon concept id)")
    condition: str | None = None
    outcome: str | None = None
    phase: Phase | Literal["any"] = Field("any", description="the phase the claim is about; any: not specific")

    @field_validator("phase")
    @classmethod
    def _a_claim_is_about_a_known_phase(cls, phase: Phase | str) -> Phase | str:
        if phase == Phase.UNKNOWN:
            raise ValueError("'unknown' describes a patient's assessment, not what a claim is about; use 'any'")
        return phase


class Claim(BaseModel):
    """One clinically meaningful statement of a source, pinned to a verbatim quote."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    source_id: str
    quote: str = Field(min_length=1)
    start: int = Field(ge=0)
    end: int = Field(gt=0)
    statement: str = Field(min_length=1, description="the curator's normalised wording of the quote")
    about: About
    claim_type: ClaimType
    study_design: StudyDesign
    hedging: Hedging
    refs: tuple[int, ...] = Field(default=(), description="the source's own in-text reference numbers")
    reported_certainty: Level | None = Field(None, description="a GRADE rating the source itself reports")
    factual_slip: str | None = Field(None, description="curator's note when the quote contains a factual error")
    keywords: tuple[str, ...] = Field(default=(), description="extra index terms the quote implies")
    study: str | None = Field(
        None, description="names the study when the source reports one across several sentences without a reference"
    )
    answers: tuple[AnswerType, ...] = Field(
        default=(), description="the kinds of question the claim answers; `kb check` requires at least one"
    )
    facets: tuple[str, ...] = Field(
        default=(),
        description="lexicon concepts the claim is about (not merely mentions: 'social withdrawal' is not withdrawal)",
    )
    items: tuple[str, ...] = Field(
        default=(),
        description="the things a claim lists (signs, symptoms, harms, treatments), each a phrase of its statement",
    )
    conclusion: bool = Field(False, description="the source's own overall conclusion on its subject")

    @model_validator(mode="after")
    def _offsets_span_quote(self) -> Claim:
        if self.end - self.start != len(self.quote):
            raise ValueError(f"claim {self.id}: end - start ({self.end - self.start}) != len(quote)")
        return self

    @property
    def answer_types(self) -> tuple[AnswerType, ...]:
        """What the claim answers: as curated, or else what its claim type implies."""
        return self.answers or _ANSWERS_OF_TYPE[self.claim_type.value]

    @property
    def study_key(self) -> str:
        """Identifies the underlying study, so several claims about one case report count once."""
        if self.study:
            return f"{self.source_id}#{self.study}"
        if self.refs:
            return f"{self.source_id}#{','.join(map(str, self.refs))}"
        return self.id


class ReferenceRecord(BaseModel):
    """An external reference (references.yaml: a label, guideline or paper) as an answer cites it: what it is, where,
    what it states and how confidently it was read, and the design and GRADE rating it reports, if any."""

    model_config = ConfigDict(frozen=True)

    id: str
    title: str
    publisher: str
    section: str | None = None
    url: str | None = None
    statement: str = Field(min_length=1)
    confidence: Level
    design: StudyDesign | None = None
    reported_certainty: Level | None = None


class ReferencePoint(BaseModel):
    """One point of an external reference (references.yaml) that `ask` can cite, and what it answers.

    `text` is a verbatim part of the reference's stored statement (checked by `kb check`), or the whole statement
    when unset; `subjects` are lexicon concepts, as a claim's facets are.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(description="the reference id and the point's number: 'merck.ketamine-pcp/1'")
    reference: str
    text: str | None = Field(None, min_length=1)
    subjects: tuple[str, ...] = Field(min_length=1)
    answers: tuple[AnswerType, ...] = Field(min_length=1)
    design: StudyDesign | None = Field(None, description="set only where the reference itself names its design")
    items: tuple[str, ...] = ()
    context: str | None = Field(
        None, description="what the statement applies to, from the reference's title or section"
    )
    record: ReferenceRecord | None = Field(None, description="the reference itself, as the loader found it")


class ReliabilityItem(BaseModel):
    """One scored item of a reliability assessment, with the evidence for its verdict."""

    model_config = ConfigDict(frozen=True)

    instrument: str  # "JAMA", "DISCERN", "red flag"
    name: str
    met: bool
    points: int
    detail: str


class ReliabilityAssessment(BaseModel):
    model_config = ConfigDict(frozen=True)

    level: Level
    score: int
    items: tuple[ReliabilityItem, ...]

    @property
    def reasons(self) -> list[str]:
        return [f"{i.instrument}: {i.name} - {i.detail}" for i in self.items if i.points != 0]


class Source(BaseModel):
    """A stored document: its exact text and what is known about it."""

    model_config = ConfigDict(frozen=True)

    id: str
    title: str
    kind: SourceKind
    text: str
    reliability: ReliabilityAssessment


class ConflictSide(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    position: str
    claims: tuple[str, ...] = Field(min_length=1)


class Conflict(BaseModel):
    """Claims that disagree; answers that cite one side must show the other."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    topic: str
    sides: tuple[ConflictSide, ...] = Field(min_length=2)

    @property
    def claim_ids(self) -> set[str]:
        return {c for side in self.sides for c in side.claims}
