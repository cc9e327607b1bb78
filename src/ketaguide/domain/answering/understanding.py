"""Step 1 of answering: what a question is about and what kind of answer it asks for.

`understand_question` is pure: it reads the question through the pack's lexicon and phrasebook (shorthand, slang,
contractions, spelling), finds its subjects (lexicon concepts: drugs, conditions, populations) and its answer type,
and decides whether KetaGuide's scope covers it. It never abstains because of an ordinary word it does not know:
only a question outside the scope, or one naming a specialist term the evidence lacks ("semaglutide"), is refused.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

from pydantic import BaseModel, ConfigDict

from ketaguide.domain.answering.answer_types import AnswerType, read_answer_type
from ketaguide.domain.answering.wording import Rewrite, correct_spelling, expand_shorthand
from ketaguide.domain.evidence.lexicon import Lexicon
from ketaguide.domain.evidence.pack import KnowledgePack
from ketaguide.domain.evidence.text import QUESTION_FILLER, TOKEN, normalise_text, stem, tokens

__all__ = ["AnswerType", "QuestionUnderstanding", "understand_question"]

# Topic concepts that only say what kind of answer is wanted: the answer type carries them, not the subjects.
ANSWER_TYPE_TOPICS = frozenset({"mechanism", "dosing", "interaction", "evidence_quality", "signs", "epidemiology"})
# Concepts naming the use disorder itself: KetaGuide's whole domain, so they narrow an answer only when nothing
# more specific is named ("signs of ketamine addiction" yes; "does lamotrigine help KUD craving" no).
ADDICTION = frozenset({"ketamine_use_disorder", "substance_use_disorder"})
# Concepts that are the context of every question rather than its subject.
CONTEXT = frozenset({"ketamine"})
# Concepts that place a question within KetaGuide's scope (the lexicon marks them `scope`).
SCOPE = frozenset({"ketamine", "esketamine", "ketamine_use_disorder", "ketamine_uropathy"})
# "without medication", "no therapy": a class of treatment named only to exclude it is not the question's subject.
_EXCLUDED_CLASS = re.compile(
    r"\b(without|no|not on|off) (any )?(meds|medication|medications|medicine|medicines|drugs)\b"
)
_TREATMENT_KINDS = frozenset({"drug", "treatment", "setting"})
_CONDITION_KINDS = frozenset({"condition", "symptom", "outcome", "topic"})
# Classes of treatment, dropped when a specific member is named ("is lamotrigine a good medication").
_TREATMENT_CLASSES = frozenset({"pharmacotherapy"})
# An unknown word this short is not taken for a treatment or condition ("tms" is; "ab" is not).
_MIN_UNKNOWN_SUBJECT = 3


def _no_word(word: str) -> bool:
    return False


class QuestionUnderstanding(BaseModel):
    """What a question is about and asks for; every decision is here for `ketaguide ask --explain`."""

    model_config = ConfigDict(frozen=True)

    question: str  # as asked, normalised
    text: str  # shorthand expanded and spelling corrected: what retrieval and the cues read
    subjects: frozenset[str]
    answer_type: AnswerType
    also_asked: tuple[AnswerType, ...] = ()
    overview: bool = False
    yes_no: bool = False
    corrections: tuple[tuple[str, str], ...] = ()  # (typed, meant): misspellings
    expansions: tuple[tuple[str, str], ...] = ()  # (typed, meant): shorthand, slang, contractions
    in_scope: bool
    unknown_terms: tuple[str, ...] = ()  # specialist words found nowhere in the pack
    absent_subjects: tuple[str, ...] = ()  # of those, ordinary words naming a body part or condition ("liver")
    treatments: frozenset[str] = frozenset()  # named treatments: evidence must be about one of them
    conditions: frozenset[str] = frozenset()  # named conditions, symptoms, outcomes: evidence must touch one
    populations: frozenset[str] = frozenset()  # named populations: evidence must be about each
    telling_words: tuple[str, ...] = ()  # words that name neither a concept nor the kind of answer (see relevance.py)
    kind_words: tuple[str, ...] = ()  # words that ask for the kind of answer ("cause", "how long"), not its content

    @property
    def did_you_mean(self) -> str | None:
        """The question with its misspellings corrected, when there were any."""
        if not self.corrections:
            return None
        text = self.question
        for typed, meant in self.corrections:
            text = text.replace(typed, meant, 1)
        return text

    @property
    def names_unknown_subject(self) -> bool:
        """The question names a body part or condition the evidence never mentions, or a specialist term the pack
        has never seen and no treatment it knows (a misspelt or unknown drug)."""
        return bool(self.absent_subjects) or (bool(self.unknown_terms) and not (self.treatments - _TREATMENT_CLASSES))

    @property
    def specific(self) -> bool:
        """Whether the question names anything more specific than ketamine and its use disorder."""
        return bool(self.treatments or self.conditions or self.populations)


def understand_question(
    question: str, pack: KnowledgePack, is_common_word: Callable[[str], bool] = _no_word
) -> QuestionUnderstanding:
    """Read `question` (any text) into its subjects, answer type and scope.

    `is_common_word` tells ordinary language from specialist terms; without it every word the pack does not know is
    treated as a specialist term (the cautious default).
    """
    asked = normalise_text(question)
    expanded, expansions = expand_shorthand(asked, pack.lexicon.phrasebook)

    def ordinary(word: str) -> bool:
        return is_ordinary_word(word, pack.lexicon.phrasebook.ordinary_words, is_common_word)

    text, corrections = correct_spelling(expanded, pack.lexicon, pack.knows_word, ordinary)
    concepts = most_specific(frozenset(pack.lexicon.concepts_in(text)), text, pack.lexicon) - ANSWER_TYPE_TOPICS
    if _EXCLUDED_CLASS.search(text):
        concepts -= {"pharmacotherapy"}
    treatments, conditions, populations = _roles(concepts, pack.lexicon)
    unknown = _unknown_terms(text, pack, ordinary)
    reading = read_answer_type(
        text,
        pack.lexicon.phrasebook,
        names_treatment=bool(treatments),
        names_symptom=any(pack.lexicon.get(c).kind == "symptom" for c in conditions),
    )
    if reading.answer_type in _INTERACTION_PRONE and _paired_with_ketamine(text, pack.lexicon):
        reading = replace(reading, answer_type=AnswerType.INTERACTIONS, overview=False)
    return QuestionUnderstanding(
        question=asked,
        text=text,
        subjects=concepts,
        answer_type=reading.answer_type,
        also_asked=reading.also_asked,
        overview=reading.overview,
        yes_no=reading.yes_no,
        corrections=tuple((r.typed, r.meant) for r in corrections),
        expansions=tuple((r.typed, r.meant) for r in expansions if r.typed.strip() != r.meant),
        in_scope=_in_scope(concepts, treatments | conditions, unknown),
        unknown_terms=unknown,
        absent_subjects=_absent_subjects(text, pack),
        treatments=treatments,
        conditions=conditions,
        populations=populations,
        telling_words=_telling_words(text, pack),
        kind_words=_kind_words(text, pack),
    )


# Kinds a question pairing a drug with ketamine is read as an interaction instead ("is ketamine safe with SSRIs?").
_INTERACTION_PRONE = frozenset({AnswerType.HARMS, AnswerType.OTHER, AnswerType.EFFICACY})
_CONNECTOR = re.compile(
    r"^[\w' -]{0,12}\b(with|and|plus|alongside|on top of|together with)\b[\w' -]{0,12}$|^\s*[+&/]\s*$"
)
_BENEFIT = re.compile(
    r"\b(help|helps|reduce|reduces|prevent|prevents|treat|treats|show|showed"
    r"|for (craving|cravings|relapse|withdrawal))\b"
)
# "ketamine craving", "ketamine use": ketamine named as what is misused, not as a drug given beside another.
_KETAMINE_AS_ATTRIBUTE = re.compile(
    r"^\s*(craving|cravings|use|users?|self-administration|addiction|withdrawal|dependence|abuse|misuse|seeking|"
    r"relapse|bladder|use disorder)\b"
)


def _paired_with_ketamine(text: str, lexicon: Lexicon) -> bool:
    """Whether the question names a drug beside ketamine ("ketamine with alcohol", "SSRIs and ketamine") and asks
    about no benefit: an interaction question, whatever else its words suggest."""
    if _BENEFIT.search(text):
        return False
    spans = [(m.start(), m.end(), cid) for m, cid in lexicon.matches(text)]
    ketamine = [(s, e) for s, e, cid in spans if cid in CONTEXT]
    drugs = [(s, e) for s, e, cid in spans if cid not in CONTEXT and lexicon.get(cid).kind == "drug"]
    for ks, ke in ketamine:
        if _KETAMINE_AS_ATTRIBUTE.match(text[ke:]):
            continue
        for ds, de in drugs:
            between = text[ke:ds] if ke <= ds else text[de:ks]
            if _CONNECTOR.search(between):
                return True
    return False


def most_specific(concepts: frozenset[str], text: str, lexicon: Lexicon) -> frozenset[str]:
    """The concepts a question names, where one word names two (buprenorphine: the drug, and the opioids it belongs
    to) keeping the narrower (the concept with fewer terms): a question about buprenorphine is not about opioids."""
    owners: dict[tuple[int, int], list[str]] = {}
    for match, concept_id in lexicon.matches(text):
        owners.setdefault(match.span(), []).append(concept_id)
    broader = {
        c
        for ids in owners.values()
        if len(ids) > 1
        for c in ids
        if c != min(ids, key=lambda i: len(lexicon.get(i).terms))
        and not any(c in other for span, other in owners.items() if len(other) == 1)
    }
    return concepts - broader


def _telling_words(text: str, pack: KnowledgePack) -> tuple[str, ...]:
    """The question's words left when its concepts' terms and the words asking for a kind of answer ("signs",
    "how long", "dose") are taken out: "laryngospasm" and "intubation" in "does laryngospasm from ketamine need
    intubation?"."""
    rest = pack.lexicon.strip_terms(text)
    for entry in pack.lexicon.phrasebook.answer_types:
        for cue in entry.cues:
            rest = cue.sub(" ", rest)
    return tuple(dict.fromkeys(tokens(rest)))


_MAX_KIND_WORDS = 2


def _kind_words(text: str, pack: KnowledgePack) -> tuple[str, ...]:
    """The words that ask for a kind of answer ("cause" in "does stopping ketamine cause physical withdrawal?"): a
    statement is not a better answer for repeating them (relevance.py). Only short cue matches count: a cue that
    reads the kind from the sentence's shape ("is ... psychological?") spans words that still carry content."""
    rest = pack.lexicon.strip_terms(text)
    found = [
        words
        for entry in pack.lexicon.phrasebook.answer_types
        for cue in entry.cues
        for match in cue.finditer(rest)
        if len((words := match.group(0)).split()) <= _MAX_KIND_WORDS
    ]
    return tuple(dict.fromkeys(t for words in found for t in tokens(words)))


def _roles(concepts: frozenset[str], lexicon: Lexicon) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """Concepts sorted into treatments, conditions and populations, without ketamine itself (the context)."""
    named = concepts - CONTEXT
    kinds = {c: lexicon.get(c).kind for c in named}
    populations = frozenset(c for c in named if kinds[c] == "population")
    treatments = frozenset(c for c in named if kinds[c] in _TREATMENT_KINDS)
    if treatments - _TREATMENT_CLASSES:
        treatments -= _TREATMENT_CLASSES
    conditions = frozenset(c for c in named if kinds[c] in _CONDITION_KINDS)
    if conditions - ADDICTION:
        conditions -= ADDICTION
    return treatments, conditions, populations


def _in_scope(concepts: frozenset[str], named: frozenset[str], unknown: tuple[str, ...]) -> bool:
    """In scope if it names ketamine or its use disorder, or names a drug or condition of the evidence and no
    specialist term the pack lacks ("how does lamotrigine work" is in scope; "does lamotrigine treat epilepsy" names a
    condition the evidence never mentions, and is refused as such)."""
    return any(c in SCOPE for c in concepts) or (bool(named) and not unknown)


def _unseen(text: str, pack: KnowledgePack) -> list[str]:
    """Words no source, reference or lexicon term uses (stopwords and question filler aside)."""
    known = pack.lexicon.phrasebook.vocabulary_stems
    words = tokens(pack.lexicon.strip_terms(text))
    return [t for t in words if t not in QUESTION_FILLER and not pack.knows_word(t) and stem(t) not in known]


def _known_part(part: str, pack: KnowledgePack, is_common_word: Callable[[str], bool]) -> bool:
    return len(part) <= 3 or pack.knows_word(part) or is_common_word(part)


def is_ordinary_word(word: str, ordinary_words: frozenset[str], is_common_word: Callable[[str], bool]) -> bool:
    """Ordinary language: a curated question word, or a dictionary word in any inflection ("harms", "suddenly",
    "worried": the word list holds base forms only)."""
    return word in ordinary_words or any(is_common_word(base) for base in _bases(word))


def _bases(word: str) -> list[str]:
    """The word and the base forms it may be inflected from (enough for a dictionary lookup, not a stemmer)."""
    bases = [word]
    for suffix, replacement in _INFLECTIONS:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            bases.append(word[: -len(suffix)] + replacement)
    return bases


_INFLECTIONS = (
    ("ies", "y"),
    ("ied", "y"),
    ("ily", "y"),
    ("ing", ""),
    ("ing", "e"),
    ("es", ""),
    ("ed", ""),
    ("ed", "e"),
    ("ly", ""),
    ("er", ""),
    ("er", "e"),
    ("s", ""),
    ("d", ""),
    ("r", ""),
)


def _absent_subjects(text: str, pack: KnowledgePack) -> tuple[str, ...]:
    """Body parts and conditions the question names that none of the pack's sources mentions ("liver"): a
    passing mention in a reference is not evidence about them."""
    words = tokens(text)
    named = [w for w in words if w in pack.lexicon.phrasebook.subject_words and not pack.knows_word(w)]
    return tuple(dict.fromkeys(named))


def _unknown_terms(text: str, pack: KnowledgePack, is_common_word: Callable[[str], bool]) -> tuple[str, ...]:
    """Words that may name a treatment or condition the evidence lacks: unknown to the pack and to a dictionary, or
    shaped like a drug name, or a medicine or body part a dictionary lists ("melatonin", "liver")."""
    phrasebook = pack.lexicon.phrasebook
    found: list[str] = []
    for word in _unseen(text, pack):
        short = len(word) < _MIN_UNKNOWN_SUBJECT and word not in phrasebook.subject_words
        if not TOKEN.fullmatch(word) or short or not word.replace("-", "").isalpha():
            continue
        if "-" in word and all(_known_part(part, pack, is_common_word) for part in word.split("-")):
            continue  # "first-line", "drug-facilitated", "re-titrate": ordinary words joined
        named = word in phrasebook.subject_words or word in phrasebook.medicine_words
        if named or word.endswith(phrasebook.drug_name_endings) or not is_common_word(word):
            found.append(word)
    return tuple(dict.fromkeys(found))


def rewrites(understanding: QuestionUnderstanding) -> tuple[Rewrite, ...]:
    """Every change made to the question's wording, in order (for the explanation)."""
    made = [Rewrite(t, m, "shorthand") for t, m in understanding.expansions]
    return (*made, *(Rewrite(t, m, "spelling") for t, m in understanding.corrections))
