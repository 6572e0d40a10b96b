"""``pgx-report assess --call CALL.json --questionnaire Q.json -o ASSESSMENT.json``."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pgx_report.contracts.assessment import Assessment

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


def assess_files(
    call_path: str | Path,
    questionnaire_path: str | Path,
    *,
    allow_sample_mismatch: bool = False,
    language: str | None = None,
) -> Assessment:
    """The assessment of the call and questionnaire files (what ``assess`` writes; also
    used by ``render --assess``, so both give the same assessment)."""
    from pgx_report.clinical.assessment import assess, default_inputs
    from pgx_report.clinical.knowledge import load_knowledge_base
    from pgx_report.clinical.questionnaire import load_questionnaire
    from pgx_report.contracts.assessment import InputRecord
    from pgx_report.contracts.call import load_call
    from pgx_report.files.io import sha256_file

    call = load_call(call_path)
    questionnaire = load_questionnaire(questionnaire_path)
    kb = load_knowledge_base()
    records = list(default_inputs(call.to_dict(), questionnaire))
    records.insert(
        1 if records and records[0].role == "genotype_input" else 0,
        InputRecord("call", str(call_path), sha256_file(call_path)),
    )
    return assess(
        call,
        questionnaire,
        kb,
        inputs=records,
        allow_sample_mismatch=allow_sample_mismatch,
        language=language,
    )


def execute(args: argparse.Namespace) -> int:
    from pgx_report.files.io import check_not_input, write_json

    check_not_input(args.output, [args.call, args.questionnaire])
    result = assess_files(
        args.call,
        args.questionnaire,
        allow_sample_mismatch=args.allow_sample_mismatch,
        language=args.language,
    )
    write_json(args.output, result.to_dict())
    log.info(
        "%s: %s (confidence %s)", args.output, result.overall.category, result.overall.confidence
    )
    return 0
