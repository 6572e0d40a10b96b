"""The FHIR R4 Bundle of one assessment: the entry point of the FHIR export."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pgx_report.contracts.assessment import Assessment, as_assessment
from pgx_report.contracts.report import ReportInfo
from pgx_report.outputs.fhir import resources, study
from pgx_report.outputs.fhir.codes import FhirCodes, Json, load_codes
from pgx_report.outputs.fhir.context import Context, bundle_context


def _entries(ctx: Context) -> list[tuple[str, Json]]:
    """Every resource, keyed by what its id derives from, in the bundle's order."""
    variant = resources.variant(ctx)
    genotype = resources.genotype(ctx)
    implication = resources.therapeutic_implication(ctx)
    results = ["Observation/variant"]
    if genotype is not None:
        results.append("Observation/genotype")
    results.append("Observation/therapeutic-implication")
    issues = resources.detected_issues(ctx)
    report = resources.report(ctx, results)
    report.setdefault("extension", []).append(study.report_extension(ctx))
    entries: list[tuple[str, Json]] = [
        ("DiagnosticReport", report),
        ("Patient", resources.patient(ctx)),
        ("Specimen", resources.specimen(ctx)),
        ("Observation/variant", variant),
    ]
    lab = resources.organization(ctx)
    if lab is not None:  # the performing laboratory (DiagnosticReport.performer)
        entries.insert(3, ("Organization", lab))
    order = resources.service_request(ctx)
    if order is not None:  # the request (DiagnosticReport.basedOn, Specimen.request)
        entries.insert(3, ("ServiceRequest", order))
    if genotype is not None:
        entries.append(("Observation/genotype", genotype))
    entries.append(("Observation/therapeutic-implication", implication))
    entries.extend(issues)
    entries.extend(study.entries(ctx))
    entries.append(("Device", resources.device(ctx)))
    targets = ["DiagnosticReport", *results, *(key for key, _ in issues)]
    entries.append(("Provenance", resources.provenance(ctx, targets)))
    if ctx.report.released:
        entries.append(("Provenance/release", resources.release_provenance(ctx)))
    return entries


def build_bundle(
    assessment: Assessment | Mapping[str, Any],
    pdf: bytes | None = None,
    *,
    source: str | Path | None = None,
    codes: FhirCodes | None = None,
    report: ReportInfo | None = None,
) -> Json:
    """The FHIR R4 Bundle (a plain dict, ready for canonical JSON) of one assessment.

    ``assessment`` is the typed :class:`Assessment`; its JSON form (a mapping) is read
    through the contract first (the one version rule, then the schema). ``pdf`` is the
    rendered report, attached to the DiagnosticReport when given. ``source`` names the
    assessment file in error messages. ``report`` is the report's identity and status
    (``DiagnosticReport.status`` and ``identifier``; a released report adds the
    Provenance of its release, linking what it replaces); without it, preliminary.
    """
    typed = as_assessment(assessment, source)
    ctx = bundle_context(typed, codes or load_codes(), pdf, source, report)
    entries = _entries(ctx)
    bundle_key = "Bundle"
    if pdf is not None:
        bundle_key += ":" + hashlib.sha256(pdf).hexdigest()
    return {
        "resourceType": "Bundle",
        "id": ctx.ids.id(bundle_key),
        "identifier": {"system": ctx.codes.system("uri"), "value": ctx.ids.url(bundle_key)},
        "type": "collection",
        "entry": [{"fullUrl": ctx.ids.url(key), "resource": resource} for key, resource in entries],
    }
