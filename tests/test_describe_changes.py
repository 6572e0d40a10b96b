"""describe_changes: what an amended report says changed, in nb and en (issue 15 item 5)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from pgx_report.clinical.assessment import assess
from pgx_report.clinical.knowledge import KnowledgeBase, load_knowledge_base
from pgx_report.clinical.questionnaire import parse_questionnaire
from pgx_report.contracts.assessment import Assessment, assessment_from_dict
from pgx_report.outputs.report import changes
from pgx_report.outputs.report.changes import describe_changes, no_changes_text
from pgx_report.outputs.report.pdf import find_templates
from tests.conftest import REPO_ROOT, SAFE

CALLS = REPO_ROOT / "tests" / "data" / "assess"


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_knowledge_base()


def make(kb: KnowledgeBase, genotype: str = "AG", **changes_: Any) -> Assessment:
    """An assessment of patient P1; ``section={"key": value}`` replaces answers."""
    data: dict[str, Any] = {
        "questionnaire_version": "1.0",
        "sample_id": "S1",
        "patient": {"id": "P1", "name": "Test Testesen", "birth_date": "1980-01-01"},
        "completed_on": "2025-11-20",
        "safety": dict(SAFE),
        "drinking": {"dsm5_aud_criteria": 7, "audit_score": 24},
        "smoking": {"status": "never"},
    }
    for section, values in changes_.items():
        if isinstance(values, dict):
            data[section] = {**data.get(section, {}), **values}
        else:
            data[section] = values
    call = json.loads((CALLS / f"call_{genotype}.json").read_text("utf-8"))
    call["sample"] = "S1"
    return assess(call, parse_questionnaire(data, "q.json"), kb, environ={})


def test_identical_assessments_have_no_changes(kb: KnowledgeBase) -> None:
    one = make(kb)
    assert describe_changes(one, one, "en") == []
    assert describe_changes(one, make(kb), "nb") == []
    assert no_changes_text("en") == "No field of the assessment differs from the previous version."
    assert no_changes_text("nb").startswith("Ingen felt i vurderingen")


def test_severity_answers_and_predictor(kb: KnowledgeBase) -> None:
    old = make(kb)
    new = make(kb, drinking={"audit_score": 10, "dsm5_aud_criteria": 2})
    en = describe_changes(old, new, "en")
    severity = old.factor("severity")
    assert (
        f"{severity.label.en}: {severity.value_text.en} → {new.factor('severity').value_text.en}"
        in en
    )
    assert "Questionnaire, AUDIT total score: 24 → 10" in en
    assert "Questionnaire, DSM-5 alcohol use disorder criteria met: 7 → 2" in en
    nb = describe_changes(old, new, "nb")
    assert "Skjema, AUDIT totalskår: 24 → 10" in nb
    assert f"{severity.label.nb}: {severity.value_text.nb} → " in "\n".join(nb)


def test_genotype_change_comes_first(kb: KnowledgeBase) -> None:
    old, new = make(kb, "AG"), make(kb, "AA")
    en = describe_changes(old, new, "en")
    assert en[0] == f"Genotype: {old.genotype_summary.en} → {new.genotype_summary.en}"
    genotype = new.factor("oprm1_genotype")
    assert any(line.startswith(f"{genotype.label.en}: ") for line in en)
    nb = describe_changes(old, new, "nb")
    assert nb[0] == f"Genotype: {old.genotype_summary.nb} → {new.genotype_summary.nb}"


def test_not_determined_genotype(kb: KnowledgeBase) -> None:
    old, new = make(kb, "AG"), make(kb, "failed_qc")
    en = describe_changes(old, new, "en")
    assert en[0].startswith("Genotype: ") and new.genotype_summary.en in en[0]
    assert any(", finding: " in line and line.endswith("→ unknown") for line in en)
    nb = describe_changes(old, new, "nb")
    assert any(", funn: " in line and line.endswith("→ ukjent") for line in nb)


def test_new_and_removed_contraindication(kb: KnowledgeBase) -> None:
    old, new = make(kb), make(kb, safety={"current_opioid_use": True})
    en = describe_changes(old, new, "en")
    (found,) = new.contraindications
    assert f"New contraindication: {found.label.en}" in en
    assert f"Overall assessment: {old.overall.label.en} → {new.overall.label.en}" in en
    assert "Questionnaire, Uses opioids now (any opioid, prescribed or not): no → yes" in en
    # the safety finding stands before the predictors and answers
    assert en.index(f"New contraindication: {found.label.en}") < en.index(
        "Questionnaire, Uses opioids now (any opioid, prescribed or not): no → yes"
    )
    nb = describe_changes(old, new, "nb")
    assert f"Ny kontraindikasjon: {found.label.nb}" in nb
    assert f"Samlet vurdering: {old.overall.label.nb} → {new.overall.label.nb}" in nb
    back = describe_changes(new, old, "en")
    assert f"No longer a contraindication: {found.label.en}" in back


def test_new_caution(kb: KnowledgeBase) -> None:
    old, new = make(kb), make(kb, safety={"hepatic_impairment": "mild"})
    (found,) = new.contraindications
    assert found.severity == "relative"
    en = describe_changes(old, new, "en")
    assert f"New caution: {found.label.en}" in en
    assert "Questionnaire, Hepatic impairment: None → Mild" in en
    assert f"Ny forsiktighetsregel: {found.label.nb}" in describe_changes(old, new, "nb")
    assert f"No longer a caution: {found.label.en}" in describe_changes(new, old, "en")


def test_safety_question_unanswered(kb: KnowledgeBase) -> None:
    old, new = make(kb), make(kb, safety={"acute_hepatitis": None})
    (item,) = new.overall.unanswered
    en = describe_changes(old, new, "en")
    assert f"Safety question now unanswered: {item.label.en}" in en
    assert "Questionnaire, Acute hepatitis: no → not answered" in en
    nb = describe_changes(old, new, "nb")
    assert f"Sikkerhetsspørsmål nå ubesvart: {item.label.nb}" in nb
    assert "Skjema, Akutt hepatitt: nei → ikke besvart" in nb
    assert f"Safety question now answered: {item.label.en}" in describe_changes(new, old, "en")


def test_dates_options_and_removed_answers(kb: KnowledgeBase) -> None:
    old = make(kb, drinking_motive={"type": "reward"})
    new = make(
        kb,
        patient={"id": "P1", "name": "Test Testesen", "birth_date": "1980-01-02"},
        drinking_motive={"type": "relief"},
    )
    en = describe_changes(old, new, "en")
    assert "Questionnaire, Date of birth: 1 January 1980 → 2 January 1980" in en
    assert any(line.endswith(": Reward → Relief") for line in en)
    nb = describe_changes(old, new, "nb")
    assert "Skjema, Fødselsdato: 01.01.1980 → 02.01.1980" in nb
    assert any(line.endswith(": Belønning → Lindring") for line in nb)


def test_answers_follow_the_form_order(kb: KnowledgeBase) -> None:
    old = make(kb)
    new = make(
        kb, smoking={"status": "current", "cigarettes_per_day": 5}, completed_on="2025-11-21"
    )
    en = [line for line in describe_changes(old, new, "en") if line.startswith("Questionnaire")]
    assert en[0].startswith("Questionnaire, Date the questionnaire was completed")
    assert en[1:] == [
        "Questionnaire, Smoking status: Never smoked → Smokes now",
        "Questionnaire, Cigarettes per day (current smokers): not answered → 5",
    ]


def test_provenance_changes(kb: KnowledgeBase) -> None:
    old = make(kb)
    data = old.to_dict()
    data["provenance"]["knowledge_base_version"] = "kb-9.9+sha256:000000000000"
    for item in data["provenance"]["inputs"]:
        if item["role"] == "genotype_input":
            item["sha256"] = "f" * 64
    new = assessment_from_dict(data)
    en = describe_changes(old, new, "en")
    assert en[0] == (
        f"Knowledge base version: {old.provenance['knowledge_base_version']} → "
        "kb-9.9+sha256:000000000000"
    )
    assert en[1].startswith("Genotype input file: ") and en[1].endswith("(SHA-256 ffffffffffff)")
    assert describe_changes(old, new, "nb")[0].startswith("Versjon av kunnskapsbasen: ")


def test_no_english_in_norwegian(kb: KnowledgeBase) -> None:
    old = make(kb)
    new = make(kb, "GG", safety={"current_opioid_use": True, "acute_hepatitis": None})
    nb = "\n".join(describe_changes(old, new, "nb"))
    for english in ("Questionnaire", "New ", "Overall", "Safety question", "not answered"):
        assert english not in nb


def test_unknown_language() -> None:
    with pytest.raises(ValueError, match="unknown report language"):
        describe_changes(None, None, "de")  # type: ignore[arg-type]


def test_every_phrase_in_both_languages_with_the_same_placeholders() -> None:
    raw = yaml.safe_load((find_templates() / changes.CHANGES_FILE).read_text("utf-8"))
    assert raw
    for key, texts in raw.items():
        assert set(texts) == {"en", "nb"}, key
        assert all(isinstance(text, str) and text.strip() for text in texts.values()), key
        assert set(re.findall(r"{(\w+)}", texts["en"])) == set(
            re.findall(r"{(\w+)}", texts["nb"])
        ), key


def test_every_phrase_is_used() -> None:
    raw = yaml.safe_load((find_templates() / changes.CHANGES_FILE).read_text("utf-8"))
    source = Path(changes.__file__).read_text("utf-8")
    built = {"contraindication_added", "contraindication_removed", "caution_added"}
    built |= {"caution_removed", "severity_absolute", "severity_relative"}
    for key in raw:
        assert key in built or f'"{key}"' in source, key


def test_templates_folder_without_the_phrases_falls_back(tmp_path: Path, kb: KnowledgeBase) -> None:
    folder = tmp_path / "templates"
    folder.mkdir()
    for name in ("report.html.j2", "i18n.yaml"):  # no changes_i18n.yaml, no form_i18n.yaml
        shutil.copy(find_templates() / name, folder / name)
    (folder / "i18n.yaml").write_text(
        (folder / "i18n.yaml").read_text("utf-8").replace('"nei"', '"NEI"'), encoding="utf-8"
    )
    old, new = make(kb), make(kb, safety={"current_opioid_use": True})
    nb = describe_changes(old, new, "nb", templates=folder)
    assert "Skjema, Bruker opioider nå (alle opioider, foreskrevet eller ikke): NEI → ja" in nb
