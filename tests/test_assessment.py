"""The assessment rules, table-driven: every factor value, contraindication, boundary."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pgx_report.clinical.assessment import assess
from pgx_report.clinical.knowledge import KnowledgeBase, load_knowledge_base
from pgx_report.clinical.questionnaire import Questionnaire, parse_questionnaire
from pgx_report.contracts.assessment import (
    Assessment,
    assessment_from_dict,
    load_assessment,
    validate_assessment_dict,
)
from pgx_report.contracts.call import Call, Status
from pgx_report.errors import InputError, SampleMismatchError, UsageError
from tests.conftest import REPO_ROOT, SAFE

DATA = REPO_ROOT / "tests" / "data" / "assess"
DEMO = REPO_ROOT / "demo" / "questionnaires"
NO_EPOCH: dict[str, str] = {}


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_knowledge_base()


def call(name: str = "AG", sample: str = "S1") -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / f"call_{name}.json").read_text("utf-8"))
    data["sample"] = sample
    return data


def questionnaire(**sections: Any) -> Questionnaire:
    """Identity + complete safety answers + the given sections (None removes a key)."""
    data: dict[str, Any] = {
        "questionnaire_version": "1.0",
        "sample_id": "S1",
        "patient": {"id": "P1", "name": "Test Testesen", "birth_date": "1980-01-01"},
        "completed_on": "2025-11-20",
        "safety": dict(SAFE),
    }
    for key, value in sections.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return parse_questionnaire(data, "q.json")


def run(q: Questionnaire, kb: KnowledgeBase, genotype: str = "AG", **kw: Any) -> Assessment:
    return assess(call(genotype, kw.pop("sample", "S1")), q, kb, environ=NO_EPOCH, **kw)


def finding(a: Assessment, factor_id: str) -> str:
    return a.factor(factor_id).finding


# ---------------------------------------------------------------------------- factors

SEVERITY = [
    ({}, "unknown", "Not recorded"),
    ({"heavy_drinking_days_last_30": 25}, "unknown", "Not recorded"),
    ({"dsm5_aud_criteria": 0}, "neutral", "criteria for alcohol use disorder are not met"),
    ({"dsm5_aud_criteria": 1}, "neutral", "criteria for alcohol use disorder are not met"),
    ({"dsm5_aud_criteria": 2}, "neutral", "Not severe"),
    ({"dsm5_aud_criteria": 5}, "neutral", "Not severe"),
    ({"dsm5_aud_criteria": 6}, "favourable", "Severe alcohol use disorder (6 or more DSM-5"),
    ({"dsm5_aud_criteria": 11}, "favourable", "Severe alcohol use disorder"),
    ({"audit_score": 19}, "neutral", "Not severe"),
    # AUDIT alone: zone IV is "probably severe" (refer for diagnostic evaluation)
    ({"audit_score": 20}, "favourable", "Probably severe: AUDIT 20 or more (zone IV"),
    ({"audit_score": 40}, "favourable", "Probably severe"),
    # the DSM-5 count decides when it is recorded: AUDIT does not overrule it
    ({"dsm5_aud_criteria": 3, "audit_score": 25}, "neutral", "Not severe"),
    ({"dsm5_aud_criteria": 7, "audit_score": 10}, "favourable", "Severe alcohol use disorder"),
    ({"dsm5_aud_criteria": 4, "audit_score": 19, "drinks_per_drinking_day": 30}, "neutral", ""),
]


@pytest.mark.parametrize(("drinking", "expected", "text"), SEVERITY)
def test_severity(kb: KnowledgeBase, drinking: dict[str, Any], expected: str, text: str) -> None:
    a = run(questionnaire(drinking=drinking or None), kb)
    factor = a.factor("severity")
    assert factor.finding == expected
    assert text in factor.explanation.en
    assert factor.evidence_level == "low"
    assert factor.citations[0] == 13


def test_severity_value_text(kb: KnowledgeBase) -> None:
    drinking = {
        "dsm5_aud_criteria": 7,
        "audit_score": 24,
        "heavy_drinking_days_last_30": 12,
        "drinks_per_drinking_day": 7.5,
    }
    factor = run(questionnaire(drinking=drinking), kb).factor("severity")
    assert factor.value == drinking
    assert factor.value_text.en == (
        "DSM-5 7/11 (severe); AUDIT 24 (zone IV: refer for diagnostic evaluation); "
        "12 heavy drinking days in the last 30; "
        "7.5 units per drinking day"
    )
    assert factor.value_text.nb == (
        "DSM-5 7/11 (alvorlig); AUDIT 24 (sone IV: henvis til utredning); "
        "12 dager med tung drikking siste 30 dager; "
        "7,5 alkoholenheter per drikkedag"
    )


@pytest.mark.parametrize(
    ("count", "expected", "text_en"),
    [
        (None, "unknown", "not recorded"),
        (0, "neutral", "none"),
        (1, "favourable", "1 first-degree relative"),
        (3, "favourable", "3 first-degree relatives"),
    ],
)
def test_family_history(kb: KnowledgeBase, count: int | None, expected: str, text_en: str) -> None:
    section = None if count is None else {"first_degree_relatives_with_aud": count}
    factor = run(questionnaire(family_history=section), kb).factor("family_history")
    assert (factor.finding, factor.value_text.en) == (expected, text_en)
    assert factor.evidence_level == "low"  # secondary analyses, open-label, laboratory


MOTIVE = [
    ({}, "unknown", "not recorded"),
    ({"type": "reward"}, "favourable", "Drinks mainly for reward"),
    ({"type": "reward", "gad7_score": 9}, "favourable", "Drinks mainly for reward"),
    # moderate anxiety (GAD-7 10-14) is neutral; only severe anxiety (>= 15) counts against
    ({"type": "reward", "gad7_score": 14}, "favourable", "Drinks mainly for reward"),
    ({"type": "reward", "gad7_score": 15}, "neutral", "signals point in opposite directions"),
    # relief drinking alone is neutral: the "relief drinkers did worse" studies were not
    # naltrexone evidence (Grodin 2024 ibudilast; Roos 2017 acamprosate)
    ({"type": "relief"}, "neutral", "does not argue against naltrexone"),
    ({"type": "relief", "gad7_score": 2}, "neutral", "relief"),
    ({"type": "relief", "gad7_score": 21}, "unfavourable", "relief"),
    ({"type": "habit"}, "neutral", "Habit or mixed"),
    ({"type": "mixed", "gad7_score": 9}, "neutral", "Habit or mixed"),
    ({"type": "mixed", "gad7_score": 15}, "unfavourable", "Severe anxiety (GAD-7 15 or more)"),
    ({"type": "habit", "gad7_score": 10}, "neutral", "Habit or mixed"),
    ({"type": "habit", "gad7_score": 15}, "unfavourable", "Severe anxiety"),
    ({"gad7_score": 0}, "neutral", "only the anxiety score known"),
    ({"gad7_score": 14}, "neutral", "only the anxiety score known"),
    ({"gad7_score": 15}, "unfavourable", "Severe anxiety"),
]


@pytest.mark.parametrize(("section", "expected", "text"), MOTIVE)
def test_drinking_motive(
    kb: KnowledgeBase, section: dict[str, Any], expected: str, text: str
) -> None:
    factor = run(questionnaire(drinking_motive=section or None), kb).factor("drinking_motive")
    assert factor.finding == expected
    assert text in (factor.explanation.en + factor.value_text.en)


def test_drinking_motive_value_text(kb: KnowledgeBase) -> None:
    factor = run(questionnaire(drinking_motive={"type": "reward", "gad7_score": 12}), kb).factor(
        "drinking_motive"
    )
    assert factor.value_text.en == "reward; GAD-7 12 (moderate anxiety)"
    assert factor.value_text.nb == "belønning; GAD-7 12 (moderat angst)"


@pytest.mark.parametrize(
    ("answer", "expected"), [(None, "unknown"), ("liker", "favourable"), ("disliker", "neutral")]
)
def test_sweet_liking(kb: KnowledgeBase, answer: str | None, expected: str) -> None:
    assert finding(run(questionnaire(sweet_liking=answer), kb), "sweet_liking") == expected


SMOKING = [
    (None, "unknown", "not recorded"),
    ({"status": "current"}, "favourable", "current smoker"),
    (
        {"status": "current", "cigarettes_per_day": 20},
        "favourable",
        "current smoker, 20 cigarettes per day",
    ),
    ({"status": "former"}, "neutral", "former smoker"),
    ({"status": "former", "cigarettes_per_day": 10}, "neutral", "former smoker"),
    ({"status": "never"}, "neutral", "never smoked"),
    ({"cigarettes_per_day": 5}, "favourable", "current smoker, 5 cigarettes per day"),
    ({"cigarettes_per_day": 0}, "neutral", "0 cigarettes per day"),
]


@pytest.mark.parametrize(("section", "expected", "text"), SMOKING)
def test_smoking(
    kb: KnowledgeBase, section: dict[str, Any] | None, expected: str, text: str
) -> None:
    factor = run(questionnaire(smoking=section), kb).factor("smoking")
    assert (factor.finding, factor.value_text.en) == (expected, text)


@pytest.mark.parametrize(
    ("name", "expected", "summary_en"),
    [
        (
            "AA",
            "neutral",
            "A/A — no 118G variant: the most common genotype in people of European ancestry; "
            "naltrexone can work in A/A patients",
        ),
        (
            "AG",
            "favourable",
            "A/G — carrier of the 118G variant (informational, not used in the category)",
        ),
        (
            "GG",
            "favourable",
            "G/G — carrier of the 118G variant (informational, not used in the category)",
        ),
        (
            "failed_qc",
            "unknown",
            "Not determined — failed quality control (FILTERED). The genotype is not needed "
            "to decide; a new sample is optional.",
        ),
        (
            "not_covered",
            "unknown",
            "Not determined — site not covered by the data (ABSENT). The genotype is not "
            "needed to decide; a new sample is optional.",
        ),
    ],
)
def test_genotype_factor(kb: KnowledgeBase, name: str, expected: str, summary_en: str) -> None:
    a = run(questionnaire(), kb, genotype=name)
    factor = a.factor("oprm1_genotype")
    assert factor.finding == expected
    assert factor.evidence_level == "mixed"
    assert a.genotype_summary.en == summary_en
    if expected == "unknown":
        assert factor.value == {"status": call(name)["status"], "genotype": None}
        assert "never as A/A" in factor.explanation.en
        assert "A/A" not in a.genotype_summary.en
        assert "a new sample is optional" in factor.explanation.en


@pytest.mark.parametrize("status", ["no_call", "ref_mismatch", "failed_qc"])
def test_any_not_called_status_is_unknown_even_with_a_stale_genotype(
    kb: KnowledgeBase, status: str
) -> None:
    data = call("AA")
    data["status"] = status  # a hand-edited call: genotype left in place
    a = assess(data, questionnaire(), kb, environ=NO_EPOCH)
    assert a.factor("oprm1_genotype").finding == "unknown"
    assert not any("A/A patients" in s.en for s in a.overall.rationale)


def test_aa_genotype_line_and_explanation_say_naltrexone_can_work(kb: KnowledgeBase) -> None:
    a = run(questionnaire(), kb, genotype="AA")
    assert "naltrexone can work in A/A patients" in a.genotype_summary.en
    assert "naltrekson kan virke ved A/A" in a.genotype_summary.nb
    assert "no evidence that they fail to benefit" in a.factor("oprm1_genotype").explanation.en


# ---------------------------------------------------------------------------- safety

ABSOLUTE = [
    ({"hypersensitivity_to_naltrexone": True}, "hypersensitivity_to_naltrexone"),
    ({"hepatic_impairment": "severe"}, "severe_hepatic_impairment"),
    ({"acute_hepatitis": True}, "acute_hepatitis"),
    ({"renal_impairment": "severe"}, "severe_renal_impairment"),
    ({"current_opioid_use": True}, "current_opioid_use"),
    ({"opioid_agonist_treatment": True}, "opioid_agonist_treatment"),
    ({"positive_opioid_screen": True}, "positive_opioid_screen"),
    ({"acute_opioid_withdrawal": True}, "acute_opioid_withdrawal"),
]
RELATIVE = [
    ({"opioid_analgesics_expected": True}, "opioid_analgesics_expected"),
    ({"hepatic_impairment": "mild"}, "hepatic_impairment"),
    ({"hepatic_impairment": "moderate"}, "hepatic_impairment"),
    ({"renal_impairment": "mild"}, "renal_impairment"),
    ({"renal_impairment": "moderate"}, "renal_impairment"),
    ({"pregnant_or_breastfeeding": True}, "pregnant_or_breastfeeding"),
    ({"liver_enzymes_elevated": True}, "liver_enzymes_elevated"),
]
FAVOURABLE_ALL = {
    "drinking": {"dsm5_aud_criteria": 9, "audit_score": 30},
    "family_history": {"first_degree_relatives_with_aud": 2},
    "drinking_motive": {"type": "reward", "gad7_score": 2},
    "sweet_liking": "liker",
    "smoking": {"status": "current"},
}


@pytest.mark.parametrize(("answer", "rule_id"), ABSOLUTE, ids=[a[1] for a in ABSOLUTE])
@pytest.mark.parametrize("genotype", ["AG", "AA", "failed_qc"])
def test_absolute_contraindication_outranks_everything(
    kb: KnowledgeBase, answer: dict[str, Any], rule_id: str, genotype: str
) -> None:
    a = run(questionnaire(**FAVOURABLE_ALL, safety={**SAFE, **answer}), kb, genotype=genotype)
    assert a.overall.category == "contraindicated"
    assert [(c.id, c.severity) for c in a.contraindications] == [(rule_id, "absolute")]
    assert a.overall.rationale[0].en.startswith("Naltrexone is contraindicated: ")
    assert a.overall.label.nb == "Naltrekson er kontraindisert"
    assert not any("is an option" in s.en for s in a.overall.rationale)


@pytest.mark.parametrize(
    ("answer", "rule_id"), RELATIVE, ids=[f"{r[1]}-{next(iter(r[0].values()))}" for r in RELATIVE]
)
def test_relative_contraindication_is_shown_but_does_not_decide(
    kb: KnowledgeBase, answer: dict[str, Any], rule_id: str
) -> None:
    a = run(questionnaire(**FAVOURABLE_ALL, safety={**SAFE, **answer}), kb)
    assert a.overall.category == "several_favourable_features"
    assert [(c.id, c.severity) for c in a.contraindications] == [(rule_id, "relative")]
    # shown in the caution box on page 1 (its text), not repeated in the rationale
    assert a.contraindications[0].text.en
    assert a.overall.guidance_applies is True


def test_all_safety_answers_no_triggers_nothing(kb: KnowledgeBase) -> None:
    a = run(questionnaire(**FAVOURABLE_ALL), kb)
    assert a.contraindications == ()
    assert a.overall.unchecked_contraindications == ()
    assert a.overall.age_checked is True


def test_absolute_ones_are_listed_before_relative_ones(kb: KnowledgeBase) -> None:
    safety = {
        **SAFE,
        "liver_enzymes_elevated": True,
        "current_opioid_use": True,
        "hepatic_impairment": "severe",
    }
    a = run(questionnaire(safety=safety), kb)
    assert [c.severity for c in a.contraindications] == ["absolute", "absolute", "relative"]
    assert a.overall.rationale[0].en == (
        "Naltrexone is contraindicated, for 2 reasons: severe hepatic impairment and current "
        "opioid use. This outranks every predictor; the predictors are listed on a later page "
        "for the record only."
    )


@pytest.mark.parametrize(
    ("born", "on", "under_18", "age"),
    [
        ("2007-11-21", "2025-11-20", True, 17),
        ("2007-11-20", "2025-11-20", False, 18),
        ("2008-02-29", "2026-02-28", True, 17),
        ("2008-02-29", "2026-03-01", False, 18),
        ("2015-01-01", "2025-11-20", True, 10),
    ],
)
def test_age_under_18_from_birth_date_on_completion_date(
    kb: KnowledgeBase, born: str, on: str, under_18: bool, age: int
) -> None:
    q = questionnaire(patient={"id": "P1", "name": "N", "birth_date": born}, completed_on=on)
    a = run(q, kb)
    assert a.patient["age_years"] == age
    assert (a.overall.category == "contraindicated") is under_18
    if under_18:
        assert a.contraindications[0].id == "age_under_18"
        assert a.contraindications[0].text.en.startswith(f"Age under 18 ({age} years")
        assert a.contraindications[0].text.nb.startswith(f"Alder under 18 år ({age} år")


@pytest.mark.parametrize(
    ("patient", "completed", "why_en", "why_nb"),
    [
        ({"id": "P1", "name": "N"}, "2025-11-20", "birth date missing", "fødselsdato mangler"),
        (
            {"id": "P1", "name": "N", "birth_date": "1980-01-01"},
            None,
            "questionnaire date missing",
            "utfyllingsdato mangler",
        ),
    ],
)
def test_age_that_cannot_be_checked_is_said_not_guessed(
    kb: KnowledgeBase, patient: dict[str, Any], completed: str | None, why_en: str, why_nb: str
) -> None:
    a = run(questionnaire(**FAVOURABLE_ALL, patient=patient, completed_on=completed), kb)
    assert a.patient["age_years"] is None
    assert a.overall.age_checked is False
    assert "age_under_18" in a.overall.unchecked_contraindications
    assert a.overall.category == "safety_screen_incomplete"  # age is an absolute rule
    assert a.overall.confidence == "moderate"  # capped: an absolute rule is unchecked
    item = next(i for i in a.overall.unanswered if i.id == "age_under_18")
    assert item.clarify.en.lower().startswith(why_en)
    assert item.clarify.nb.lower().startswith(why_nb)
    assert "contraindicated under 18" in item.clarify.en


def test_unanswered_safety_questions_are_listed_and_cap_confidence(kb: KnowledgeBase) -> None:
    safety = {k: v for k, v in SAFE.items() if k not in ("current_opioid_use", "acute_hepatitis")}
    a = run(questionnaire(**FAVOURABLE_ALL, safety=safety), kb)
    assert a.overall.unchecked_contraindications == ("acute_hepatitis", "current_opioid_use")
    assert a.overall.confidence == "moderate"
    assert a.overall.category == "safety_screen_incomplete"
    assert [i.id for i in a.overall.unanswered] == ["acute_hepatitis", "current_opioid_use"]
    assert a.overall.rationale[0].en.startswith("2 questions about absolute contraindications")
    full = run(questionnaire(**FAVOURABLE_ALL), kb)
    assert full.overall.confidence == "high"


# ---------------------------------------------------------------------------- overall


@pytest.mark.parametrize(
    ("sections", "category"),
    [
        ({}, "insufficient_information"),
        ({"sweet_liking": "liker", "smoking": {"status": "current"}}, "insufficient_information"),
        (
            {
                "sweet_liking": "liker",
                "smoking": {"status": "current"},
                "family_history": {"first_degree_relatives_with_aud": 0},
            },
            "several_favourable_features",
        ),
        (
            {
                "sweet_liking": "liker",
                "smoking": {"status": "never"},
                "family_history": {"first_degree_relatives_with_aud": 0},
            },
            "few_favourable_features",
        ),
        (
            {
                "sweet_liking": "liker",
                "smoking": {"status": "current"},
                "drinking_motive": {"type": "relief"},
            },
            "several_favourable_features",
        ),
        (
            {
                "sweet_liking": "liker",
                "drinking_motive": {"type": "relief"},
                "family_history": {"first_degree_relatives_with_aud": 0},
            },
            "few_favourable_features",
        ),
        ({**FAVOURABLE_ALL}, "several_favourable_features"),
    ],
)
def test_category_rules(kb: KnowledgeBase, sections: dict[str, Any], category: str) -> None:
    a = run(questionnaire(**sections), kb)
    assert a.overall.category == category
    assert a.overall.label == kb.category_label(category)
    if category != "contraindicated":
        assert any("Naltrexone is an option" in s.en for s in a.overall.rationale)


def test_insufficient_information_has_low_confidence_and_says_why(kb: KnowledgeBase) -> None:
    a = run(questionnaire(sweet_liking="liker"), kb)
    assert (a.overall.category, a.overall.confidence) == ("insufficient_information", "low")
    assert a.overall.rationale[0].en == (
        "Too little information: 1 of 5 clinical predictors recorded; at least 3 are needed "
        "to describe the predictors."
    )


@pytest.mark.parametrize(
    ("remove", "genotype", "confidence"),
    [
        ((), "AG", "high"),
        ((), "failed_qc", "moderate"),
        (("sweet_liking",), "AG", "moderate"),
        (("sweet_liking",), "failed_qc", "moderate"),
        (("sweet_liking", "smoking"), "failed_qc", "low"),
    ],
)
def test_confidence_drops_with_unknown_factors(
    kb: KnowledgeBase, remove: tuple[str, ...], genotype: str, confidence: str
) -> None:
    sections = {k: (None if k in remove else v) for k, v in FAVOURABLE_ALL.items()}
    a = run(questionnaire(**sections), kb, genotype=genotype)
    assert a.overall.confidence == confidence
    assert a.overall.counts["unknown"] == len(remove) + (genotype == "failed_qc")


QUESTIONNAIRES = st.fixed_dictionaries(
    {},
    optional={
        "drinking": st.fixed_dictionaries(
            {},
            optional={"dsm5_aud_criteria": st.integers(0, 11), "audit_score": st.integers(0, 40)},
        ),
        "family_history": st.fixed_dictionaries(
            {"first_degree_relatives_with_aud": st.integers(0, 4)}
        ),
        "drinking_motive": st.fixed_dictionaries(
            {},
            optional={
                "type": st.sampled_from(["reward", "relief", "habit", "mixed"]),
                "gad7_score": st.integers(0, 21),
            },
        ),
        "sweet_liking": st.sampled_from(["liker", "disliker"]),
        "smoking": st.fixed_dictionaries(
            {"status": st.sampled_from(["current", "former", "never"])}
        ),
        "safety": st.fixed_dictionaries(
            {},
            optional={
                "current_opioid_use": st.booleans(),
                "hepatic_impairment": st.sampled_from(["none", "mild", "severe"]),
                "liver_enzymes_elevated": st.booleans(),
            },
        ),
    },
)


@settings(max_examples=60, deadline=None)
@given(sections=QUESTIONNAIRES)
def test_genotype_never_changes_the_category(sections: dict[str, Any]) -> None:
    kb = load_knowledge_base()
    q = questionnaire(**sections)
    categories = {
        run(q, kb, genotype=name).overall.category
        for name in ("AA", "AG", "GG", "failed_qc", "not_covered")
    }
    assert len(categories) == 1


@settings(max_examples=60, deadline=None)
@given(sections=QUESTIONNAIRES)
def test_invariants(sections: dict[str, Any]) -> None:
    kb = load_knowledge_base()
    a = run(questionnaire(**sections), kb)
    absolute = [c for c in a.contraindications if c.severity == "absolute"]
    assert (a.overall.category == "contraindicated") == bool(absolute)
    assert [f.id for f in a.factors] == [f.id for f in kb.factors]
    rationale = a.to_dict()["overall"]["rationale"]
    assert len(rationale["en"]) == len(rationale["nb"]) >= 1
    for text in rationale["en"] + rationale["nb"]:
        assert "{" not in text and "}" not in text
    validate_assessment_dict(a.to_dict(), "mem")


# ---------------------------------------------------------------------------- identity, dates


def test_sample_mismatch_is_refused(kb: KnowledgeBase) -> None:
    with pytest.raises(SampleMismatchError) as err:
        run(questionnaire(), kb, sample="NA12878")
    assert str(err.value) == (
        "q.json: $.sample_id: 'S1' does not match the genotype call's sample 'NA12878' "
        "(a sample swap?); correct the file, or pass --allow-sample-mismatch if you have "
        "confirmed they belong together"
    )


def test_allowed_sample_mismatch_is_recorded(kb: KnowledgeBase) -> None:
    a = run(questionnaire(), kb, sample="NA12878", allow_sample_mismatch=True)
    assert a.provenance["allow_sample_mismatch"] is True
    assert a.provenance["allow_sample_mismatch_option"] is True
    assert a.provenance["sample_mismatch"] == {
        "questionnaire_sample": "S1",
        "call_sample": "NA12878",
    }
    assert a.overall.rationale[0].en.startswith("Sample check overridden: ")
    assert a.sample_id == "S1" and a.call.sample == "NA12878"


def test_option_without_a_mismatch_claims_no_mismatch(kb: KnowledgeBase) -> None:
    a = run(questionnaire(), kb, allow_sample_mismatch=True)
    assert a.provenance["allow_sample_mismatch"] is False
    assert a.provenance["allow_sample_mismatch_option"] is True
    assert a.provenance["sample_mismatch"] is None


@pytest.mark.parametrize(
    ("environ", "completed", "reported", "source"),
    [
        ({}, "2025-11-20", "2025-11-20", "completed_on"),
        ({"SOURCE_DATE_EPOCH": "1764547200"}, "2025-11-20", "2025-12-01", "SOURCE_DATE_EPOCH"),
        ({"SOURCE_DATE_EPOCH": ""}, "2025-11-20", "2025-11-20", "completed_on"),
        ({}, None, None, None),
    ],
)
def test_reported_on(
    kb: KnowledgeBase,
    environ: dict[str, str],
    completed: str | None,
    reported: str | None,
    source: str | None,
) -> None:
    a = assess(call(), questionnaire(completed_on=completed), kb, environ=environ)
    assert a.dates == {"completed_on": completed, "reported_on": reported}
    assert a.provenance["reported_on_source"] == source


def test_bad_source_date_epoch(kb: KnowledgeBase) -> None:
    with pytest.raises(UsageError, match="SOURCE_DATE_EPOCH='yesterday': not a whole number"):
        assess(call(), questionnaire(), kb, environ={"SOURCE_DATE_EPOCH": "yesterday"})


def test_language_choice(kb: KnowledgeBase) -> None:
    assert run(questionnaire(), kb).language == "en"
    assert run(questionnaire(language="nb"), kb).language == "nb"
    assert run(questionnaire(language="nb"), kb, language="en").language == "en"


def test_reduce_goal_gets_the_off_label_sentence(kb: KnowledgeBase) -> None:
    a = run(questionnaire(drinking={"treatment_goal": "reduce"}), kb)
    assert any("off-label for naltrexone in Norway" in s.en for s in a.overall.rationale)
    b = run(questionnaire(drinking={"treatment_goal": "abstain"}), kb)
    assert not any("off-label" in s.en for s in b.overall.rationale)


# ---------------------------------------------------------------------------- output


def test_output_follows_the_contract(kb: KnowledgeBase) -> None:
    a = run(questionnaire(**FAVOURABLE_ALL), kb)
    data = a.to_dict()
    validate_assessment_dict(data, "mem")
    assert data["schema"] == "pgx-report.assessment" and data["schema_version"] == "1.1"
    assert [f["id"] for f in data["factors"]] == [
        "severity",
        "family_history",
        "drinking_motive",
        "sweet_liking",
        "smoking",
        "oprm1_genotype",
    ]
    assert data["call"] == call()
    assert data["provenance"]["knowledge_base_version"] == kb.version
    assert data["provenance"]["build"] == "GRCh38"
    assert data["provenance"]["thresholds"] == {"min_depth": 10, "min_gq": 20}
    roles = [i["role"] for i in data["provenance"]["inputs"]]
    assert roles == ["genotype_input"]  # in-memory questionnaire has no file hash
    cited = {n for f in data["factors"] for n in f["citations"]}
    assert cited <= {r["number"] for r in data["references"]}
    assert set(data["guidance"]) == {
        "dose",
        "side_effects",
        "monitoring",
        "off_label_note",
        "opioid_warning",
    }
    assert "not a validated model" in data["limitations"][0]["en"]
    assert data["overall"]["not_validated_notice"]["en"].startswith("Not a validated model")


def test_round_trip_through_json(tmp_path: Path, kb: KnowledgeBase) -> None:
    a = run(questionnaire(**FAVOURABLE_ALL), kb)
    path = tmp_path / "a.json"
    path.write_text(json.dumps(a.to_dict(), sort_keys=True), "utf-8")
    loaded = load_assessment(path)
    assert loaded.to_dict() == a.to_dict()
    assert loaded.category == "several_favourable_features"
    assert loaded.factor("smoking").finding == "favourable"
    assert assessment_from_dict(a.to_dict()).overall == a.overall


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda d: d["overall"].update(category="great"),
            "$.overall.category: 'great' is not one of",
        ),
        (lambda d: d["factors"].pop(), "$.factors: [{"),
        (
            lambda d: d.update(extra=1),
            "Additional properties are not allowed ('extra' was unexpected)",
        ),
        (
            lambda d: d["factors"][0].update(finding="good"),
            "$.factors[0].finding: 'good' is not one of",
        ),
        (
            lambda d: d["questionnaire"].update(sweet_liking="maybe"),
            "$.questionnaire.sweet_liking: 'maybe' is not one of ['liker', 'disliker', None]",
        ),
        (
            lambda d: d.update(schema="pgx-report.call"),
            "$.schema: 'pgx-report.call' is not 'pgx-report.assessment'",
        ),
    ],
)
def test_load_assessment_refuses_bad_files(
    tmp_path: Path, kb: KnowledgeBase, change: Any, expected: str
) -> None:
    data = run(questionnaire(), kb).to_dict()
    change(data)
    path = tmp_path / "a.json"
    path.write_text(json.dumps(data), "utf-8")
    with pytest.raises(InputError) as err:
        load_assessment(path)
    assert str(err.value).startswith(f"{path}: ")
    assert expected in str(err.value)


@pytest.mark.parametrize(
    ("content", "expected"),
    [(b"{", "invalid JSON"), (b"\xfe", "not UTF-8 text"), (b"[]", "not an assessment")],
)
def test_load_assessment_unreadable(tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "a.json"
    path.write_bytes(content)
    with pytest.raises(InputError, match=expected):
        load_assessment(path)


def test_assess_does_not_change_its_inputs(kb: KnowledgeBase) -> None:
    data = call()
    q = questionnaire(**FAVOURABLE_ALL)
    before_call, before_q = copy.deepcopy(data), copy.deepcopy(dict(q.data))
    a = assess(data, q, kb, environ=NO_EPOCH)
    a.to_dict()["call"]["sample"] = "changed"
    assert data == before_call and dict(q.data) == before_q
    assert a.call.sample == "S1"


def test_a_huge_bad_value_is_shortened_in_the_error_line() -> None:
    import json as _json

    from pgx_report.contracts.assessment import validate_assessment_dict
    from pgx_report.errors import InputError

    path = Path(__file__).parent / "data" / "fhir_assessment_called.json"
    data = _json.loads(path.read_text("utf-8"))
    data["questionnaire"]["patient"]["name"] = "Haugen " * 2000 + "x"
    with pytest.raises(InputError) as err:
        validate_assessment_dict(data, "a.json")
    message = str(err.value)
    assert "$.questionnaire.patient.name: 'Haugen Haugen" in message
    assert "(14003 characters) is too long" in message and len(message) < 400


# ------------------------------------------------------------------ the embedded call


@pytest.mark.parametrize("name", ["AA", "AG", "AG_b37", "GG", "failed_qc", "not_covered"])
def test_the_embedded_call_is_a_typed_call_with_exactly_the_input_fields(
    kb: KnowledgeBase, name: str
) -> None:
    data = call(name)
    a = run(questionnaire(), kb, genotype=name)
    assert isinstance(a.call, Call)
    assert a.call == Call.from_dict(data) and a.call.to_dict() == data
    assert a.to_dict()["call"] == data
    loaded = assessment_from_dict(a.to_dict())
    assert loaded.call == a.call and loaded.to_dict() == a.to_dict()


def test_from_embedded_takes_an_assessment_call_as_it_is() -> None:
    minimal = {
        "schema": "pgx-report.call",
        "sample": "S1",
        "status": "no_call",
        "genotype": None,
        "variant": {"rsid": "rs1799971", "build": None},
        "reason_codes": ["NOCALL_GT"],
    }
    embedded = Call.from_embedded(minimal)
    assert embedded.status is Status.NO_CALL and embedded.reason_codes == ("NOCALL_GT",)
    assert (embedded.reasons, embedded.qc, embedded.provenance) == ((), {}, {})
    assert embedded.gt is None and embedded.carrier is None
    assert embedded.variant == minimal["variant"] and embedded.variant is not minimal["variant"]


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("variant", KeyError, "a.json: $.call.variant: missing or not an object"),
        ("variant", ["rs1799971"], "a.json: $.call.variant: missing or not an object"),
        ("reason_codes", KeyError, "a.json: $.call.reason_codes: missing or not a list"),
        ("reason_codes", None, "a.json: $.call.reason_codes: missing or not a list"),
        ("status", "maybe", "a.json: $.call.status: 'maybe' is not one of called, no_call"),
    ],
)
def test_from_embedded_needs_a_variant_and_reason_codes(key: str, value: Any, message: str) -> None:
    data = call()
    if value is KeyError:
        del data[key]
    else:
        data[key] = value
    with pytest.raises(InputError) as err:
        Call.from_embedded(data, "a.json")
    assert str(err.value).startswith(message)


def test_an_assessment_whose_call_lacks_reason_codes_is_refused(kb: KnowledgeBase) -> None:
    data = run(questionnaire(), kb).to_dict()
    del data["call"]["reason_codes"]
    with pytest.raises(InputError, match=r"^a\.json: \$\.call\.reason_codes: missing or not a"):
        assessment_from_dict(data, "a.json")
