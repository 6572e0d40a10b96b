"""``pgx-report batch --task JSON [--task JSON ...] --results DIR --logs DIR``: call,
assess, render and export many samples in ONE process (the workflow's per-chunk job;
docs/workflow.md). ``--tasks-file FILE`` reads a JSON list of tasks instead.

Each sample goes through the same Python pipeline as ``pgx-report run``, with the checks
and messages of the single-step commands; each step's stderr goes to
``LOGS/SAMPLE/STEP.log`` (``pgx_report.batch.runner``, which also gives the exit code).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from pgx_report.commands.options import (
    add_digest_option,
    add_quality_gate_options,
    lab_profile,
)


def add_subcommand(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "batch",
        help="call + assess + render + FHIR for many samples in one process (workflow jobs)",
        description=(
            "Run, for each sample of TASKS, the steps `call` (or copy the sample's call "
            "from a cohort run), `render --assess` and `fhir`, writing RESULTS/SAMPLE/"
            "{call.json,assessment.json,report.pdf,report.html,report.fhir.json} and each "
            "step's messages to LOGS/SAMPLE/{call,report,fhir}.log. One process pays the "
            "start-up once; samples stay independent (a bad one does not stop the others)."
        ),
    )
    parser.add_argument(
        "--task",
        action="append",
        default=[],
        metavar="JSON",
        help=(
            "one sample, as a JSON object with keys sample, questionnaire, and either input "
            "(VCF/BCF/gVCF/BAM/CRAM, with optional vcf_sample and reference), call (a "
            "call.json), or cohort (a `call --all-samples` folder) with vcf_sample (looked up "
            "in its calls.tsv); optional lang (en|nb). Repeat per sample"
        ),
    )
    parser.add_argument(
        "--tasks-file",
        metavar="FILE",
        help="a JSON file with a list of such objects (run after the --task samples)",
    )
    parser.add_argument("--results", required=True, metavar="DIR", help="results folder")
    parser.add_argument("--logs", required=True, metavar="DIR", help="logs folder")
    add_quality_gate_options(parser, style="forwarded")
    add_digest_option(parser)
    parser.add_argument(
        "--lab",
        type=Path,
        metavar="LAB.yaml",
        help="the laboratory's profile, printed in every report (workflow config key 'lab'); "
        "without it the reports say that the laboratory details are not configured",
    )
    parser.set_defaults(execute=execute)


def execute(args: argparse.Namespace) -> int:
    from pgx_report.batch.runner import run_tasks
    from pgx_report.batch.tasks import CallOptions, read_tasks

    options = CallOptions(
        min_depth=args.min_depth, min_gq=args.min_gq, full_digest=args.full_digest
    )
    tasks = read_tasks(args.task, args.tasks_file)
    return run_tasks(tasks, args.results, args.logs, options, lab=lab_profile(args))
