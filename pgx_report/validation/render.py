"""A validation result as validation.json (dict), validation.html and validation.pdf
(PDF/A-3b with validation.json attached, the bundled fonts, nothing fetched)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pgx_report.contracts.call import Call
from pgx_report.contracts.schema import load_schema, schema_errors
from pgx_report.errors import PgxError
from pgx_report.outputs.report.pdf import (
    asset_fetcher,
    attachment,
    source_date_epoch,
    stylesheet,
    write_pdf,
)
from pgx_report.paths import TEMPLATE_DIRS
from pgx_report.validation.run import Interval, RowResult, RowStatus, Tally, ValidationResult

SCHEMA = "pgx-report.validation"
SCHEMA_VERSION = "1.0"
SCHEMA_FILE = "validation.schema.json"
TEMPLATE = "validation.html.j2"
LABELS = "validation_i18n.yaml"
FONTS_STYLESHEET = "fonts.css"
LANGUAGES = ("en", "nb")
PDF_VARIANT = "pdf/a-3b"
DIGITS = 6  # rounding of proportions in validation.json


@dataclass(frozen=True)
class Context:
    """What was validated, beyond the rows: shown in every output."""

    date: str  # YYYY-MM-DD (truth file's mtime or --date)
    truth: str  # the truth file as shown
    truth_sha256: str
    tool_version: str
    kb_version: str


def _interval(value: Interval | None) -> dict[str, float] | None:
    if value is None:
        return None
    return {
        "value": round(value.value, DIGITS),
        "ci95_low": round(value.low, DIGITS),
        "ci95_high": round(value.high, DIGITS),
    }


def _tally(t: Tally) -> dict[str, Any]:
    return {
        "rows": t.rows,
        "concordant": t.concordant,
        "discordant": t.discordant,
        "not_determined": t.not_determined,
        "concordance": _interval(t.concordance),
    }


def input_kind(call: Call) -> str:
    data = call.provenance.get("input", {})
    fmt, index = str(data.get("format", "?")), data.get("index")
    return f"{fmt}+{index}" if index and index != "none" else fmt


def build_name(call: Call) -> str | None:
    build = call.provenance.get("build")
    return str(build["name"]) if isinstance(build, Mapping) and "name" in build else None


def _row(r: RowResult) -> dict[str, Any]:
    data = r.call.provenance.get("input", {})
    return {
        "line": r.row.line,
        "sample": r.row.sample,
        "input": r.row.input_label,
        "vcf_sample": r.row.vcf_sample,
        "note": r.row.note,
        "replicate_of": r.row.replicate_of,
        "expected": r.row.expected,
        "observed": r.observed,
        "call_status": r.call.status.value,
        "status": r.status.value,
        "reason_codes": list(r.call.reason_codes),
        "record": r.call.qc.get("record"),
        "input_kind": input_kind(r.call),
        "input_sha256": data.get("sha256"),
        "build": build_name(r.call),
        "runs": r.runs,
        "identical_runs": r.identical_runs,
    }


def to_dict(result: ValidationResult, ctx: Context) -> dict[str, Any]:
    """The validation.json document (schema pgx-report.validation)."""
    total = result.tally
    calls = [r.call for r in result.rows]
    return {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "date": ctx.date,
        "truth": {"file": ctx.truth, "sha256": ctx.truth_sha256},
        "tool": "pgx-report",
        "tool_version": ctx.tool_version,
        "knowledge_base_version": ctx.kb_version,
        "thresholds": result.thresholds.to_dict(),
        "inputs": {
            "kinds": sorted({input_kind(c) for c in calls}),
            "builds": sorted({b for c in calls if (b := build_name(c))}),
        },
        "total": total.rows,
        "concordant": total.concordant,
        "discordant": total.discordant,
        "not_determined": total.not_determined,
        "concordance": _interval(total.concordance),
        "by_expected": {g: _tally(t) for g, t in result.by_expected.items()},
        "file_forms": _tally(result.forms),
        "repeatability": {
            "repeat": result.repeat,
            "runs": result.runs,
            "identical": result.identical,
        },
        "rows": [_row(r) for r in result.rows],
        "verdict": "pass" if result.passed else "fail",
    }


def schema() -> dict[str, Any]:
    """The published schema of validation.json (the contracts' one loader)."""
    return load_schema(SCHEMA_FILE)


def check_dict(data: Mapping[str, Any]) -> None:
    """Raise ValueError (not AssertionError) if ``data`` breaks the published schema."""
    errors = schema_errors(data, SCHEMA_FILE)
    if errors:
        raise ValueError(f"validation.json breaks its schema: {errors[0].message}")


# ---- HTML and PDF --------------------------------------------------------------------------


class TemplateError(PgxError):
    """The validation templates are missing or asked for a forbidden resource."""


def templates_dir() -> Path:
    for folder in TEMPLATE_DIRS:
        if (folder / TEMPLATE).is_file():
            return folder
    raise TemplateError(TEMPLATE, "template not found in the package's templates folder")


def labels(lang: str) -> dict[str, str]:
    import yaml

    raw = yaml.safe_load((templates_dir() / LABELS).read_text("utf-8"))
    return {key: str(texts[lang]) for key, texts in raw.items()}


def _percent(value: float, lang: str) -> str:
    text = f"{100 * value:.1f}"
    return (text.replace(".", ",") if lang == "nb" else text) + " %"


def to_html(document: Mapping[str, Any], lang: str) -> str:
    """validation.html from the validation.json document (one source for both)."""
    from jinja2 import Environment, StrictUndefined

    folder = templates_dir()
    env = Environment(autoescape=True, undefined=StrictUndefined, keep_trailing_newline=True)
    env.filters["percent"] = lambda value: _percent(float(value), lang)
    template = env.from_string((folder / TEMPLATE).read_text("utf-8"))
    flagged = [row for row in document["rows"] if row["status"] != RowStatus.CONCORDANT.value]
    unrepeated = [row for row in document["rows"] if row["identical_runs"] != row["runs"]]
    return template.render(
        doc=document, L=labels(lang), lang=lang, flagged=flagged, unrepeated=unrepeated
    )


def to_pdf(html: str, json_bytes: bytes, date: str) -> bytes:
    """validation.pdf: PDF/A-3b, bundled fonts only, validation.json attached (through
    the report's one PDF writer, :func:`pgx_report.outputs.report.pdf.write_pdf`)."""
    folder = templates_dir().resolve()
    fetcher = asset_fetcher(folder)
    moment = dt.datetime.fromisoformat(date)
    embedded = attachment(
        json_bytes,
        fetcher,
        name="validation.json",
        description="pgx-report validation (machine-readable copy of this document)",
        moment=moment,
    )
    with source_date_epoch(moment.replace(tzinfo=dt.UTC)):
        return write_pdf(
            html,
            fetcher,
            base_url=folder.as_uri() + "/",
            stylesheets=[stylesheet(folder / FONTS_STYLESHEET, fetcher)],
            attachments=[embedded],
            pdf_variant=PDF_VARIANT,
        )
