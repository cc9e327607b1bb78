"""Option review: a drug option's own safety rules for a medicine being ordered, whether or not the plan offers it.

The care plan (`plan.evaluate`) checks an option against the patient only when it offers the option, and it offers
the drug options for craving and relapse prevention only with a counted DSM-5 diagnosis. A medicine can be ordered
anyway: an EHR chart shows a coded ketamine use disorder, not the criteria, so the plan withholds naltrexone,
lamotrigine and paliperidone + bupropion, and a naltrexone order beside methadone, or bupropion for a patient with
epilepsy, would pass unchecked. `review_options` applies each option's contra-indication and caution rules
(`option_rules` in care_plan.yaml, through `safety.fired_rules` and `safety.option_status`) to the patient, for the
options about the medicines asked about (each option's `medicines`), and says whether the plan offers the option
(`offered`). Applicability rules (`not_applicable`, e.g. haloperidol without agitation) decide only `offered`: the
clinician has already chosen the medicine, and a chart does not record the symptoms they test.

`staged_facts` derives the plan's facts for an intake as `plan.evaluate` stages them (intake facts, then red flags,
then the options offered), without citing or building findings, so reviewing a drafted medicine against the patient
without that order (so that "already taking lamotrigine" is not the drafted lamotrigine itself) needs no second
plan: the review and the monitoring that order adds (`monitoring_items`) come from these facts. A test runs the
plan on the same intakes and checks that both agree.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from ketaguide.domain.care.diagnosis import Diagnosis
from ketaguide.domain.care.facts import Facts, fact_label, fires, patient_facts
from ketaguide.domain.care.index import rule_index
from ketaguide.domain.care.intake import Intake
from ketaguide.domain.care.interactions import Exposure, Formulary, patient_exposures
from ketaguide.domain.care.plan import option_applies
from ketaguide.domain.care.rules import CareOptionRule, ClinicalContent
from ketaguide.domain.care.safety import FiredRule, fired_rules, not_offered, option_status, unrecognised_message
from ketaguide.domain.citing.citer import Citer, Cites
from ketaguide.domain.citing.references import Reference
from ketaguide.domain.evidence.models import Phase
from ketaguide.domain.evidence.pack import KnowledgePack

UNRECOGNISED = "unrecognised-medication"  # the plan's rule id for "a co-medication was not recognised"
# Only these effects change what a prescriber is told about a medicine already chosen.
SAFETY_EFFECTS = frozenset({"contraindicated", "caution"})


@dataclass(frozen=True)
class ReviewReason:
    """A contra-indication or caution that applies, with its evidence resolved."""

    rule_id: str
    effect: str
    message: str
    triggers: tuple[str, ...]
    references: tuple[Reference, ...]


@dataclass(frozen=True)
class OptionReview:
    """An option's status for this patient and why. `offered`: the plan offers the option to this patient (so the
    status is the plan's own); `dose_note`: the plan's dose column for it; `for_drug`: the ordered medicine the
    review is about, when narrowed to one."""

    option_id: str
    intervention: str
    status: str
    reasons: tuple[ReviewReason, ...]
    dose_note: str | None
    offered: bool
    for_drug: str | None = None


@dataclass(frozen=True)
class StagedFacts:
    """The plan's facts for one intake through the options stage, and what they were derived from."""

    facts: Facts
    exposures: tuple[Exposure, ...]
    unrecognised: tuple[str, ...]
    fired: Mapping[str, tuple[FiredRule, ...]]  # the safety rules that fire, per option the plan offers

    @property
    def offered(self) -> frozenset[str]:
        return frozenset(self.fired)


def option_drugs(option_id: str, content: ClinicalContent) -> frozenset[str]:
    """The formulary ids an option is about (none for an option that is not a medicine)."""
    by_option = content.memo.get("option_drugs")
    if not isinstance(by_option, dict):
        # Once per content: the cards ask for every option of every review.
        by_option = {o.id: _selected(o.medicines, content.formulary) for o in content.options}
        content.memo["option_drugs"] = by_option
    drugs: frozenset[str] = by_option.get(option_id, frozenset())
    return drugs


def _selected(selectors: Iterable[str], formulary: Formulary) -> frozenset[str]:
    found: set[str] = set()
    for selector in selectors:
        kind, _, value = selector.partition(":")
        found |= {e.id for e in formulary.medications if (e.id == value if kind == "drug" else value in e.classes)}
    return frozenset(found)


def staged_facts(intake: Intake, content: ClinicalContent, diagnosis: Diagnosis, phase: Phase) -> StagedFacts:
    """The facts `plan.evaluate` derives for `intake`, in its stages: intake facts and phase, then the red flags
    (flag:*), then the options it offers and does not contra-indicate (option:*). Diagnosis and phase do not depend
    on medicines, so a plan's own can be passed for the same patient with other orders."""
    exposures, unrecognised = patient_exposures(intake, content.formulary)
    facts = patient_facts(intake, exposures, diagnosis)
    facts[f"phase:{phase.value}"] = [phase.value]
    for code in [rule.code for rule in content.red_flags if fires(rule, facts)]:
        facts[f"flag:{code}"] = [fact_label(f"flag:{code}")]
    fired: dict[str, tuple[FiredRule, ...]] = {}
    for rule in content.options:
        if option_applies(rule, facts, phase):
            found = fired_rules(rule.id, content.option_rules, facts)
            if not not_offered(found):
                fired[rule.id] = tuple(found)
    for rule in content.options:
        if rule.id in fired and option_status(rule, (f.rule.effect for f in fired[rule.id])) != "contraindicated":
            facts[f"option:{rule.id}"] = [rule.intervention]
    return StagedFacts(facts, exposures, unrecognised, fired)


def monitoring_items(staged: StagedFacts, content: ClinicalContent) -> frozenset[str]:
    """The monitoring items the plan lists for these facts (by item)."""
    return frozenset(rule.item for rule in content.monitoring if fires(rule, staged.facts))


def review_options(
    staged: StagedFacts,
    content: ClinicalContent,
    pack: KnowledgePack,
    drugs: Iterable[str] | None,
    *,
    experimental_only: bool = False,
    dose_notes: Mapping[str, str] | None = None,
) -> list[OptionReview]:
    """Every drug option about one of `drugs` (None: every drug option; `experimental_only`: the craving and
    relapse-prevention drugs) that is a caution or contra-indicated for this patient. `dose_notes`: the plan's dose
    column per option, shown with an option the plan offers."""
    wanted = None if drugs is None else frozenset(drugs)
    reviews = []
    for rule in content.options:
        about = option_drugs(rule.id, content)
        if not about or (wanted is not None and not about & wanted) or (experimental_only and not rule.experimental):
            continue
        review = review_option(rule, staged, content, pack, (dose_notes or {}).get(rule.id))
        if review.status in SAFETY_EFFECTS:
            reviews.append(review)
    return reviews


def review_option(
    rule: CareOptionRule, staged: StagedFacts, content: ClinicalContent, pack: KnowledgePack, dose_note: str | None
) -> OptionReview:
    """One option's safety rules for this patient, as the plan states them when it offers the option."""
    offered = rule.id in staged.fired
    fired = staged.fired[rule.id] if offered else fired_rules(rule.id, content.option_rules, staged.facts)
    # One reference list per option, as the plan has one per plan: a source two reasons cite is listed once.
    shared = _citer(pack, content)
    reasons = [
        ReviewReason(f.rule.id, f.rule.effect, f.rule.note, f.triggers, _references(shared, f.rule.cites))
        for f in fired
        if f.rule.effect in SAFETY_EFFECTS
    ]
    unread = unrecognised_message(rule, staged.unrecognised)
    if unread is not None and rule.co_medication_check is not None:
        cites = rule.co_medication_check.cites
        references = _references(shared, cites)
        reasons.append(ReviewReason(UNRECOGNISED, "caution", unread, staged.unrecognised, references))
    status = option_status(rule, (r.effect for r in reasons))
    return OptionReview(rule.id, rule.intervention, status, tuple(reasons), dose_note if offered else None, offered)


def _citer(pack: KnowledgePack, content: ClinicalContent) -> Citer:
    """A reference list of its own, numbered from 1, sharing the snapshot's built references with the plans."""
    return Citer(pack, content.references, rule_index(pack, content).bibliography)


def _references(citer: Citer, cites: Cites | None) -> tuple[Reference, ...]:
    if cites is None:
        return ()
    numbers = citer.cite(cites)
    listed = {r.n: r for r in citer.reference_list.references}
    return tuple(listed[n] for n in numbers)


def for_component(review: OptionReview, drug: str, components: frozenset[str]) -> OptionReview | None:
    """A combination option's review narrowed to one ordered component: the rules about another component are
    dropped (the content names a rule by its drug: "paliperidone-qt-risk", "bupropion-seizures",
    "paliperidone-bupropion-pregnancy" for both), and the status is taken again from what is left."""
    others = components - {drug}
    kept = tuple(
        r
        for r in review.reasons
        if not any(r.rule_id.startswith(f"{o}-") and not r.rule_id.startswith(f"{o}-{drug}") for o in others)
    )
    effects = {r.effect for r in kept}
    status = "contraindicated" if "contraindicated" in effects else "caution" if "caution" in effects else None
    if status is None:
        return None
    return replace(review, status=status, reasons=kept, for_drug=drug)


def merged(reviews: Sequence[OptionReview]) -> OptionReview:
    """Several options about one ordered drug (a benzodiazepine for intoxication and for withdrawal) as one review:
    the strongest status, each reason once."""
    if len(reviews) == 1:
        return reviews[0]
    first = reviews[0]
    return OptionReview(
        option_id=first.option_id,
        intervention="; ".join(dict.fromkeys(r.intervention for r in reviews)),
        status="contraindicated" if any(r.status == "contraindicated" for r in reviews) else "caution",
        reasons=tuple({reason.rule_id: reason for r in reviews for reason in r.reasons}.values()),
        dose_note="\n\n".join(r.dose_note for r in reviews if r.dose_note) or None,
        offered=all(r.offered for r in reviews),
        for_drug=first.for_drug,
    )
