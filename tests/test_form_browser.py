"""The questionnaire form in a real browser (Debian's chromium + chromium-driver, selenium).

Fills the form for every demo patient and checks that what Save writes passes
``validate-questionnaire`` and equals the demo questionnaire; that every bad value shows
the validator's message beside its field and blocks Save; that "not answered" leaves the
key out; that neither the form nor a demo report makes any request outside its own file.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pgx_report.clinical.questionnaire import check_native, link_ids, parse_questionnaire
from pgx_report.files.io import canonical_json
from pgx_report.form import render_form
from tests.conftest import DEMO, DEMO_PATIENTS, REPO_ROOT, run_pgx

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="chromium and chromium-driver not installed (scripts/install-system-deps.sh)",
)
webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.common.by import By  # noqa: E402

DEMO_QUESTIONNAIRES = sorted((DEMO / "questionnaires").glob("*.json"))
FIELDS = link_ids()
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1000,1400",
)


@pytest.fixture(scope="module")
def downloads(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory, downloads: Path) -> Iterator[Any]:
    os.environ.setdefault("SE_OFFLINE", "true")  # selenium must not look for drivers online
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    browser = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    browser.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
    )
    yield browser
    browser.quit()


@pytest.fixture(scope="module")
def forms(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("forms")
    out = {}
    for lang in ("en", "nb"):
        out[lang] = folder / f"questionnaire-form.{lang}.html"
        out[lang].write_text(render_form(lang), encoding="utf-8")
    return out


# ------------------------------------------------------------------------------ helpers


def network_log(browser: Any) -> list[tuple[str, str | None]]:
    """(URL, why it was blocked or None) of every request since the last call, from the
    browser's performance log."""
    sent: dict[str, str] = {}
    blocked: dict[str, str] = {}
    for entry in browser.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        params = message["params"]
        if message["method"] == "Network.requestWillBeSent":
            sent[params["requestId"]] = params["request"]["url"]
        elif message["method"] == "Network.loadingFailed" and params.get("blockedReason"):
            blocked[params["requestId"]] = params["blockedReason"]
    return [(url, blocked.get(request_id)) for request_id, url in sent.items()]


def requests(browser: Any) -> list[str]:
    """Every URL the browser asked for since the last call (blocked or not)."""
    return [url for url, _ in network_log(browser)]


def assert_only_own_file(browser: Any, page: Path) -> None:
    own = page.resolve().as_uri()
    outside = [url for url in requests(browser) if url != own and not url.startswith("data:")]
    assert outside == [], f"{page.name} made requests: {outside}"


def console_problems(browser: Any) -> list[str]:
    """Errors and warnings on the console since the last call (a script error, a CSP
    violation); Chrome's verbose "[Violation] handler took N ms" notes under load are not."""
    entries = browser.get_log("browser")
    return [e["message"] for e in entries if e["level"] in ("SEVERE", "WARNING")]


def open_page(browser: Any, page: Path) -> None:
    requests(browser)  # forget what earlier tests asked for
    console_problems(browser)
    browser.get(page.resolve().as_uri())
    assert browser.execute_script("return typeof window.pgxQuestionnaireJSON") == "function"
    assert console_problems(browser) == []


def answer(browser: Any, path: str, value: Any, lang: str = "en") -> None:
    """Give one answer the way a clinician does: type it, or click its radio button."""
    schema = FIELDS[path]
    if "enum" in schema or "boolean" in schema.get("type", []):
        shown = "" if value is None else json.dumps(value) if isinstance(value, bool) else value
        radio = browser.find_element(By.CSS_SELECTOR, f'input[name="{path}"][value="{shown}"]')
        browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", radio)
        radio.click()
        return
    text = "" if value is None else str(value)
    if lang == "nb" and isinstance(value, float):
        text = text.replace(".", ",")  # a Norwegian clinician types a decimal comma
    element = browser.find_element(By.NAME, path)
    element.clear()
    if text:
        element.send_keys(text)


def fill(browser: Any, data: dict[str, Any], lang: str) -> None:
    for path in FIELDS:
        if path == "questionnaire_version":
            continue
        top, _, child = path.partition(".")
        value = data.get(top, {}).get(child) if child else data.get(top)
        answer(browser, path, value, lang)


def saved_json(browser: Any) -> str:
    return str(browser.execute_script("return window.pgxQuestionnaireJSON()"))


def problems(browser: Any) -> list[tuple[str, str]]:
    return [tuple(item) for item in browser.execute_script("return pgxQuestionnaireProblems()")]


def expected_problems(text: str) -> list[tuple[str, str]]:
    return sorted(set(check_native(json.loads(text))))


def wait_for(condition: Any, timeout: float = 10.0) -> Any:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        result = condition()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError("timed out")


# ------------------------------------------------------------------------------ tests


@pytest.mark.parametrize("lang", ["en", "nb"])
@pytest.mark.parametrize("demo", DEMO_QUESTIONNAIRES, ids=lambda path: path.stem)
def test_filling_a_demo_patient_saves_its_questionnaire(
    driver: Any, forms: dict[str, Path], downloads: Path, tmp_path: Path, demo: Path, lang: str
) -> None:
    open_page(driver, forms[lang])
    data = json.loads(demo.read_text(encoding="utf-8"))
    fill(driver, data, lang)
    text = saved_json(driver)
    assert problems(driver) == []
    assert json.loads(text) == data
    assert canonical_json(json.loads(text)) == canonical_json(data)
    assert text == demo.read_text(encoding="utf-8")  # the demo files are in the schema's order
    saved = tmp_path / f"{data['sample_id']}.questionnaire.json"
    saved.write_text(text, encoding="utf-8")
    result = run_pgx("validate-questionnaire", saved)
    assert result.returncode == 0 and result.stdout.strip() == f"{saved}: valid", result.stderr

    save = driver.find_element(By.ID, "pgx-save")
    assert save.is_enabled()
    download = downloads / f"{data['sample_id']}.questionnaire.json"
    download.unlink(missing_ok=True)
    save.click()
    wait_for(lambda: download.is_file() and download.stat().st_size > 0)
    assert download.read_text(encoding="utf-8") == text
    assert data["sample_id"] in driver.find_element(By.ID, "pgx-status").text
    assert_only_own_file(driver, forms[lang])


@pytest.mark.parametrize("demo", DEMO_QUESTIONNAIRES, ids=lambda path: path.stem)
def test_fhir_save_is_accepted_and_open_reads_both_formats(
    driver: Any, forms: dict[str, Path], tmp_path: Path, demo: Path
) -> None:
    open_page(driver, forms["en"])
    data = json.loads(demo.read_text(encoding="utf-8"))
    opener = driver.find_element(By.ID, "pgx-open")
    opener.send_keys(str(demo))
    wait_for(lambda: demo.name in driver.find_element(By.ID, "pgx-status").text)
    assert saved_json(driver) == demo.read_text(encoding="utf-8")

    fhir_text = str(driver.execute_script("return window.pgxQuestionnaireFHIR()"))
    fhir = tmp_path / f"{data['sample_id']}.questionnaire.fhir.json"
    fhir.write_text(fhir_text, encoding="utf-8")
    result = run_pgx("validate-questionnaire", fhir)
    assert result.stdout.strip() == f"{fhir}: valid (FHIR QuestionnaireResponse)", result.stderr
    resource = json.loads(fhir_text)
    assert resource["resourceType"] == "QuestionnaireResponse"
    assert parse_questionnaire(resource, fhir).data == parse_questionnaire(data, demo).data

    driver.execute_script('window.pgxOpenQuestionnaire(\'{"questionnaire_version": "1.0"}\')')
    assert json.loads(saved_json(driver)) == {"questionnaire_version": "1.0", "patient": {}}
    opener.send_keys(str(fhir))
    wait_for(lambda: fhir.name in driver.find_element(By.ID, "pgx-status").text)
    assert saved_json(driver) == demo.read_text(encoding="utf-8")
    assert_only_own_file(driver, forms["en"])


def test_open_refuses_what_the_form_cannot_show_and_changes_nothing(
    driver: Any, forms: dict[str, Path], tmp_path: Path
) -> None:
    open_page(driver, forms["en"])
    demo = DEMO / "questionnaires" / "demo-carrier.json"
    driver.find_element(By.ID, "pgx-open").send_keys(str(demo))
    wait_for(lambda: demo.name in driver.find_element(By.ID, "pgx-status").text)
    before = saved_json(driver)
    bad = tmp_path / "typo.json"
    bad.write_text(before.replace('"audit_score"', '"audit_scor"'), encoding="utf-8")
    driver.find_element(By.ID, "pgx-open").send_keys(str(bad))
    status = wait_for(
        lambda: "typo.json" in (t := driver.find_element(By.ID, "pgx-status").text) and t
    )
    assert "$.drinking.audit_scor: unknown key" in status and "Nothing was changed" in status
    assert saved_json(driver) == before


BASE = DEMO / "questionnaires" / "demo-carrier.json"  # completed_on 2025-11-20
BAD_VALUES = [
    # (steps, JSON path, message of validate-questionnaire)
    (
        [("drinking.audit_score", "41")],
        "drinking.audit_score",
        "41 is above the maximum (allowed: integer 0-40, or null for unknown)",
    ),
    (
        [("drinking.audit_score", "-1")],
        "drinking.audit_score",
        "-1 is below the minimum (allowed: integer 0-40, or null for unknown)",
    ),
    (
        [("drinking.dsm5_aud_criteria", "6.5")],
        "drinking.dsm5_aud_criteria",
        "6.5 is a number, wrong type (allowed: integer 0-11, or null for unknown)",
    ),
    (
        [("drinking.heavy_drinking_days_last_30", "many")],
        "drinking.heavy_drinking_days_last_30",
        '"many" is a string, wrong type (allowed: integer 0-30, or null for unknown)',
    ),
    (
        [("drinking.drinks_per_drinking_day", "100.5")],
        "drinking.drinks_per_drinking_day",
        "100.5 is above the maximum (allowed: number 0-100, or null for unknown)",
    ),
    (
        [("family_history.first_degree_relatives_with_aud", "51")],
        "family_history.first_degree_relatives_with_aud",
        "51 is above the maximum (allowed: integer 0-50, or null for unknown)",
    ),
    (
        [("drinking_motive.gad7_score", "22")],
        "drinking_motive.gad7_score",
        "22 is above the maximum (allowed: integer 0-21, or null for unknown)",
    ),
    (
        [("smoking.cigarettes_per_day", "201")],
        "smoking.cigarettes_per_day",
        "201 is above the maximum (allowed: integer 0-200, or null for unknown)",
    ),
    (
        [("patient.birth_date", "1971-02-30")],
        "patient.birth_date",
        '"1971-02-30" is not a valid date (allowed: YYYY-MM-DD)',
    ),
    (
        [("completed_on", "20.11.2025")],
        "completed_on",
        '"20.11.2025" is not a valid date (allowed: YYYY-MM-DD)',
    ),
    (
        [("patient.birth_date", "2030-01-01")],
        "patient.birth_date",
        "2030-01-01 is after completed_on 2025-11-20 (allowed: a date on or before completed_on)",
    ),
    (
        [("sample_id", " NA18564")],
        "sample_id",
        '" NA18564" is not allowed (allowed: non-empty text without leading or trailing spaces)',
    ),
    (
        [("patient.id", "P-1001 ")],
        "patient.id",
        '"P-1001 " is not allowed (allowed: non-empty text without leading or trailing spaces)',
    ),
    (
        [("patient.id", "P-\u202e1001")],
        "patient.id",
        "character 3 is U+202E RIGHT-TO-LEFT OVERRIDE, a control or format character "
        "(allowed: printable text on one line, no tabs or line breaks)",
    ),
    (
        [("patient.name", "Per\u200bOlsen")],
        "patient.name",
        "character 4 is U+200B ZERO WIDTH SPACE, a control or format character "
        "(allowed: printable text on one line, no tabs or line breaks)",
    ),
    (
        [("patient.name", None)],
        "patient.name",
        "required but missing (allowed: non-empty text)",
    ),
    (
        [("smoking.status", "never"), ("smoking.cigarettes_per_day", "5")],
        "smoking.cigarettes_per_day",
        '5 contradicts status "never" (allowed: 0 or null when status is "never")',
    ),
]


@pytest.mark.parametrize(
    ("steps", "path", "message"),
    BAD_VALUES,
    ids=[f"{p}-{i}" for i, (_, p, _) in enumerate(BAD_VALUES)],
)
def test_a_bad_value_shows_its_message_beside_its_field_and_blocks_save(
    driver: Any,
    forms: dict[str, Path],
    tmp_path: Path,
    steps: list[tuple[str, Any]],
    path: str,
    message: str,
) -> None:
    open_page(driver, forms["nb"])
    driver.execute_script("window.pgxOpenQuestionnaire(arguments[0])", BASE.read_text("utf-8"))
    assert driver.find_element(By.ID, "pgx-save").is_enabled()
    for field, value in steps:
        answer(driver, field, value)
    html_id = "q-" + path.replace(".", "-")
    error = driver.find_element(By.ID, f"{html_id}-error")
    assert error.text == message
    element = driver.find_element(By.ID, html_id)
    assert element.get_attribute("aria-invalid") == "true"
    assert f"{html_id}-error" in str(element.get_attribute("aria-describedby")).split()
    assert not driver.find_element(By.ID, "pgx-save").is_enabled()
    assert not driver.find_element(By.ID, "pgx-save-fhir").is_enabled()
    summary = driver.find_element(By.ID, "pgx-problem-list").text
    assert f"$.{path}: {message}" in summary.splitlines()
    text = saved_json(driver)
    assert problems(driver) == expected_problems(text) == [(f"$.{path}", message)]
    saved = tmp_path / "bad.questionnaire.json"
    saved.write_text(text, encoding="utf-8")
    result = run_pgx("validate-questionnaire", saved)
    assert result.returncode == 2 and f"$.{path}: {message}" in result.stderr


def test_every_problem_is_shown_at_once(driver: Any, forms: dict[str, Path]) -> None:
    open_page(driver, forms["en"])
    assert problems(driver) == [
        ("$.patient.id", "required but missing (allowed: non-empty text)"),
        ("$.patient.name", "required but missing (allowed: non-empty text)"),
        ("$.sample_id", "required but missing (allowed: non-empty text)"),
    ]
    assert not driver.find_element(By.ID, "pgx-save").is_enabled()
    for path, text in [
        ("sample_id", "S1"),
        ("drinking.audit_score", "45"),
        ("smoking.cigarettes_per_day", "x"),
        ("completed_on", "2025-02-29"),
    ]:
        answer(driver, path, text)
    got = problems(driver)
    assert got == expected_problems(saved_json(driver))
    assert len(got) == 5
    shown = [e.text for e in driver.find_elements(By.CSS_SELECTOR, ".error") if e.text]
    assert len(shown) == 5
    heading = driver.find_element(By.ID, "pgx-problems-heading").text
    assert heading.startswith("5 problem(s)")
    assert driver.find_element(By.ID, "pgx-count").text == "5 problem(s) to fix before saving"


def test_not_answered_is_never_no(driver: Any, forms: dict[str, Path]) -> None:
    open_page(driver, forms["nb"])
    sparse = DEMO / "questionnaires" / "demo-sparse.json"
    driver.execute_script("window.pgxOpenQuestionnaire(arguments[0])", sparse.read_text("utf-8"))
    saved = json.loads(saved_json(driver))
    assert saved["safety"] == {"current_opioid_use": False}
    checked = driver.find_element(By.ID, "q-safety-acute_hepatitis-unanswered")
    assert checked.is_selected()
    answer(driver, "safety.current_opioid_use", None)
    answer(driver, "safety.pregnant_or_breastfeeding", True)
    answer(driver, "safety.acute_hepatitis", False)
    answer(driver, "safety.acute_hepatitis", None)
    saved = json.loads(saved_json(driver))
    assert saved["safety"] == {"pregnant_or_breastfeeding": True}
    answer(driver, "safety.pregnant_or_breastfeeding", None)
    assert "safety" not in json.loads(saved_json(driver))
    assert problems(driver) == []


def test_score_helper_sums_items_but_saves_only_the_total(
    driver: Any, forms: dict[str, Path]
) -> None:
    open_page(driver, forms["en"])
    helper = driver.find_element(By.CSS_SELECTOR, 'details[data-for="drinking_motive.gad7_score"]')
    helper.find_element(By.TAG_NAME, "summary").click()
    use = helper.find_element(By.CSS_SELECTOR, "button[data-helper-use]")
    selects = helper.find_elements(By.TAG_NAME, "select")
    assert len(selects) == 7 and not use.is_enabled()
    from selenium.webdriver.support.select import Select

    for index, select in enumerate(selects):
        Select(select).select_by_value(str(index % 4))
    assert helper.find_element(By.TAG_NAME, "output").text == "9"
    use.click()
    assert driver.find_element(By.NAME, "drinking_motive.gad7_score").get_attribute("value") == "9"
    saved = json.loads(saved_json(driver))
    assert saved["drinking_motive"] == {"gad7_score": 9}
    assert all(select.get_dom_attribute("name") is None for select in selects)


def test_the_form_cannot_fetch_anything(driver: Any, forms: dict[str, Path]) -> None:
    open_page(driver, forms["en"])
    outcome = driver.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        const violations = [];
        document.addEventListener(
            "securitypolicyviolation", (e) => violations.push(e.effectiveDirective));
        const img = new Image();
        img.src = "http://127.0.0.1:9/pixel.png";
        fetch("http://127.0.0.1:9/beacon").then(() => done(["fetched", violations]),
            () => setTimeout(() => done(["blocked", violations]), 200));
        """
    )
    assert outcome[0] == "blocked"
    assert {"connect-src", "img-src"} <= set(outcome[1])
    tried = [(url, why) for url, why in network_log(driver) if not url.startswith("file:")]
    # fetch() is refused before any request exists; the image is logged, and blocked
    assert tried == [("http://127.0.0.1:9/pixel.png", "csp")]


@pytest.fixture(scope="module")
def demo_reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every demo patient's report.html, rendered by ``pgx-report run`` into a temp folder."""
    out = {}
    root = tmp_path_factory.mktemp("reports")
    for sample, (vcf, vcf_sample) in DEMO_PATIENTS.items():
        folder = root / sample
        result = run_pgx(
            "run",
            DEMO / "vcfs" / vcf,
            DEMO / "questionnaires" / f"{sample}.json",
            "-o",
            folder,
            "--sample",
            vcf_sample,
        )
        assert result.returncode == 0, result.stderr
        out[sample] = folder / "report.html"
    return out


@pytest.mark.parametrize("sample", sorted(DEMO_PATIENTS))
def test_a_demo_report_renders_without_requests(
    driver: Any, demo_reports: dict[str, Path], sample: str
) -> None:
    page = demo_reports[sample]
    requests(driver)
    console_problems(driver)
    driver.get(page.resolve().as_uri())
    assert driver.find_element(By.TAG_NAME, "h1").text.strip()
    assert_only_own_file(driver, page)
    assert console_problems(driver) == []


def test_the_project_setup_installs_the_browser_and_its_driver() -> None:
    script = (REPO_ROOT / "scripts" / "install-system-deps.sh").read_text(encoding="utf-8")
    assert re.search(r"^\s+chromium chromium-driver\s", script, re.MULTILINE)
    pyproject = (REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert '"selenium>=' in pyproject
    makefile = (REPO_ROOT / "Makefile").read_text(encoding="utf-8")
    assert "pgx-report form -o results/questionnaire-form.html" in makefile


TRICKY = {
    "drinking.audit_score": ["0", "-0", "007", "40.0", "1,5", "1e3", " 5", "99999999999999999999"],
    "drinking.drinks_per_drinking_day": ["0.25", "6,5", "100", "100.01", "-0.5", "."],
    "patient.name": ["Åse Ødegård", " a", "a ", "a  b", "x", "N" * 200, "N" * 201, "😀" * 201],
    "patient.id": ["P" * 64, "P" * 65],
    "clinician.organisation": ["O" * 200, "O" * 201],
    "patient.birth_date": ["2024-02-29", "2023-02-29", "0000-01-01", "9999-12-31", "2025-1-01"],
    "completed_on": ["1900-02-29", "2000-02-29", "2025-04-31", "2025-11-20"],
}


@pytest.mark.parametrize("path", sorted(TRICKY))
def test_the_form_and_the_validator_agree_on_tricky_values(
    driver: Any, forms: dict[str, Path], path: str
) -> None:
    open_page(driver, forms["en"])
    driver.execute_script("window.pgxOpenQuestionnaire(arguments[0])", BASE.read_text("utf-8"))
    for text in TRICKY[path]:
        answer(driver, path, text)
        saved = saved_json(driver)
        assert problems(driver) == expected_problems(saved), (path, text)
        save_enabled = driver.find_element(By.ID, "pgx-save").is_enabled()
        assert save_enabled == (expected_problems(saved) == []), (path, text)
