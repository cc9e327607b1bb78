"""The baseline of `ketaguide-bench answer-quality`: KetaGuide's answer composition as it was before issue #8.

What it is: a copy of `src/ketaguide/domain/answering/answer.py` and `policy.py` at commit 5992817 (the last commit
to change them before the issue #8 rebuild; `git log -- src/ketaguide/domain/answering/answer.py`), the version whose
`select_claims` keeps at most `MAX_CLAIMS` (policy.max_claims = 12) concept-filtered claims. It is KetaGuide's own
code, kept here unchanged in its logic so that every answer-quality figure of the rebuilt engine is set against the
old one measured in the same run, on the same pack and the same retrieval.

What changed in the copy: only the header, the policy living in this module (the runtime's policy may gain or lose
fields in the rebuild), and `baseline_answer`, which does what the old service did (`services/evidence.ask` at
5992817: normalise the question, retrieve `policy.candidates` claims from the runtime's index, compose) and returns
the answer in the JSON shape of the answer contract. Shared pieces (pack, citing, grading, text, retrieval) are
imported from the current tree, as the baseline must run against the current pack. Do not "fix" this module: it
is a measuring stick.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, PositiveInt

from ketaguide.domain.citing.references import Reference, ReferenceList
from ketaguide.domain.citing.statements import Statement, conflict_statement
from ketaguide.domain.evidence.grading import CertaintyAssessment, EvidenceItem, grade_body
from ketaguide.domain.evidence.models import Claim, ClaimType, Conflict, Level, StudyDesign
from ketaguide.domain.evidence.pack import KnowledgePack
from ketaguide.domain.evidence.text import QUESTION_FILLER, normalise_text, stem, tokens
from ketaguide.domain.ports import Hit

if TYPE_CHECKING:
    from ketaguide.bootstrap import Runtime


class AnswerPolicy(BaseModel):
    """The answer policy of commit 5992817 (domain/answering/policy.py), unchanged."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str = "2026.12.1"
    candidates: int = Field(40, gt=0, description="claims retrieved per question; selection filters by concept")
    max_claims: int = Field(12, gt=0, description="claims an answer cites at most")
    min_relative_score: float = Field(
        0.25, ge=0, le=1, description="a claim scoring under this share of the best relevant claim is too weak to cite"
    )
    min_anchor_coverage: float = Field(
        0.7,
        ge=0,
        le=1,
        description="share of the question's concepts (weight 2) and other content words (weight 1) that a "
        "bottom-line claim must cover",
    )


DEFAULT_POLICY = AnswerPolicy()


def baseline_answer(runtime: Runtime, question: str, policy: AnswerPolicy = DEFAULT_POLICY) -> dict[str, Any]:
    """The pre-issue-8 answer to `question`, in the answer contract's JSON shape (without provenance)."""
    shown = question.strip()
    understood = normalise_text(shown)
    hits = runtime.index.search(understood, policy.candidates)
    answer = compose_answer(understood, hits, runtime.knowledge.pack, runtime.is_common_word, policy)
    return {**answer.model_dump(mode="json"), "question": shown, "retriever": runtime.retrieval_note}


# --- below: domain/answering/answer.py at commit 5992817, logic unchanged -----------------------------------------
_SUBJECT_CONCEPTS = frozenset({"ketamine", "esketamine"})
_FOCUS_KINDS = frozenset({"condition", "symptom", "outcome", "population", "setting"})
_TOPIC_CLAIM_TYPES = {
    "mechanism": {ClaimType.MECHANISM},
    "dosing": {ClaimType.DOSING},
    "interaction": {ClaimType.INTERACTION},
    "signs": {ClaimType.DIAGNOSIS_SIGNS},
    "epidemiology": {ClaimType.EPIDEMIOLOGY},
    "evidence_quality": {ClaimType.EVIDENCE_LIMITATION, ClaimType.EFFICACY},
    "pharmacotherapy": {ClaimType.EFFICACY},
}
_UNRELIABLE = (Level.LOW, Level.VERY_LOW)


def _no_word(word: str) -> bool:
    return False


class Section(BaseModel):
    model_config = ConfigDict(frozen=True)

    heading: str
    statements: tuple[Statement, ...]


class Answer(BaseModel):
    """A structured answer; `services.evidence.answer_contract` gives the JSON shape other tools rely on."""

    model_config = ConfigDict(frozen=True)

    question: str
    abstained: bool
    explanation: str | None = None
    certainty: Level | None = None
    certainty_reasons: tuple[str, ...] = ()
    evidence_profile: str | None = None
    bottom_line: str | None = None
    bottom_line_citations: tuple[PositiveInt, ...] = ()
    sections: tuple[Section, ...] = ()
    references: tuple[Reference, ...] = ()


def compose_answer(
    question: str,
    hits: Sequence[Hit],
    pack: KnowledgePack,
    is_common_word: Callable[[str], bool] = _no_word,
    policy: AnswerPolicy = DEFAULT_POLICY,
) -> Answer:
    """Select relevant claims, grade them, and lay them out in sections; abstain when nothing answers.

    `is_common_word` tells ordinary language from specialist terms; without it every word the pack does not know
    is treated as a specialist term (the cautious default).
    """
    focus = QuestionFocus.of(question, pack, is_common_word)
    if not focus.in_scope:
        return _abstain(
            question, "The question names nothing within KetaGuide's scope (ketamine and its use disorder)."
        )
    if focus.unknown_subject:
        words = ", ".join(f"'{w}'" for w in sorted(focus.unknown))
        return _abstain(
            question,
            f"The question names {words}, which the knowledge pack does not contain; KetaGuide answers only from its "
            "evidence and does not guess. Check the spelling, or ask without it if it is not the subject.",
        )
    selected = select_claims(hits, focus, pack, policy)
    if not selected:
        return _abstain(question, focus.no_evidence_message())
    return _build(question, selected, focus, pack, policy)


class QuestionFocus(BaseModel):
    """The concepts a question names, sorted into what filters claims and what only steers them."""

    model_config = ConfigDict(frozen=True)

    concepts: frozenset[str]
    drugs: frozenset[str]  # named drugs other than ketamine itself: claims must be about one of them
    focus: frozenset[str]  # conditions, symptoms, outcomes: claims must touch one if any are named
    topics: frozenset[str]
    in_scope: bool
    unknown: frozenset[str] = frozenset()  # specialist words found nowhere in the pack
    leftover: frozenset[str] = frozenset()  # stems of content words that name no concept

    @property
    def unknown_subject(self) -> bool:
        """The question's only named treatment is a word the pack has never seen ("is semaglutide helpful")."""
        return bool(self.unknown) and not self.drugs

    def coverage(self, claim: Claim, pack: KnowledgePack) -> float:
        """Share of the question a claim speaks to: concepts weigh twice as much as other content words."""
        concepts = claim_concepts(claim, pack) | _implied_topics(claim, pack)
        words = {stem(t) for t in tokens(f"{claim.statement} {claim.quote}")}
        asked = self.concepts | self.topics
        total = 2 * len(asked) + len(self.leftover)
        covered = 2 * len(asked & concepts) + len(self.leftover & words)
        return covered / total if total else 0.0

    @classmethod
    def of(cls, question: str, pack: KnowledgePack, is_common_word: Callable[[str], bool] = _no_word) -> QuestionFocus:
        concepts = frozenset(pack.lexicon.concepts_in(question))
        kinds = {c: pack.lexicon.get(c).kind for c in concepts}
        drugs = frozenset(c for c in concepts if kinds[c] == "drug" and c not in _SUBJECT_CONCEPTS)
        focus = frozenset(c for c in concepts if kinds[c] in _FOCUS_KINDS)
        topics = frozenset(c for c in concepts if kinds[c] == "topic") | _asked_topics(question)
        scoped = any(pack.lexicon.get(c).scope for c in concepts)
        leftover = frozenset(stem(t) for t in tokens(pack.lexicon.strip_terms(question)) if t not in QUESTION_FILLER)
        unseen = frozenset(t for t in tokens(question) if not pack.knows_word(t) and t not in QUESTION_FILLER)
        unknown = frozenset(t for t in unseen if not is_common_word(t))
        # A question that names a drug but not ketamine is in scope only if every word of it is known to the pack:
        # "how does lamotrigine work" is, "does lamotrigine treat epilepsy" is not.
        in_scope = scoped or bool((drugs or focus) and not unseen)
        return cls(
            concepts=concepts,
            drugs=drugs,
            focus=focus,
            topics=topics,
            in_scope=in_scope,
            unknown=unknown,
            leftover=leftover,
        )

    def no_evidence_message(self) -> str:
        named = ", ".join(sorted(c.replace("_", " ") for c in self.drugs | self.focus)) or "this question"
        return f"The knowledge pack has no evidence that answers this question (on {named}). Nothing is inferred."


_HOW_IT_WORKS = re.compile(r"\bhow (?:does|do|might|could|would) .{1,60}\bwork", re.IGNORECASE)


def _asked_topics(question: str) -> frozenset[str]:
    """Topics a question asks by its shape rather than its words ("how does X work" asks for a mechanism)."""
    return frozenset({"mechanism"}) if _HOW_IT_WORKS.search(question) else frozenset()


def _implied_topics(claim: Claim, pack: KnowledgePack) -> set[str]:
    """Topics a claim answers by its type (a mechanism claim answers "how does it work")."""
    topics = {t for t, types in _TOPIC_CLAIM_TYPES.items() if claim.claim_type in types}
    intervention = claim.about.intervention
    if intervention and intervention not in _SUBJECT_CONCEPTS and pack.lexicon.get(intervention).kind == "drug":
        topics.add("pharmacotherapy")
    return topics


def claim_concepts(claim: Claim, pack: KnowledgePack) -> set[str]:
    """Concepts a claim names in its quote, statement and `about`, plus its intervention (memoised by the pack)."""
    return set(pack.concepts_of(claim))


def _about_other_condition(claim: Claim, focus: QuestionFocus, pack: KnowledgePack) -> bool:
    """True when the claim's condition names a substance or disorder the question does not (opioid withdrawal
    is not ketamine withdrawal)."""
    named = pack.lexicon.concepts_in(claim.about.condition or "")
    others = {c for c in named if _is_other_substance(c, pack)}
    return bool(others - focus.concepts)


def _is_other_substance(concept_id: str, pack: KnowledgePack) -> bool:
    concept = pack.lexicon.get(concept_id)
    if concept.scope:
        return False
    return concept.kind == "drug" or concept_id.endswith("_use_disorder")


def _drugs_of(claim: Claim, concepts: set[str], pack: KnowledgePack) -> set[str]:
    """Drugs a claim speaks about. For mechanism claims only the intervention and condition count: a list of
    receptor antagonists that merely names a drug says nothing of its clinical use."""
    if claim.claim_type is not ClaimType.MECHANISM:
        return concepts
    named = pack.lexicon.concepts_in(claim.about.condition or "")
    return named | ({claim.about.intervention} if claim.about.intervention else set())


def _relevant(claim: Claim, focus: QuestionFocus, pack: KnowledgePack) -> bool:
    concepts = claim_concepts(claim, pack)
    if _about_other_condition(claim, focus, pack):
        return False
    if focus.drugs and not focus.drugs & _drugs_of(claim, concepts, pack):
        return False
    if focus.focus and not focus.focus & concepts:
        return False
    if not focus.drugs and not focus.focus and focus.topics:
        wanted = set().union(*(_TOPIC_CLAIM_TYPES.get(t, set()) for t in focus.topics))
        return not wanted or claim.claim_type in wanted
    return True


def select_claims(
    hits: Sequence[Hit], focus: QuestionFocus, pack: KnowledgePack, policy: AnswerPolicy = DEFAULT_POLICY
) -> list[Claim]:
    """Relevant claims, those of the asked topic first, then by rank, without the weakly related tail."""
    relevant = [(h, pack.claim(h.doc_id)) for h in hits if pack.has_claim(h.doc_id)]
    relevant = [(h, c) for h, c in relevant if _relevant(c, focus, pack)]
    if not relevant:
        return []
    floor = relevant[0][0].score * policy.min_relative_score
    # "Is there a medication for ..." asks for drug claims even where the words of the question rank others higher.
    relevant.sort(key=lambda pair: not focus.topics & _implied_topics(pair[1], pack))
    kept: list[Claim] = []
    for hit, claim in relevant:
        if hit.score >= floor and not any(_overlaps(claim, k) for k in kept):
            kept.append(claim)
    return kept[: policy.max_claims]


def _overlaps(a: Claim, b: Claim) -> bool:
    """Two claims quoting overlapping text of one source say the same thing; cite it once."""
    return a.source_id == b.source_id and a.start < b.end and b.start < a.end


def _abstain(question: str, why: str) -> Answer:
    return Answer(question=question, abstained=True, explanation=why)


def evidence_item(claim: Claim, pack: KnowledgePack) -> EvidenceItem:
    return EvidenceItem(
        design=claim.study_design,
        source_reliability=pack.source_of(claim).reliability.level,
        mechanistic=claim.claim_type is ClaimType.MECHANISM,
        reported_certainty=claim.reported_certainty,
        label=pack.source_of(claim).kind.value,
    )


def _reported_ratings(selected: list[Claim], pack: KnowledgePack) -> list[Claim]:
    """Ratings a source reports for the same body of evidence (same intervention or same cited study) as the
    selected claims, even if retrieval did not find the rating itself.

    A systematic review's GRADE verdict applies to its whole body of evidence, so it caps the certainty of any
    answer drawn from that body, whichever sentences retrieval happened to find.
    """
    bodies = {(c.source_id, c.about.intervention) for c in selected if c.about.intervention}
    bodies |= {(c.source_id, f"ref {r}") for c in selected for r in c.refs}

    def same_body(rated: Claim) -> bool:
        keys = {(rated.source_id, rated.about.intervention), *((rated.source_id, f"ref {r}") for r in rated.refs)}
        return bool(keys & bodies)

    return [c for c in pack.claims if c.reported_certainty and c not in selected and same_body(c)]


def evidence_profile(claims: Iterable[Claim]) -> str:
    """What the evidence consists of.

    For example '1 systematic review, 1 case report, animal studies; no controlled trials'. Claims that rest on the
    same study (same source and reference numbers) count once.
    """
    by_design: dict[StudyDesign, list[Claim]] = {}
    for claim in claims:
        by_design.setdefault(claim.study_design, []).append(claim)
    counts = Counter({design: len(_studies(group)) for design, group in by_design.items()})
    # Expert prose and unstated designs read alike to a clinician: statements with no study behind them.
    counts[StudyDesign.UNSTATED] += counts.pop(StudyDesign.NARRATIVE_EXPERT, 0)
    parts = [_count_label(design, counts[design]) for design in _PROFILE_ORDER if counts[design]]
    trials = "" if counts[StudyDesign.CONTROLLED_TRIAL] else "; no controlled trials"
    return (", ".join(parts) or "no studies") + trials


def _studies(claims: list[Claim]) -> set[str]:
    """Distinct studies behind claims of one design.

    A claim citing a single reference number names its study; a claim citing several (a summary sentence) adds
    a study only when no single-reference claim of that design exists; a claim without references is its own.
    """
    single = {f"{c.source_id}#{c.refs[0]}" for c in claims if len(c.refs) == 1}
    multi = {c.study_key for c in claims if len(c.refs) > 1}
    unreferenced = {c.study_key for c in claims if not c.refs}
    return (single or multi) | unreferenced


_PROFILE_ORDER = (
    StudyDesign.SYSTEMATIC_REVIEW,
    StudyDesign.CONTROLLED_TRIAL,
    StudyDesign.OBSERVATIONAL,
    StudyDesign.CASE_SERIES,
    StudyDesign.CASE_REPORT,
    StudyDesign.ANIMAL_PRECLINICAL,
    StudyDesign.UNSTATED,
)


def _count_label(design: StudyDesign, n: int) -> str:
    if design is StudyDesign.ANIMAL_PRECLINICAL:
        return "animal studies"
    if design is StudyDesign.UNSTATED:
        return f"{n} statement{'s' if n > 1 else ''} with no study named"
    return f"{n} {design.label}{'s' if n > 1 else ''}"


def _unreliable(claim: Claim, pack: KnowledgePack) -> bool:
    return pack.source_of(claim).reliability.level in _UNRELIABLE


def _build(
    question: str, selected: list[Claim], focus: QuestionFocus, pack: KnowledgePack, policy: AnswerPolicy
) -> Answer:
    refs = ReferenceList()
    ratings = _reported_ratings(selected, pack)
    certainty = grade_body([evidence_item(c, pack) for c in [*selected, *ratings]])
    anchor = _anchor(focus, selected, pack, policy)
    bottom_line, bottom_cites = _bottom_line(anchor, selected, certainty, refs, pack)
    sections = [*_claim_sections(selected, refs, pack), *_conflict_sections(selected, refs, pack)]
    sections.append(_caveat([*selected, *ratings], certainty, refs, pack))
    return Answer(
        question=question,
        abstained=False,
        certainty=certainty.level,
        certainty_reasons=tuple(certainty.reasons),
        evidence_profile=evidence_profile(selected),
        bottom_line=bottom_line,
        bottom_line_citations=bottom_cites,
        sections=tuple(s for s in sections if s.statements),
        references=refs.references,
    )


def _anchor(focus: QuestionFocus, selected: list[Claim], pack: KnowledgePack, policy: AnswerPolicy) -> Claim | None:
    """The claim that best answers the question, from a source reliable enough to carry a conclusion.

    A claim must speak to most of the question (`policy.min_anchor_coverage`) to carry the bottom line: a reliable
    claim on a neighbouring point is shown in its section but does not answer. Preference: claims of the type asked for
    ("how does it work": mechanism), then findings or harms over background (mechanism, limitations), then
    coverage of the question, then retrieval rank.
    """
    reliable = [c for c in selected if not _unreliable(c, pack)]
    answering = [c for c in reliable if focus.coverage(c, pack) >= policy.min_anchor_coverage]
    if not answering:
        return None
    wanted = set().union(*(_TOPIC_CLAIM_TYPES.get(t, set()) for t in focus.topics))

    def preference(ranked: tuple[int, Claim]) -> tuple[int, int, float, int]:
        rank, claim = ranked
        typed = int(claim.claim_type in wanted)
        return (typed, int(claim.claim_type not in _BACKGROUND), focus.coverage(claim, pack), -rank)

    return max(enumerate(answering), key=preference)[1]


_BACKGROUND = frozenset({ClaimType.MECHANISM, ClaimType.EVIDENCE_LIMITATION})


def _bottom_line(
    anchor: Claim | None,
    selected: list[Claim],
    certainty: CertaintyAssessment,
    refs: ReferenceList,
    pack: KnowledgePack,
) -> tuple[str, tuple[int, ...]]:
    profile = evidence_profile(selected)
    if anchor is None:
        kinds = {pack.source_of(c).kind.value for c in selected}
        unreliable = sorted({pack.source_of(c).kind.value for c in selected if _unreliable(c, pack)})
        if len(unreliable) == len(kinds):
            held = f"only sources of low reliability address it ({', '.join(unreliable)})"
        else:
            held = "what the knowledge pack holds on neighbouring points is shown below"
        text = (
            f"No reliable source in the knowledge pack answers this directly; {held}, so no conclusion is drawn. "
            f"Each statement is labelled with its source's reliability. Certainty: {certainty.level} ({profile})."
        )
        return text, ()
    n = refs.cite_claim(anchor, pack.source_of(anchor))
    return f"{anchor.statement} Certainty: {certainty.level} ({profile}).", (n,)


_SECTION_ORDER = (
    "Mechanism",
    "Evidence: preclinical",
    "Evidence: clinical",
    "Statements with no study named",
    "Signs and diagnosis",
    "Epidemiology",
    "Limitations",
    "Potential concerns and interactions",
    "Practical approach",
)


def section_of(claim: Claim) -> str:
    if claim.claim_type is ClaimType.MECHANISM:
        return "Mechanism"
    if claim.claim_type is ClaimType.EFFICACY:
        if claim.study_design is StudyDesign.ANIMAL_PRECLINICAL:
            return "Evidence: preclinical"
        return "Evidence: clinical" if claim.study_design.is_human_clinical else "Statements with no study named"
    return {
        ClaimType.DIAGNOSIS_SIGNS: "Signs and diagnosis",
        ClaimType.EPIDEMIOLOGY: "Epidemiology",
        ClaimType.EVIDENCE_LIMITATION: "Limitations",
        ClaimType.SAFETY_HARM: "Potential concerns and interactions",
        ClaimType.INTERACTION: "Potential concerns and interactions",
    }.get(claim.claim_type, "Practical approach")


def claim_statement(claim: Claim, refs: ReferenceList, pack: KnowledgePack) -> Statement:
    """A claim as an answer statement: its normalised wording, labelled when its source is unreliable."""
    source = pack.source_of(claim)
    text = claim.statement
    if source.reliability.level in _UNRELIABLE:
        text += f" [{source.reliability.level}-reliability source: {source.kind.value}]"
    if claim.factual_slip:
        text += f" [curator: this source statement contains a factual error: {claim.factual_slip}]"
    return Statement(text=text, citations=(refs.cite_claim(claim, source),))


def _claim_sections(selected: list[Claim], refs: ReferenceList, pack: KnowledgePack) -> list[Section]:
    grouped: dict[str, list[Statement]] = {}
    for claim in selected:
        grouped.setdefault(section_of(claim), []).append(claim_statement(claim, refs, pack))
    return [Section(heading=h, statements=tuple(grouped[h])) for h in _SECTION_ORDER if h in grouped]


def _conflict_sections(selected: list[Claim], refs: ReferenceList, pack: KnowledgePack) -> list[Section]:
    seen: dict[str, Conflict] = {}
    for claim in selected:
        seen.update({c.id: c for c in pack.conflicts_of(claim.id)})
    statements = [conflict_statement(conflict, refs, pack) for conflict in seen.values()]
    return [Section(heading="Where sources conflict", statements=tuple(statements))] if statements else []


def _caveat(selected: list[Claim], certainty: CertaintyAssessment, refs: ReferenceList, pack: KnowledgePack) -> Section:
    unreliable = sorted({c.source_id for c in selected if pack.source_of(c).reliability.level in _UNRELIABLE})
    graded = [c for c in selected if c.reported_certainty is not None]
    text = f"Certainty of this evidence is {certainty.level}: " + "; ".join(certainty.reasons) + "."
    if unreliable:
        text += (
            f" {len(unreliable)} cited source(s) have low reliability; they are labelled and carry no conclusion alone."
        )
    # Cite the claims that report a rating; otherwise the best-ranked claim the grade rests on.
    cites = tuple(refs.cite_claim(c, pack.source_of(c)) for c in (graded or selected[:1]))
    return Section(heading="Caveat", statements=(Statement(text=text, citations=cites),))
