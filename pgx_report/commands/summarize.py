"""``pgx-report summarize``: the batch QC summary of a workflow run (TSV, HTML, PDF).

Reads the sample sheet and whatever the workflow left in ``results/<sample>/`` and
``logs/<sample>/`` (so it also works after a run in which some samples failed).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from pgx_report import __version__
from pgx_report.errors import UsageError
from pgx_report.files.io import atomic_write_bytes, atomic_write_text, check_not_input

log = logging.getLogger(__name__)


def _fraction(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not between 0 and 1")
    return value


def _alpha(text: str) -> float:
    value = float(text)
    if not 0.0 < value <= 0.5:
        raise argparse.ArgumentTypeError(f"{text} is not in (0, 0.5]")
    return value


def add_subcommand(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "summarize",
        help="batch QC summary of a workflow run (TSV + HTML + PDF)",
        description=(
            "Summarise a workflow batch: per-sample status, genotype, category, "
            "contraindications, QC failures and the error line of failed samples; genotype "
            "counts, observed 118G frequency against a population's expected frequency "
            "(exact binomial test) and a Hardy-Weinberg exact test, with flags for a batch "
            "that looks wrong."
        ),
    )
    inputs = parser.add_argument_group("inputs")
    inputs.add_argument(
        "--sheet", required=True, type=Path, help="the workflow's sample sheet (TSV)"
    )
    inputs.add_argument(
        "--results", type=Path, default=Path("results"), help="results folder (default: results)"
    )
    inputs.add_argument(
        "--logs", type=Path, default=Path("logs"), help="logs folder (default: logs)"
    )
    qc = parser.add_argument_group("batch QC")
    qc.add_argument(
        "--population",
        default="global_1000g",
        help="expected 118G frequency from this population (default: global_1000g; "
        "see pgx_report/data/populations.yaml)",
    )
    qc.add_argument(
        "--alpha",
        type=_alpha,
        default=0.001,
        help="flag the batch when a test's p-value is below this (default: 0.001); a larger "
        "value flags more batches, a smaller one can hide a bad batch",
    )
    qc.add_argument(
        "--max-not-determined",
        type=_fraction,
        default=0.2,
        help="flag the batch when more than this fraction of calls is not determined "
        "(default: 0.2)",
    )
    outputs = parser.add_argument_group("outputs")
    outputs.add_argument("-o", "--output", required=True, type=Path, help="summary TSV")
    outputs.add_argument("--html", type=Path, help="summary HTML (self-contained)")
    outputs.add_argument("--pdf", type=Path, help="summary PDF (rendered from the HTML)")
    parser.set_defaults(execute=execute)


def execute(args: argparse.Namespace) -> int:
    # here, not at the top: every pgx-report command imports this module
    from pgx_report.batch.sheet import sheet_samples
    from pgx_report.outputs.batch_summary import (
        PDF_MAX_ROWS,
        BatchSummary,
        cohort_errors,
        collect_sample,
        load_populations,
        summarize_batch,
        to_html,
        to_tsv,
    )

    populations = load_populations()
    if args.population not in populations:
        raise UsageError(
            "--population",
            f"unknown population '{args.population}' "
            f"(choose one of: {', '.join(sorted(populations))})",
        )
    outputs = [path for path in (args.output, args.html, args.pdf) if path is not None]
    for output in outputs:
        check_not_input(output, [args.sheet])
    samples = [
        collect_sample(sample, vcf_sample, args.results, args.logs)
        for sample, vcf_sample in sheet_samples(args.sheet)
    ]
    summary: BatchSummary = summarize_batch(
        samples, populations[args.population], args.alpha, args.max_not_determined
    )
    failures = cohort_errors(args.logs)
    atomic_write_text(args.output, to_tsv(summary, __version__, failures))
    if args.html:
        atomic_write_text(args.html, to_html(summary, __version__, failures))
    if args.pdf:
        from pgx_report.outputs.report.pdf import render_summary_pdf

        html = to_html(summary, __version__, failures, max_rows=PDF_MAX_ROWS)
        atomic_write_bytes(args.pdf, render_summary_pdf(html))
    for flag in summary.flags:
        log.warning("batch flag %s: %s", flag.code.value, flag.message)
    return 0
