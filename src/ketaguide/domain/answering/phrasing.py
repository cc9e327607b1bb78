"""How the bottom line words things: clauses, source labels, what a question is about, "None of ... states".

Nothing here decides what to say, only how: every clinical word still comes from a claim's statement or a
reference's stored statement.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ketaguide.domain.answering.evidence import Evidence
from ketaguide.domain.answering.understanding import ADDICTION, QuestionUnderstanding
from ketaguide.domain.evidence.models import SourceKind
from ketaguide.domain.evidence.pack import KnowledgePack

# Conditions a question about ketamine names without "ketamine": "withdrawal" is ketamine withdrawal.
_KETAMINE_CONDITIONS = frozenset({"withdrawal", "tolerance", "craving", "relapse", "intoxication", "overdose"})
_OTHER_SUBSTANCES = frozenset(
    {"opioids", "alcohol", "ghb", "stimulants", "cannabis", "mdma", "psychedelics", "psilocybin", "phencyclidine"}
)


@dataclass(frozen=True)
class Clause:
    """A piece of answer text and the evidence it rests on (none only for what KetaGuide says of its sources)."""

    text: str
    evidence: tuple[Evidence, ...] = ()


def attributed(evidence: Evidence, lead: str = "", *, also: bool = False) -> Clause:
    """What a source says, labelled with its reliability when it is not reliable enough to carry a conclusion."""
    if evidence.reliable:
        return Clause(f"{lead}{sentence(wording(evidence))}", (evidence,))
    label = source_label(evidence)
    says = "also says" if also else "says"
    return Clause(f"{lead}{label if lead else capital(label)} {says}: {sentence(evidence.text)}", (evidence,))


def wording(evidence: Evidence) -> str:
    """A statement's words; a reference point's with what it applies to ("... in Adults with Bipolar Disorder")."""
    if evidence.point is None or not evidence.point.context:
        return evidence.text
    return f"{evidence.text} (applies to: {evidence.point.context})"


def source_label(evidence: Evidence) -> str:
    """'a consumer health article (low reliability)', or an external reference's publisher and confidence."""
    if evidence.claim is None:
        return f"{evidence.source_label} ({evidence.reliability} confidence)"
    kind = evidence.source_label if evidence.source_label != SourceKind.OTHER.value else "source"
    article = "an" if kind[:1] in "aeiou" else "a"
    return f"{article} {kind} ({evidence.reliability} reliability)"


def source_of(evidence: Evidence) -> str:
    """Which document says it: a claim's source, or an external reference."""
    return evidence.claim.source_id if evidence.claim else f"ref:{evidence.point.reference if evidence.point else ''}"


def missing_sentence(understanding: QuestionUnderstanding, pack: KnowledgePack) -> str:
    """ "None of KetaGuide's sources ..." for the question's answer type and subject."""
    cue = pack.lexicon.phrasebook.cue_of(understanding.answer_type)
    treatment, condition = _treatment_phrase(understanding, pack), _condition_phrase(understanding, pack)
    if cue is None:
        return f"None of KetaGuide's sources answers this for {subject_phrase(understanding, pack)}."
    if cue.missing_with_treatment and treatment:
        return cue.missing_with_treatment.format(treatment=treatment, condition=condition or "ketamine use disorder")
    return cue.missing.format(subject=subject_phrase(understanding, pack))


def subject_phrase(understanding: QuestionUnderstanding, pack: KnowledgePack) -> str:
    """What the question is about, in words: "lamotrigine for ketamine withdrawal in pregnancy"."""
    treatment, condition = _treatment_phrase(understanding, pack), _condition_phrase(understanding, pack)
    phrase = " for ".join(p for p in (treatment, condition) if p) or "ketamine"
    populations = joined(understanding.populations, pack)
    return f"{phrase} in {populations}" if populations else phrase


def _treatment_phrase(understanding: QuestionUnderstanding, pack: KnowledgePack) -> str:
    return joined(understanding.treatments, pack)


def _condition_phrase(understanding: QuestionUnderstanding, pack: KnowledgePack) -> str:
    prefix = "ketamine " if not understanding.subjects & _OTHER_SUBSTANCES else ""
    names = [
        f"{prefix}{pack.lexicon.get(c).name}" if c in _KETAMINE_CONDITIONS else pack.lexicon.get(c).name
        for c in sorted(understanding.conditions or understanding.subjects & ADDICTION)
    ]
    return and_list(names)


def joined(concepts: frozenset[str], pack: KnowledgePack) -> str:
    return and_list([pack.lexicon.get(c).name for c in sorted(concepts)])


def and_list(words: Sequence[str]) -> str:
    """ "a", "a and b", "a, b and c"."""
    if not words:
        return ""
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def sentence(text: str) -> str:
    """A statement as a sentence: capitalised (a reference point may be part of a sentence) and full-stopped."""
    text = capital(text.strip())
    return text if text.endswith((".", "?", "!", '"', "”")) else f"{text}."


def capital(text: str) -> str:
    return text[:1].upper() + text[1:]
