"""Page layout of the clinician report: page 1 holds the whole summary and the whole
factor table in both languages for every demo patient; the body text stays at 9 pt or
more; the sign-off never stands alone on the last page.

The reports are the real demo assessments (call + assess) rendered by
``tests/test_render.py``'s helpers, so a session that runs both modules renders each
(patient, language) once.
"""

from __future__ import annotations

import io
import json
import math
import shutil
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from test_render import DEMO_PATIENTS, make_case, render_case

from pgx_report.outputs.report import pdf as rendering

LANGS = ("en", "nb")


def squeeze(text: str) -> str:
    """Text without any whitespace: a label broken over two lines ("c.118A>G-" /
    "genotype") still matches its one-line form."""
    return "".join(text.split())


def pages_text(pdf: bytes) -> list[str]:
    return [squeeze(page.extract_text() or "") for page in PdfReader(io.BytesIO(pdf)).pages]


def labels(lang: str) -> dict[str, str]:
    return dict(rendering.load_labels(rendering.find_templates())[lang])


def rendered(case: str, lang: str) -> tuple[dict[str, Any], bytes]:
    data, report = render_case(case, lang)
    assert report.pdf is not None
    return json.loads(data), report.pdf


def pdftotext_page(pdf: bytes, page: int, tmp_path: Path) -> str:
    if shutil.which("pdftotext") is None:
        pytest.fail(
            "pdftotext (Debian poppler-utils) is required: run scripts/install-system-deps.sh"
        )
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    return subprocess.run(
        ["pdftotext", "-f", str(page), "-l", str(page), "-raw", str(path), "-"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("case", list(DEMO_PATIENTS))
def test_page_one_holds_the_whole_factor_table(case: str, lang: str, tmp_path: Path) -> None:
    a, pdf = rendered(case, lang)
    L = labels(lang)
    pages = pages_text(pdf)
    assert len(pages) >= 2
    first = pages[0]
    if a["overall"]["category"] == "contraindicated":
        # issue 14: the predictor table is not a page-1 item for a contraindicated patient;
        # it opens page 2, whole
        assert squeeze(L["factors"]) not in first
        assert pages[1].startswith(squeeze(L["factors"]))
        assert squeeze(a["factors"][-1]["label"][lang]) in pages[1]
        return
    table = first.index(squeeze(L["factors"]))
    # every row, in the fixed order, below the table heading on page 1
    positions = [first.index(squeeze(f["label"][lang]), table) for f in a["factors"]]
    assert positions == sorted(positions)
    # the last row (OPRM1 genotype) is complete on page 1: label, finding, evidence
    last = a["factors"][-1]
    assert last["id"] == "oprm1_genotype"
    row = first[positions[-1] :]
    # a determined genotype has its own marker: informational, not used in the category
    word = "informational" if last["finding"] != "unknown" else last["finding"]
    assert squeeze(L["finding_" + word]) in row
    assert squeeze(L["evidence_" + last["evidence_level"]]) in row
    assert f"[{last['citations'][0]}," in row or f"[{last['citations'][0]}]" in row
    # and nothing of the table spills over: page 2 repeats no table header or factor row
    header = squeeze(f"{L['factor']} {L['patient_value']}")
    assert header not in pages[1]
    assert squeeze(last["label"][lang]) not in pages[1].split(squeeze(L["about_factors"]))[0]
    # pdftotext (in content order) sees the last row on page 1 as well
    raw = squeeze(pdftotext_page(pdf, 1, tmp_path))
    raw_row = raw[raw.index(squeeze(last["label"][lang]), raw.index(squeeze(L["factors"]))) :]
    assert squeeze(L["evidence_" + last["evidence_level"]]) in raw_row
    # page 1 is the summary page: the genotype details start on page 2
    assert squeeze(L["genotype_details"]) not in first
    assert pages[1].startswith(squeeze(L["genotype_details"]))


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("case", list(DEMO_PATIENTS))
def test_page_one_keeps_every_summary_item_and_safety_box(case: str, lang: str) -> None:
    a, pdf = rendered(case, lang)
    L = labels(lang)
    first = pages_text(pdf)[0]
    expected = [
        a["overall"]["not_validated_notice"][lang],
        L["decision_support"],
        *(item["text"][lang] for item in a["contraindications"]),
        *a["overall"]["rationale"][lang],
        *a["overall"]["next_steps"][lang],
        *(item["clarify"][lang] for item in a["overall"]["unanswered"]),
    ]
    guidance = [text[lang] for text in a["guidance"].values() if text is not None]
    if a["overall"]["guidance_applies"]:
        expected += guidance
    else:  # no dosing where naltrexone is not (yet) an option
        for text in guidance:
            assert squeeze(text) not in first, text
    for text in expected:
        assert squeeze(text) in first, text
    if a["overall"]["category"] == "contraindicated":
        assert first.index(squeeze(L["contraindication_heading"])) < first.index(
            squeeze(L["summary"])
        )


def _sizes(pdf: bytes, page: int) -> Counter[float]:
    """Characters drawn per font size (pt) on a page, from the PDF's text operators."""
    sizes: Counter[float] = Counter()

    def visit(text: str, cm: list[float], tm: list[float], font: Any, size: float) -> None:
        scale = math.hypot(tm[2], tm[3]) * math.hypot(cm[2], cm[3])
        sizes[round(size * scale, 1)] += len(text.strip())

    PdfReader(io.BytesIO(pdf)).pages[page].extract_text(visitor_text=visit)
    return sizes


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("case", ["demo-aa", "demo-opioid"])
def test_body_text_is_at_least_9_pt(case: str, lang: str) -> None:
    """Fitting page 1 must not shrink the text: most of page 1 is set in 9 pt or more,
    and nothing (labels, key, page furniture) is below 7 pt."""
    _, pdf = rendered(case, lang)
    sizes = _sizes(pdf, 0)
    body = sizes.most_common(1)[0][0]
    assert body >= 9.0, sizes
    assert sum(n for size, n in sizes.items() if size >= 9.0) > 0.8 * sum(sizes.values()), sizes
    assert min(size for size, n in sizes.items() if n) >= 7.0, sizes


def _assert_signoff_not_alone(pdf: bytes, a: dict[str, Any], lang: str) -> None:
    L = labels(lang)
    pages = pages_text(pdf)
    signoff = squeeze(f"{L['signoff']}{L['analysed_by']}")
    assert [signoff in page for page in pages] == [False] * (len(pages) - 1) + [True]
    last = pages[-1]
    # the sign-off keeps the end of the provenance section with it: the input-files
    # row (with every SHA-256) and the note on the embedded copy
    for text in (L["inputs"], L["embedded_note"]):
        assert squeeze(text) in last, text
    for item in a["provenance"]["inputs"]:
        assert (item.get("sha256") or item["region_sha256"]) in last
    assert last.index(squeeze(L["embedded_note"])) < last.index(signoff)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("case", list(DEMO_PATIENTS))
def test_last_page_has_more_than_the_signoff(case: str, lang: str) -> None:
    a, pdf = rendered(case, lang)
    _assert_signoff_not_alone(pdf, a, lang)


def test_signoff_brings_the_provenance_end_wherever_the_page_break_falls(
    tmp_path: Path,
) -> None:
    """Push the later pages down step by step (extra space after the genotype details,
    in a copy of the templates) so the page break falls before, inside and after the
    sign-off: it is never alone on a page."""
    data = make_case("demo-carrier")
    a = json.loads(data)
    page_counts = set()
    for extra in range(0, 240, 12):
        templates = tmp_path / f"t{extra}"
        shutil.copytree(rendering.find_templates(), templates)
        with (templates / "report.css").open("a", encoding="utf-8") as css:
            # a block after the details (a margin would be truncated at the page break)
            css.write(f'\n.details::after {{ content: ""; display: block; height: {extra}mm; }}\n')
        report = rendering.render_pdf(a, data, "en", templates.resolve())
        assert report.pdf is not None
        _assert_signoff_not_alone(report.pdf, a, "en")
        page_counts.add(len(PdfReader(io.BytesIO(report.pdf)).pages))
    # the pushes did move the sign-off onto a new page at least once
    assert len(page_counts) > 1, page_counts


def _word_boxes(pdf: Path) -> list[tuple[int, float, float, float, float, float, float, str]]:
    """(page, width, height, xMin, yMin, xMax, yMax, word) of every word, from pdftotext."""
    import re
    import subprocess

    out = subprocess.run(
        ["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    boxes = []
    for number, page in enumerate(out.split("<page ")[1:], start=1):
        size = re.match(r'width="([\d.]+)" height="([\d.]+)"', page)
        assert size is not None
        width, height = map(float, size.groups())
        for word in re.finditer(
            r'xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)<', page
        ):
            x0, y0, x1, y1 = map(float, word.groups()[:4])
            boxes.append((number, width, height, x0, y0, x1, y1, word.group(5)))
    return boxes


def test_the_longest_fields_stay_inside_the_page(tmp_path: Path) -> None:
    """Every field at its schema maxLength, as one unbreakable token: every word lies inside
    the page's side margins (12 mm) and inside the page; the footer's ids are complete."""
    from tests.conftest import REPO_ROOT, run_pgx

    data = json.loads((REPO_ROOT / "demo" / "questionnaires" / "demo-sparse.json").read_text())
    data["sample_id"] = "S" * 100
    data["patient"].update(id="P" * 64, name="N" * 200)
    data["clinician"] = {"name": "C" * 200, "organisation": "O" * 200}
    questionnaire = tmp_path / "q.json"
    questionnaire.write_text(json.dumps(data), "utf-8")
    assessment, pdf = tmp_path / "a.json", tmp_path / "r.pdf"
    call = REPO_ROOT / "tests" / "data" / "assess" / "call_AG.json"
    run_pgx(
        "assess", "--call", call, "--questionnaire", questionnaire, "-o", assessment,
        "--allow-sample-mismatch", check=True,
    )  # fmt: skip
    run_pgx("render", assessment, "-o", pdf, check=True)
    margin = 12 * 72 / 25.4
    boxes = _word_boxes(pdf)
    outside = [
        (page, word[:20], round(x0), round(x1))
        for page, width, height, x0, y0, x1, y1, word in boxes
        if x0 < margin - 1 or x1 > width - margin + 1 or y0 < 0 or y1 > height
    ]
    assert outside == []
    footer = "".join(
        word for page, _, height, _, y0, _, _, word in boxes if page == 2 and y0 > height - 40
    )
    assert "P" * 64 in footer and "S" * 100 in footer
