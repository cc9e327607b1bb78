"""Precise things a question may ask for, which evidence of the right kind can still fail to state.

"What is ketamine's half-life?" asks for pharmacokinetics, and the sources do describe ketamine's pharmacokinetics,
but none states a half-life: the answer must say so first, not present the nearest statement as if it answered.
Each entry reads the question (normalised) for the precise thing asked and the evidence shown for a statement of
it; when the question asks and no evidence shown states it, the bottom line opens with "None of KetaGuide's sources
states ..." and the closest statements follow. This is vocabulary, not clinical fact: it only decides whether to
say that the sources are silent, never what an answer says they state.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ketaguide.domain.answering.evidence import Evidence
from ketaguide.domain.evidence.models import AnswerType

__all__ = ["Specific", "unstated_specific"]


@dataclass(frozen=True)
class Specific:
    """A precise thing asked (`asks`, over the question) and what states it (`states`, over the evidence)."""

    asks: re.Pattern[str]
    states: re.Pattern[str]
    what: str  # "{subject}": what the question is about; "{drug}": the drug it names, or ketamine
    only_for: frozenset[AnswerType] | None = None  # answer types it applies to (None: any)


_TIME = r"(minutes?|hours?|days?|weeks?|months?)"
SPECIFICS = (
    Specific(
        asks=re.compile(r"\bhalf[- ]?li(fe|ves)\b"),
        states=re.compile(r"\bhalf[- ]?li(fe|ves)\b"),
        what="the half-life of {drug}",
    ),
    Specific(
        asks=re.compile(
            r"\b(lethal|fatal|deadly|toxic) (dose|doses|dosage|amount|level)\b"
            r"|\bhow much\b.{0,40}\b(kill|kills|lethal|fatal|die)\b"
        ),
        states=re.compile(r"\b(lethal|fatal) (dose|doses|dosage|amount|level)\b"),
        what="a lethal dose of {drug}",
    ),
    Specific(
        asks=re.compile(
            r"\bhow (many|long)\b.{0,50}\b(detect\w*|shows? up|test(s|ed)? positive)\b"
            r"|\bdetection (window|time|period)\b|\bstays? in (your|the|their|my) (system|urine|blood)\b"
        ),
        states=re.compile(
            rf"\b{_TIME}\b.{{0,60}}\b(detect\w*|detection|positive)\b|\b(detect\w*|detection)\b.{{0,60}}\b{_TIME}\b"
        ),
        what="how long after use {drug} can be detected",
    ),
    Specific(
        asks=re.compile(r"\bhow long\b.{0,40}\b(continued?|continuing|stay(ed)? on|kept on|maintained)\b"),
        states=re.compile(
            rf"\b(continued?|continuing|continuation|maintained|kept on)\b.{{0,40}}\b(for|until|beyond)\b.{{0,20}}\b"
            rf"({_TIME}|years?|long[- ]term|indefinitely)\b|\bduration of (treatment|therapy)\b"
        ),
        what="how long to continue {subject}",
    ),
    Specific(
        asks=re.compile(r"\b(in|across) (the )?(uk|united kingdom|britain|great britain|england|scotland|wales)\b"),
        states=re.compile(r"\b(uk|united kingdom|britain|british|england|english|scotland|scottish|wales|welsh)\b"),
        what="this for the UK",
        only_for=frozenset({AnswerType.EPIDEMIOLOGY}),
    ),
)


def unstated_specific(question: str, answer_type: AnswerType, shown: Sequence[Evidence]) -> Specific | None:
    """The first precise thing the (normalised) question asks that none of the evidence shown states, if any."""
    for specific in SPECIFICS:
        if specific.only_for is not None and answer_type not in specific.only_for:
            continue
        if not specific.asks.search(question):
            continue
        if not any(specific.states.search(" ".join([e.text, *e.items]).lower()) for e in shown):
            return specific
    return None
