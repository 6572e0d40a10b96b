"""``pgx-report fhir``: write the HL7 FHIR Genomics Reporting bundle of an assessment."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from pgx_report.errors import InputError
from pgx_report.files.io import canonical_json, check_not_input, read_input_bytes, write_json

log = logging.getLogger(__name__)

PDF_MAGIC = b"%PDF-"


def add_subcommand(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "fhir",
        help="export an assessment as an HL7 FHIR R4 Genomics Reporting bundle (JSON)",
        description=(
            "Write a FHIR R4 Bundle (HL7 Genomics Reporting IG STU3 profiles) of one "
            "assessment: DiagnosticReport, the OPRM1 rs1799971 variant and genotype, the "
            "naltrexone therapeutic implication, contraindications as DetectedIssue, "
            "Patient, Specimen, Device and Provenance. Same inputs give the same bytes."
        ),
    )
    io = parser.add_argument_group("input and output")
    io.add_argument(
        "assessment", metavar="ASSESSMENT.json", help="assessment from `pgx-report assess`"
    )
    io.add_argument(
        "-o", "--output", required=True, metavar="REPORT.fhir.json", help="bundle to write"
    )
    io.add_argument(
        "--pdf",
        metavar="REPORT.pdf",
        help="rendered report to attach to the DiagnosticReport (presentedForm, base64)",
    )
    parser.set_defaults(execute=execute)


def _read_pdf(path: Path) -> bytes:
    data = read_input_bytes(path)
    if not data.startswith(PDF_MAGIC):
        raise InputError(path, "not a PDF file (it does not start with %PDF-)")
    return data


def execute(args: argparse.Namespace) -> int:
    from pgx_report.contracts.assessment import load_assessment
    from pgx_report.outputs.fhir.bundle import build_bundle

    assessment_path = Path(args.assessment)
    output = Path(args.output)
    inputs: list[str | Path] = [assessment_path]
    if args.pdf:
        inputs.append(Path(args.pdf))
    check_not_input(output, inputs)
    # load_assessment validates against the assessment schema (a bad file: exit 2)
    assessment = load_assessment(assessment_path)
    pdf = _read_pdf(Path(args.pdf)) if args.pdf else None
    bundle = build_bundle(assessment, pdf, source=assessment_path)
    write_json(output, bundle)
    log.info(
        "wrote %s (%d resources, %d bytes)",
        output,
        len(bundle["entry"]),
        len(canonical_json(bundle).encode("utf-8")),
    )
    return 0
