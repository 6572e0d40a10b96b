"""Render the clinician report (HTML, and PDF/A-3b) from an assessment.

The assessment (``docs/contracts.md``) already holds every clinical text in
English and Norwegian; this module only picks a language, formats dates and
numbers the way that language writes them, and lays the page out. The display
values are built here, in Python (:func:`build_view`); the Jinja2 templates in
``templates/`` only loop and print.

Safety:
- Jinja2 autoescapes everything (``autoescape=True``) and fails on a misspelt
  variable (``StrictUndefined``), so a patient name such as
  ``<img src="file:///etc/passwd">`` is printed as text.
- WeasyPrint fetches through :class:`AssetFetcher`, which serves only files
  inside the templates folder (the bundled CSS and fonts) and stops the render
  for any other URL (``file://`` elsewhere, ``http(s)://``, ``data:``).
- Texts that go into the page's margin boxes are written as fully hex-escaped
  CSS strings, so no input can end the string.

Reproducibility: every date comes from the assessment (``dates.reported_on``);
``SOURCE_DATE_EPOCH`` is set to that date while the PDF is written, and the
fonts are bundled, so the same assessment gives the same PDF bytes.

WeasyPrint is imported lazily (only :func:`render_pdf` needs it). The 3.4 MB CJK font
is declared to WeasyPrint only for a report with a character the DejaVu faces lack
and it has (:func:`needs_cjk_font`); other reports come out the same without it.

Per-process caches (a ``pgx-report batch`` process renders many reports in a row): the
labels, the Jinja2 environment, the parsed stylesheets with their font configuration
(:func:`_engine`) and the fonts' glyph coverage are built once. Each is keyed by the
templates folder and the stamp (inode, size, mtime, ctime) of the files it was built
from, so an edited template, stylesheet, label file or font is read again, never
served stale (Jinja2 itself checks each template's modification time). None of this
changes a byte of the output: a warm render gives the same PDF as the first one.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime as dt
import functools
import gc
import io
import logging
import os
import re
import sys
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

import jinja2
import yaml
from markupsafe import Markup

from pgx_report import __version__
from pgx_report.clinical.knowledge import (
    EVIDENCE_LEVELS,
    FACTOR_IDS,
    FINDINGS,
    SEVERITIES,
    safe_load_yaml,
)
from pgx_report.contracts.assessment import validate_assessment_dict
from pgx_report.contracts.languages import DEFAULT_LANGUAGE, LANGUAGES
from pgx_report.contracts.schema import ASSESSMENT, check_version
from pgx_report.errors import InputError, PgxError
from pgx_report.files.io import read_input_bytes
from pgx_report.files.jsonio import parse_json
from pgx_report.outputs.report.page_one import page_one  # issue 14
from pgx_report.paths import TEMPLATE_DIRS

if TYPE_CHECKING:
    from weasyprint.text.fonts import FontConfiguration

log = logging.getLogger(__name__)

TEMPLATE_NAME = "report.html.j2"
STYLESHEET = "report.css"
FONTS_STYLESHEET = "fonts.css"
CJK_FONTS_STYLESHEET = "fonts-cjk.css"  # @font-face of CJK_FONT, declared only when needed
CJK_FONT = "DroidSansFallback.ttf"
LABELS_FILE = "i18n.yaml"
PDF_VARIANT = "pdf/a-3b"
ATTACHMENT_NAME = "assessment.json"
FACTOR_ORDER = FACTOR_IDS  # the contract's fixed order of the six predictors
EN_DASH = "\u2013"  # ranges ("13-15") and the "no value" mark, as typeset
# The stand-alone .html file has no bundled fonts (a browser would have to fetch them):
# it names common system fonts instead.
HTML_FONT_FALLBACK = (
    '\nhtml, table.factors, .mono { font-family: "DejaVu Sans", "Noto Sans", "Segoe UI", '
    "Arial, sans-serif; }\n"
)
# One glyph per finding, printed before the word: the shape carries the meaning,
# so the report reads the same in greyscale.
FINDING_SYMBOL: Mapping[str, str] = {
    "favourable": "▲",
    "neutral": "●",
    "unfavourable": "▼",
    "unknown": "?",
}
_MONTHS_EN = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


class TemplateError(PgxError):
    """The report templates are missing, broken, or asked for a forbidden resource."""


# --------------------------------------------------------------------------- templates


def find_templates(explicit: str | Path | None = None) -> Path:
    """The templates folder: ``explicit``, else the installed package's, else the repo's.

    An installed wheel carries the top-level ``templates/`` as
    ``pgx_report/templates``; an editable install (or a checkout) has it beside
    the package.
    """
    if explicit is not None:
        folder = Path(explicit)
        if not (folder / TEMPLATE_NAME).is_file():
            raise TemplateError(folder, f"not a report templates folder (no {TEMPLATE_NAME})")
        return folder.resolve()
    for folder in TEMPLATE_DIRS:
        if (folder / TEMPLATE_NAME).is_file():
            return folder
    raise TemplateError(TEMPLATE_DIRS[-1], "report templates not found (broken installation?)")


Stamp = tuple[int, int, int, int]


def _stamp(path: Path) -> Stamp:
    """``(inode, size, mtime_ns, ctime_ns)`` of a file, all -1 when it cannot be read.

    Part of the key of every per-process cache of a file's content (labels, parsed
    stylesheets, fonts), so a file that is edited or replaced is read again; ``ctime``
    changes on any write even when a tool puts the old modification time back."""
    try:
        info = path.stat()
    except OSError:
        return (-1, -1, -1, -1)
    return (info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)


def _folder_stamp(folder: Path) -> tuple[tuple[str, Stamp], ...]:
    """The stamp of every file under ``folder``, by relative path, sorted."""
    stamps = []
    for root, _dirs, files in os.walk(folder):
        for name in files:
            path = Path(root, name)
            stamps.append((str(path.relative_to(folder)), _stamp(path)))
    return tuple(sorted(stamps))


def load_labels(templates: Path) -> Mapping[str, Mapping[str, str]]:
    """Fixed labels of the page layout: ``labels[lang][key]`` (parsed once per process
    while the file is unchanged, see :func:`_stamp`)."""
    return _labels(templates, _stamp(templates / LABELS_FILE))


@functools.lru_cache(maxsize=8)
def _labels(templates: Path, stamp: Stamp) -> Mapping[str, Mapping[str, str]]:
    path = templates / LABELS_FILE
    try:
        raw = safe_load_yaml(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise TemplateError(path, f"cannot read the report labels: {exc}") from None
    if not isinstance(raw, dict):
        raise TemplateError(path, "expected a mapping of label keys")
    labels: dict[str, dict[str, str]] = {lang: {} for lang in LANGUAGES}
    for key, texts in raw.items():
        for lang in LANGUAGES:
            if not isinstance(texts, dict) or not isinstance(texts.get(lang), str):
                raise TemplateError(path, f"{key}: needs a text for each of {', '.join(LANGUAGES)}")
            labels[lang][str(key)] = texts[lang]
    return labels


@functools.lru_cache(maxsize=8)
def _environment(templates: Path) -> jinja2.Environment:
    # Jinja2's loader checks each template's modification time before it reuses the
    # compiled template (auto_reload), so an edited template is compiled again.
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates)),
        autoescape=True,  # explicit: select_autoescape() would skip *.html.j2
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


# --------------------------------------------------------------------------- formatting


def format_date(iso: str | None, lang: str) -> str | None:
    """``1970-05-17`` -> ``17 May 1970`` (en) or ``17.05.1970`` (nb)."""
    if iso is None:
        return None
    day = dt.date.fromisoformat(iso)
    if lang == "nb":
        return f"{day.day:02d}.{day.month:02d}.{day.year}"
    return f"{day.day} {_MONTHS_EN[day.month - 1]} {day.year}"


def format_number(value: float | int, lang: str, decimals: int = 2) -> str:
    """A number in the language's convention: ``0.52`` (en), ``0,52`` (nb)."""
    if isinstance(value, bool):
        raise TypeError("not a number")
    if isinstance(value, int):
        return str(value)
    text = f"{value:.{decimals}f}".rstrip("0").rstrip(".") if decimals else f"{value:.0f}"
    return text.replace(".", ",") if lang == "nb" else text


def css_string(text: str) -> str:
    """A CSS string literal that no input can break out of (every non-alphanumeric
    character is a 6-digit hex escape, so no quote, backslash, newline or ``</``)."""
    out = []
    for char in text:
        if char.isascii() and char.isalnum():
            out.append(char)
        else:
            out.append(f"\\{ord(char):06x}")
    return '"' + "".join(out) + '"'


def _citations(numbers: Sequence[int]) -> str:
    """``[13, 14, 15, 36]`` -> ``[13-15, 36]`` with an en dash (runs of three or more)."""
    ordered = sorted(set(numbers))
    parts: list[str] = []
    index = 0
    while index < len(ordered):
        end = index
        while end + 1 < len(ordered) and ordered[end + 1] == ordered[end] + 1:
            end += 1
        if end - index >= 2:
            parts.append(f"{ordered[index]}{EN_DASH}{ordered[end]}")
        else:
            parts.extend(str(n) for n in ordered[index : end + 1])
        index = end + 1
    return "[" + ", ".join(parts) + "]" if parts else ""


# --------------------------------------------------------------------------- reading


class _Reader:
    """Reads required fields from the assessment; a missing or mistyped field is an
    :class:`InputError` naming its JSON path."""

    def __init__(self, source: str | Path | None) -> None:
        self.source = source

    def fail(self, path: str, message: str) -> InputError:
        return InputError(self.source, f"{path}: {message}")

    def obj(self, parent: Mapping[str, Any], key: str, path: str) -> Mapping[str, Any]:
        value = parent.get(key)
        if not isinstance(value, Mapping):
            raise self.fail(f"{path}.{key}", "missing or not an object")
        return value

    def opt_obj(self, parent: Mapping[str, Any], key: str, path: str) -> Mapping[str, Any]:
        value = parent.get(key)
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise self.fail(f"{path}.{key}", "not an object")
        return value

    def seq(self, parent: Mapping[str, Any], key: str, path: str) -> Sequence[Any]:
        value = parent.get(key)
        if not isinstance(value, list):
            raise self.fail(f"{path}.{key}", "missing or not a list")
        return value

    def text(self, parent: Mapping[str, Any], key: str, path: str) -> str:
        value = parent.get(key)
        if not isinstance(value, str) or not value:
            raise self.fail(f"{path}.{key}", "missing or not a non-empty string")
        return value

    def opt_text(self, parent: Mapping[str, Any], key: str, path: str) -> str | None:
        value = parent.get(key)
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            raise self.fail(f"{path}.{key}", "not a string")
        return value

    def date(self, parent: Mapping[str, Any], key: str, path: str) -> str | None:
        value = self.opt_text(parent, key, path)
        if value is not None:
            try:
                dt.date.fromisoformat(value)
            except ValueError:
                raise self.fail(
                    f"{path}.{key}", f"not an ISO date (YYYY-MM-DD): {value!r}"
                ) from None
        return value

    def local(self, parent: Mapping[str, Any], key: str, path: str, lang: str) -> str:
        """A LocalText ``{"en": ..., "nb": ...}`` in ``lang``."""
        value = self.obj(parent, key, path)
        text = value.get(lang)
        if not isinstance(text, str) or not text:
            raise self.fail(f"{path}.{key}.{lang}", "missing text in this language")
        return text

    def local_list(self, parent: Mapping[str, Any], key: str, path: str, lang: str) -> list[str]:
        value = self.obj(parent, key, path)
        items = value.get(lang)
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise self.fail(f"{path}.{key}.{lang}", "missing list of sentences in this language")
        return list(items)

    def choice(self, parent: Mapping[str, Any], key: str, path: str, allowed: Sequence[str]) -> str:
        value = parent.get(key)
        if value not in allowed:
            raise self.fail(f"{path}.{key}", f"{value!r} is not one of {', '.join(allowed)}")
        return str(value)


def parse_assessment(data: bytes, source: str | Path | None) -> dict[str, Any]:
    """Parse assessment JSON bytes and check that it is an assessment we can render."""
    obj = parse_json(data, source)
    if not isinstance(obj, dict):
        raise InputError(source, "not an assessment (expected a JSON object)")
    check_version(obj, ASSESSMENT, source)
    return obj


def read_assessment(path: str | Path) -> tuple[dict[str, Any], bytes]:
    """The assessment at ``path`` and its exact bytes (embedded in the PDF)."""
    data = read_input_bytes(path)
    assessment = parse_assessment(data, path)
    validate_assessment_dict(assessment, path)  # the published assessment schema
    return assessment, data


def choose_language(requested: str | None, assessment: Mapping[str, Any]) -> str:
    """``--lang``, else the assessment's (questionnaire's) language, else English."""
    for candidate in (requested, assessment.get("language")):
        if candidate in LANGUAGES:
            return str(candidate)
    return DEFAULT_LANGUAGE


# --------------------------------------------------------------------------- view model


@dataclass(frozen=True)
class Report:
    """What a render produced: the HTML text and, for PDFs, the bytes."""

    html: str
    pdf: bytes | None
    language: str


# Geometry of the per-factor mini scale (inline SVG, CSS px): the marker's position
# (against / neutral / for) and its shape both show the finding; an unknown value is
# an open square with "?" off the scale.
SCALE_WIDTH = 76
SCALE_X: Mapping[str, int] = {"unfavourable": 7, "neutral": 28, "favourable": 49, "unknown": 68}


def _legend(labels: Mapping[str, str]) -> str:
    return " · ".join(
        f"{FINDING_SYMBOL[finding]} {labels['finding_' + finding]}" for finding in FINDINGS
    )


def _genotype(
    call: Mapping[str, Any], r: _Reader, lang: str, L: Mapping[str, str]
) -> dict[str, Any]:
    status = r.choice(
        call, "status", "call", ("called", "no_call", "not_covered", "failed_qc", "ref_mismatch")
    )
    codes = [str(c) for c in r.seq(call, "reason_codes", "call")]
    sentences = [str(s) for s in call.get("reasons") or []]
    reasons = []
    for index, code in enumerate(codes):
        text = L.get(f"reason_{code}")
        if text is None:  # a code this report version has no words for: the call's sentence
            text = sentences[index] if index < len(sentences) else code
        reasons.append(f"{text} ({code})")
    determined = status == "called" and call.get("genotype") in ("A/A", "A/G", "G/G")
    return {
        "determined": determined,
        "status": status,
        "status_text": L[f"status_{status}"],
        "reasons": reasons,
    }


def _shown_value(value: Any, lang: str, L: Mapping[str, str]) -> str:
    """A raw value from the call or provenance, in the language's conventions."""
    if value is None or value == [] or value == "":
        return EN_DASH
    if isinstance(value, bool):
        return L["word_yes"] if value else L["word_no"]
    if isinstance(value, float):
        return format_number(value, lang)
    if isinstance(value, list):
        return ", ".join(_shown_value(v, lang, L) for v in value)
    return str(value)


def _details(
    call: Mapping[str, Any], r: _Reader, lang: str, L: Mapping[str, str]
) -> list[tuple[str, str]]:
    variant = r.obj(call, "variant", "call")
    qc = r.opt_obj(call, "qc", "call")

    def shown(value: Any) -> str:
        return _shown_value(value, lang, L)

    record = qc.get("record")
    record_text = EN_DASH
    if isinstance(record, Mapping):
        alts = record.get("alt")
        alt_text = ",".join(str(a) for a in alts) if isinstance(alts, list) else shown(alts)
        span = f"{record.get('pos')}"
        if record.get("end") not in (None, record.get("pos")):
            span += f"{EN_DASH}{record.get('end')}"
        record_text = f"{record.get('chrom')}:{span} REF {record.get('ref')} ALT {alt_text}"
    source = qc.get("source")
    status_text = L[f"status_{call['status']}"]
    return [
        (
            L["variant"],
            f"{variant.get('gene')} {variant.get('rsid')}, "
            f"{variant.get('hgvs_c')} ({variant.get('hgvs_p')})",
        ),
        (L["build"], shown(variant.get("build"))),
        (L["position"], f"{variant.get('chrom')}:{variant.get('pos')}"),
        (L["ref_alt"], f"{variant.get('ref')} / {variant.get('alt')}"),
        (
            L["call_status"],
            status_text if status_text == call["status"] else f"{status_text} ({call['status']})",
        ),
        (L["raw_gt"], shown(call.get("gt"))),
        (L["qc_source"], L.get(f"source_{source}", shown(source))),
        (L["record"], record_text),
        (L["depth"], shown(qc.get("depth"))),
        (L["gq"], shown(qc.get("gq"))),
        (L["allele_depths"], shown(qc.get("allele_depths"))),
        (L["allele_balance"], shown(qc.get("allele_balance"))),
        (L["filter"], shown(qc.get("filter"))),
        (L["qual"], shown(qc.get("qual"))),
        (L["phased"], shown(qc.get("phased"))),
        (L["reason_codes"], ", ".join(call.get("reason_codes") or []) or L["word_none"]),
    ]


def build_view(
    assessment: Mapping[str, Any],
    lang: str,
    labels: Mapping[str, Mapping[str, str]],
    *,
    source: str | Path | None = None,
    lab: str | None = None,
) -> dict[str, Any]:
    """Every value the template prints, already in ``lang`` and formatted."""
    if lang not in LANGUAGES:
        raise ValueError(f"unsupported language {lang!r}")
    L = labels[lang]
    r = _Reader(source)
    a = assessment
    patient = r.obj(a, "patient", "")
    call = r.obj(a, "call", "")
    clinician = r.opt_obj(a, "clinician", "")
    dates = r.obj(a, "dates", "")
    overall = r.obj(a, "overall", "")
    guidance = r.obj(a, "guidance", "")
    provenance = r.obj(a, "provenance", "")

    patient_id = r.text(patient, "id", "patient")
    sample_id = r.text(a, "sample_id", "")
    reported_on = r.date(dates, "reported_on", "dates")
    if reported_on is None:
        raise r.fail("dates.reported_on", "missing (the report date must come from the input)")
    sex = patient.get("sex")
    age = patient.get("age_years")
    clinician_parts = [
        part
        for part in (
            r.opt_text(clinician, "name", "clinician"),
            r.opt_text(clinician, "organisation", "clinician"),
        )
        if part
    ]

    boxes: dict[str, dict[str, Any]] = {}
    for index, item in enumerate(r.seq(a, "contraindications", "")):
        where = f"contraindications[{index}]"
        severity = r.choice(item, "severity", where, SEVERITIES)
        box = boxes.setdefault(
            severity,
            {
                "severity": severity,
                "heading": L[
                    "contraindication_heading" if severity == "absolute" else "caution_heading"
                ],
                "items": [],
            },
        )
        text = r.local(item, "text", where, lang)
        refs = _citations(item.get("citations") or [])
        box["items"].append(f"{text} {refs}" if refs else text)
    # one box per severity, absolute (do not start) first
    contraindications = [boxes[s] for s in ("absolute", "relative") if s in boxes]

    factors = []
    raw_factors = {str(f.get("id")): f for f in r.seq(a, "factors", "") if isinstance(f, Mapping)}
    for factor_id in FACTOR_ORDER:
        item = raw_factors.get(factor_id)
        if item is None:
            raise r.fail("factors", f"no entry for {factor_id!r} (all six predictors are required)")
        where = f"factors[{factor_id}]"
        finding = r.choice(item, "finding", where, FINDINGS)
        level = r.choice(item, "evidence_level", where, EVIDENCE_LEVELS)
        value_text = item.get("value_text")
        shown_value = (
            r.local(item, "value_text", where, lang)
            if isinstance(value_text, Mapping)
            else L["value_unknown"]
        )
        factors.append(
            {
                "id": factor_id,
                "label": r.local(item, "label", where, lang),
                "value": shown_value,
                "finding": finding,
                "finding_word": L[f"finding_{finding}"],
                "symbol": FINDING_SYMBOL[finding],
                "mark_x": SCALE_X[finding],
                "evidence": L[f"evidence_{level}"],
                "refs": _citations(item.get("citations") or []),
                "explanation": (
                    r.local(item, "explanation", where, lang) if item.get("explanation") else ""
                ),
                "evidence_summary": (
                    r.local(item, "evidence_summary", where, lang)
                    if item.get("evidence_summary")
                    else ""
                ),
            }
        )

    category = r.text(overall, "category", "overall")
    confidence = r.choice(overall, "confidence", "overall", ("low", "moderate", "high"))
    guidance_rows = [
        (L[label], r.local(guidance, key, "guidance", lang))
        for key, label in (
            ("dose", "dose"),
            ("off_label_note", "off_label"),
            ("side_effects", "side_effects"),
            ("monitoring", "monitoring"),
            ("opioid_warning", "opioids"),
        )
        if guidance.get(key) is not None
    ]

    genotype = _genotype(call, r, lang, L)
    line = r.local(a, "genotype_summary", "", lang)
    if not genotype["determined"] and not line.casefold().startswith(
        L["not_determined"].casefold()
    ):
        line = f"{L['not_determined']}: {line}"
    genotype["line"] = line

    thresholds = r.opt_obj(provenance, "thresholds", "provenance")
    threshold_text = (
        ", ".join(
            f"{L.get(key, key)} {_shown_value(value, lang, L)}"
            for key, value in sorted(thresholds.items())
        )
        or EN_DASH
    )
    inputs = []
    for index, item in enumerate(r.seq(provenance, "inputs", "provenance")):
        where = f"provenance.inputs[{index}]"
        role = str(item.get("role", ""))
        inputs.append(
            {
                "role": L.get(f"role_{role}", role),
                "path": r.text(item, "path", where),
                "sha256": r.text(item, "sha256", where),
            }
        )
    mismatch = provenance.get("allow_sample_mismatch") is True
    mismatch_detail = provenance.get("sample_mismatch")
    mismatch_text = L["sample_mismatch_text"]
    if isinstance(mismatch_detail, Mapping):
        mismatch_text += " " + L["sample_mismatch_samples"].format(
            questionnaire=mismatch_detail.get("questionnaire_sample", "?"),
            call=mismatch_detail.get("call_sample", "?"),
        )
    unchecked = overall.get("unchecked_contraindications") or []
    provenance_rows = [
        (
            L["tool"],
            f"{provenance.get('tool', 'pgx-report')} {provenance.get('tool_version', '?')}"
            f" (report: pgx-report {__version__})",
        ),
        (L["kb_version"], r.text(provenance, "knowledge_base_version", "provenance")),
        (L["build"], r.text(provenance, "build", "provenance")),
        (L["thresholds"], threshold_text),
        (L["allow_sample_mismatch"], L["word_yes"] if mismatch else L["word_no"]),
    ]

    numbered: list[tuple[int, str]] = []
    for index, item in enumerate(r.seq(a, "references", "")):
        number = item.get("number")
        if not isinstance(number, int):
            raise r.fail(f"references[{index}].number", "missing or not an integer")
        ref_text = r.text(item, "text", f"references[{index}]")
        note = item.get("note")  # issue 14: the reference's note, in the report's language
        if isinstance(note, Mapping) and isinstance(note.get(lang), str):
            ref_text = f"{ref_text} {note[lang]}"
        numbered.append((number, ref_text))
    references = [{"number": number, "text": text} for number, text in sorted(numbered)]

    limitations = [
        r.local({"t": item}, "t", f"limitations[{index}]", lang)
        for index, item in enumerate(r.seq(a, "limitations", ""))
    ]

    name = r.text(patient, "name", "patient")
    title = L["title"]
    created = dt.datetime.combine(dt.date.fromisoformat(reported_on), dt.time(), dt.UTC)
    footer_id = f"{L['patient_id']} {patient_id} · {L['sample']} {sample_id}"
    birth_date = format_date(r.date(patient, "birth_date", "patient"), lang)
    running_name = f"{name} · {birth_date}" if birth_date else name
    return {
        "lang": lang,
        "L": L,
        "title": title,
        "lab": lab,
        "patient": {
            "name": name,
            "id": patient_id,
            "birth_date": birth_date or L["not_given"],
            "sex": L.get(f"sex_{sex}", L["not_given"]) if sex else L["not_given"],
            "age": f"{age} {L['years']}" if isinstance(age, int) else None,
        },
        "sample_id": sample_id,
        "clinician": ", ".join(clinician_parts) or L["not_given"],
        "questionnaire_date": format_date(r.date(dates, "completed_on", "dates"), lang)
        or L["not_given"],
        "report_date": format_date(reported_on, lang),
        "contraindications": contraindications,
        "contraindicated": category == "contraindicated" or "absolute" in boxes,
        "sample_mismatch": mismatch,
        "sample_mismatch_text": mismatch_text,
        "unchecked": (
            L["unchecked_text"].format(count=len(unchecked))
            if isinstance(unchecked, list) and unchecked
            else None
        ),
        "genotype": genotype,
        "overall": {
            "category": category,
            "label": r.local(overall, "label", "overall", lang),
            "confidence": L[f"confidence_{confidence}"],
            "rationale": r.local_list(overall, "rationale", "overall", lang),
            "notice": r.local(overall, "not_validated_notice", "overall", lang),
        },
        "guidance": guidance_rows,
        "page1": page_one(overall, lang),  # issue 14: what page 1 shows for the category
        "factors": factors,
        "scale": {
            "width": SCALE_WIDTH,
            "x1": SCALE_X["unfavourable"],
            "x2": SCALE_X["favourable"],
            "sep": (SCALE_X["favourable"] + SCALE_X["unknown"]) // 2,
        },
        "legend": _legend(L),
        "details": _details(call, r, lang, L),
        "limitations": limitations,
        "references": references,
        "provenance": provenance_rows,
        "inputs": inputs,
        "page_css": Markup(_page_css(footer_id, running_name, title, L)),
        "meta": {
            "title": f"{title} — {patient_id}",
            "author": lab or "pgx-report",
            "description": f"{L['subtitle']}. {footer_id}.",
            "keywords": "OPRM1, rs1799971, naltrexone, pharmacogenomics",
            "created": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
        "created": created,
    }


def _page_css(footer_id: str, running_name: str, title: str, L: Mapping[str, str]) -> str:
    """Margin-box texts for every page. All input text is hex-escaped (see css_string)."""
    css = (
        "@page { @bottom-left { content: "
        + css_string(footer_id)
        + "; } @bottom-right { content: "
        + css_string(L["page"] + " ")
        + " counter(page) "
        + css_string(" " + L["page_of"] + " ")
        + " counter(pages); } @top-left { content: "
        + css_string(title)
        + "; } @top-right { content: "
        + css_string(running_name)
        + "; } }\n@page :first { @top-left { content: none; } @top-right { content: none; } }\n"
    )
    assert "</" not in css  # nothing can close a <style> element
    return css


# --------------------------------------------------------------------------- rendering


def _render_template(view: Mapping[str, Any], templates: Path, *, standalone: bool) -> str:
    inline_css = Markup("")
    if standalone:  # the .html file carries its layout CSS; the PDF gets it from _engine
        inline_css = Markup(
            (templates / STYLESHEET).read_text(encoding="utf-8") + HTML_FONT_FALLBACK
        )
    try:
        template = _environment(templates).get_template(TEMPLATE_NAME)
        return template.render(view=view, inline_css=inline_css)
    except jinja2.TemplateError as exc:
        raise TemplateError(templates / TEMPLATE_NAME, f"template error: {exc}") from None


def render_html(
    assessment: Mapping[str, Any],
    lang: str,
    templates: Path,
    *,
    source: str | Path | None = None,
    lab: str | None = None,
) -> Report:
    """The report as a standalone HTML page (no PDF)."""
    view = build_view(assessment, lang, load_labels(templates), source=source, lab=lab)
    return Report(html=_render_template(view, templates, standalone=True), pdf=None, language=lang)


def _asset_fetcher_class() -> type:
    from weasyprint.urls import FatalURLFetchingError, URLFetcher, URLFetcherResponse

    class AssetFetcher(URLFetcher):  # type: ignore[misc]
        """Serves only files inside ``root`` (the templates folder); stops the render
        with :class:`FatalURLFetchingError` for any other URL."""

        def __init__(self, root: Path) -> None:
            super().__init__(allowed_protocols={"file"}, allow_redirects=False, fail_on_errors=True)
            self.root = root.resolve()
            self.refused: list[str] = []

        def fetch(self, url: str, headers: Any = None) -> Any:
            parts = urlsplit(url)
            if parts.scheme == "file" and parts.netloc in ("", "localhost"):
                path = Path(url2pathname(unquote(parts.path))).resolve()
                if path.is_file() and path.is_relative_to(self.root):
                    return URLFetcherResponse(url, path.read_bytes(), status=200)
            self.refused.append(url)
            raise FatalURLFetchingError(f"refused to fetch {url[:200]!r}: not a report asset")

    return AssetFetcher


@contextlib.contextmanager
def _no_library_search() -> Iterator[None]:
    """While WeasyPrint is imported on Linux, answer cffi's library searches with "not found".

    WeasyPrint 70 tries each shared library (GLib, Pango, HarfBuzz, fontconfig) under
    several names and loads the Linux soname (``libpango-1.0.so.0``) directly; for each
    name that fails first, cffi calls ``ctypes.util.find_library``, which runs ``ldconfig``,
    ``gcc`` and ``ld`` in subprocesses: about 50 subprocesses and 0.2-0.6 s per process
    start, only to find nothing. The libraries loaded are the same."""
    import ctypes.util

    original = ctypes.util.find_library

    def not_found(name: str) -> None:
        return None

    ctypes.util.find_library = not_found
    try:
        yield
    finally:
        ctypes.util.find_library = original


def _import_weasyprint() -> None:
    """Import WeasyPrint once per process, without the library search when it is not
    needed (see :func:`_no_library_search`); if that fails, import it the ordinary way."""
    if "weasyprint" in sys.modules or not sys.platform.startswith("linux"):
        return
    try:
        with _no_library_search(), contextlib.redirect_stdout(io.StringIO()):
            import weasyprint
    except OSError:  # a library only the search finds: forget the partial import, retry
        for name in [m for m in sys.modules if m == "weasyprint" or m.startswith("weasyprint.")]:
            del sys.modules[name]
        import weasyprint  # noqa: F401


class _CharactersUntilRegex(dict[tuple[Any, bool], "re.Pattern[str]"]):
    """tinyhtml5's cache of the regular expressions its tokenizer scans text with.

    tinyhtml5 2.x fills its cache with ``characters = cache[(characters, opposite)] =
    regex``, which assigns ``characters`` first, so the entry is stored under the
    compiled pattern and every later lookup misses: the expression is built and looked up
    in ``re``'s cache again for every run of text (about a third of the HTML parse).
    This mapping builds the same expression, with the same code, on the first lookup of
    a key and keeps it under that key, so the tokenizer finds it the next time."""

    def __missing__(self, key: tuple[Any, bool]) -> re.Pattern[str]:
        characters, opposite = key
        regex = "".join([f"\\x{ord(character):02x}" for character in characters])
        if not opposite:
            regex = f"^{regex}"
        pattern = self[key] = re.compile(f"[{regex}]+")
        return pattern


@functools.cache
def _repair_html_parser_cache() -> None:
    """Install :class:`_CharactersUntilRegex` in tinyhtml5 (WeasyPrint's HTML parser),
    once per process; a tinyhtml5 without that cache is left alone."""
    try:
        from tinyhtml5 import inputstream  # type: ignore[import-untyped]
    except ImportError:
        return
    if type(getattr(inputstream, "characters_until_regex", None)) is dict:
        inputstream.characters_until_regex = _CharactersUntilRegex()


@dataclass
class _Engine:
    """Per-templates-folder WeasyPrint state reused between renders in one process
    (parsed stylesheets and the font configuration that loaded the bundled fonts)."""

    fetcher: Any
    font_config: FontConfiguration
    stylesheets: list[Any]


@functools.lru_cache(maxsize=4)
def _fetcher(templates: Path) -> Any:
    _import_weasyprint()
    return _asset_fetcher_class()(templates)


def _engine(templates: Path, cjk: bool = False) -> _Engine:
    """The engine whose fonts are the DejaVu faces, plus the CJK font if ``cjk``.

    Built once per process and reused while no file in the templates folder changes
    (every file's stamp is part of the key, see :func:`_stamp`): a changed stylesheet
    or font gives a new engine, never a stale one."""
    return _engine_for(templates, cjk, _folder_stamp(templates))


@functools.lru_cache(maxsize=8)
def _engine_for(templates: Path, cjk: bool, stamp: tuple[tuple[str, Stamp], ...]) -> _Engine:
    _import_weasyprint()
    from weasyprint import CSS
    from weasyprint.text.fonts import FontConfiguration

    fetcher = _fetcher(templates)
    font_config = FontConfiguration()
    names = (FONTS_STYLESHEET, *((CJK_FONTS_STYLESHEET,) if cjk else ()), STYLESHEET)
    stylesheets = [
        CSS(filename=str(templates / name), url_fetcher=fetcher, font_config=font_config)
        for name in names
    ]
    return _Engine(fetcher, font_config, stylesheets)


# Drop the cached engines while the interpreter is still whole: WeasyPrint's
# FontConfiguration.__del__ needs modules that are gone during interpreter teardown
# (it then prints "Exception ignored in ... __del__" on stderr at exit).
atexit.register(_engine_for.cache_clear)


def _font_coverage(font: Path) -> frozenset[int]:
    """The code points ``font`` has a glyph for (read once per file version)."""
    return _font_coverage_of(font, _stamp(font))


@functools.lru_cache(maxsize=8)
def _font_coverage_of(font: Path, stamp: Stamp) -> frozenset[int]:
    from fontTools.ttLib import TTFont  # type: ignore[import-untyped]

    return frozenset(TTFont(font, lazy=True).getBestCmap())


def _drawn_chars(*values: Any) -> set[str]:
    """The characters a font must draw: every string in ``values`` (nested mappings and
    sequences included), without white space and control/format characters."""
    chars: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, str):
            chars.update(value)
        elif isinstance(value, Mapping):
            for item in value.values():
                walk(item)
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item)

    walk(values)
    return {c for c in chars if not c.isspace() and unicodedata.category(c) not in ("Cc", "Cf")}


def _bundled_fonts(templates: Path) -> list[Path]:
    return sorted((templates / "fonts").glob("*.ttf"))  # DejaVu first, CJK last


def _uncovered(chars: set[str], fonts: Sequence[Path]) -> set[str]:
    """The characters none of ``fonts`` has a glyph for."""
    todo = set(chars)
    for font in fonts:
        if not todo:
            break
        covered = _font_coverage(font)
        todo = {c for c in todo if ord(c) not in covered}
    return todo


def missing_glyphs(view: Any, templates: Path) -> list[str]:
    """Characters of the report that no bundled font can draw (Pango would take them
    from a system font, or print a box). Empty for every language the fonts cover."""
    return sorted(_uncovered(_drawn_chars(view), _bundled_fonts(templates)))


def needs_cjk_font(chars: set[str], templates: Path) -> bool:
    """Whether the CJK font can be asked for a glyph: some character is missing from one
    of the other faces (regular or bold) and the CJK font has it. Otherwise Pango never
    reaches it in the font list ("PGX Sans", "PGX CJK"), so leaving it out changes nothing
    in the PDF and saves loading the 3.4 MB font."""
    others = [font for font in _bundled_fonts(templates) if font.name != CJK_FONT]
    lacking = set().union(*(_uncovered(chars, [font]) for font in others))
    cjk = templates / "fonts" / CJK_FONT
    return bool(lacking) and cjk.is_file() and len(_uncovered(lacking, [cjk])) < len(lacking)


@contextlib.contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while WeasyPrint lays out a report.

    A render allocates hundreds of thousands of short-lived objects; the collector's
    repeated passes over them cost about a tenth of the render time. Nothing is leaked:
    reference counting frees most objects at once, and the collector, turned back on
    afterwards, reclaims the cycles on its next pass."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


_ONCE_CLASSES: dict[Any, type] = {}


def _once_stream_class(cls: Any) -> type:
    """A subclass of the PDF stream class ``cls`` whose ``data`` (the compressed bytes)
    is computed once and then reused."""
    once = _ONCE_CLASSES.get(cls)
    if once is None:
        compute = cls.data.fget

        def data(self: Any) -> bytes:
            cached: bytes | None = self.__dict__.get("_pgx_data")
            if cached is None:
                cached = self.__dict__["_pgx_data"] = compute(self)
            return cached

        once = type(f"Once{cls.__name__}", (cls,), {"data": property(data), "__module__": __name__})
        _ONCE_CLASSES[cls] = once
    return once


def _compress_streams_once(document: Any, pdf: Any) -> None:
    """WeasyPrint finisher, called when the PDF is complete, just before it is written.

    pydyf compresses a stream (zlib level 9) each time its ``data`` is asked for, and a
    PDF with a file identifier (PDF/A) asks twice: once to write the object and once
    for the MD5 of all objects that becomes the identifier. Nothing changes a stream
    between the two, so its first result is kept: the same bytes, half the compression
    time (about 10 ms of a report)."""
    import pydyf  # type: ignore[import-untyped]

    if not isinstance(getattr(pydyf.Stream, "data", None), property):
        return  # another pydyf: leave its streams alone
    for obj in pdf.objects:
        if isinstance(obj, pydyf.Stream) and hasattr(obj, "__dict__"):
            obj.__class__ = _once_stream_class(type(obj))


@contextlib.contextmanager
def _source_date_epoch(moment: dt.datetime) -> Iterator[None]:
    """Set SOURCE_DATE_EPOCH (read by fontTools when it stamps subset fonts)."""
    previous = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = str(int(moment.timestamp()))
    try:
        yield
    finally:
        if previous is None:
            del os.environ["SOURCE_DATE_EPOCH"]
        else:
            os.environ["SOURCE_DATE_EPOCH"] = previous


def render_pdf(
    assessment: Mapping[str, Any],
    source_bytes: bytes,
    lang: str,
    templates: Path,
    *,
    source: str | Path | None = None,
    lab: str | None = None,
) -> Report:
    """The report as PDF/A-3b bytes, with ``source_bytes`` (the assessment JSON)
    embedded as an associated file (relationship ``Data``)."""
    _import_weasyprint()
    _repair_html_parser_cache()
    from weasyprint import HTML, Attachment
    from weasyprint.urls import FatalURLFetchingError

    view = build_view(assessment, lang, load_labels(templates), source=source, lab=lab)
    page_html = _render_template(view, templates, standalone=False)
    chars = _drawn_chars(view, page_html)
    missing = sorted(_uncovered(chars, _bundled_fonts(templates)))
    if missing:
        log.warning(
            "%s: no bundled font has a glyph for %s; the PDF may show them in a system "
            "font or as boxes",
            source or "report",
            ", ".join(f"{c!r} (U+{ord(c):04X})" for c in missing),
        )
    engine = _engine(templates, needs_cjk_font(chars, templates))
    created: dt.datetime = view["created"]
    naive = created.replace(tzinfo=None)
    attachment = Attachment(
        file_obj=io.BytesIO(source_bytes),
        url_fetcher=engine.fetcher,
        name=ATTACHMENT_NAME,
        description="pgx-report assessment (machine-readable copy of this report)",
        created=naive,
        modified=naive,
        relationship="Data",
    )
    try:
        with _source_date_epoch(created), _cyclic_gc_paused():
            document = HTML(
                string=page_html,
                base_url=templates.as_uri() + "/",
                url_fetcher=engine.fetcher,
            )
            pdf = document.write_pdf(
                finisher=_compress_streams_once,
                stylesheets=engine.stylesheets,
                font_config=engine.font_config,
                attachments=[attachment],
                pdf_variant=PDF_VARIANT,
                uncompressed_pdf=False,
            )
    except FatalURLFetchingError as exc:
        raise TemplateError(
            templates, f"the report asked for a forbidden resource: {exc}"
        ) from None
    return Report(html=_render_template(view, templates, standalone=True), pdf=pdf, language=lang)
