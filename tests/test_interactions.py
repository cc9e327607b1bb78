"""Drug names, curated pairs, and the checks on the clinical content (every citation resolves)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from ketaguide.domain.care.intake import parse_intake
from ketaguide.domain.care.interactions import find_interactions, normalise_name, patient_exposures
from ketaguide.domain.care.rules import ClinicalContent
from ketaguide.domain.evidence.pack import KnowledgePack
from ketaguide.knowledge.clinical import FILES, cited_ids, inspect_clinical
from ketaguide.knowledge.loader import content_root

CLINICAL_REFERENCE = Path(__file__).parents[2] / "shared" / "docs" / "clinical-reference.md"


@pytest.mark.parametrize(
    ("written", "generic"),
    [
        ("LAMICTAL", "lamotrigine"),
        ("Lamictal XR", "lamotrigine"),
        ("Depakote", "valproate"),
        ("depakote 500 mg", "valproate"),
        ("valproic acid", "valproate"),
        ("Valproic  Acid", "valproate"),
        ("Tegretol®", "carbamazepine"),
        ("rifampicin", "rifampin"),
        ("St John\u2019s Wort", "st_johns_wort"),
        ("Suboxone", "buprenorphine"),
        ("Spravato 28mg", "esketamine"),
        ("Xanax", "alprazolam"),
    ],
)
def test_names_are_recognised_in_any_case_and_form(written: str, generic: str, content: ClinicalContent) -> None:
    entry = content.formulary.recognise(written)
    assert entry is not None and entry.id == generic


def test_normalise_name_drops_strength_and_marks() -> None:
    assert normalise_name("  LAMICTAL®  25 mg tablets ") == "lamictal"
    assert normalise_name("St John\u2019s wort") == "st john's wort"


def test_unrecognised_names_are_listed_not_rejected(content: ClinicalContent) -> None:
    intake = parse_intake({"age": 30, "sex": "male", "medications": ["sertraline", "LAMICTAL", "zzz"]})
    exposures, unrecognised = patient_exposures(intake, content.formulary)
    assert unrecognised == ("sertraline", "zzz")
    assert [e.drug for e in exposures] == ["ketamine", "lamotrigine"]


def test_ketamine_is_always_an_exposure(content: ClinicalContent) -> None:
    exposures, _ = patient_exposures(parse_intake({"age": 30, "sex": "male"}), content.formulary)
    assert [(e.drug, e.origin) for e in exposures] == [("ketamine", "subject")]


# (medications, other substances, the pair rule that must fire) for every curated pair.
PAIRS = [
    ([], ["alcohol"], "ketamine-alcohol"),
    (["oxycodone"], [], "ketamine-opioids"),
    ([], ["opioids"], "ketamine-opioids"),
    (["lorazepam"], [], "ketamine-benzodiazepines"),
    ([], ["ghb"], "ketamine-ghb"),
    (["Xyrem"], [], "ketamine-ghb"),
    (["Phenobarbital"], [], "ketamine-other-cns-depressants"),
    (["mysoline"], [], "ketamine-other-cns-depressants"),
    (["diphenhydramine"], [], "ketamine-diphenhydramine"),
    (["Lyrica"], [], "ketamine-pregabalin"),
    (["aminophylline"], [], "ketamine-theophylline-aminophylline"),
    ([], ["cocaine"], "ketamine-sympathomimetics"),
    (["pseudoephedrine"], [], "ketamine-sympathomimetics"),
    (["vasopressin"], [], "ketamine-vasopressin"),
    (["selegiline"], [], "ketamine-maoi"),
    (["Klacid"], [], "ketamine-clarithromycin"),
    (["ticlopidine"], [], "ketamine-ticlopidine"),
    (["Rifadin"], [], "ketamine-rifampin"),
    (["hypericum"], [], "ketamine-st-johns-wort"),
    (["lamotrigine"], [], "lamotrigine-ketamine"),
    (["lamotrigine", "Epilim"], [], "lamotrigine-valproate"),
    (["lamotrigine", "phenytoin"], [], "lamotrigine-inducers"),
    (["lamotrigine", "rifampicin"], [], "lamotrigine-inducers"),
    (["lamotrigine", "ethinylestradiol"], [], "lamotrigine-estrogen-contraceptives"),
    (["naltrexone", "methadone"], [], "naltrexone-opioids"),
    (["naltrexone"], ["opioids"], "naltrexone-opioids"),
    (["esketamine", "phenelzine"], [], "esketamine-maoi"),
    (["esketamine", "Vyvanse"], [], "esketamine-psychostimulants"),
    (["esketamine"], ["benzodiazepines"], "esketamine-cns-depressants"),
]


@pytest.mark.parametrize(
    ("meds", "substances", "rule_id"), PAIRS, ids=[p[2] + ":" + ",".join(p[0] + p[1]) for p in PAIRS]
)
def test_pair_fires(meds: list[str], substances: list[str], rule_id: str, content: ClinicalContent) -> None:
    intake = parse_intake({"age": 30, "sex": "male", "medications": meds, "other_substances": substances})
    exposures, _ = patient_exposures(intake, content.formulary)
    assert rule_id in {m.rule.id for m in find_interactions(exposures, content.interactions)}


def test_every_pair_rule_has_a_test(content: ClinicalContent) -> None:
    assert {r.id for r in content.interactions} == {p[2] for p in PAIRS}


def test_no_pair_without_its_second_drug(content: ClinicalContent) -> None:
    intake = parse_intake({"age": 30, "sex": "male", "medications": ["Depakote", "naltrexone"]})
    exposures, _ = patient_exposures(intake, content.formulary)
    assert find_interactions(exposures, content.interactions) == []


def test_a_drug_named_twice_gives_one_finding(content: ClinicalContent) -> None:
    intake = parse_intake({"age": 30, "sex": "male", "medications": ["lamotrigine", "Depakote", "valproic acid"]})
    exposures, _ = patient_exposures(intake, content.formulary)
    ids = [m.rule.id for m in find_interactions(exposures, content.interactions)]
    assert ids.count("lamotrigine-valproate") == 1


def test_unrated_pairs_say_the_reference_has_no_label_text(content: ClinicalContent) -> None:
    for rule in content.interactions:
        if rule.severity == "unrated":
            assert "no label" in rule.message


# --- the clinical content: every citation resolves ------------------------------------------------------------


def test_clinical_content_has_no_problems(pack: KnowledgePack) -> None:
    assert inspect_clinical(pack).problems == []


def test_every_cited_claim_and_reference_resolves(pack: KnowledgePack, content: ClinicalContent) -> None:
    claims, refs = cited_ids(content)
    assert claims, "the rules cite pack claims"
    assert sorted(c for c in claims if not pack.has_claim(c)) == []
    assert sorted(r for r in refs if r not in content.references) == []


@pytest.mark.skipif(not CLINICAL_REFERENCE.exists(), reason="../shared/docs/clinical-reference.md not present")
def test_every_external_reference_title_and_url_is_from_the_clinical_reference(content: ClinicalContent) -> None:
    # Markdown emphasis and code marks are not part of a title ("Lin PC ... *Clin Neuropharmacol* 2016").
    reference_text = re.sub(r"[*`]", "", CLINICAL_REFERENCE.read_text(encoding="utf-8"))
    for ref in content.references.values():
        assert ref.title in reference_text, f"{ref.id}: title not in clinical-reference.md"
        assert ref.url is None or ref.url in reference_text, f"{ref.id}: URL not in clinical-reference.md"


def test_low_confidence_references_never_stand_alone(content: ClinicalContent) -> None:
    """A low-confidence reference may support a rule but never be its only evidence (clinical care points)."""
    from ketaguide.knowledge.clinical import all_cites

    for where, cites in all_cites(content):
        levels = [content.references[r].confidence.value for r in cites.refs]
        if levels and not cites.claims:
            assert any(level in ("high", "moderate") for level in levels), where


def _copy_content(tmp_path: Path) -> Path:
    root = Path(str(content_root()))
    for name in FILES:
        shutil.copy(root / name, tmp_path / name)
    return tmp_path


@pytest.mark.parametrize(
    ("file", "old", "new", "problem"),
    [
        ("care_plan.yaml", "[c003-bladder-symptoms,", "[c003-no-such-claim,", "unknown claim c003-no-such-claim"),
        ("care_plan.yaml", "refs: [icd11.6c4d5]", "refs: [icd11.nowhere]", "unknown reference icd11.nowhere"),
        ("care_plan.yaml", "[symptom:psychosis]", "[symptom:psychosiss]", "fact 'symptom:psychosiss'"),
        ("care_plan.yaml", "when_any: [drug:lamotrigine, option:lamotrigine]", "when_any: [flag:nope]", "flag:nope"),
        ("interactions.yaml", "[drug:ketamine, drug:vasopressin]", "[drug:ketamine, drug:vasopresin]", "vasopresin"),
        ("medications.yaml", "names: [phenytoin, dilantin]", "names: [phenytoin, tegretol]", "means"),
        ("medications.yaml", "  - {id: other, names: [other]}\n", "", "no substance entry for intake code 'other'"),
        ("references.yaml", "confidence: moderate", "confidence: medium", "confidence"),
        ("care_plan.yaml", "  - code: psychosis\n", "  - code: psychosiz\n", "red_flags"),
        (
            "care_plan.yaml",
            "phases: [intoxication, withdrawal]",
            "phases: [withdrawal, unknown]",
            "not a phase of care",
        ),
        (
            "conventions.yaml",
            "  intoxication_window_hours:\n    value: 6",
            "  intoxication_hours:\n    value: 6",
            "Extra",
        ),
        ("conventions.yaml", "value: [emergency, urgent, routine]", "value: [emergency, urgent]", "exactly once"),
        ("conventions.yaml", "value: 7\n", "value: 0.1\n", "the windows must widen"),
        (
            "conventions.yaml",
            "{mild: 2, moderate: 4, severe: 6}",
            "{mild: 2, moderate: 6, severe: 4}",
            "floors must rise",
        ),
        (
            "conventions.yaml",
            "[idwiki.sud-remission, psych",
            "[idwiki.nowhere, psych",
            "unknown reference idwiki.nowhere",
        ),
        ("conventions.yaml", 'version: "1.0"\n', "", "conventions.yaml: version: Field required"),
    ],
)
def test_content_check_catches(
    file: str, old: str, new: str, problem: str, tmp_path: Path, pack: KnowledgePack
) -> None:
    root = _copy_content(tmp_path)
    text = (root / file).read_text(encoding="utf-8")
    assert old in text
    (root / file).write_text(text.replace(old, new, 1), encoding="utf-8")
    problems = inspect_clinical(pack, root).problems  # type: ignore[arg-type]  # a Path is a Traversable
    assert any(re.search(re.escape(problem), p) for p in problems), problems


def test_every_convention_states_its_rationale(content: ClinicalContent) -> None:
    conventions = content.conventions
    sections = [section for _, section in conventions if not isinstance(section, str)]
    for section in sections:
        for name, convention in section:
            assert len(convention.rationale.split()) >= 5, name
