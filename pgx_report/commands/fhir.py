"""``pgx-report fhir``: write the HL7 FHIR Genomics Reporting bundle of an assessment."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


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


def execute(args: argparse.Namespace) -> int:
    from pgx_report.pipeline import fhir_to_file

    fhir_to_file(Path(args.assessment), Path(args.pdf) if args.pdf else None, Path(args.output))
    return 0
