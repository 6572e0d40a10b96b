"""``pgx-report run INPUT QUESTIONNAIRE -o OUTDIR``: call + assess + render in one process.

INPUT is anything ``pgx-report call`` reads (VCF/BCF/gVCF, BAM, or CRAM with
``--reference``), with the same genotype-input options (shared with commands/call.py).

Writes ``call.json``, ``assessment.json``, ``report.pdf`` and ``report.html`` into
OUTDIR. Nothing is written until all three steps have succeeded, so bad input
leaves no partial output; each file is written atomically.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from pgx_report.commands.call import add_alignment_options, add_threshold_options, pileup_options
from pgx_report.commands.render import add_report_options

HELP = "call + assess + render in one process (writes call.json, assessment.json, report.pdf/.html)"
OUTPUT_NAMES = ("call.json", "assessment.json", "report.pdf", "report.html")


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
    checks = parser.add_argument_group("checks")
    checks.add_argument(
        "--allow-sample-mismatch",
        action="store_true",
        help="accept a questionnaire whose sample_id differs from the called sample. DANGEROUS: "
        "this can hide a sample swap; it is printed on page 1 of the report",
    )
    add_report_options(parser.add_argument_group("report"))
    parser.set_defaults(execute=execute)


def execute(args: argparse.Namespace) -> int:
    from pgx_report.clinical.assessment import assess, default_inputs
    from pgx_report.clinical.knowledge import load_knowledge_base
    from pgx_report.clinical.questionnaire import load_questionnaire
    from pgx_report.contracts.call import Thresholds, validate_call_dict
    from pgx_report.files.io import (
        atomic_write_bytes,
        canonical_json,
        check_not_input,
        sha256_bytes,
    )
    from pgx_report.genotype.pileup.alignment import call_any
    from pgx_report.outputs.report.pdf import find_templates, render_pdf
    from pgx_report.outputs.report.view import choose_language

    outdir: Path = args.outdir
    outputs = {name: outdir / name for name in OUTPUT_NAMES}
    for path in outputs.values():
        check_not_input(
            path, [args.input, args.questionnaire, *([args.reference] if args.reference else [])]
        )
    templates = find_templates(args.templates)

    call = call_any(
        args.input,
        sample=args.sample,
        build=args.build,
        thresholds=Thresholds(min_depth=args.min_depth, min_gq=args.min_gq),
        options=pileup_options(args),
        reference=args.reference,
    )
    call_data = call.to_dict()
    validate_call_dict(call_data, "internal")
    call_bytes = canonical_json(call_data).encode("utf-8")

    questionnaire = load_questionnaire(args.questionnaire)
    inputs = default_inputs(
        call_data,
        questionnaire,
        call_path=str(outputs["call.json"]),
        call_sha256=sha256_bytes(call_bytes),
    )
    result = assess(
        call,
        questionnaire,
        load_knowledge_base(),
        inputs=inputs,
        allow_sample_mismatch=args.allow_sample_mismatch,
        language=args.lang,
    )
    assessment_bytes = canonical_json(result.to_dict()).encode("utf-8")
    lang = choose_language(args.lang, result)
    report = render_pdf(
        result,
        assessment_bytes,
        lang,
        templates,
        source=outputs["assessment.json"],
        lab=args.lab,
    )
    assert report.pdf is not None
    atomic_write_bytes(outputs["call.json"], call_bytes)
    atomic_write_bytes(outputs["assessment.json"], assessment_bytes)
    atomic_write_bytes(outputs["report.pdf"], report.pdf)
    atomic_write_bytes(outputs["report.html"], report.html.encode("utf-8"))
    return 0
