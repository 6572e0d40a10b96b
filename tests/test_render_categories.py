"""What page 1 shows, and does not show, for each category (issue 14), read from the PDF
text with pdftotext, in both languages; and every reference number printed anywhere in a
demo report is in that report's reference list.

Each case is the demo carrier's questionnaire with one edit, assessed by the real engine
against the demo carrier's genotype call, then rendered.
"""

from __future__ import annotations

import copy
import functools
import json
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import DEMO, DEMO_PATIENTS
from test_render import render_case

from pgx_report.outputs.report import pdf as rendering

LANGS = ("en", "nb")
BASE = json.loads((DEMO / "questionnaires" / "demo-carrier.json").read_text("utf-8"))


def _safety(**answers: Any) -> Callable[[dict[str, Any]], None]:
    def patch(q: dict[str, Any]) -> None:
        q["safety"].update(answers)

    return patch


def _unanswer(*fields: str) -> Callable[[dict[str, Any]], None]:
    def patch(q: dict[str, Any]) -> None:
        for name in fields:
            q["safety"].pop(name)

    return patch


def _drinking(**values: Any) -> Callable[[dict[str, Any]], None]:
    def patch(q: dict[str, Any]) -> None:
        q["drinking"].update(values)

    return patch


def _few(q: dict[str, Any]) -> None:
    q["drinking"]["dsm5_aud_criteria"] = 4
    q["family_history"]["first_degree_relatives_with_aud"] = 0
    q["drinking_motive"] = {"type": "habit"}
    q["sweet_liking"] = "disliker"


def _sparse(q: dict[str, Any]) -> None:
    for key in ("family_history", "drinking_motive", "sweet_liking", "smoking"):
        q.pop(key)


# case -> (questionnaire edit, expected category)
CASES: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "oat": (_safety(opioid_agonist_treatment=True), "contraindicated"),
    "opioid": (_safety(current_opioid_use=True), "contraindicated"),
    "oat_unanswered": (_unanswer("opioid_agonist_treatment"), "safety_screen_incomplete"),
    "oat_unanswered_and_dsm5_1": (
        lambda q: (_unanswer("opioid_agonist_treatment")(q), _drinking(dsm5_aud_criteria=1)(q)),
        "safety_screen_incomplete",
    ),
    "dsm5_1": (_drinking(dsm5_aud_criteria=1), "indication_not_established"),
    "dsm5_0_and_cautions_unanswered": (
        lambda q: (
            _drinking(dsm5_aud_criteria=0)(q),
            _unanswer("pregnant_or_breastfeeding", "opioid_analgesics_expected")(q),
        ),
        "indication_not_established",
    ),
    "several": (lambda q: None, "several_favourable_features"),
    "few": (_few, "few_favourable_features"),
    "insufficient": (_sparse, "insufficient_information"),
    "cautions_unanswered": (
        _unanswer(
            "pregnant_or_breastfeeding", "opioid_analgesics_expected", "liver_enzymes_elevated"
        ),
        "several_favourable_features",
    ),
}


@functools.cache
def _case(name: str) -> tuple[dict[str, Any], dict[str, str]]:
    """(assessment, {lang: page-1 text}) of a case."""
    from pgx_report.clinical.assessment import assess
    from pgx_report.clinical.knowledge import load_knowledge_base
    from pgx_report.clinical.questionnaire import load_questionnaire
    from pgx_report.files.io import canonical_json
    from pgx_report.genotype.vcf.rules import call_file

    patch, _ = CASES[name]
    q = copy.deepcopy(BASE)
    patch(q)
    folder = Path(tempfile.mkdtemp(prefix="pgx-categories-"))
    path = folder / "q.json"
    path.write_text(json.dumps(q, ensure_ascii=False), encoding="utf-8")
    vcf, sample = DEMO_PATIENTS["demo-carrier"]
    result = assess(
        call_file(DEMO / "vcfs" / vcf, sample=sample),
        load_questionnaire(path),
        load_knowledge_base(),
        environ={},
    )
    data = canonical_json(result.to_dict()).encode("utf-8")
    assessment = json.loads(data)
    pages: dict[str, str] = {}
    for lang in LANGS:
        report = rendering.render_pdf(assessment, data, lang, rendering.find_templates())
        assert report.pdf is not None
        pages[lang] = _pdftotext(report.pdf, folder / f"{lang}.pdf", first_page_only=True)
    return assessment, pages


def _pdftotext(pdf: bytes, path: Path, *, first_page_only: bool) -> str:
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext (Debian poppler-utils) is required")
    path.write_bytes(pdf)
    pages = ["-f", "1", "-l", "1"] if first_page_only else []
    text = subprocess.run(
        ["pdftotext", *pages, str(path), "-"], check=True, capture_output=True, text=True
    ).stdout
    return squeeze(text)


def squeeze(text: str) -> str:
    return "".join(text.split())


def labels(lang: str) -> dict[str, str]:
    return dict(rendering.load_labels(rendering.find_templates())[lang])


def _has(text: str, page: str) -> bool:
    return squeeze(text) in page


@pytest.mark.parametrize("case", list(CASES))
def test_category_rule(case: str) -> None:
    a, _ = _case(case)
    assert a["overall"]["category"] == CASES[case][1]


# category -> what page 1 must show (True) and must not show (False)
PAGE_ONE: dict[str, dict[str, bool]] = {
    "contraindicated": {
        "option": False,
        "dose": False,
        "practical": False,
        "completeness": False,
        "instead": True,
        "predictors": False,
    },
    "safety_screen_incomplete": {
        "option": False,
        "dose": False,
        "practical": False,
        "completeness": True,
        "instead": False,
        "predictors": True,
    },
    "indication_not_established": {
        "option": False,
        "dose": False,
        "practical": False,
        "completeness": True,
        "instead": False,
        "predictors": True,
    },
    **{
        category: {
            "option": True,
            "dose": True,
            "practical": True,
            "completeness": True,
            "instead": False,
            "predictors": True,
        }
        for category in (
            "several_favourable_features",
            "few_favourable_features",
            "insufficient_information",
        )
    },
}


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("case", list(CASES))
def test_page_one_shows_what_the_category_allows(case: str, lang: str) -> None:
    a, pages = _case(case)
    page = pages[lang]
    L = labels(lang)
    rules = PAGE_ONE[a["overall"]["category"]]
    option = "Naltrexone is an option" if lang == "en" else "Naltrekson er et aktuelt alternativ"
    checks = {
        "option": _has(option, page),
        "dose": _has(a["guidance"]["dose"][lang], page),
        "practical": _has(L["practical"], page),
        "completeness": _has(L["completeness_label"], page),
        "instead": _has(L["instead_label"], page),
        "predictors": _has(L["factors"], page),
    }
    assert checks == rules
    # always on page 1: the category's label; never the old wording
    assert _has(a["overall"]["label"][lang], page)
    for old in ("more likely than average", "confidence:", "applies only once", "gjennomsnitt"):
        assert squeeze(old) not in page.lower()
    if rules["completeness"]:
        assert _has(a["overall"]["completeness"][lang], page)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("case", list(CASES))
def test_every_unanswered_safety_question_is_listed_on_page_one(case: str, lang: str) -> None:
    a, pages = _case(case)
    page = pages[lang]
    L = labels(lang)
    unanswered = a["overall"]["unanswered"]
    for item in unanswered:
        assert _has(f"{item['label'][lang]}: {L['not_answered']}. {item['clarify'][lang]}", page)
    absolute = [i for i in unanswered if i["severity"] == "absolute"]
    relative = [i for i in unanswered if i["severity"] == "relative"]
    assert _has(L["unchecked_heading"], page) is bool(absolute)
    assert _has(L["unanswered_cautions_heading"], page) is bool(relative)


def test_unanswered_cautions_are_never_dropped() -> None:
    a, _ = _case("cautions_unanswered")
    ids = [i["id"] for i in a["overall"]["unanswered"]]
    assert ids == [
        "opioid_analgesics_expected",
        "pregnant_or_breastfeeding",
        "liver_enzymes_elevated",
    ]
    assert "3 caution questions unanswered" in a["overall"]["completeness"]["en"]
    assert "3 spørsmål om forsiktighetsregler ubesvart" in a["overall"]["completeness"]["nb"]


@pytest.mark.parametrize("lang", LANGS)
def test_opioid_agonist_treatment_is_never_advised_to_stop(lang: str) -> None:
    a, pages = _case("oat")
    page = pages[lang]
    steps = a["overall"]["next_steps"][lang]
    assert len(steps) == 1
    assert _has(steps[0], page)
    if lang == "en":
        assert steps[0].startswith("Do not stop the opioid agonist treatment to start naltrexone.")
        assert "treating OAT service" in steps[0] and "acamprosate" in steps[0]
        assert "not used together with it" in a["contraindications"][0]["text"]["en"]
    else:
        assert steps[0].startswith("Ikke avslutt LAR-behandlingen for å starte naltrekson.")
        assert "akamprosat" in steps[0]
    # "stop the opioid first" belongs to current opioid use alone, never to OAT
    assert not any("stopped long enough" in step for step in a["overall"]["next_steps"]["en"])
    opioid, _ = _case("opioid")
    assert "has been stopped long enough" in opioid["overall"]["next_steps"]["en"][0]


@pytest.mark.parametrize("lang", LANGS)
def test_indication_not_established_says_so(lang: str) -> None:
    a, pages = _case("dsm5_1")
    sentence = a["overall"]["rationale"][lang][0]
    assert _has(sentence, pages[lang])
    assert ("indication for naltrexone is not established" in sentence) or (
        "Indikasjonen for naltrekson er ikke fastslått" in sentence
    )


def _cited_numbers(text: str) -> set[int]:
    """Every reference number in "[13, 36]", "[18, 21-28]" (en dash) or "[29]" in a text."""
    numbers: set[int] = set()
    for group in re.findall(r"\[([0-9][0-9,\s\u2013-]*)\]", text):
        for part in group.split(","):
            part = part.strip()
            if not part:
                continue
            bounds = re.split(r"[\u2013-]", part)
            low, high = int(bounds[0]), int(bounds[-1])
            numbers.update(range(low, high + 1))
    return numbers


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("case", list(DEMO_PATIENTS))
def test_every_cited_number_is_in_the_reference_list(case: str, lang: str, tmp_path: Path) -> None:
    data, report = render_case(case, lang)
    a = json.loads(data)
    assert report.pdf is not None
    path = tmp_path / "report.pdf"
    path.write_bytes(report.pdf)
    text = subprocess.run(
        ["pdftotext", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout
    heading = labels(lang)["references"]
    body, _, reference_list = text.rpartition("\n" + heading + "\n")
    assert reference_list, "no reference list"
    listed = {int(n) for n in re.findall(r"^\[(\d+)\]", reference_list, flags=re.MULTILINE)}
    cited = _cited_numbers(body)
    assert cited, "no citation found"
    assert cited <= listed, sorted(cited - listed)
    assert listed == {ref["number"] for ref in a["references"]}
    if a["overall"]["guidance_applies"]:
        assert 29 in cited  # the number needed to treat (Jonas 2014, JAMA)


def test_lists_of_three_join_with_one_conjunction() -> None:
    from pgx_report.clinical.assessment import join_local
    from pgx_report.clinical.knowledge import LocalText

    items = [LocalText(x, y) for x, y in (("A", "A"), ("B", "B"), ("C", "C"))]
    assert join_local(items) == LocalText("A, B and C", "A, B og C")
    # no predictor label carries its own conjunction, so a list never reads "A og B og C"
    a, _ = _case("several")
    listed = a["overall"]["rationale"]
    sentence = next(s for s in listed["nb"] if "kliniske prediktorer" in s)
    inside = sentence[sentence.index("(") + 1 : sentence.rindex(")")]
    assert inside.count(" og ") == 1, inside
    sentence_en = next(s for s in listed["en"] if "clinical predictors" in s)
    assert sentence_en.count(" and ") == 1, sentence_en
