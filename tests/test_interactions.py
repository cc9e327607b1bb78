"""Drug names as clinicians write them, curated pairs, and the checks on the clinical content (every citation
resolves, every brand is sourced)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from ketaguide.domain.care.intake import parse_intake
from ketaguide.domain.care.interactions import (
    DrugEntry,
    Formulary,
    RxNormCode,
    find_interactions,
    normalise_name,
    patient_exposures,
    without_modifiers,
)
from ketaguide.domain.care.rules import ClinicalContent
from ketaguide.domain.citing.citer import Cites
from ketaguide.domain.evidence.pack import KnowledgePack
from ketaguide.knowledge.clinical import FILES, cited_ids, inspect_clinical
from ketaguide.knowledge.loader import content_root

CLINICAL_REFERENCE = Path(__file__).parents[2] / "shared" / "docs" / "clinical-reference.md"
# The RxNorm codes' sources (s.7.3.4) are catalogued with the CDS Hooks research, not in the clinical reference.
CDS_HOOKS_REFERENCE = CLINICAL_REFERENCE.with_name("cds-hooks.md")


@pytest.mark.parametrize(
    ("written", "generic"),
    [
        ("LAMICTAL", "lamotrigine"),
        ("Lamictal XR", "lamotrigine"),
        ("Lamictal ODT 25 mg", "lamotrigine"),
        ("lamotrigine 25mg tablets", "lamotrigine"),
        ("Subvenite", "lamotrigine"),
        ("Depakote", "valproate"),
        ("depakote 500 mg", "valproate"),
        ("Depakote ER 250mg", "valproate"),
        ("divalproex sodium ER 500 mg", "valproate"),
        ("valproic acid", "valproate"),
        ("Valproic  Acid", "valproate"),
        ("Epilim Chrono 500 mg", "valproate"),
        ("EPILIM CHRONO®", "valproate"),
        ("Epilim-Chrono", "valproate"),
        ("sodium valproate e/c 200mg", "valproate"),
        ("Episenta 300 mg prolonged-release capsules", "valproate"),
        ("Dyzantil", "valproate"),
        ("Convulex 300 mg", "valproate"),
        ("Belvo", "valproate"),
        ("Tegretol®", "carbamazepine"),
        ("Tegretol Retard", "carbamazepine"),
        ("TEGRETOL PROLONGED RELEASE 400mg", "carbamazepine"),
        ("Tegretol XR", "carbamazepine"),
        ("carbamazepine CR", "carbamazepine"),
        ("Equetro", "carbamazepine"),
        ("rifampicin", "rifampin"),
        ("St John\u2019s Wort", "st_johns_wort"),
        ("St. John's wort", "st_johns_wort"),
        ("Microgynon 30", "ethinylestradiol_levonorgestrel"),
        ("microgynon-30 ED", "ethinylestradiol_levonorgestrel"),
        ("Rigevidon", "ethinylestradiol_levonorgestrel"),
        ("Yasmin", "drospirenone_ethinylestradiol"),
        ("Loestrin 21 Day", "norethindrone_ethinylestradiol"),
        ("Ortho Tri-Cyclen", "norgestimate_ethinylestradiol"),
        ("combined pill", "estrogen_containing_contraceptive"),
        ("naltrexone HCl", "naltrexone"),
        ("Naltrexone hydrochloride 50 mg film-coated tablets", "naltrexone"),
        ("ReVia", "naltrexone"),
        ("Vivitrol 380 mg", "naltrexone"),
        ("Adepend", "naltrexone"),
        ("Wellbutrin XL 150 mg", "bupropion"),
        ("bupropion SR", "bupropion"),
        ("Zyban", "bupropion"),
        ("Invega Sustenna", "paliperidone"),
        ("paliperidone palmitate", "paliperidone"),
        ("Haldol Decanoate", "haloperidol"),
        ("haloperidol lactate 5 mg/mL injection", "haloperidol"),
        ("Methadone hydrochloride 1mg/ml oral solution", "methadone"),
        ("buprenorphine/naloxone", "buprenorphine"),
        ("Spravato 28mg", "esketamine"),
        ("Ketalar", "ketamine"),
        ("amiodarone", "amiodarone"),
    ],
)
def test_names_are_recognised_as_clinicians_write_them(written: str, generic: str, content: ClinicalContent) -> None:
    entry = content.formulary.recognise(written)
    assert entry is not None and entry.id == generic


@pytest.mark.parametrize(
    "written",
    [
        "Tegretol Plus",  # not a release form: could add an ingredient, so never guessed
        "Microgynon Lo",
        "lamotrigine compound",
        "Depakene",  # clinical-reference.md: NO SOURCE FOUND for the brand
        "Carbatrol",
        "Epitol",
        "Xanax",  # brands listed from memory before were removed: no source in clinical-reference.md
        "Suboxone",
        "sertraline",
        "XL",
        "",
    ],
)
def test_names_without_a_sourced_listing_are_never_guessed(written: str, content: ClinicalContent) -> None:
    assert content.formulary.recognise(written) is None


def test_a_match_says_how_the_name_was_read(content: ClinicalContent) -> None:
    exact = content.formulary.match("Epilim Chrono 500 mg")
    assert exact is not None and exact.matched_by == "name" and exact.matched == "epilim chrono"
    reduced = content.formulary.match("Tegretol CR tablets")
    assert reduced is not None and reduced.entry.id == "carbamazepine"
    assert reduced.matched_by == "name without release form, dosage form or salt" and reduced.matched == "tegretol"


def test_normalise_name_drops_strength_marks_and_punctuation() -> None:
    assert normalise_name("  LAMICTAL®  25 mg tablets ") == "lamictal"
    assert normalise_name("St John\u2019s wort") == "st johns wort"
    assert normalise_name("Microgynon 30") == "microgynon"
    assert normalise_name("buprenorphine/naloxone 8 mg/2 mg") == "buprenorphine naloxone"
    assert normalise_name("Ortho Tri-Cyclen") == "ortho tri cyclen"


def test_only_release_forms_dosage_forms_and_salts_are_dropped() -> None:
    assert without_modifiers("epilim chrono") == "epilim"
    assert without_modifiers("naltrexone hydrochloride film coated tablets") == "naltrexone"
    assert without_modifiers("tegretol plus") == "tegretol plus"
    assert without_modifiers("sodium oxybate") == "sodium oxybate", "the first word is never dropped"


def _words(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text.casefold()).split())


def test_every_brand_cites_a_reference_that_names_it(content: ClinicalContent) -> None:
    for entry in content.formulary.medications:
        for brand in entry.brands:
            assert brand.cites.refs, f"{brand.name}: a brand cites its reference"
            texts = [f"{content.references[r].title} {content.references[r].statement}" for r in brand.cites.refs]
            named = _words(brand.name)
            assert any(named in _words(text) for text in texts), f"{brand.name}: not in {brand.cites.refs}"


@pytest.mark.parametrize(
    ("code", "drug"),
    [
        # Ingredient (IN) codes from the CPIC drug table (cds-hooks.md s.7.3.4).
        ("28439", "lamotrigine"),
        ("7243", "naltrexone"),
        ("11118", "valproate"),
        ("266856", "valproate"),
        ("2002", "carbamazepine"),
        ("6813", "methadone"),
        ("1819", "buprenorphine"),
        # Products, as draft orders carry them (SCD/SBD), and esketamine's dose form groups.
        ("198430", "lamotrigine"),
        ("1099570", "valproate"),
        ("211817", "carbamazepine"),
        ("864706", "methadone"),
        ("1010604", "buprenorphine"),
        ("2201625", "esketamine"),
    ],
)
def test_sourced_rxnorm_codes_are_recognised(content: ClinicalContent, code: str, drug: str) -> None:
    entry = content.formulary.recognise_rxnorm(f" {code} ")
    assert entry is not None and entry.id == drug


def test_rxnorm_codes_without_a_stored_source_are_not_listed(content: ClinicalContent) -> None:
    # Ketamine's ingredient code (6130) is known only from a secondary source, esketamine's from none; 7242
    # (naloxone) is sourced but the formulary has no naloxone entry to map it to.
    for code in ("6130", "7242", "12345"):
        assert content.formulary.recognise_rxnorm(code) is None
    assert content.formulary.entry("ketamine").rxnorm == ()  # type: ignore[union-attr]


def test_every_rxnorm_code_is_stated_by_the_reference_it_cites(content: ClinicalContent) -> None:
    for entry in content.formulary.medications:
        for rxnorm in entry.rxnorm:
            assert rxnorm.cites.refs, f"{entry.id} {rxnorm.code}: a code cites its source"
            statements = [content.references[r].statement.casefold() for r in rxnorm.cites.refs]
            stated = [s for s in statements if re.search(rf"\b{rxnorm.code}\b", s) and rxnorm.name.casefold() in s]
            assert stated, f"{entry.id} {rxnorm.code} {rxnorm.name!r}: not stated by {rxnorm.cites.refs}"


def test_a_recognised_medicine_reports_its_ingredient_codes_only(content: ClinicalContent) -> None:
    valproate = content.formulary.entry("valproate")
    assert valproate is not None and valproate.ingredient_codes == ("11118", "266856")


def test_a_sourced_rxnorm_code_is_recognised() -> None:
    code = RxNormCode(code="12345", name="examplamide", term_type="IN", cites=Cites(refs=("some.ref",)))
    formulary = Formulary((DrugEntry(id="examplamide", names=("examplamide",), rxnorm=(code,)),), ())
    entry = formulary.recognise_rxnorm(" 12345 ")
    assert entry is not None and entry.id == "examplamide"


def test_one_rxnorm_code_under_two_entries_is_refused() -> None:
    code = RxNormCode(code="12345", name="examplamide", term_type="IN", cites=Cites(refs=("some.ref",)))
    entries = tuple(DrugEntry(id=drug, names=(drug,), rxnorm=(code,)) for drug in ("examplamide", "otheramide"))
    with pytest.raises(ValueError, match="12345 is listed under examplamide and otheramide"):
        Formulary(entries, ())


def test_unrecognised_names_are_listed_not_rejected(content: ClinicalContent) -> None:
    intake = parse_intake({"age": 30, "sex": "male", "medications": ["sertraline", "LAMICTAL", "zzz"]})
    exposures, unrecognised = patient_exposures(intake, content.formulary)
    assert unrecognised == ("sertraline", "zzz")
    assert [e.drug for e in exposures] == ["ketamine", "lamotrigine"]
    assert [e.written for e in exposures] == ["ketamine", "LAMICTAL"]


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
    (["sodium oxybate"], [], "ketamine-ghb"),
    (["Phenobarbital"], [], "ketamine-other-cns-depressants"),
    (["primidone"], [], "ketamine-other-cns-depressants"),
    (["diphenhydramine"], [], "ketamine-diphenhydramine"),
    (["pregabalin"], [], "ketamine-pregabalin"),
    (["aminophylline"], [], "ketamine-theophylline-aminophylline"),
    ([], ["cocaine"], "ketamine-sympathomimetics"),
    (["pseudoephedrine"], [], "ketamine-sympathomimetics"),
    (["vasopressin"], [], "ketamine-vasopressin"),
    (["selegiline"], [], "ketamine-maoi"),
    (["clarithromycin"], [], "ketamine-clarithromycin"),
    (["ticlopidine"], [], "ketamine-ticlopidine"),
    (["itraconazole"], [], "ketamine-itraconazole"),
    (["Rifampicin"], [], "ketamine-rifampin"),
    (["hypericum"], [], "ketamine-st-johns-wort"),
    (["lamotrigine"], [], "lamotrigine-ketamine"),
    (["lamotrigine", "Epilim"], [], "lamotrigine-valproate"),
    (["Lamictal XR", "Epilim Chrono 500 mg"], [], "lamotrigine-valproate"),
    (["lamotrigine", "phenytoin"], [], "lamotrigine-inducers"),
    (["lamotrigine", "Tegretol Retard"], [], "lamotrigine-inducers"),
    (["lamotrigine", "rifampicin"], [], "lamotrigine-inducers"),
    (["lamotrigine", "ethinylestradiol"], [], "lamotrigine-estrogen-contraceptives"),
    (["lamotrigine", "Microgynon 30"], [], "lamotrigine-estrogen-contraceptives"),
    (["naltrexone", "methadone"], [], "naltrexone-opioids"),
    (["naltrexone"], ["opioids"], "naltrexone-opioids"),
    (["methadone"], ["benzodiazepines"], "opioids-benzodiazepines"),
    (["oxycodone", "diazepam"], [], "opioids-benzodiazepines"),
    (["methadone", "phenobarbital"], [], "opioids-other-cns-depressants"),
    ([], ["opioids", "ghb"], "opioids-other-cns-depressants"),
    ([], ["ghb", "alcohol"], "ghb-alcohol"),
    (["sodium oxybate"], ["alcohol"], "ghb-alcohol"),
    ([], ["ghb", "benzodiazepines"], "ghb-sedatives"),
    (["Wellbutrin XL 300 mg", "phenelzine"], [], "bupropion-maoi"),
    (["Invega Sustenna", "Tegretol"], [], "paliperidone-strong-inducers"),
    (["paliperidone", "amiodarone"], [], "paliperidone-qt-prolonging"),
    (["paliperidone", "Haldol"], [], "paliperidone-qt-prolonging"),
    (["haloperidol", "moxifloxacin"], [], "haloperidol-qt-prolonging"),
    (["esketamine", "phenelzine"], [], "esketamine-maoi"),
    (["esketamine", "lisdexamfetamine"], [], "esketamine-psychostimulants"),
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


def test_a_pair_with_one_drug_on_each_side_is_reported_once(content: ClinicalContent) -> None:
    intake = parse_intake({"age": 30, "sex": "male", "medications": ["paliperidone", "haloperidol"]})
    exposures, _ = patient_exposures(intake, content.formulary)
    ids = [m.rule.id for m in find_interactions(exposures, content.interactions)]
    assert ids.count("paliperidone-qt-prolonging") == 1
    assert "haloperidol-qt-prolonging" not in ids, "the same two drugs are not reported twice"


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
    texts = (CLINICAL_REFERENCE.read_text(encoding="utf-8"), CDS_HOOKS_REFERENCE.read_text(encoding="utf-8"))
    reference_text = "\n".join(re.sub(r"[*`]", "", text) for text in texts)
    for ref in content.references.values():
        assert ref.title in reference_text, f"{ref.id}: title not in clinical-reference.md or cds-hooks.md"
        assert ref.url is None or ref.url in reference_text, (
            f"{ref.id}: URL not in clinical-reference.md or cds-hooks.md"
        )


def test_low_confidence_references_never_stand_alone(content: ClinicalContent) -> None:
    """A low-confidence reference may support a rule but never be its only evidence, except a caution whose note
    says "low confidence" (clinical-reference.md s.8: where only weak sources exist, say how confidently the fact
    is held). A contra-indication never rests on a low-confidence reference alone."""
    from ketaguide.knowledge.clinical import all_cites

    stated = {
        f"option rule {r.id}"
        for r in content.option_rules
        if r.effect == "caution" and "low confidence" in r.note.lower()
    }
    for where, cites in all_cites(content):
        levels = [content.references[r].confidence.value for r in cites.refs]
        if levels and not cites.claims and where not in stated:
            assert any(level in ("high", "moderate") for level in levels), where
    for rule in content.option_rules:
        if rule.effect == "contraindicated" and rule.cites:
            levels = {content.references[r].confidence.value for r in rule.cites.refs}
            assert levels & {"high", "moderate"}, rule.id


def test_every_option_has_a_rule_for_pregnancy_breastfeeding_and_under_18(content: ClinicalContent) -> None:
    for option in content.options:
        named = {f for r in content.option_rules if option.id in r.options for f in r.when_any}
        assert {"status:pregnant", "status:breastfeeding", "status:under_18"} <= named, option.id


def test_rules_without_sourced_data_say_so_and_cite_nothing(content: ClinicalContent) -> None:
    for rule in content.option_rules:
        if rule.evidence == "no_sourced_data":
            assert "no sourced data" in rule.note.lower() and rule.effect in ("caution", "note"), rule.id


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
        ("medications.yaml", "names: [phenytoin, phenytoin sodium]", "names: [phenytoin, tegretol]", "means"),
        ("medications.yaml", "names: [phenytoin, phenytoin sodium]", "names: [phenytoin, epilim xl]", "form or salt"),
        (
            "care_plan.yaml",
            '    when_any: [status:pregnant]\n    note: "Pregnant: no sourced data on haloperidol',
            '    when_any: [status:asq_answered]\n    note: "Pregnant: no sourced data on haloperidol',
            "option haloperidol has no rule for status:pregnant",
        ),
        (
            "care_plan.yaml",
            "    options: [haloperidol]\n    effect: caution\n    evidence: no_sourced_data",
            "    options: [haloperidol]\n    effect: contraindicated\n    evidence: no_sourced_data",
            "may only caution or note",
        ),
        ("care_plan.yaml", "    options: [naltrexone]\n", "    options: [naltrexon]\n", "unknown option 'naltrexon'"),
        ("care_plan.yaml", "when_any: [condition:parkinsonism]", "when_any: [condition:parkinson]", "parkinson'"),
        # An option's medicines: a selector the formulary lacks; a drug option naming none.
        ("care_plan.yaml", "medicines: [drug:haloperidol]", "medicines: [drug:haloperido]", "'drug:haloperido'"),
        ("care_plan.yaml", "    medicines: [drug:naltrexone]\n", "", "names its medicines"),
        # Order rules: a medicine the formulary lacks, a fact no intake gives, a missing trigger, a second id.
        (
            "care_plan.yaml",
            "drugs: [ketamine, esketamine]",
            "drugs: [ketamine, esketamin]",
            "unknown medicine 'esketamin'",
        ),
        (
            "care_plan.yaml",
            "when_any: [condition:ketamine_use_disorder, status:diagnosed]",
            "when_any: [condition:ketamine_use_disorders]",
            "order rule ketamine-for-use-disorder: fact 'condition:ketamine_use_disorders'",
        ),
        (
            "care_plan.yaml",
            "    when_any: [condition:ketamine_use_disorder, status:diagnosed]\n",
            "",
            "an order rule needs when_any",
        ),
        ("care_plan.yaml", "  - id: esketamine-for-uropathy", "  - id: ketamine-for-uropathy", "duplicate order rule"),
        (
            "interactions.yaml",
            "[class:opioid, [class:other_cns_depressant, class:ghb]]",
            "[class:opioid, [class:other_cns_depressant, class:gbh]]",
            "class:gbh",
        ),
        (
            "medications.yaml",
            "cites: {refs: [drugs-uk.tegretol-retard]}",
            "cites: {refs: [nowhere.ref]}",
            "nowhere.ref",
        ),
        (
            "medications.yaml",
            "  - {id: other, generic_name: other substance (unspecified), names: [other]}\n",
            "",
            "no substance entry for intake code 'other'",
        ),
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
