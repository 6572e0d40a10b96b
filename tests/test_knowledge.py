"""The knowledge base: content checks against the domain facts, version, broken files."""

from __future__ import annotations

import os
import re
import string
from pathlib import Path
from typing import Any

import pytest
import yaml

from pgx_report.clinical.knowledge import (
    DEFAULT_PATH,
    FACTOR_IDS,
    KnowledgeBase,
    load_knowledge_base,
)
from pgx_report.contracts.languages import LocalText
from pgx_report.errors import InputError
from pgx_report.files.io import sha256_file


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_knowledge_base()


def raw() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(DEFAULT_PATH.read_text("utf-8"))
    return data


def write(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "kb.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    return path


# The article's reference list (DOMAIN.md section 6): first author, year, and a
# journal/volume fragment that must appear in the reference text.
ARTICLE_REFERENCES = {  # (first author, year, journal, volume:first page) as printed there
    1: ("Bramness", "2022", "Folkehelseinstituttet", ""),
    2: ("Torvik", "2018", "Acta Psychiatr Scand", "137:54"),
    3: ("Probst", "2015", "Subst Abuse Treat Prev Policy", "10:32"),
    4: ("Schuler", "2015", "Psychiatr Serv", "66:1221"),
    5: ("Bakhshi", "2013", "Int J Environ Res Public Health", "11:218"),
    6: ("Chapman", "2015", "Drug Alcohol Depend", "147:116"),
    7: ("Lid", "2015", "Scand J Public Health", "43:153"),
    8: ("Heldal", "2018", "Tidsskr Nor Legeforen", "10.4045/tidsskr.18.0383"),
    9: ("Benjamin", "1993", "Brain Res", "621:137"),
    10: ("Paille", "2014", "Subst Abuse Rehabil", "5:87"),
    11: ("Celik", "2024", "Brain Sci", "14:294"),
    12: ("Maisel", "2013", "Addiction", "108:275"),
    13: ("Agabio", "2024", "Pharmacol Res", "209:107454"),
    14: ("van Amsterdam", "2025", "Alcohol", "127:63"),
    15: ("Laaksonen", "2011", "Alcohol Alcohol", "46:308"),
    16: ("Schacht", "2017", "Neuropsychopharmacology", "42:2640"),
    17: ("Fucito", "2012", "Biol Psychiatry", "72:832"),
    18: ("Oslin", "2003", "Neuropsychopharmacology", "28:1546"),
    19: ("Mura", "2013", "J Pain Res", "6:331"),
    20: ("Lechner", "2016", "Nicotine Tob Res", "18:632"),
}


def test_version_is_kb_version_plus_content_hash(kb: KnowledgeBase) -> None:
    assert re.fullmatch(r"1\.1\+sha256:[0-9a-f]{12}", kb.version)
    assert kb.version.endswith(sha256_file(DEFAULT_PATH)[:12])


def test_any_edit_changes_the_version(tmp_path: Path, kb: KnowledgeBase) -> None:
    path = tmp_path / "kb.yaml"
    path.write_bytes(DEFAULT_PATH.read_bytes() + b"\n# reviewed\n")
    edited = load_knowledge_base(path)
    assert edited.kb_version == kb.kb_version
    assert edited.version != kb.version


@pytest.mark.parametrize(("number", "parts"), sorted(ARTICLE_REFERENCES.items()))
def test_article_references_are_numbered_as_in_the_article(
    kb: KnowledgeBase, number: int, parts: tuple[str, str, str, str]
) -> None:
    text = kb.reference(number).text
    for part in parts:
        assert part in text, (number, part, text)


def test_references_from_21_are_the_trials_and_guidelines(kb: KnowledgeBase) -> None:
    texts = {ref.number: ref.text for ref in kb.references}
    assert list(texts) == list(range(1, len(texts) + 1))
    later = " ".join(text for number, text in texts.items() if number >= 21)
    for name in (  # first author, journal and year; DOI/PMID where verified
        "Anton RF, Oroszi G, O'Malley S, et al.",
        "Arch Gen Psychiatry 2008;65(2):135-144. doi:10.1001/archpsyc.65.2.135. PMID 18250251",
        "Chamorro AJ",
        "Addict Biol 2012;17(3):505-512",
        "JAMA Psychiatry 2015;72(5):430-437. doi:10.1001/jamapsychiatry.2014.3053",
        "Gelernter J",
        "Pharmacogenomics 2014;15(13):1687-1700. doi:10.2217/pgs.14.121. PMID 25410894",
        "Addiction 2020;115(8):1426-1437",
        "Clin Pharmacol Ther 2021;110(4):888-896. doi:10.1002/cpt.2149. PMID 33387367",
        "Kranzler HR, Soyka M.",
        "JAMA 2014;311(18):1889-1900. doi:10.1001/jama.2014.3628",
        "Rösner S",
        "Alcohol Alcohol 2005;40(3):227-233",
        "Biol Psychiatry 2007;62(6):694-697",
        "Witkiewitz K, Roos CR, Mann K, Kranzler HR.",
        "Roos CR",
        "Grodin EN",
        "10.4045/tidsskr.25.0514",
        "WHO/MSD/MSB/01.6a",
        "Arch Intern Med 2006;166(10):1092-1097",
        "J Mol Diagn 2016;18(5):638-642. doi:10.1016/j.jmoldx.2016.03.007. PMID 27371869",
    ):
        assert name in later, name


def test_six_factors_in_report_order_with_evidence(kb: KnowledgeBase) -> None:
    assert tuple(f.id for f in kb.factors) == FACTOR_IDS
    levels = {f.id: f.evidence_level for f in kb.factors}
    assert levels["oprm1_genotype"] == "mixed"  # DOMAIN section 3: mixed evidence
    # secondary analyses, an open-label men-only trial, a 6-day laboratory study
    assert levels["family_history"] == "low"
    assert levels["severity"] == "low"  # effect size not verified
    for factor in kb.factors:
        assert factor.citations, factor.id
        assert factor.direction.en and factor.direction.nb
        assert "unknown" in factor.explanations


@pytest.mark.parametrize(
    ("factor_id", "numbers"),
    [
        ("severity", {13, 39, 40}),
        ("family_history", {14, 31, 32}),
        ("drinking_motive", {33, 41}),
        ("sweet_liking", {15}),
        ("smoking", {16, 17}),
        ("oprm1_genotype", {18, 21, 22, 23, 24, 25, 26, 27, 28}),
    ],
)
def test_factor_citations_follow_the_domain_facts(
    kb: KnowledgeBase, factor_id: str, numbers: set[int]
) -> None:
    assert numbers <= set(kb.factor(factor_id).citations)


def test_thresholds_come_from_the_data_file(kb: KnowledgeBase) -> None:
    assert kb.factor("severity").rule["favourable_dsm5_min"] == 6
    assert kb.factor("severity").rule["favourable_audit_min"] == 20
    assert kb.factor("drinking_motive").rule["high_anxiety_gad7_min"] == 15  # severe only
    assert kb.factor("family_history").rule["favourable_relatives_min"] == 1
    bands = kb.factor("severity").rule["dsm5_bands"]
    assert [(b["min"], b["max"]) for b in bands] == [(0, 1), (2, 3), (4, 5), (6, 11)]
    zones = kb.factor("severity").rule["audit_zones"]
    assert [(z["min"], z["max"]) for z in zones] == [(0, 7), (8, 15), (16, 19), (20, 40)]
    gad = kb.factor("drinking_motive").rule["gad7_bands"]
    assert [g["min"] for g in gad] == [0, 5, 10, 15]


def test_contraindications_cover_the_label(kb: KnowledgeBase) -> None:
    severity = {rule.id: rule.severity for rule in kb.contraindications}
    assert severity == {
        "hypersensitivity_to_naltrexone": "absolute",
        "severe_hepatic_impairment": "absolute",
        "acute_hepatitis": "absolute",
        "severe_renal_impairment": "absolute",
        "current_opioid_use": "absolute",
        "opioid_agonist_treatment": "absolute",
        "positive_opioid_screen": "absolute",
        "acute_opioid_withdrawal": "absolute",
        "age_under_18": "absolute",
        "opioid_analgesics_expected": "relative",
        "hepatic_impairment": "relative",
        "renal_impairment": "relative",
        "pregnant_or_breastfeeding": "relative",
        "liver_enzymes_elevated": "relative",
    }
    age = next(rule for rule in kb.contraindications if rule.id == "age_under_18")
    assert age.min_age_years == 18


def test_no_invented_liver_enzyme_threshold(kb: KnowledgeBase) -> None:
    rule = next(rule for rule in kb.contraindications if rule.id == "liver_enzymes_elevated")
    assert "ULN" not in rule.text.en and "3x" not in rule.text.en
    assert "no fixed threshold" in rule.text.en.lower()


def test_guidance_dose_off_label_and_side_effects(kb: KnowledgeBase) -> None:
    assert "50 mg once daily" in kb.guidance["dose"].text.en
    assert "50 mg én gang daglig" in kb.guidance["dose"].text.nb
    assert "off-label" in kb.guidance["off_label_note"].text.en
    assert "nalmefen" in kb.guidance["off_label_note"].text.nb
    side = kb.guidance["side_effects"].text
    for word in ("nausea", "dizziness", "constipation", "headache", "fatigue"):
        assert word in side.en
    for word in ("kvalme", "svimmelhet", "forstoppelse", "hodepine", "utmattelse"):
        assert word in side.nb
    warning = kb.guidance["opioid_warning"].text
    assert "7-10 days: US label" in warning.en
    assert "5-7 days after heroin, at least 10 days after methadone" in warning.en
    assert "5-7 dager etter heroin, minst 10 dager etter metadon: Felleskatalogen" in warning.nb
    assert "fatal overdose" in warning.en
    # lost tolerance (US label)
    assert "after naltrexone is stopped, lower opioid doses" in warning.en
    assert "any use to reduce drinking, daily or as needed, is off-label" in (
        kb.guidance["off_label_note"].text.en
    )
    dose = kb.guidance["dose"].text
    assert "doctors experienced in treating alcohol dependence" in dose.en
    assert "insufficient safety and efficacy data" in dose.en


def test_limitations_say_not_validated_and_cpic(kb: KnowledgeBase) -> None:
    ids = [lim.id for lim in kb.limitations]
    assert ids[:2] == ["not_validated", "cpic_no_recommendation"]
    assert "not a validated model" in kb.limitations[0].text.en
    assert "ikke en validert modell" in kb.limitations[0].text.nb
    assert "no genotype-based recommendation" in kb.limitations[1].text.en


def _all_texts(node: Any) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    if isinstance(node, dict):
        if set(node) >= {"en", "nb"}:
            found.append((str(node["en"]), str(node["nb"])))
        for value in node.values():
            found.extend(_all_texts(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(_all_texts(value))
    return found


def test_every_text_has_both_languages_with_the_same_placeholders() -> None:
    texts = _all_texts(raw())
    assert len(texts) > 100
    for en, nb in texts:
        assert en.strip() and nb.strip()
        fields_en = {f[1] for f in string.Formatter().parse(en) if f[1]}
        fields_nb = {f[1] for f in string.Formatter().parse(nb) if f[1]}
        assert fields_en == fields_nb, (en, nb)


def test_localtext_format_per_language() -> None:
    text = LocalText("a {x} b", "c {x} d").format(x=LocalText("EN", "NB"))
    assert text == LocalText("a EN b", "c NB d")


# ---------------------------------------------------------------------------- broken


def test_broken_knowledge_base_reports_every_problem(tmp_path: Path) -> None:
    data = raw()
    data["factors"][0]["label"] = {"en": "Severity"}  # nb missing
    data["factors"][1]["citations"] = [14, 99]  # unknown reference
    data["factors"][2]["evidence_level"] = "strong"
    data["contraindications"][0]["severity"] = "hard"
    with pytest.raises(InputError) as err:
        load_knowledge_base(write(tmp_path, data))
    message = str(err.value)
    assert message.startswith(f"{tmp_path / 'kb.yaml'}: knowledge base: 4 problems: ")
    assert "factors[0].label: needs non-empty 'en' and 'nb' text" in message
    assert "factors[1]: citation 99 is not a reference number" in message
    assert "evidence_level 'strong' (allowed: low, moderate, mixed, high)" in message
    assert "severity 'hard' (allowed: absolute, relative)" in message


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d["factors"].reverse(), "factors: must be exactly severity, family_history"),
        (lambda d: d["references"].pop(3), "references: must be numbered 1, 2, 3 ... in order"),
        (lambda d: d.update(schema="other"), "schema: must be 'pgx-report.knowledge-base'"),
        (
            lambda d: d["limitations"].pop(0),
            "limitations: must include 'not_validated' and 'cpic_no_recommendation'",
        ),
        (
            lambda d: d["contraindications"][0].update(when={"field": "safety.x"}),
            "'when' needs 'field' with 'equals' or 'in', or 'computed'",
        ),
    ],
)
def test_structural_problems(tmp_path: Path, change: Any, expected: str) -> None:
    data = raw()
    change(data)
    with pytest.raises(InputError, match=re.escape(expected)):
        load_knowledge_base(write(tmp_path, data))


def test_unreadable_knowledge_base(tmp_path: Path) -> None:
    bad = tmp_path / "kb.yaml"
    bad.write_text("factors: [\n", "utf-8")
    with pytest.raises(InputError, match="invalid YAML"):
        load_knowledge_base(bad)
    with pytest.raises(InputError, match="file not found"):
        load_knowledge_base(tmp_path / "missing.yaml")
    bad.write_text("- a list\n", "utf-8")
    with pytest.raises(InputError, match="must be a YAML mapping"):
        load_knowledge_base(bad)


# ---------------------------------------------------------------------------- per-process cache


def test_two_knowledge_base_files_in_one_process_give_their_own_versions(
    tmp_path: Path, kb: KnowledgeBase
) -> None:
    texts = {"one": "Dose text of file one.", "two": "Dose text of file two."}
    paths = {}
    for name, dose in texts.items():
        data = raw()
        data["kb_version"] = f"1.0-{name}"
        data["guidance"]["dose"]["en"] = dose
        (tmp_path / name).mkdir()
        paths[name] = write(tmp_path / name, data)
    for name in ("one", "two", "one", "two"):  # alternating, in one process
        loaded = load_knowledge_base(paths[name])
        assert loaded.kb_version == f"1.0-{name}"
        assert loaded.sha256 == sha256_file(paths[name])
        assert loaded.guidance["dose"].text.en == texts[name]
        assert loaded.path == str(paths[name])
    assert load_knowledge_base(paths["one"]).version != load_knowledge_base(paths["two"]).version
    assert load_knowledge_base().version == kb.version  # the bundled one is unaffected


def test_an_edited_file_is_parsed_again_even_with_the_same_size_and_time(tmp_path: Path) -> None:
    path = write(tmp_path, raw())
    first = load_knowledge_base(path)
    assert load_knowledge_base(path) is first  # unchanged bytes: parsed once
    stat = path.stat()
    text = path.read_text("utf-8")
    edited = text.replace("kb_version: '1.1'", "kb_version: '1.2'", 1)
    assert edited != text and len(edited) == len(text)
    path.write_text(edited, "utf-8")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same size, same mtime
    second = load_knowledge_base(path)
    assert second.kb_version == "1.2"
    assert second.version != first.version
    path.write_text("factors: [\n", "utf-8")  # broken now: an error, never the old parse
    with pytest.raises(InputError, match="invalid YAML"):
        load_knowledge_base(path)


def test_the_shared_knowledge_base_is_read_only(kb: KnowledgeBase) -> None:
    severity = kb.factor("severity")
    with pytest.raises(TypeError):
        severity.rule["favourable_dsm5_min"] = 0  # type: ignore[index]
    with pytest.raises(TypeError):
        kb.overall["confidence_by_unknown"] = {}  # type: ignore[index]
    with pytest.raises(TypeError):
        kb.genotype_status["statuses"]["called"] = "x"  # type: ignore[index]
    assert isinstance(kb.overall["clinical_factors"], tuple)
    assert load_knowledge_base() is load_knowledge_base()  # the same bytes: the same object
