"""``pgx-report assess --call CALL.json --questionnaire Q.json -o ASSESSMENT.json``."""

from __future__ import annotations

import argparse
import logging
from typing import Any

log = logging.getLogger(__name__)


def add_subcommand(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "assess",
        help="combine a genotype call and a questionnaire into an assessment (JSON)",
        description=(
            "Combine the OPRM1 genotype call with the clinical questionnaire and the "
            "bundled knowledge base into assessment.json (schema: "
            "pgx_report/schemas/assessment.schema.json). The report date is "
            "SOURCE_DATE_EPOCH if set, else the questionnaire's completed_on. Decision "
            "support only: the combined assessment is not a validated model."
        ),
    )
    inputs = parser.add_argument_group("inputs")
    inputs.add_argument(
        "--call", required=True, metavar="CALL.json", help="call.json from 'pgx-report call'"
    )
    inputs.add_argument(
        "--questionnaire",
        required=True,
        metavar="Q.json",
        help="questionnaire (native JSON or FHIR R4 QuestionnaireResponse)",
    )
    outputs = parser.add_argument_group("output")
    outputs.add_argument("-o", "--output", required=True, metavar="ASSESSMENT.json")
    outputs.add_argument(
        "--language",
        choices=("nb", "en"),
        default=None,
        help="report language (default: the questionnaire's 'language', else en)",
    )
    checks = parser.add_argument_group("checks")
    checks.add_argument(
        "--allow-sample-mismatch",
        action="store_true",
        help=(
            "accept a questionnaire whose sample_id differs from the call's sample. "
            "DANGEROUS: this can hide a sample swap; it is recorded in the report's provenance"
        ),
    )
    parser.set_defaults(execute=execute)


def execute(args: argparse.Namespace) -> int:
    from pgx_report.pipeline import ReportSettings, assess_to_file

    settings = ReportSettings(
        assessment_language=args.language, allow_sample_mismatch=args.allow_sample_mismatch
    )
    result = assess_to_file(args.call, args.questionnaire, args.output, settings)
    log.info(
        "%s: %s (confidence %s)", args.output, result.overall.category, result.overall.confidence
    )
    return 0
