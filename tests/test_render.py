"""Clinician report: content, PDF/A, safety, Unicode, determinism.

Rendering is the slow part (about 0.2 s per report once warm), so each
(case, language) is rendered once per session and shared by the tests.
Any WeasyPrint WARNING or ERROR log fails the test that caused it.
"""

from __future__ import annotations

import copy
import functools
import gc
import io
import json
import logging
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import DEMO, DEMO_PATIENTS
from pypdf import PdfReader

from pgx_report.errors import InputError
from pgx_report.outputs.report import pdf as rendering
from pgx_report.outputs.report import view as view_model
from pgx_report.outputs.report import weasyprint_patches

INJECTION_NAME = '<img src="file:///etc/passwd">'
INJECTION_CLINICIAN = "</td><script>alert(1)</script>"
INJECTION_ID = 'P-9"); } @page { background: url(http://example.org/x) } ("'
SAMI = "Áile Ŋuvttat-Đđ Čč Šš Žž Ŧŧ"
CJK_NAME = "山田太郎"
KOREAN = "김철수"
NORWEGIAN = "Bjørn Ærlig Åsen"


# --------------------------------------------------------------------------- helpers


class _Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(autouse=True)
def no_weasyprint_logs() -> Iterator[None]:
    """Fail on any WeasyPrint (or fontTools) warning/error, as WeasyPrint's own tests do."""
    collector = _Collector()
    loggers = [
        logging.getLogger(name)
        for name in ("weasyprint", "fontTools", "pgx_report.outputs.report.pdf")
    ]
    for logger in loggers:
        logger.addHandler(collector)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeHandler(collector)
    messages = [f"{r.name}: {r.levelname}: {r.getMessage()}" for r in collector.records]
    assert not messages, messages


def load_contract() -> dict[str, Any]:
    """A fresh copy of a real assessment (the demo carrier) to edit in a test."""
    return json.loads(make_case("demo-carrier"))


def as_bytes(assessment: dict[str, Any]) -> bytes:
    return (json.dumps(assessment, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode()


def _patch_unicode(q: dict[str, Any]) -> None:
    q["patient"]["name"] = f"{SAMI} {CJK_NAME} {KOREAN}"
    q["clinician"] = {"name": f"Dr. {NORWEGIAN}", "organisation": "Sámediggi helse, Kárášjohka"}


def _patch_injection(q: dict[str, Any]) -> None:
    q["patient"]["name"] = INJECTION_NAME
    q["patient"]["id"] = INJECTION_ID
    q["clinician"] = {"name": INJECTION_CLINICIAN, "organisation": "<style>*{}</style>"}


def _patch_long(q: dict[str, Any]) -> None:
    q["patient"]["name"] = "Wolfeschlegelsteinhausenbergerdorff" * 4 + " Maria-Magdalena" * 3
    q["clinician"] = {
        # a list of clinicians up to the schema's maxLength (200 characters)
        "name": ", ".join(f"Dr. Clinician Number{i} Longname" for i in range(25))[:200],
        "organisation": ", ".join(["Avdeling for rus- og avhengighetsbehandling"] * 4),
    }


def _patch_mismatch(q: dict[str, Any]) -> None:
    q["sample_id"] = "NA99999"


# case -> (demo patient, questionnaire change, allow_sample_mismatch). Every case goes
# through the real caller and assessment engine; only the questionnaire is edited.
CASES: dict[str, tuple[str, Callable[[dict[str, Any]], None] | None, bool]] = {
    **{name: (name, None, False) for name in DEMO_PATIENTS},
    "unicode": ("demo-carrier", _patch_unicode, False),
    "injection": ("demo-aa", _patch_injection, False),
    "long": ("demo-cohort", _patch_long, False),
    "mismatch": ("demo-carrier", _patch_mismatch, True),
}


@functools.cache
def make_case(name: str) -> bytes:
    """The assessment JSON bytes of a case, made by the real pipeline (call + assess)."""
    from pgx_report.clinical.assessment import assess
    from pgx_report.clinical.knowledge import load_knowledge_base
    from pgx_report.clinical.questionnaire import load_questionnaire
    from pgx_report.files.io import canonical_json
    from pgx_report.genotype.vcf.rules import call_file

    demo, patch, allow = CASES[name]
    vcf, sample = DEMO_PATIENTS[demo]
    questionnaire_path = DEMO / "questionnaires" / f"{demo}.json"
    if patch is not None:
        q = json.loads(questionnaire_path.read_text(encoding="utf-8"))
        patch(q)
        folder = Path(tempfile.mkdtemp(prefix="pgx-render-"))
        questionnaire_path = folder / f"{name}.json"
        questionnaire_path.write_text(json.dumps(q, ensure_ascii=False), encoding="utf-8")
    call = call_file(DEMO / "vcfs" / vcf, sample=sample)
    result = assess(
        call,
        load_questionnaire(questionnaire_path),
        load_knowledge_base(),
        allow_sample_mismatch=allow,
        environ={},
    )
    return canonical_json(result.to_dict()).encode("utf-8")


_RENDERED: dict[tuple[str, str], tuple[bytes, rendering.Report]] = {}


def render_case(name: str, lang: str) -> tuple[bytes, rendering.Report]:
    key = (name, lang)
    if key not in _RENDERED:
        data = make_case(name)
        assessment = json.loads(data)
        report = rendering.render_pdf(assessment, data, lang, rendering.find_templates())
        _RENDERED[key] = (data, report)
    return _RENDERED[key]


def pdf_pages_text(pdf: bytes) -> list[str]:
    reader = PdfReader(io.BytesIO(pdf))
    return [" ".join((page.extract_text() or "").split()) for page in reader.pages]


def flat(text: str) -> str:
    return " ".join(text.split())


# --------------------------------------------------------------------------- pure parts


def test_every_label_has_both_languages_and_nb_is_translated() -> None:
    labels = rendering.load_labels(rendering.find_templates())
    assert set(labels) == {"en", "nb"}
    assert labels["en"].keys() == labels["nb"].keys()
    for lang in ("en", "nb"):
        empty = [key for key, text in labels[lang].items() if not text.strip()]
        assert not empty, (lang, empty)
    same = [k for k in labels["en"] if labels["en"][k] == labels["nb"][k]]
    # Only codes and symbols may read the same in both languages.
    assert set(same) <= {"genotype_label", "ref_alt", "filter", "qual", "variant"}, same


def test_bad_labels_file_is_a_clean_error(tmp_path: Path) -> None:
    folder = tmp_path / "t"
    shutil.copytree(rendering.find_templates(), folder)
    (folder / "i18n.yaml").write_text("title:\n  en: Only English\n", encoding="utf-8")
    with pytest.raises(rendering.TemplateError, match="title: needs a text for each of en, nb"):
        rendering.load_labels(folder.resolve())


@pytest.mark.parametrize(
    ("iso", "lang", "expected"),
    [
        ("1970-05-17", "en", "17 May 1970"),
        ("1970-05-17", "nb", "17.05.1970"),
        ("2025-01-02", "en", "2 January 2025"),
        ("2025-01-02", "nb", "02.01.2025"),
        ("2000-12-31", "nb", "31.12.2000"),
        (None, "en", None),
    ],
)
def test_format_date(iso: str | None, lang: str, expected: str | None) -> None:
    assert view_model.format_date(iso, lang) == expected


@pytest.mark.parametrize(
    ("value", "lang", "expected"),
    [
        (0.516, "en", "0.52"),
        (0.516, "nb", "0,52"),
        (512.77, "nb", "512,77"),
        (31, "nb", "31"),
        (0.5, "en", "0.5"),
        (2.0, "nb", "2"),
    ],
)
def test_format_number(value: float, lang: str, expected: str) -> None:
    assert view_model.format_number(value, lang) == expected


@pytest.mark.parametrize(
    "text", [INJECTION_ID, '"; } * { x', "a\\b\nc", "</style><script>", "æ ŋ 山"]
)
def test_css_string_cannot_be_escaped(text: str) -> None:
    literal = view_model.css_string(text)
    inner = literal[1:-1]
    assert literal[0] == literal[-1] == '"'
    assert re.fullmatch(r"(?:[A-Za-z0-9]|\\[0-9a-f]{6})*", inner), literal
    decoded = re.sub(r"\\([0-9a-f]{6})", lambda m: chr(int(m.group(1), 16)), inner)
    assert decoded == text


@pytest.mark.parametrize(
    ("requested", "in_file", "expected"),
    [
        ("en", "nb", "en"),
        (None, "nb", "nb"),
        (None, "en", "en"),
        (None, None, "en"),
        (None, "sv", "en"),
    ],
)
def test_language_choice(requested: str | None, in_file: str | None, expected: str) -> None:
    assert view_model.choose_language(requested, {"language": in_file}) == expected


def test_view_is_built_in_python_in_both_languages() -> None:
    labels = rendering.load_labels(rendering.find_templates())
    a = load_contract()
    nb = view_model.build_view(a, "nb", labels)
    en = view_model.build_view(a, "en", labels)
    assert a["patient"]["birth_date"] == "1971-03-14"
    assert nb["patient"]["birth_date"] == "14.03.1971"
    assert en["patient"]["birth_date"] == "14 March 1971"
    assert nb["report_date"] == "20.11.2025"
    balance = a["call"]["qc"]["allele_balance"]
    assert isinstance(balance, float)
    assert ("Allelbalanse", f"{balance:.2f}".replace(".", ",")) in nb["details"]
    assert ("Allele balance", f"{balance:.2f}") in en["details"]
    assert [f["id"] for f in en["factors"]] == list(view_model.FACTOR_ORDER)
    assert en["genotype"]["determined"] is True
    assert en["genotype"]["line"] == a["genotype_summary"]["en"]
    assert en["genotype"]["line"].startswith("A/G")
    assert nb["overall"]["confidence"] == labels["nb"]["confidence_" + a["overall"]["confidence"]]


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (lambda a: a.pop("patient"), "$: 'patient' is a required property"),
        (lambda a: a["patient"].pop("id"), "$.patient: 'id' is a required property"),
        (lambda a: a["dates"].pop("reported_on"), "$.dates: 'reported_on' is a required property"),
        (lambda a: a["dates"].update(reported_on=None), "$.dates.reported_on: missing"),
        (
            lambda a: a["dates"].update(completed_on="20.11.2025"),
            "$.dates.completed_on: '20.11.2025' is not a 'date'",
        ),
        (lambda a: a["factors"].pop(), "is too short"),
        (
            lambda a: a["factors"].__setitem__(5, a["factors"][0]),
            "$.factors: no entry for 'oprm1_genotype'",
        ),
        (lambda a: a["factors"][0].update(finding="great"), "$.factors[0].finding: 'great'"),
        (lambda a: a["overall"]["label"].pop("nb"), "$.overall.label: 'nb' is a required"),
        (lambda a: a["call"].update(status="maybe"), "$.call.status: 'maybe' is not one of"),
        (
            lambda a: a["contraindications"].append({"severity": "mild"}),
            "$.contraindications[0].severity: 'mild' is not one of",
        ),
    ],
)
def test_missing_or_bad_fields_name_their_path(
    change: Callable[[dict[str, Any]], Any], fragment: str
) -> None:
    labels = rendering.load_labels(rendering.find_templates())
    a = load_contract()
    change(a)
    with pytest.raises(InputError) as info:
        view_model.build_view(a, "nb", labels, source="a.json")
    assert str(info.value).startswith("a.json: ")
    assert fragment in str(info.value)


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"\xff\xfe{", "not UTF-8 text"),
        (b"{not json", "line 1 column 2: invalid JSON"),
        (b"[]", "expected a JSON object"),
        (
            b'{"schema": "pgx-report.call", "schema_version": "1.0"}',
            "$.schema: 'pgx-report.call' is not 'pgx-report.assessment'",
        ),
        (
            b'{"schema": "pgx-report.assessment", "schema_version": "2.0"}',
            "$.schema_version: '2.0' is not supported",
        ),
    ],
)
def test_parse_assessment_rejects(data: bytes, fragment: str) -> None:
    with pytest.raises(InputError, match=re.escape(fragment)):
        rendering.parse_assessment(data, "x.json")


# --------------------------------------------------------------------------- PDF content


@pytest.mark.parametrize("lang", ["en", "nb"])
@pytest.mark.parametrize("case", list(DEMO_PATIENTS))
def test_page_one_carries_identity_genotype_assessment_and_safety(case: str, lang: str) -> None:
    data, report = render_case(case, lang)
    a = json.loads(data)
    labels = rendering.load_labels(rendering.find_templates())[lang]
    assert report.pdf is not None
    pages = pdf_pages_text(report.pdf)
    first = pages[0]
    for fragment in (
        a["patient"]["name"],
        a["patient"]["id"],
        a["sample_id"],
        view_model.format_date(a["patient"]["birth_date"], lang),
        view_model.format_date(a["dates"]["reported_on"], lang),
        flat(labels["summary"]),
        flat(a["genotype_summary"][lang]),
        flat(a["overall"]["label"][lang]),
        flat(a["overall"]["not_validated_notice"][lang]),
        flat(labels["decision_support"]),
    ):
        assert fragment and fragment in first, (fragment, first[:800])
    # data completeness replaces the confidence; none for a contraindicated patient
    assert flat(labels["confidence_label"]) + ":" not in first
    if a["overall"]["category"] == "contraindicated":
        assert flat(labels["completeness_label"]) not in first
    else:
        assert flat(a["overall"]["completeness"][lang]) in first
    # dosing only where naltrexone is an option (issue 14)
    dose = flat(a["guidance"]["dose"][lang])
    assert (dose in first) is a["overall"]["guidance_applies"]
    absolute = [c for c in a["contraindications"] if c["severity"] == "absolute"]
    heading = flat(labels["contraindication_heading"])
    if absolute:
        # shown first: above the summary, on page 1, with its words
        assert first.index(heading) < first.index(flat(labels["summary"]))
        for item in absolute:
            assert flat(item["text"][lang]) in first
        assert flat(labels["practical"]) not in first
        assert flat(labels["instead_label"]) in first
        for step in a["overall"]["next_steps"][lang]:
            assert flat(step) in first
    else:
        assert heading not in " ".join(pages)
        assert (flat(labels["practical"]) in first) is a["overall"]["guidance_applies"]
    if a["call"]["status"] != "called":
        assert first.startswith(labels["producer"]) or labels["not_determined"] in first
        assert labels["not_determined"] in first
        for code in a["call"]["reason_codes"]:
            assert f"{flat(labels['reason_' + code])} ({code})" in first
    if a["overall"]["unchecked_contraindications"]:
        assert flat(labels["unchecked_heading"]) in first
    # the factor table, in the fixed order: on page 1, except for a contraindicated patient
    text = " ".join(pages)
    table = text.index(flat(labels["factors"]))
    positions = [text.index(flat(f["label"][lang]), table) for f in a["factors"]]
    assert positions == sorted(positions)
    if a["overall"]["category"] == "contraindicated":
        assert flat(labels["factors"]) not in first
    else:
        assert flat(a["factors"][0]["label"][lang]) in first[first.index(flat(labels["factors"])) :]


def test_demo_patients_cover_what_page_one_must_show() -> None:
    """The demo set exercises every branch of page 1 checked above."""
    demos = {name: json.loads(make_case(name)) for name in DEMO_PATIENTS}
    assert demos["demo-opioid"]["overall"]["category"] == "contraindicated"
    assert demos["demo-nd"]["call"]["status"] != "called"
    assert demos["demo-sparse"]["overall"]["unchecked_contraindications"]
    assert demos["demo-sparse"]["overall"]["category"] == "safety_screen_incomplete"
    assert {d["call"]["genotype"] for d in demos.values()} >= {"A/A", "A/G", "G/G", None}


@pytest.mark.parametrize("lang", ["en", "nb"])
@pytest.mark.parametrize("case", ["demo-carrier", "demo-opioid"])
def test_every_page_has_patient_id_and_page_x_of_y(case: str, lang: str) -> None:
    data, report = render_case(case, lang)
    a = json.loads(data)
    assert report.pdf is not None
    pages = pdf_pages_text(report.pdf)
    assert len(pages) >= 2
    labels = rendering.load_labels(rendering.find_templates())[lang]
    running = f"{labels['patient_id']} {a['patient']['id']} · {labels['sample']} {a['sample_id']}"
    for number, text in enumerate(pages, start=1):
        assert f"{labels['page']} {number} {labels['page_of']} {len(pages)}" in text, text[-200:]
        assert running in text


@pytest.mark.parametrize("lang", ["en", "nb"])
def test_later_pages_have_details_limitations_references_provenance_signoff(lang: str) -> None:
    data, report = render_case("demo-carrier", lang)
    a = json.loads(data)
    assert report.pdf is not None
    rest = " ".join(pdf_pages_text(report.pdf)[1:])
    labels = rendering.load_labels(rendering.find_templates())[lang]
    for key in (
        "genotype_details",
        "limitations",
        "references",
        "provenance",
        "analysed_by",
        "approved_by",
        "about_factors",
    ):
        assert labels[key] in rest, key
    call = a["call"]
    for fragment in (
        call["variant"]["build"],
        f"{call['variant']['chrom']}:{call['variant']['pos']}",
        call["gt"],
        a["provenance"]["knowledge_base_version"],
        *(item.get("sha256") or item["region_sha256"] for item in a["provenance"]["inputs"]),
        *(item["path"] for item in a["provenance"]["inputs"]),
    ):
        assert fragment in rest, fragment
    assert f"{labels['depth']} {call['qc']['depth']}" in rest
    assert f"{labels['gq']} {call['qc']['gq']}" in rest
    assert f"{labels['min_depth']} {a['provenance']['thresholds']['min_depth']}" in rest
    squeezed = "".join(rest.split())  # a DOI may break over a line after its "/"
    for ref in a["references"]:
        note = ref.get("note", {}).get(lang, "")
        assert "".join(f"[{ref['number']}] {ref['text']} {note}".split()) in squeezed
    for item in a["limitations"]:
        assert flat(item[lang]) in rest
    balance = call["qc"]["allele_balance"]
    shown = view_model.format_number(balance, lang)
    assert f"{labels['allele_balance']} {shown}" in rest
    if isinstance(balance, float) and lang == "nb":
        assert "," in shown


def test_sample_mismatch_override_is_shown_on_page_one() -> None:
    _, report = render_case("mismatch", "en")
    assert report.pdf is not None
    first = pdf_pages_text(report.pdf)[0]
    assert "SAMPLE IDENTITY NOT CONFIRMED" in first
    assert "--allow-sample-mismatch" in first
    assert "Questionnaire sample: NA99999; genotype file sample: NA18564." in first


def test_findings_have_shape_and_word_not_colour_alone() -> None:
    data, report = render_case("demo-nd", "en")
    a = json.loads(data)
    first = " ".join(pdf_pages_text(report.pdf or b""))
    words = {
        "favourable": "▲ favours benefit",
        "neutral": "● neutral",
        "unfavourable": "▼ against benefit",
        "unknown": "? unknown",
    }
    for factor in a["factors"]:
        assert words[factor["finding"]] in first
    scales = re.findall(r'<svg class="scale".*?</svg>', report.html, re.S)
    assert len(scales) == 6
    for factor, svg in zip(a["factors"], scales, strict=True):
        x = view_model.SCALE_X[factor["finding"]]
        if factor["finding"] == "favourable":
            assert f'<polygon points="{x},1 ' in svg
        elif factor["finding"] == "unfavourable":
            assert f'<polygon points="{x - 6},2 ' in svg
        elif factor["finding"] == "neutral":
            assert f'<circle cx="{x}"' in svg
        else:  # open square with "?" to the right of the scale
            assert f'<rect x="{x - 5}"' in svg and ">?</text>" in svg
    assert a["factors"][-1]["finding"] == "unknown"  # not determined genotype: never a finding


# --------------------------------------------------------------------------- PDF/A, metadata


@pytest.mark.parametrize("lang", ["en", "nb"])
def test_pdfa_identification_metadata_and_embedded_assessment(lang: str) -> None:
    data, report = render_case("demo-carrier", lang)
    a = json.loads(data)
    assert report.pdf is not None
    reader = PdfReader(io.BytesIO(report.pdf))
    assert report.pdf.startswith(b"%PDF-1.7")
    xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode()
    assert re.search(r"pdfaid:part(>|=\")3", xmp), xmp
    assert re.search(r"pdfaid:conformance(>|=\")B", xmp), xmp
    title = rendering.load_labels(rendering.find_templates())[lang]["title"]
    assert reader.metadata is not None
    assert reader.metadata.title == f"{title} — {a['patient']['id']}"
    assert reader.metadata.author == "pgx-report"
    assert reader.metadata.creation_date is not None
    day = a["dates"]["reported_on"]
    assert reader.metadata.creation_date.isoformat().startswith(f"{day}T00:00:00")
    assert reader.trailer["/Root"]["/Lang"] == lang
    assert reader.trailer["/Root"]["/OutputIntents"]
    assert set(reader.attachments) == {"assessment.json", "report.json"}  # issue 15 item 3
    assert reader.attachments["assessment.json"] == [data]
    filespec = reader.trailer["/Root"]["/AF"][0].get_object()
    assert filespec["/AFRelationship"] == "/Data"
    embedded = filespec["/EF"]["/F"].get_object()
    assert embedded["/Subtype"] == "/application/json"
    assert embedded["/Params"]["/ModDate"] == "D:" + day.replace("-", "") + "000000Z"


def test_fonts_are_embedded_and_only_bundled_ones() -> None:
    _, report = render_case("unicode", "nb")
    fonts = _pdf_fonts(report.pdf or b"")
    assert fonts, "no fonts found"
    for name, embedded in fonts.items():
        assert embedded, name
        # subset tag + the @font-face family of fonts.css; a system font has its own name
        assert re.fullmatch(r"/[A-Z]{6}\+PGX-(Sans|Sans-Bold|CJK|CJK-Bold)", name), name
    assert any("PGX-CJK" in name for name in fonts)  # CJK came from the bundle


def _pdf_fonts(pdf: bytes) -> dict[str, bool]:
    reader = PdfReader(io.BytesIO(pdf))
    fonts: dict[str, bool] = {}
    for page in reader.pages:
        resources = page["/Resources"]
        for font in resources.get("/Font", {}).values():
            font = font.get_object()
            descendants = font.get("/DescendantFonts")
            target = descendants[0].get_object() if descendants else font
            descriptor = target.get("/FontDescriptor")
            descriptor = descriptor.get_object() if descriptor else {}
            embedded = any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3"))
            fonts[str(font["/BaseFont"])] = embedded
    return fonts


# --------------------------------------------------------------------------- pictures


@pytest.mark.parametrize("case", ["demo-carrier", "demo-opioid"])
def test_png_pages_match_page_count_and_page_one_holds_summary(case: str, tmp_path: Path) -> None:
    if shutil.which("pdftoppm") is None:
        pytest.fail(
            "pdftoppm (Debian poppler-utils) is required: run scripts/install-system-deps.sh"
        )
    _, report = render_case(case, "nb")
    assert report.pdf is not None
    pdf = tmp_path / "r.pdf"
    pdf.write_bytes(report.pdf)
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(pdf), str(tmp_path / "p")], check=True)
    pngs = sorted(tmp_path.glob("p-*.png"))
    assert len(pngs) == len(PdfReader(io.BytesIO(report.pdf)).pages)
    for png in pngs:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # page 1 holds the summary box (and the contraindication box above it)
    text = subprocess.run(
        ["pdftotext", "-f", "1", "-l", "1", "-layout", str(pdf), "-"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert "Sammendrag" in text
    if case == "demo-opioid":
        assert text.index("KONTRAINDIKASJON") < text.index("Sammendrag")
    _assert_mostly_dark_box(pngs[0], case)


def _assert_mostly_dark_box(png: Path, case: str) -> None:
    """The first page is not blank: some pixels are black (text and borders)."""
    data = png.read_bytes()
    assert len(data) > 2000, "page 1 picture looks empty"


# --------------------------------------------------------------------------- safety


@pytest.mark.parametrize("lang", ["en", "nb"])
def test_injection_is_printed_as_text_and_nothing_is_fetched(lang: str) -> None:
    engine = rendering._engine(rendering.find_templates())
    refused_before = list(engine.fetcher.refused)
    _, report = render_case("injection", lang)
    assert engine.fetcher.refused == refused_before
    assert report.pdf is not None
    text = " ".join(pdf_pages_text(report.pdf))
    assert INJECTION_NAME in text
    assert INJECTION_CLINICIAN in text
    assert flat(INJECTION_ID) in text
    assert "&lt;img src=&#34;file:///etc/passwd&#34;&gt;" in report.html
    assert "<script>" not in report.html
    assert "<img" not in report.html
    assert "</td><script>" not in report.html


def test_fetcher_refuses_everything_outside_the_templates() -> None:
    from weasyprint.urls import FatalURLFetchingError

    templates = rendering.find_templates()
    fetcher = rendering._asset_fetcher_class()(templates)
    ok = fetcher.fetch((templates / "fonts.css").as_uri())
    assert b"@font-face" in ok.read()
    for url in (
        "file:///etc/passwd",
        (templates / ".." / ".." / "pyproject.toml").as_uri(),
        (templates / "fonts" / ".." / ".." / "pgx_report" / "rendering.py").as_uri(),
        "http://example.org/x.png",
        "https://example.org/font.ttf",
        "data:text/plain,hello",
        "ftp://example.org/x",
        "file://otherhost" + str(templates / "report.css"),
    ):
        with pytest.raises(FatalURLFetchingError):
            fetcher.fetch(url)


def test_a_template_that_loads_an_outside_file_stops_the_render(tmp_path: Path) -> None:
    folder = tmp_path / "templates"
    shutil.copytree(rendering.find_templates(), folder)
    template = folder / rendering.TEMPLATE_NAME
    template.write_text(
        template.read_text(encoding="utf-8").replace(
            "<body>", '<body><img src="file:///etc/passwd">', 1
        ),
        encoding="utf-8",
    )
    a = load_contract()
    with pytest.raises(rendering.TemplateError, match="forbidden resource"):
        rendering.render_pdf(a, as_bytes(a), "en", folder.resolve())


def test_misspelt_template_variable_fails_instead_of_printing_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "templates"
    shutil.copytree(rendering.find_templates(), folder)
    template = folder / rendering.TEMPLATE_NAME
    template.write_text(
        template.read_text(encoding="utf-8").replace("view.patient.name", "view.patient.nmae", 1),
        encoding="utf-8",
    )
    with pytest.raises(rendering.TemplateError, match="nmae"):
        rendering.render_html(load_contract(), "en", folder.resolve())


# --------------------------------------------------------------------------- Unicode, long text


@pytest.mark.parametrize("lang", ["en", "nb"])
def test_unicode_names_render_with_bundled_glyphs(lang: str) -> None:
    _, report = render_case("unicode", lang)
    assert report.pdf is not None
    text = " ".join(pdf_pages_text(report.pdf))
    for fragment in (SAMI, CJK_NAME, KOREAN, NORWEGIAN, "Sámediggi helse, Kárášjohka"):
        assert fragment in text, fragment
    assert "\ufffd" not in text


def test_bundled_fonts_cover_the_report_alphabets() -> None:
    from fontTools.ttLib import TTFont

    fonts = rendering.find_templates() / "fonts"
    covered: set[int] = set()
    for name in ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DroidSansFallback.ttf"):
        covered |= set(TTFont(fonts / name).getBestCmap())
    labels = rendering.load_labels(rendering.find_templates())
    every_label = "".join(t for lang in labels.values() for t in lang.values())
    text = (
        SAMI
        + CJK_NAME
        + KOREAN
        + NORWEGIAN
        + every_label
        + "".join(view_model.FINDING_SYMBOL.values())
    )
    missing = sorted({c for c in text if not c.isspace() and ord(c) not in covered})
    assert not missing, missing


def test_cjk_font_is_declared_only_for_text_that_needs_it() -> None:
    templates = rendering.find_templates()
    assert not rendering.needs_cjk_font(set(f"{SAMI} {NORWEGIAN} ▲●▼? \u2013"), templates)
    assert not rendering.needs_cjk_font(set("ሰላም\U0001f642"), templates)  # no bundled font
    assert rendering.needs_cjk_font(set(f"Ola {CJK_NAME}"), templates)
    assert rendering.needs_cjk_font(set(KOREAN), templates)


@pytest.mark.parametrize("lang", ["en", "nb"])
def test_declaring_the_cjk_font_changes_nothing_in_a_report_without_cjk(
    lang: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    data, report = render_case("demo-carrier", lang)
    assessment = json.loads(data)
    templates = rendering.find_templates()
    monkeypatch.setattr(rendering, "needs_cjk_font", lambda chars, folder: True)
    with_cjk = rendering.render_pdf(assessment, data, lang, templates)
    assert rendering._engine_for.cache_info().currsize >= 2  # both engines were used
    assert with_cjk.pdf == report.pdf


def test_missing_glyphs_finds_only_what_no_bundled_font_draws() -> None:
    templates = rendering.find_templates()
    covered = {"name": f"{SAMI} {CJK_NAME} {KOREAN} {NORWEGIAN} ▲●▼? \u2013\u2014·"}
    assert rendering.missing_glyphs(covered, templates) == []
    view = {"a": ["ok", {"b": "Ethiopic ሰላም and \U0001f642"}], "n": 3}
    assert rendering.missing_glyphs(view, templates) == sorted(["ሰ", "ላ", "ም", "\U0001f642"])


def test_demo_reports_need_no_system_font() -> None:
    labels = rendering.load_labels(rendering.find_templates())
    for name in DEMO_PATIENTS:
        for lang in ("en", "nb"):
            view = view_model.build_view(json.loads(make_case(name)), lang, labels)
            assert rendering.missing_glyphs(view, rendering.find_templates()) == [], name


def test_long_names_and_clinician_lists_stay_inside_the_page(tmp_path: Path) -> None:
    data, report = render_case("long", "en")
    assert report.pdf is not None
    assessment = json.loads(data)
    pdf = tmp_path / "long.pdf"
    pdf.write_bytes(report.pdf)
    bbox = subprocess.run(
        ["pdftotext", "-bbox", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    page_width = float(re.search(r'<page width="([\d.]+)"', bbox).group(1))  # type: ignore[union-attr]
    right_edges = [float(x) for x in re.findall(r'xMax="([\d.]+)"', bbox)]
    assert right_edges and max(right_edges) <= page_width - 30  # inside the right margin
    text = "".join(" ".join(pdf_pages_text(report.pdf)).split())
    assert "".join(assessment["clinician"]["name"].split()) in text
    assert "Wolfeschlegelsteinhausenbergerdorff" * 4 in text


# --------------------------------------------------------------------------- determinism


def test_same_input_gives_the_same_bytes_and_the_environment_is_restored(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    data = make_case("unicode")
    a = json.loads(data)
    templates = rendering.find_templates()
    first = rendering.render_pdf(copy.deepcopy(a), data, "nb", templates).pdf
    second = rendering.render_pdf(copy.deepcopy(a), data, "nb", templates).pdf
    assert first == second
    assert "SOURCE_DATE_EPOCH" not in os.environ
    assert gc.isenabled()  # the collector, paused during layout, is back on
    other_day = copy.deepcopy(a)
    other_day["dates"]["reported_on"] = "2025-11-21"
    third = rendering.render_pdf(other_day, as_bytes(other_day), "nb", templates).pdf
    assert third != first


# --------------------------------------------------------------------------- per-process caches


def test_each_pdf_stream_is_compressed_once_and_the_bytes_are_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import zlib

    import pydyf  # type: ignore[import-untyped]

    calls: list[int] = []

    class CountingZlib:
        def __getattr__(self, name: str) -> Any:
            return getattr(zlib, name)

        def compressobj(self, *args: Any, **kwargs: Any) -> Any:
            calls.append(1)
            return zlib.compressobj(*args, **kwargs)

    monkeypatch.setattr(pydyf, "zlib", CountingZlib())
    data = make_case("demo-aa")
    templates = rendering.find_templates()
    once = rendering.render_pdf(json.loads(data), data, "en", templates).pdf
    compressed_once = len(calls)
    calls.clear()
    monkeypatch.setattr(rendering, "compress_streams_once", lambda document, pdf: None)
    twice = rendering.render_pdf(json.loads(data), data, "en", templates).pdf
    assert once == twice
    # Without the finisher pydyf compresses each of the document's streams twice (the file
    # and the MD5 identifier), with it once; pydyf's own object stream is compressed
    # twice and its xref stream once either way.
    streams = compressed_once - 3
    assert streams > 5
    assert len(calls) == 2 * streams + 3


def test_an_edited_templates_folder_is_never_served_stale(tmp_path: Path) -> None:
    folder = tmp_path / "templates"
    shutil.copytree(rendering.find_templates(), folder)
    folder = folder.resolve()
    data = make_case("demo-aa")
    a = json.loads(data)

    def render() -> bytes:
        pdf = rendering.render_pdf(copy.deepcopy(a), data, "en", folder).pdf
        assert pdf is not None
        return pdf

    original = render()
    engine = rendering._engine(folder)
    assert rendering._engine(folder) is engine  # unchanged folder: reused
    assert render() == original

    css = folder / rendering.STYLESHEET
    css_text = css.read_text(encoding="utf-8")
    css.write_text(css_text + "\nh2 { color: #c00000; }\n", encoding="utf-8")
    assert rendering._engine(folder) is not engine
    assert render() != original
    css.write_text(css_text, encoding="utf-8")  # back as it was: the same bytes again
    assert render() == original

    labels = folder / rendering.LABELS_FILE
    title = rendering.load_labels(folder)["en"]["title"]
    labels.write_text(
        labels.read_text(encoding="utf-8").replace(title, "Edited title", 1), encoding="utf-8"
    )
    assert rendering.load_labels(folder)["en"]["title"] == "Edited title"
    assert "Edited title" in rendering.render_html(a, "en", folder).html
    assert "Edited title" in " ".join(pdf_pages_text(render()))


HTML_SAMPLES = [
    "<p>plain &amp; simple</p>",
    "<table><tr><td>a<td>b\r\nc</table><p>x<div>y</div>",
    "<title>T</title><pre>\n\tline  two\u00a0&nbsp;</pre><!-- note --><br/>",
    "<svg viewBox='0 0 10 10'><line x1=0 y1=0 x2=10 y2=10 /></svg><p lang=nb>Ærlig å</p>",
    "<p data-x=\"1&lt;2\" class='a b'>Sámi · 張偉 · 김민준 \u2013 ▲●▼?</p>\x00<p>",
]


def test_html_parser_cache_gives_the_same_trees_and_hits() -> None:
    import xml.etree.ElementTree as ET

    import tinyhtml5  # type: ignore[import-untyped]
    from tinyhtml5 import inputstream

    report = rendering.render_html(load_contract(), "nb", rendering.find_templates())
    documents = [*HTML_SAMPLES, report.html]

    def trees(cache: dict[Any, Any]) -> list[str]:
        saved = inputstream.characters_until_regex
        inputstream.characters_until_regex = cache
        try:
            return [
                ET.tostring(tinyhtml5.parse(d, namespace_html_elements=False), encoding="unicode")
                for d in documents
            ]
        finally:
            inputstream.characters_until_regex = saved

    plain: dict[Any, Any] = {}
    expected = trees(plain)
    repaired = weasyprint_patches.CharactersUntilRegex()
    assert trees(repaired) == expected
    keys = set(repaired)
    assert keys and not any(isinstance(key[0], type(re.compile(""))) for key in keys)
    assert trees(repaired) == expected
    assert set(repaired) == keys  # second pass: every lookup was a hit
    weasyprint_patches.repair_html_parser_cache()
    assert isinstance(inputstream.characters_until_regex, weasyprint_patches.CharactersUntilRegex)
