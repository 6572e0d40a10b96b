"""The validation pack: truth file in, OUTDIR/validation.json + .html + .pdf out.

The one library call of ``pgx-report validate``. Everything is computed before anything is
written, so bad input (exit 2) leaves no partial output; the date is the truth file's
modification date (UTC) or the one given, never the clock, so reruns give the same bytes."""

from __future__ import annotations

import datetime as dt
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pgx_report import __version__
from pgx_report.contracts.call import Thresholds
from pgx_report.files.io import (
    atomic_write_bytes,
    atomic_write_text,
    canonical_json,
    check_not_input,
    sha256_file,
)
from pgx_report.validation.bundled import BUNDLED_TRUTH, bundled_rows
from pgx_report.validation.render import Context, check_dict, to_dict, to_html, to_pdf
from pgx_report.validation.run import ValidationResult, validate_rows
from pgx_report.validation.truth import TruthRow, read_truth

OUTPUT_NAMES = ("validation.json", "validation.html", "validation.pdf")
BUNDLED_LABEL = "pgx_report/data/realdata/truth.tsv (bundled real samples)"


@dataclass(frozen=True)
class Request:
    out: Path
    truth: Path | None = None  # None: the bundled samples
    repeat: int = 3
    lang: str = "en"
    thresholds: Thresholds = field(default_factory=Thresholds)
    date: str | None = None  # YYYY-MM-DD; default: the truth file's modification date


def file_date(path: Path) -> str:
    """The UTC date of ``path``'s modification time."""
    return dt.datetime.fromtimestamp(path.stat().st_mtime, tz=dt.UTC).date().isoformat()


def _validate(request: Request, truth: Path) -> tuple[tuple[TruthRow, ...], ValidationResult]:
    def run(rows: tuple[TruthRow, ...]) -> ValidationResult:
        return validate_rows(
            rows, thresholds=request.thresholds, repeat=request.repeat, source=truth
        )

    if request.truth is not None:
        rows = read_truth(truth)
        return rows, run(rows)
    with tempfile.TemporaryDirectory(prefix="pgx-report-validate-") as work:
        rows = bundled_rows(Path(work))
        return rows, run(rows)


def write_validation(request: Request) -> dict[str, Any]:
    """Validate, write the three outputs into ``request.out``, return validation.json's data."""
    from pgx_report.clinical.knowledge import load_knowledge_base

    truth = request.truth if request.truth is not None else BUNDLED_TRUTH
    outputs = [request.out / name for name in OUTPUT_NAMES]
    for output in outputs:
        check_not_input(output, [truth])
    rows, result = _validate(request, truth)
    for output in outputs:
        check_not_input(output, [r.input for r in rows if request.truth is not None])
    ctx = Context(
        date=request.date or file_date(truth),
        truth=truth.name if request.truth is not None else BUNDLED_LABEL,
        truth_sha256=sha256_file(truth),
        tool_version=__version__,
        kb_version=load_knowledge_base().version,
    )
    document = to_dict(result, ctx)
    check_dict(document)
    text = canonical_json(document)
    html = to_html(document, request.lang)
    pdf = to_pdf(html, text.encode("utf-8"), ctx.date)
    atomic_write_text(outputs[0], text)
    atomic_write_text(outputs[1], html)
    atomic_write_bytes(outputs[2], pdf)
    return document
