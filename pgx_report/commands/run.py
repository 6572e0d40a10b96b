"""``pgx-report run INPUT QUESTIONNAIRE -o OUTDIR``: call + assess + render in one process.

INPUT is anything ``pgx-report call`` reads (VCF/BCF/gVCF, BAM, or CRAM with
``--reference``), with the same genotype-input options (shared with commands/call.py).

Writes ``call.json``, ``assessment.json``, ``report.pdf`` and ``report.html`` into
OUTDIR. Nothing is written until all three steps have succeeded, so bad input
leaves no partial output; OUTDIR is then replaced as a whole (files/folder.py), and an
OUTDIR holding files other than these four is refused.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from pgx_report.commands.options import (
    add_alignment_options,
    add_digest_option,
    add_plate_options,
    add_report_options,
    add_request_options,
    add_threshold_options,
    lab_profile,
    pileup_options,
    plate_options,
    request_option,
    thresholds,
)

HELP = "call + assess + render in one process (writes call.json, assessment.json, report.pdf/.html)"


def add_subcommand(subparsers: Any) -> None:
    parser = subparsers.add_parser("run", help=HELP, description=HELP + ".")
    parser.add_argument(
        "input",
        type=Path,
        metavar="INPUT",
        help="VCF, VCF.gz, BCF or gVCF file, or BAM/CRAM (docs/alignment.md)",
    )
    parser.add_argument(
        "questionnaire",
        type=Path,
        metavar="QUESTIONNAIRE",
        help="questionnaire (native JSON or FHIR R4 QuestionnaireResponse)",
    )
    parser.add_argument(
        "-o", "--outdir", type=Path, required=True, metavar="OUTDIR", help="output folder"
    )
    calling = parser.add_argument_group("genotype call")
    calling.add_argument(
        "--sample",
        metavar="NAME",
        help="sample in the VCF, or @RG SM of the BAM/CRAM (required if it has several)",
    )
    add_threshold_options(calling)
    add_alignment_options(parser)
    add_digest_option(parser)
    add_plate_options(parser)
    checks = parser.add_argument_group("checks")
    checks.add_argument(
        "--allow-sample-mismatch",
        action="store_true",
        help="accept a questionnaire whose sample_id differs from the called sample. DANGEROUS: "
        "this can hide a sample swap; it is printed on page 1 of the report",
    )
    add_report_options(parser.add_argument_group("report"))
    add_request_options(parser)
    parser.set_defaults(execute=execute)


def execute(args: argparse.Namespace) -> int:
    from pgx_report.pipeline import CallSettings, ReportSettings, run_to_folder

    run_to_folder(
        args.input,
        args.questionnaire,
        args.outdir,
        sample=args.sample,
        reference=args.reference,
        calling=CallSettings(
            build=args.build,
            thresholds=thresholds(args),
            pileup=pileup_options(args),
            plate=plate_options(args),
            full_digest=args.full_digest,
        ),
        report=ReportSettings(
            lang=args.lang,
            assessment_language=args.lang,
            lab=lab_profile(args),
            templates=args.templates,
            allow_sample_mismatch=args.allow_sample_mismatch,
            request=request_option(args),
        ),
    )
    return 0
