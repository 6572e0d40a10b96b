"""The files embedded in a report PDF, and whether a PDF is the report of an assessment.

Every report PDF written by :mod:`pgx_report.outputs.report.pdf` is PDF/A-3b with the
exact bytes of its assessment JSON attached as ``assessment.json`` (relationship
``Data``). ``pgx-report fhir --pdf`` attaches a PDF to a bundle only when that embedded
copy is byte-identical to the assessment it exports: another patient's report, a PDF
that pgx-report did not write, or a damaged one is refused (exit 2, naming the PDF).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from pgx_report.errors import InputError
from pgx_report.files.io import read_input_bytes

if TYPE_CHECKING:
    from pgx_report.contracts.report import ReportInfo

ATTACHMENT_NAME = "assessment.json"
PDF_MAGIC = b"%PDF-"
# A complete PDF ends with %%EOF (ISO 32000-1, 7.5.5), give or take trailing white space
# and the odd byte some writers add; a file cut short has lost it.
_EOF_MARK = b"%%EOF"
_EOF_WINDOW = 1024


class PdfError(InputError):
    """A PDF given as input is not one, is damaged, or is not the expected report."""


def _parsed_attachments(data: bytes, source: str | Path) -> dict[str, list[bytes]]:
    import io

    from pypdf import PdfReader

    # pypdf logs (and warns) about every repair it makes; a damaged file is refused below
    pypdf_log = logging.getLogger("pypdf")
    level = pypdf_log.level
    pypdf_log.setLevel(logging.CRITICAL)
    try:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader = PdfReader(io.BytesIO(data), strict=True)
            found = reader.attachments
            return {name: list(found[name]) for name in found}
    except Exception as exc:  # pypdf raises many kinds on malformed input
        reason = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise PdfError(source, f"damaged PDF file, cannot be read: {reason}") from None
    finally:
        pypdf_log.setLevel(level)


def embedded_files(data: bytes, source: str | Path) -> dict[str, bytes]:
    """The files attached to the PDF ``data`` (``source`` names it in messages), by name.

    Not a PDF, a PDF cut short, a damaged one, or one that attaches two different files
    under one name is a :class:`PdfError`."""
    if not data.startswith(PDF_MAGIC):
        raise PdfError(source, "not a PDF file (it does not start with %PDF-)")
    if _EOF_MARK not in data[-_EOF_WINDOW:]:
        raise PdfError(source, "truncated PDF file (it does not end with %%EOF)")
    files: dict[str, bytes] = {}
    for name, contents in _parsed_attachments(data, source).items():
        if len(set(contents)) > 1:
            raise PdfError(source, f"attaches two different files named '{name}'")
        if contents:
            files[name] = contents[0]
    return files


def read_embedded(pdf_path: str | Path) -> dict[str, bytes]:
    """The files attached to the PDF at ``pdf_path``, by name (see :func:`embedded_files`)."""
    return embedded_files(read_input_bytes(pdf_path, PdfError), pdf_path)


def embedded_assessment(data: bytes, source: str | Path) -> bytes:
    """The exact bytes of the assessment JSON embedded in a report PDF's ``data``."""
    files = embedded_files(data, source)
    if ATTACHMENT_NAME not in files:
        what = f"it embeds {', '.join(sorted(files))}" if files else "it embeds no file"
        raise PdfError(
            source,
            f"not a pgx-report report: no embedded {ATTACHMENT_NAME} ({what})",
        )
    return files[ATTACHMENT_NAME]


def read_embedded_assessment(pdf_path: str | Path) -> bytes:
    """The exact bytes of the assessment JSON embedded in the report PDF at ``pdf_path``."""
    return embedded_assessment(read_input_bytes(pdf_path, PdfError), pdf_path)


def check_pdf_belongs(
    pdf: bytes, pdf_source: str | Path, assessment: bytes, assessment_source: str | Path
) -> None:
    """Refuse a report PDF (``pdf``, read from ``pdf_source``) whose embedded assessment
    is not byte-identical to ``assessment`` (the JSON read from ``assessment_source``):
    it is the report of another assessment, maybe another patient."""
    if embedded_assessment(pdf, pdf_source) != assessment:
        raise PdfError(
            pdf_source,
            f"is not the report of {assessment_source}: the assessment embedded in it "
            "differs (another patient's, or an earlier run's, report?); "
            "render the PDF from this assessment",
        )


def read_report_of(pdf_path: str | Path, assessment_path: str | Path) -> bytes:
    """The bytes of the report PDF at ``pdf_path``, checked to be the report of the
    assessment file at ``assessment_path`` (:func:`check_pdf_belongs`)."""
    pdf = read_input_bytes(pdf_path, PdfError)
    check_pdf_belongs(pdf, pdf_path, read_input_bytes(assessment_path), assessment_path)
    return pdf


def embedded_report_info(data: bytes, source: str | Path) -> ReportInfo:
    """The report's identity and status embedded in a report PDF's ``data``
    (``report.json``), checked against the assessment embedded beside it: its SHA-256
    must be the one ``report.json`` names. A PDF without ``report.json`` (written before
    reports had a status, or not by pgx-report) or with a mismatch is a PdfError."""
    import hashlib

    from pgx_report.contracts.report import ATTACHMENT_NAME as REPORT_NAME
    from pgx_report.contracts.report import report_from_dict
    from pgx_report.files.jsonio import parse_json

    files = embedded_files(data, source)
    if ATTACHMENT_NAME not in files or REPORT_NAME not in files:
        if ATTACHMENT_NAME not in files:
            raise PdfError(source, f"not a pgx-report report: no embedded {ATTACHMENT_NAME}")
        raise PdfError(
            source,
            f"not a pgx-report report with a status: no embedded {REPORT_NAME} "
            "(rendered by an older pgx-report? render it again)",
        )
    try:
        info = report_from_dict(parse_json(files[REPORT_NAME], source), source)
    except InputError as exc:
        raise PdfError(source, f"embedded {REPORT_NAME}: {exc.message}") from None
    if hashlib.sha256(files[ATTACHMENT_NAME]).hexdigest() != info.assessment_sha256:
        raise PdfError(
            source,
            f"the embedded {ATTACHMENT_NAME} is not the one its {REPORT_NAME} names "
            "(SHA-256 differs): the PDF was altered",
        )
    return info
