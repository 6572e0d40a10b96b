"""The report's view model: every value the template prints, built from a typed Assessment.

The assessment (``docs/contracts.md``) already holds every clinical text in English and
Norwegian; this module only picks a language, formats dates and numbers the way that
language writes them, and orders what the page shows. The Jinja2 templates in
``templates/`` only loop and print (see :mod:`pgx_report.outputs.report.pdf`).

The assessment is read once, by :mod:`pgx_report.contracts.assessment` (the one version
rule, then the published schema); the view builder works on the :class:`Assessment`
dataclass. Only the embedded call is an open mapping in that contract, so the two call
fields the page needs beyond the schema's (``reason_codes``, ``variant``) are checked here,
with the JSON path in the message.

Texts that go into the page's margin boxes are written as fully hex-escaped CSS strings
(:func:`css_string`), so no input can end the string.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from markupsafe import Markup

from pgx_report import __version__
from pgx_report.clinical.knowledge import FACTOR_IDS, FINDINGS
from pgx_report.contracts.assessment import (
    Assessment,
    ContraindicationResult,
    FactorResult,
    as_assessment,
    input_digest,
)
from pgx_report.contracts.call import Call
from pgx_report.contracts.lab import LabProfile
from pgx_report.contracts.languages import DEFAULT_LANGUAGE, LANGUAGES
from pgx_report.contracts.report import ReportInfo, Request
from pgx_report.errors import InputError
from pgx_report.outputs.report.page_one import page_one

FACTOR_ORDER = FACTOR_IDS  # the contract's fixed order of the six predictors
EN_DASH = "\u2013"  # ranges ("13-15") and the "no value" mark, as typeset
# One glyph per finding, printed before the word: the shape carries the meaning,
# so the report reads the same in greyscale.
FINDING_SYMBOL: Mapping[str, str] = {
    "favourable": "▲",
    "neutral": "●",
    "unfavourable": "▼",
    "unknown": "?",
}
# Geometry of the per-factor mini scale (inline SVG, CSS px): the marker's position
# (against / neutral / for) and its shape both show the finding; an unknown value is
# an open square with "?" off the scale.
SCALE_WIDTH = 76
SCALE_X: Mapping[str, int] = {"unfavourable": 7, "neutral": 28, "favourable": 49, "unknown": 68}
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
_GUIDANCE_ROWS = (  # (assessment key, label key), in the page's order
    ("dose", "dose"),
    ("off_label_note", "off_label"),
    ("side_effects", "side_effects"),
    ("monitoring", "monitoring"),
    ("opioid_warning", "opioids"),
)

Labels = Mapping[str, str]  # the fixed page labels of one language


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
            parts.extend(str(number) for number in ordered[index : end + 1])
        index = end + 1
    return "[" + ", ".join(parts) + "]" if parts else ""


def _shown_value(value: Any, lang: str, labels: Labels) -> str:
    """A raw value from the call or provenance, in the language's conventions."""
    if value is None or value == [] or value == "":
        return EN_DASH
    if isinstance(value, bool):
        return labels["word_yes"] if value else labels["word_no"]
    if isinstance(value, float):
        return format_number(value, lang)
    if isinstance(value, list):
        return ", ".join(_shown_value(item, lang, labels) for item in value)
    return str(value)


# --------------------------------------------------------------------------- the assessment


def choose_language(
    requested: str | None, assessment: Assessment | Mapping[str, Any] | None = None
) -> str:
    """``--lang``, else the assessment's (questionnaire's) language, else English."""
    if isinstance(assessment, Assessment):
        in_file: Any = assessment.language
    else:
        in_file = (assessment or {}).get("language")
    for candidate in (requested, in_file):
        if candidate in LANGUAGES:
            return str(candidate)
    return DEFAULT_LANGUAGE


# --------------------------------------------------------------------------- page sections


def _legend(labels: Labels) -> str:
    return " · ".join(
        f"{FINDING_SYMBOL[finding]} {labels['finding_' + finding]}" for finding in FINDINGS
    )


def _genotype(assessment: Assessment, lang: str, labels: Labels) -> dict[str, Any]:
    call = assessment.call
    status = call.status.value
    codes = list(call.reason_codes)
    sentences = list(call.reasons)
    reasons = []
    for index, code in enumerate(codes):
        text = labels.get(f"reason_{code}")
        if text is None:  # a code this report version has no words for: the call's sentence
            text = sentences[index] if index < len(sentences) else code
        reasons.append(f"{text} ({code})")
    line = assessment.genotype_summary.get(lang)
    determined = status == "called" and call.genotype in ("A/A", "A/G", "G/G")
    if not determined and not line.casefold().startswith(labels["not_determined"].casefold()):
        line = f"{labels['not_determined']}: {line}"
    return {
        "determined": determined,
        "status": status,
        "status_text": labels[f"status_{status}"],
        "reasons": reasons,
        "line": line,
    }


def _record_text(record: Any, shown: Any) -> str:
    """The VCF record behind the call, ``chrom:pos[-end] REF x ALT y``."""
    if not isinstance(record, Mapping):
        return EN_DASH
    alts = record.get("alt")
    alt_text = ",".join(str(alt) for alt in alts) if isinstance(alts, list) else shown(alts)
    span = f"{record.get('pos')}"
    if record.get("end") not in (None, record.get("pos")):
        span += f"{EN_DASH}{record.get('end')}"
    return f"{record.get('chrom')}:{span} REF {record.get('ref')} ALT {alt_text}"


def _well_text(well: Mapping[str, Any], shown: Any) -> str:
    rn = f"{shown(well.get('allele1_delta_rn'))}/{shown(well.get('allele2_delta_rn'))}"
    ct = f"{shown(well.get('allele1_ct'))}/{shown(well.get('allele2_ct'))}"
    return f"{well.get('position')}: {well.get('call')}, {shown(well.get('quality'))}, {rn}, {ct}"


def _controls_text(assay: Mapping[str, Any], labels: Labels) -> str:
    controls = assay.get("controls") or {}
    parts = [f"NTC {n.get('position')}: {n.get('call')}" for n in controls.get("ntc") or []]
    for item in controls.get("positive") or []:
        name = item.get("task") if item.get("task") != "UNKNOWN" else item.get("sample")
        verdict = labels["controls_passed" if item.get("passed") else "controls_failed"]
        seen = item.get("observed") or item.get("call")
        parts.append(f"{name} {item.get('position')}: {seen} ({verdict})")
    verdict = labels["controls_passed" if controls.get("passed") else "controls_failed"]
    return f"{verdict}: " + "; ".join(parts) if parts else verdict


def _assay_details(call: Call, labels: Labels, shown: Any) -> list[tuple[str, str]]:
    """A targeted assay call: the assay, its wells and the plate's controls instead of a
    VCF record (docs/targeted.md)."""
    qc, provenance = call.qc, call.provenance
    instrument = provenance.get("instrument") or {}
    assays = [a for a in qc.get("assays") or [] if isinstance(a, Mapping)]
    assay_text = "; ".join(
        f"{a.get('name')} ({', '.join(f'{k} = {v}' for k, v in sorted(a['alleles'].items()))})"
        for a in assays
        if isinstance(a.get("alleles"), Mapping)
    )
    wells = [w for w in qc.get("wells") or [] if isinstance(w, Mapping)]
    return [
        (labels["method"], labels["method_targeted_assay"]),
        (
            labels["instrument"],
            f"{shown(instrument.get('type'))}, {shown(provenance.get('run_end_time'))}",
        ),
        (labels["assay"], assay_text or EN_DASH),
        (labels["wells"], "; ".join(_well_text(w, shown) for w in wells) or EN_DASH),
        (labels["plate_controls"], "; ".join(_controls_text(a, labels) for a in assays) or EN_DASH),
    ]


def _details(call: Call, lang: str, labels: Labels) -> list[tuple[str, str]]:
    variant, qc = call.variant, call.qc

    def shown(value: Any) -> str:
        return _shown_value(value, lang, labels)

    status = call.status.value
    status_text = labels[f"status_{status}"]
    qc_source = qc.get("source")
    if qc_source == "targeted_assay":
        return [
            (
                labels["variant"],
                f"{variant.get('gene')} {variant.get('rsid')}, "
                f"{variant.get('hgvs_c')} ({variant.get('hgvs_p')})",
            ),
            (
                labels["call_status"],
                status_text if status_text == status else f"{status_text} ({status})",
            ),
            (labels["raw_gt"], shown(call.gt)),
            *_assay_details(call, labels, shown),
            (labels["reason_codes"], ", ".join(call.reason_codes) or labels["word_none"]),
        ]
    return [
        (
            labels["variant"],
            f"{variant.get('gene')} {variant.get('rsid')}, "
            f"{variant.get('hgvs_c')} ({variant.get('hgvs_p')})",
        ),
        (labels["build"], shown(variant.get("build"))),
        (labels["position"], f"{variant.get('chrom')}:{variant.get('pos')}"),
        (labels["ref_alt"], f"{variant.get('ref')} / {variant.get('alt')}"),
        (
            labels["call_status"],
            status_text if status_text == status else f"{status_text} ({status})",
        ),
        (labels["raw_gt"], shown(call.gt)),
        (labels["qc_source"], labels.get(f"source_{qc_source}", shown(qc_source))),
        (labels["record"], _record_text(qc.get("record"), shown)),
        (labels["depth"], shown(qc.get("depth"))),
        (labels["gq"], shown(qc.get("gq"))),
        (labels["allele_depths"], shown(qc.get("allele_depths"))),
        (labels["allele_balance"], shown(qc.get("allele_balance"))),
        (labels["filter"], shown(qc.get("filter"))),
        (labels["qual"], shown(qc.get("qual"))),
        (labels["phased"], shown(qc.get("phased"))),
        (labels["reason_codes"], ", ".join(call.reason_codes) or labels["word_none"]),
    ]


def _contraindication_boxes(
    items: Sequence[ContraindicationResult], lang: str, labels: Labels
) -> dict[str, dict[str, Any]]:
    """One box per severity present, by severity, each with its sentences."""
    boxes: dict[str, dict[str, Any]] = {}
    for item in items:
        heading = "contraindication_heading" if item.severity == "absolute" else "caution_heading"
        box = boxes.setdefault(
            item.severity, {"severity": item.severity, "heading": labels[heading], "items": []}
        )
        text = item.text.get(lang)
        refs = _citations(item.citations)
        box["items"].append(f"{text} {refs}" if refs else text)
    return boxes


def _factor_row(item: FactorResult, lang: str, labels: Labels) -> dict[str, Any]:
    return {
        "id": item.id,
        "label": item.label.get(lang),
        "value": item.value_text.get(lang),
        "finding": item.finding,
        "finding_word": labels[f"finding_{item.finding}"],
        "symbol": FINDING_SYMBOL[item.finding],
        "mark_x": SCALE_X[item.finding],
        "evidence": labels[f"evidence_{item.evidence_level}"],
        "refs": _citations(item.citations),
        "explanation": item.explanation.get(lang),
        "evidence_summary": item.evidence_summary.get(lang),
    }


def _factors(
    assessment: Assessment, lang: str, labels: Labels, source: str | Path | None
) -> list[dict[str, Any]]:
    """The six predictors in the contract's order (each one required)."""
    by_id = {item.id: item for item in assessment.factors}
    rows = []
    for factor_id in FACTOR_ORDER:
        item = by_id.get(factor_id)
        if item is None:
            raise InputError(
                source, f"$.factors: no entry for {factor_id!r} (all six predictors are required)"
            )
        rows.append(_factor_row(item, lang, labels))
    return rows


def _mismatch_text(provenance: Mapping[str, Any], labels: Labels) -> str:
    text = labels["sample_mismatch_text"]
    detail = provenance.get("sample_mismatch")
    if isinstance(detail, Mapping):
        text += " " + labels["sample_mismatch_samples"].format(
            questionnaire=detail.get("questionnaire_sample", "?"),
            call=detail.get("call_sample", "?"),
        )
    return text


def _provenance_rows(
    provenance: Mapping[str, Any], lang: str, labels: Labels, source: str | Path | None
) -> list[tuple[str, str]]:
    build = provenance.get("build")
    if not isinstance(build, str) or not build:
        raise InputError(source, "$.provenance.build: missing (the report names the genome build)")
    thresholds = provenance.get("thresholds") or {}
    threshold_text = (
        ", ".join(
            f"{labels.get(key, key)} {_shown_value(value, lang, labels)}"
            for key, value in sorted(thresholds.items())
        )
        or EN_DASH
    )
    mismatch = provenance.get("allow_sample_mismatch") is True
    return [
        (
            labels["tool"],
            f"{provenance.get('tool', 'pgx-report')} {provenance.get('tool_version', '?')}"
            f" (report: pgx-report {__version__})",
        ),
        (labels["kb_version"], str(provenance["knowledge_base_version"])),
        (labels["build"], build),
        (labels["thresholds"], threshold_text),
        (labels["allow_sample_mismatch"], labels["word_yes"] if mismatch else labels["word_no"]),
    ]


def _inputs(provenance: Mapping[str, Any], labels: Labels) -> list[dict[str, Any]]:
    rows = []
    for item in provenance["inputs"]:
        role = str(item.get("role", ""))
        scheme, value = input_digest(item)
        rows.append(
            {
                "role": labels.get(f"role_{role}", role),
                "path": str(item["path"]),
                "sha256": value,
                "region": scheme != "sha256",
            }
        )
    return rows


def lab_contact_line(lab: LabProfile, labels: Labels) -> str:
    """The laboratory's address and contact on one line (page 1's top margin)."""
    phone = f"{labels['lab_phone']} {lab.phone}"
    return " · ".join([", ".join(lab.address), phone, f"{labels['lab_email']} {lab.email}"])


def lab_view(lab: LabProfile | None, lang: str, labels: Labels) -> dict[str, Any] | None:
    """The laboratory as printed (header and the "Laboratory and method" section), in
    ``lang``; None without a profile (the page then says it is not configured)."""
    if lab is None:
        return None
    phone = f"{labels['lab_phone']} {lab.phone}"
    email = f"{labels['lab_email']} {lab.email}"
    contact = f"{phone} · {email}"
    address = ", ".join(lab.address)
    return {
        "name": lab.name,
        "address": address,
        "rows": [
            (labels["lab_laboratory"], f"{lab.name}, {address}"),
            (labels["lab_contact"], contact),
            (labels["lab_accreditation"], lab.accreditation.get(lang)),
            (labels["lab_director"], f"{lab.director.name}, {lab.director.role.get(lang)}"),
            (
                labels["lab_test"],
                f"{lab.test_name.get(lang)} ({labels['lab_test_code']} {lab.test_code})",
            ),
            (labels["lab_method"], lab.method.get(lang)),
            (labels["lab_performance"], lab.performance.get(lang)),
        ],
        "limitations": [item.get(lang) for item in lab.limitations],
        "input": {
            "role": labels["role_lab_profile"],
            "path": f"{lab.path.name} ({lab.name})",
            "sha256": lab.sha256,
            "region": False,  # the SHA-256 of the whole file
        },
    }


def request_view(request: Request | None, lang: str, labels: Labels) -> dict[str, Any] | None:
    """The request and specimen as printed on page 1 (dates in the language's form);
    None when the report has none. ``specimen`` / ``order``: whether each row shows."""
    if not request:
        return None

    def shown(value: str | None) -> str:
        return labels["not_given"] if value is None else value

    return {
        "specimen": any(
            (request.specimen_type, request.specimen_id, request.collected, request.received)
        ),
        "order": bool(request.requested_by or request.indication),
        "specimen_type": shown(request.specimen_type),
        "specimen_id": shown(request.specimen_id),
        "collected": format_date(request.collected, lang) or labels["not_given"],
        "received": format_date(request.received, lang) or labels["not_given"],
        "requested_by": shown(request.requested_by),
        "indication": shown(request.indication),
    }


RUNNING_NAME_MAX = 80


def _page_css(
    footer_id: str,
    running_name: str,
    title: str,
    status: str,
    labels: Labels,
    first_left: str | None = None,
) -> str:
    """Margin-box texts for every page: the status word stands in the header of every
    page, page 1 included; page 1's top left holds ``first_left`` (the laboratory's
    address and contact), where later pages have the title. All input text is
    hex-escaped (see css_string)."""
    css = (
        "@page { @bottom-left { content: "
        + css_string(footer_id)
        + "; } @bottom-right { content: "
        + css_string(labels["page"] + " ")
        + " counter(page) "
        + css_string(" " + labels["page_of"] + " ")
        + " counter(pages); } @top-left { content: "
        + css_string(title)
        + "; } @top-center { content: "
        + css_string(status)
        + "; } @top-right { content: "
        + css_string(running_name)
        + "; } }\n@page :first { @top-left { content: "
        + ("none" if first_left is None else css_string(first_left))
        + "; } @top-right { content: none; } }\n"
    )
    assert "</" not in css  # nothing can close a <style> element
    return css


def format_moment(iso: str | None) -> str | None:
    """A release time as printed: ``2025-11-21 09:30 +01:00`` (the offset as given)."""
    if iso is None:
        return None
    when = dt.datetime.fromisoformat(iso)
    offset = "UTC" if iso.endswith("Z") else when.strftime("%z")
    if offset != "UTC":
        offset = offset[:3] + ":" + offset[3:]
    return when.strftime("%Y-%m-%d %H:%M") + " " + offset


BANNER_CHANGES = 4  # changes listed in page 1's amendment banner


def report_view(report: ReportInfo, labels: Labels) -> dict[str, Any]:
    """The report's identity and status as printed: the status word (capitals, in the
    report's language), id and version, the release, and what an amendment replaces."""
    replaces = report.replaces
    replaces_text = None
    if replaces is not None and report.status in ("amended", "corrected"):
        replaces_text = labels["replaces_text"].format(
            version=replaces.version,
            date=format_moment(replaces.date) or labels["not_given"],
            sha256=replaces.sha256,
        )
    return {
        "id": report.report_id,
        "version": report.version,
        "status": report.status,
        "word": labels[f"status_{report.status}"],
        "released": report.released,
        "reviewer": report.reviewer,
        "released_at": format_moment(report.released_at),
        "replaces_text": replaces_text,
        "previous_sha256": None if replaces is None else replaces.sha256,
        "reason": report.reason,
        "changes": list(report.changes),
        # page 1's banner lists the first few; the sign-off section lists them all, so a
        # long list never pushes the summary off page 1
        "changes_shown": list(report.changes[:BANNER_CHANGES]),
        "changes_more": labels["more_changes"].format(count=len(report.changes) - BANNER_CHANGES)
        if len(report.changes) > BANNER_CHANGES
        else None,
        "override": None
        if report.override is None
        else labels["override_text"].format(reason=report.override),
    }


def _patient(assessment: Assessment, lang: str, labels: Labels) -> dict[str, Any]:
    patient = assessment.patient
    sex = patient.get("sex")
    age = patient.get("age_years")
    return {
        "name": str(patient["name"]),
        "id": str(patient["id"]),
        "birth_date": format_date(patient.get("birth_date"), lang) or labels["not_given"],
        "sex": labels.get(f"sex_{sex}", labels["not_given"]) if sex else labels["not_given"],
        "age": f"{age} {labels['years']}" if isinstance(age, int) else None,
    }


def _clinician(assessment: Assessment, labels: Labels) -> str:
    clinician = assessment.clinician or {}
    parts = [clinician.get("name"), clinician.get("organisation")]
    return ", ".join(str(part) for part in parts if part) or labels["not_given"]


def _overall(assessment: Assessment, lang: str, labels: Labels) -> dict[str, Any]:
    overall = assessment.overall
    return {
        "category": overall.category,
        "label": overall.label.get(lang),
        "confidence": labels[f"confidence_{overall.confidence}"],
        "rationale": [sentence.get(lang) for sentence in overall.rationale],
        "notice": overall.not_validated_notice.get(lang),
    }


def _header_and_meta(
    assessment: Assessment,
    lang: str,
    labels: Labels,
    lab: LabProfile | None,
    reported_on: str,
    report: dict[str, Any],
) -> dict[str, Any]:
    """The page's running texts (margin boxes) and the PDF's metadata."""
    patient = assessment.patient
    patient_id = str(patient["id"])
    name = str(patient["name"])
    title = labels["title"]
    created = dt.datetime.combine(dt.date.fromisoformat(reported_on), dt.time(), dt.UTC)
    footer_id = f"{labels['patient_id']} {patient_id} · {labels['sample']} {assessment.sample_id}"
    footer = (
        f"{footer_id} · {labels['report_id']} {report['id']} · "
        f"{labels['report_version']} {report['version']} · {report['word']}"
    )
    birth_date = format_date(patient.get("birth_date"), lang)
    first_left = (
        labels["lab_not_configured_short"] if lab is None else lab_contact_line(lab, labels)
    )
    # The running header shortens a very long name (page 1 prints it in full); the
    # footer's ids are never shortened: they wrap inside their margin box.
    shown = name if len(name) <= RUNNING_NAME_MAX else name[: RUNNING_NAME_MAX - 1] + "…"
    running_name = f"{shown} · {birth_date}" if birth_date else shown
    return {
        "title": title,
        "page_css": Markup(
            _page_css(footer, running_name, title, report["word"], labels, first_left)
        ),
        "meta": {
            "title": f"{title} — {patient_id}",
            "author": lab.name if lab is not None else "pgx-report",
            "description": f"{labels['subtitle']}. {footer_id}.",
            "keywords": "OPRM1, rs1799971, naltrexone, pharmacogenomics",
            "created": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
        "created": created,
    }


# --------------------------------------------------------------------------- the view


def _references(typed: Assessment, lang: str) -> list[dict[str, Any]]:
    """The numbered references, each with its note in the report's language."""
    numbered: list[tuple[int, str]] = []
    for item in typed.references:
        text = str(item["text"])
        note = item.get("note")
        if isinstance(note, Mapping) and isinstance(note.get(lang), str):
            text = f"{text} {note[lang]}"
        numbered.append((int(item["number"]), text))
    return [{"number": number, "text": text} for number, text in sorted(numbered)]


def build_view(
    assessment: Assessment | Mapping[str, Any],
    lang: str,
    labels: Mapping[str, Mapping[str, str]],
    *,
    source: str | Path | None = None,
    lab: LabProfile | None = None,
    report: ReportInfo | None = None,
) -> dict[str, Any]:
    """Every value the template prints, already in ``lang`` and formatted.

    ``report`` is the report's identity and status; without it, the report is
    preliminary version 1 (its id from the assessment, see :mod:`contracts.report`).
    ``lab`` is the laboratory's profile (None: the page says it is not configured).

    ``assessment`` is the typed :class:`Assessment`; its JSON form (a mapping) is read
    through the contract first (:func:`as_assessment`). ``source`` names the file in
    error messages."""
    if lang not in LANGUAGES:
        raise ValueError(f"unsupported language {lang!r}")
    typed = as_assessment(assessment, source)
    words = labels[lang]
    reported_on = typed.dates.get("reported_on")
    if not reported_on:
        raise InputError(
            source, "$.dates.reported_on: missing (the report date must come from the input)"
        )
    boxes = _contraindication_boxes(typed.contraindications, lang, words)
    unchecked = typed.overall.unchecked_contraindications
    provenance = typed.provenance
    view: dict[str, Any] = {
        "lang": lang,
        "L": words,
        "lab": lab_view(lab, lang, words),
        "patient": _patient(typed, lang, words),
        "sample_id": typed.sample_id,
        "clinician": _clinician(typed, words),
        "questionnaire_date": format_date(typed.dates.get("completed_on"), lang)
        or words["not_given"],
        "report_date": format_date(reported_on, lang),
        # one box per severity, absolute (do not start) first
        "contraindications": [boxes[kind] for kind in ("absolute", "relative") if kind in boxes],
        "contraindicated": typed.overall.category == "contraindicated" or "absolute" in boxes,
        "sample_mismatch": provenance.get("allow_sample_mismatch") is True,
        "sample_mismatch_text": _mismatch_text(provenance, words),
        "unchecked": words["unchecked_text"].format(count=len(unchecked)) if unchecked else None,
        "genotype": _genotype(typed, lang, words),
        "overall": _overall(typed, lang, words),
        "guidance": [
            (words[label], typed.guidance[key].get(lang))
            for key, label in _GUIDANCE_ROWS
            if key in typed.guidance
        ],
        "factors": _factors(typed, lang, words, source),
        "scale": {
            "width": SCALE_WIDTH,
            "x1": SCALE_X["unfavourable"],
            "x2": SCALE_X["favourable"],
            "sep": (SCALE_X["favourable"] + SCALE_X["unknown"]) // 2,
        },
        "legend": _legend(words),
        "details": _details(typed.call, lang, words),
        "limitations": [item.get(lang) for item in typed.limitations],
        "references": _references(typed, lang),
        "page1": page_one(typed.overall.to_dict(), lang),
        "provenance": _provenance_rows(provenance, lang, words, source),
        "inputs": _inputs(provenance, words),
    }
    if view["lab"] is not None:  # the profile is an input of the report: its SHA-256
        view["inputs"].append(view["lab"]["input"])
    if report is None:
        from pgx_report.contracts.report import report_id_for

        report = ReportInfo(report_id_for(typed), 1, "preliminary", lang, "0" * 64)
    view["report"] = report_view(report, words)
    view["request"] = request_view(report.request, lang, words)
    view.update(_header_and_meta(typed, lang, words, lab, reported_on, view["report"]))
    return view
