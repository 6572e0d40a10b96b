"""``fhir --pdf`` attaches only the report of the assessment it exports (issue 13).

A report PDF embeds the exact bytes of its assessment.json (PDF/A-3 associated file):
the right PDF is accepted; another patient's report, a file that is not a PDF, a PDF
without the attachment and a truncated PDF are refused with exit 2 and one line naming
the PDF, and no bundle is written."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from conftest import REPO_ROOT, CliResult, assert_clean_error, run_pgx
from pypdf import PdfWriter

from pgx_report.outputs.report import pdf as report_pdf
from pgx_report.outputs.report.embedded import (
    ATTACHMENT_NAME,
    PdfError,
    check_pdf_belongs,
    read_embedded,
    read_embedded_assessment,
)

DATA = REPO_ROOT / "tests" / "data"
CALLED = DATA / "fhir_assessment_called.json"
OTHER = DATA / "fhir_assessment_contraindicated.json"


def stand_in_report(assessment: bytes | None, extra: dict[str, bytes] | None = None) -> bytes:
    """A one-page PDF embedding ``assessment`` as a report does (fast: no rendering)."""
    writer = PdfWriter()
    writer.add_blank_page(width=72, height=72)
    if assessment is not None:
        writer.add_attachment(ATTACHMENT_NAME, assessment)
    for name, data in (extra or {}).items():
        writer.add_attachment(name, data)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def test_the_attachment_name_is_the_renderers() -> None:
    assert report_pdf.ATTACHMENT_NAME == ATTACHMENT_NAME


def test_read_embedded_gives_every_attached_file(tmp_path: Path) -> None:
    pdf = tmp_path / "r.pdf"
    pdf.write_bytes(stand_in_report(CALLED.read_bytes(), {"notes.txt": b"x"}))
    assert read_embedded(pdf) == {ATTACHMENT_NAME: CALLED.read_bytes(), "notes.txt": b"x"}
    assert read_embedded_assessment(pdf) == CALLED.read_bytes()


def test_check_pdf_belongs_is_byte_exact() -> None:
    data = CALLED.read_bytes()
    check_pdf_belongs(stand_in_report(data), "r.pdf", data, CALLED)
    with pytest.raises(PdfError, match=r"r\.pdf: is not the report of"):
        check_pdf_belongs(stand_in_report(data + b" "), "r.pdf", data, CALLED)


def _fhir(tmp_path: Path, assessment: Path, pdf_bytes: bytes) -> tuple[Path, Path, CliResult]:
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(pdf_bytes)
    out = tmp_path / "out.fhir.json"
    return pdf, out, run_pgx("fhir", assessment, "--pdf", pdf, "-o", out)


def test_the_right_pdf_is_attached(tmp_path: Path) -> None:
    _, out, result = _fhir(tmp_path, CALLED, stand_in_report(CALLED.read_bytes()))
    assert result.returncode == 0, result.stderr
    assert '"application/pdf"' in out.read_text(encoding="utf-8")


def _cases() -> dict[str, tuple[bytes, str]]:
    good = stand_in_report(CALLED.read_bytes())
    return {
        "other-patient": (
            stand_in_report(OTHER.read_bytes()),
            f"is not the report of {CALLED}",
        ),
        "not-a-pdf": (b"hello, not a PDF\n", "not a PDF file"),
        "no-attachment": (stand_in_report(None), "not a pgx-report report: no embedded"),
        "other-attachment": (
            stand_in_report(None, {"validation.json": b"{}"}),
            "it embeds validation.json",
        ),
        "truncated": (good[: len(good) * 2 // 3], "truncated PDF file"),
        "damaged": (good[:200] + b"\x00" * 200 + good[400:], "damaged PDF file"),
    }


@pytest.mark.parametrize("case", sorted(_cases()))
def test_a_pdf_that_is_not_this_assessments_report_is_refused(tmp_path: Path, case: str) -> None:
    pdf_bytes, fragment = _cases()[case]
    pdf, out, result = _fhir(tmp_path, CALLED, pdf_bytes)
    assert_clean_error(result, f"{pdf}: ", fragment)
    assert not out.exists()
    assert pdf.read_bytes() == pdf_bytes  # the user's file is untouched
