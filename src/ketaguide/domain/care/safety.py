"""Every option checked against the patient: contra-indications, cautions, notes and applicability, each cited.

An option's safety rules (care_plan.yaml, `option_rules`) name the patient facts that trigger them and their effect.
For one patient:

- a `not_applicable` rule that fires means the option is not offered (it is listed as not offered, with why);
- otherwise the status is `contraindicated` if a contra-indication fires, else `caution` if a caution fires or a
  medicine could not be recognised and the option takes its dose or warnings from co-medication, else the option's
  default (`recommended` or `consider`). `note` rules inform without changing the status.

Pure: facts in, reasons out; the plan cites them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ketaguide.domain.care.facts import Facts, fact_label, fires, shown_for
from ketaguide.domain.care.rules import CareOptionRule, OptionRule, OptionStatus


@dataclass(frozen=True)
class FiredRule:
    """A safety rule that fired for this patient, with what triggered it as shown to the clinician."""

    rule: OptionRule
    triggers: tuple[str, ...]


def rules_for(option_id: str, rules: Iterable[OptionRule]) -> list[OptionRule]:
    return [rule for rule in rules if option_id in rule.options]


def fired_rules(option_id: str, rules: Iterable[OptionRule], facts: Facts) -> list[FiredRule]:
    """The option's rules that fire for these facts, in content order."""
    return [
        FiredRule(rule, _triggers(rule, facts))
        for rule in rules_for(option_id, rules)
        if rule.always or fires(rule, facts)
    ]


def _triggers(rule: OptionRule, facts: Facts) -> tuple[str, ...]:
    present = shown_for((*rule.when_any, *rule.and_any), facts)
    if present or not rule.unless_any:
        return present
    return (f"none of: {'; '.join(fact_label(f) for f in rule.unless_any)}",)


def not_offered(fired: Sequence[FiredRule]) -> bool:
    return any(f.rule.effect == "not_applicable" for f in fired)


def option_status(option: CareOptionRule, effects: Iterable[str]) -> OptionStatus:
    """The status from the effects of the reasons that apply: a contra-indication outranks a caution, which
    outranks the option's default."""
    found = set(effects)
    if "contraindicated" in found:
        return "contraindicated"
    if "caution" in found:
        return "caution"
    return option.default_status


def unrecognised_message(option: CareOptionRule, unrecognised: Sequence[str]) -> str | None:
    """What could not be checked for this option because these medicines were not recognised, if it depends on
    co-medication at all."""
    if option.co_medication_check is None or not unrecognised:
        return None
    names = ", ".join(repr(name.strip()) for name in unrecognised)
    verb = "was" if len(unrecognised) == 1 else "were"
    return (
        f"{option.co_medication_check.what}: {names} {verb} not recognised. KetaGuide does not guess what a "
        "medicine is; check it against the option's label, or write its generic name."
    )
