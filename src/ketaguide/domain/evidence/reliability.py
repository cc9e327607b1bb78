"""Itemised, deterministic source-reliability assessment.

Items follow the instruments in docs/evidence-methods.md s.5:
- JAMA benchmarks (Silberg 1997): authorship, attribution, disclosure, currency; one point each. The curator
  records these, because a bare text rarely shows them reliably.
- DISCERN-style items, computed from the text: are risks discussed (Q11), is uncertainty acknowledged (Q8), is
  more than one option named (Q14); one point each.
- Evidence-based-medicine reporting: the text names the study designs behind its statements and grades them
  (GRADE wording); one point for each.
- Red flags, each minus one (topic mixing and curator-noted factual errors are the curator's; the rest are
  computed): calls to action and helplines, keyword stuffing, incoherent topic mixing, dangling reference numbers,
  unattributed statistics, factual errors.

The level is a fixed function of the score, so the same text and observations always give the same verdict.
"""

from __future__ import annotations

import re
from collections import Counter

from pydantic import BaseModel, ConfigDict, Field

from ketaguide.domain.evidence.models import Level, ReliabilityAssessment, ReliabilityItem


class Observation(BaseModel):
    """A curator's finding on one item, with what supports it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    met: bool
    detail: str = Field(min_length=1)


class CuratorObservations(BaseModel):
    """What a curator records about a document that its text alone cannot show reliably."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    authorship: Observation
    attribution: Observation
    disclosure: Observation
    currency: Observation
    topic_mixing: Observation
    factual_errors: tuple[str, ...] = ()


# Score thresholds, highest first. A source needs most JAMA items *and* balanced, graded content to be high.
_THRESHOLDS = ((7, Level.HIGH), (5, Level.MODERATE), (2, Level.LOW))

_RISK = re.compile(
    r"\b(risks?|harms?|adverse|side effects?|dangers?|dangerous|toxic\w*|overdose|rash|cystitis|"
    r"respiratory depression|withdrawal|dependence|concerns?)\b",
    re.IGNORECASE,
)
_UNCERTAINTY = re.compile(
    r"\b(limited|uncertain\w*|unclear|unknown|more research is needed|preliminary|very low quality|"
    r"no controlled trials|not (?:yet )?(?:established|proven)|experimental|may|might)\b",
    re.IGNORECASE,
)
_OPTIONS = re.compile(
    r"\b(lamotrigine|naltrexone|benzodiazepines?|paliperidone|bupropion|haloperidol|cbt|cognitive behavioral "
    r"therapy|behavioral therapies|counseling|counselling|support groups?|outpatient|inpatient|imatinib|"
    r"minocycline|gabapentin|memantine|dextromethorphan)\b",
    re.IGNORECASE,
)
_DESIGNS = re.compile(
    r"\b(case reports?|case series|systematic review|controlled trials?|randomi[sz]ed|preclinical|rat models?|"
    r"in rats|cohort)\b",
    re.IGNORECASE,
)
_GRADING = re.compile(r"\b(GRADE criteria|GRADE|very low quality|low quality|high quality)\b")
_CALL_TO_ACTION = re.compile(
    r"\b(call\b[^.]{0,60}\bhelpline|helpline|call us|contact (?:us|your gp)|book (?:now|a)|read our|"
    r"to learn more about)\b",
    re.IGNORECASE,
)
# A trailing run of in-text reference numbers: "... behaviour 210, 212." or "... abuse 2, 3"
_REF_RUN = re.compile(r"(?<=[a-z)\]]) ((?:\d{1,3}, )*\d{1,3})(?=\.?\s*$|\.\s|:)", re.MULTILINE)
_PERCENT = re.compile(r"\b\d{1,3}(?:\.\d+)?\s?%")
_CITATION = re.compile(r"\bet al\b|\(\w+,? (?:et al,? )?\d{4}\)|\b(?:19|20)\d{2}\b")
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]?")


def assess_source(text: str, observations: CuratorObservations) -> ReliabilityAssessment:
    """Score a document on every item and map the total to a reliability level."""
    items = (
        *_jama_items(observations),
        *_discern_items(text),
        *_ebm_items(text),
        *_red_flags(text, observations),
    )
    score = sum(item.points for item in items)
    level = next((lvl for floor, lvl in _THRESHOLDS if score >= floor), Level.VERY_LOW)
    return ReliabilityAssessment(level=level, score=score, items=items)


def _item(instrument: str, name: str, met: bool, detail: str, points_if_met: int) -> ReliabilityItem:
    return ReliabilityItem(instrument=instrument, name=name, met=met, points=points_if_met if met else 0, detail=detail)


def _jama_items(obs: CuratorObservations) -> tuple[ReliabilityItem, ...]:
    named = {"authorship": obs.authorship, "attribution": obs.attribution}
    named |= {"disclosure": obs.disclosure, "currency": obs.currency}
    return tuple(_item("JAMA", name, o.met, o.detail, 1) for name, o in named.items())


def _discern_items(text: str) -> tuple[ReliabilityItem, ...]:
    risks = _distinct(_RISK, text)
    hedges = _distinct(_UNCERTAINTY, text)
    options = _distinct(_OPTIONS, text)
    return (
        _item("DISCERN", "risks discussed (Q11)", len(risks) >= 2, _found(risks), 1),
        _item("DISCERN", "uncertainty acknowledged (Q8)", len(hedges) >= 2, _found(hedges), 1),
        _item("DISCERN", "more than one option (Q14)", len(options) >= 2, _found(options), 1),
    )


def _ebm_items(text: str) -> tuple[ReliabilityItem, ...]:
    designs = _distinct(_DESIGNS, text)
    grades = sorted({m.group(0) for m in _GRADING.finditer(text)})
    return (
        _item(
            "EBM reporting",
            "names the study designs behind statements",
            len(designs) >= 2,
            _found(designs),
            1,
        ),
        _item("EBM reporting", "grades the certainty of evidence", bool(grades), _found(grades), 1),
    )


def _red_flags(text: str, obs: CuratorObservations) -> tuple[ReliabilityItem, ...]:
    calls = _distinct(_CALL_TO_ACTION, text)
    stuffing = keyword_stuffing(text)
    dangling = dangling_reference_numbers(text)
    unattributed = unattributed_statistics(text)
    return (
        _flag("calls to action or helpline pitch", bool(calls), _found(calls)),
        _flag("keyword stuffing", bool(stuffing), _found(stuffing)),
        _flag("incoherent topic mixing", obs.topic_mixing.met, obs.topic_mixing.detail),
        _flag("dangling reference numbers", dangling is not None, dangling or "none"),
        _flag("unattributed statistics", bool(unattributed), "; ".join(unattributed) or "none"),
        _flag(
            "factual errors noted by the curator",
            bool(obs.factual_errors),
            "; ".join(obs.factual_errors) or "none",
        ),
    )


def _flag(name: str, present: bool, detail: str) -> ReliabilityItem:
    return ReliabilityItem(instrument="red flag", name=name, met=present, points=-1 if present else 0, detail=detail)


def _distinct(pattern: re.Pattern[str], text: str) -> list[str]:
    return sorted({m.group(0).lower() for m in pattern.finditer(text)})


def _found(terms: list[str]) -> str:
    return "found: " + ", ".join(terms[:8]) if terms else "not found"


def keyword_stuffing(text: str) -> list[str]:
    """Short lines (headings) repeated three or more times: the signature of a page written for search engines."""
    lines = Counter(line.strip().lower() for line in text.splitlines() if 0 < len(line.strip()) <= 40)
    return [f"'{line}' x{n}" for line, n in lines.items() if n >= 3]


def dangling_reference_numbers(text: str) -> str | None:
    """Reference numbers whose numbering implies a list far longer than the page cites, with no list present.

    A summary that cites references 1-5 consistently is attributed, if incompletely; a page citing "210, 212" and
    "247" among two dozen numbers has lifted sentences from an article whose reference list it does not carry.
    """
    numbers = {int(n) for run in _REF_RUN.findall(text) for n in run.split(", ")}
    if not numbers or max(numbers) <= 3 * len(numbers):
        return None
    return f"{len(numbers)} distinct reference numbers up to {max(numbers)}, and no reference list"


def unattributed_statistics(text: str) -> list[str]:
    """Sentences giving a percentage with no in-text reference, author-year citation or date."""
    flagged = []
    for sentence in _SENTENCE.findall(text):
        if _PERCENT.search(sentence) and not _CITATION.search(sentence) and not _REF_RUN.search(sentence):
            flagged.append(sentence.strip()[:120])
    return flagged
