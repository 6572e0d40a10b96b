"""The questionnaire form without a browser: model from the schema, labels, page, command."""

from __future__ import annotations

import base64
import copy
import hashlib
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import yaml

from pgx_report.clinical.questionnaire import link_ids, questionnaire_schema
from pgx_report.contracts.text import trimmed_printable_pattern
from pgx_report.form import build_form, render_form
from pgx_report.form import page as form_page
from pgx_report.form.model import LANGUAGES
from tests.conftest import REPO_ROOT, run_pgx

LABELS = yaml.safe_load((REPO_ROOT / "templates" / "form_i18n.yaml").read_text(encoding="utf-8"))
CLINICIAN_ORDER = [
    "identity",
    "safety",
    "drinking",
    "family_history",
    "drinking_motive",
    "sweet_liking",
    "smoking",
]


class _Page(HTMLParser):
    """Inputs (name, type, value), the CSP and the inline script and style bodies."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.inputs: list[dict[str, str | None]] = []
        self.csp = ""
        self.bodies: dict[str, list[str]] = {"script": [], "style": []}
        self.urls: list[str] = []
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        got = dict(attrs)
        if tag == "input":
            self.inputs.append(got)
        if tag == "meta" and got.get("http-equiv") == "Content-Security-Policy":
            self.csp = got.get("content") or ""
        for key in ("src", "href", "action", "srcset", "data"):
            if got.get(key):
                self.urls.append(str(got[key]))
        if tag in self.bodies:
            self._in = tag
            self.bodies[tag].append("")

    def handle_endtag(self, tag: str) -> None:
        self._in = None

    def handle_data(self, data: str) -> None:
        if self._in is not None:
            self.bodies[self._in][-1] += data


def _parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


@pytest.fixture(scope="module", params=LANGUAGES)
def html(request: pytest.FixtureRequest) -> str:
    return render_form(request.param)


def test_every_schema_field_is_in_the_form_in_clinician_order() -> None:
    form = build_form(questionnaire_schema(), LABELS, "en")
    assert [section.key for section in form.sections] == CLINICIAN_ORDER
    assert [field.path for field in form.fields_in_schema_order] == list(link_ids())
    shown = [field.path for section in form.sections for field in section.fields]
    assert set(shown) == set(link_ids()) - {"questionnaire_version"}
    assert shown[:3] == ["sample_id", "completed_on", "language"]
    assert form.sections[1].fields[0].path == "safety.current_opioid_use"
    assert form.required_objects == ("patient",)


def test_fields_carry_the_validator_rules_and_allowed_wording() -> None:
    form = build_form(questionnaire_schema(), LABELS, "nb")
    audit = form.field("drinking.audit_score")
    assert (audit.kind, audit.minimum, audit.maximum) == ("integer", 0, 40)
    assert audit.allowed == "integer 0-40, or null for unknown"
    assert audit.hint == "Heltall 0\u201340"
    assert audit.helper is not None and len(audit.helper.points) == 10
    assert audit.helper.points[8] == (0, 2, 4)
    gad = form.field("drinking_motive.gad7_score")
    assert gad.helper is not None and gad.helper.points == ((0, 1, 2, 3),) * 7
    assert form.field("drinking.drinks_per_drinking_day").kind == "number"
    assert form.field("patient.birth_date").allowed == "ISO date YYYY-MM-DD, or null for unknown"
    sample = form.field("sample_id")
    assert (sample.required, sample.allowed, sample.pattern, sample.max_length) == (
        True,
        "non-empty text",
        trimmed_printable_pattern(),
        100,
    )
    opioid = form.field("safety.current_opioid_use")
    assert opioid.kind == "boolean"
    assert [(o.value, o.label) for o in opioid.options] == [(True, "Ja"), (False, "Nei")]
    sex = form.field("patient.sex")
    assert [o.value for o in sex.options] == ["female", "male", "other", "unknown"]
    assert sex.options[0].label == "Kvinne"
    assert form.field("questionnaire_version").const == "1.0"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_field_option_and_text_has_a_label_in_both_languages(lang: str) -> None:
    schema = questionnaire_schema()
    for path, sub in link_ids().items():
        assert isinstance(LABELS["fields"][path][lang], str), path
        for value in sub.get("enum", []):
            if value is not None:
                assert isinstance(LABELS["options"][path][value][lang], str), (path, value)
    for group in ("ui", "sections", "groups"):
        for key, texts in LABELS[group].items():
            assert set(texts) == set(LANGUAGES), (group, key)
    form = build_form(schema, LABELS, lang)
    for field in form.fields_in_schema_order:
        assert field.label != schema_description(field.path), field.path


def schema_description(path: str) -> str:
    return str(link_ids()[path].get("description"))


def _schema_with_new_fields() -> dict[str, Any]:
    schema = copy.deepcopy(questionnaire_schema())
    schema["properties"]["drinking"]["properties"]["binge_episodes_last_30"] = {
        "type": ["integer", "null"],
        "minimum": 0,
        "maximum": 30,
        "description": "Binge episodes in the last 30 days (0-30).",
    }
    schema["properties"]["sleep"] = {
        "type": "object",
        "description": "Sleep.",
        "additionalProperties": False,
        "properties": {"insomnia": {"type": ["boolean", "null"], "description": "Insomnia."}},
    }
    return schema


def test_a_new_schema_field_appears_without_edits(monkeypatch: pytest.MonkeyPatch) -> None:
    form = build_form(_schema_with_new_fields(), LABELS, "nb")
    drinking = next(section for section in form.sections if section.key == "drinking")
    new = drinking.fields[-1]
    assert (new.path, new.label, new.hint) == (
        "drinking.binge_episodes_last_30",
        "Binge episodes in the last 30 days (0-30).",
        "Heltall 0\u201330",
    )
    assert form.sections[-1].key == "sleep" and form.sections[-1].legend == "Sleep."
    monkeypatch.setattr(form_page, "questionnaire_schema", _schema_with_new_fields)
    page = _parse(render_form("en"))
    names = {str(item.get("name")) for item in page.inputs}
    assert {"drinking.binge_episodes_last_30", "sleep.insomnia"} <= names


def test_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="allowed: en, nb"):
        build_form(questionnaire_schema(), LABELS, "de")


def test_every_input_is_named_by_its_json_path(html: str) -> None:
    page = _parse(html)
    names = [str(item.get("name")) for item in page.inputs if item.get("type") != "file"]
    assert set(names) == set(link_ids())
    for path, sub in link_ids().items():
        radios = [item for item in page.inputs if item.get("name") == path]
        if sub.get("enum") or "boolean" in sub.get("type", []):
            values = [item.get("value") for item in radios]
            expected = ["true", "false"] if "boolean" in sub["type"] else sub["enum"][:-1]
            assert values == [*expected, ""], path  # the last radio is "not answered"
            assert "checked" in radios[-1] and "checked" not in radios[0]
        else:
            assert len(radios) == 1, path


def test_page_loads_nothing_and_its_csp_pins_the_inline_code(html: str) -> None:
    page = _parse(html)
    directives = dict(
        [*part.split(" ", 1), ""][:2] for part in (p.strip() for p in page.csp.split(";"))
    )
    assert directives["default-src"] == "'none'"
    assert directives["connect-src"] == "'none'"
    assert directives["form-action"] == "'none'"
    assert "unsafe-inline" not in page.csp
    assert len(page.bodies["script"]) == 1 and len(page.bodies["style"]) == 1
    for kind in ("script", "style"):
        digest = hashlib.sha256(page.bodies[kind][0].encode("utf-8")).digest()
        assert directives[f"{kind}-src"] == f"'sha256-{base64.b64encode(digest).decode()}'"
    assert page.urls == ["#pgx-problems"]  # no src at all; links only within the page
    assert not re.search(r"url\(|@import|https?://", page.bodies["style"][0])
    script = page.bodies["script"][0]
    assert not re.search(r"\bfetch\(|XMLHttpRequest|WebSocket|EventSource|sendBeacon", script)


def test_same_inputs_same_bytes_and_both_languages_differ() -> None:
    en, nb = render_form("en"), render_form("nb")
    assert render_form("en") == en
    assert '<html lang="en">' in en and '<html lang="nb">' in nb
    assert "Ikke besvart" in nb and "Not answered" in en and "Not answered" not in nb


def test_cli_writes_the_form(tmp_path: Path) -> None:
    out = tmp_path / "questionnaire-form.html"
    result = run_pgx("form", "-o", out, "--lang", "nb")
    assert result.returncode == 0, result.stderr
    assert out.read_text(encoding="utf-8") == render_form("nb")
    bad = run_pgx("form", "-o", tmp_path / "x.html", "--lang", "de")
    assert bad.returncode == 2 and not (tmp_path / "x.html").exists()
    folder = run_pgx("form", "-o", tmp_path)
    assert folder.returncode == 2
    assert (
        folder.stderr
        == f"pgx-report: error: {tmp_path}: is a folder (expected the HTML file to write)\n"
    )
    assert sorted(path.name for path in tmp_path.iterdir()) == ["questionnaire-form.html"]
