"""``pgx-report validate``: method verification on reference samples of known genotype."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
from pathlib import Path
from typing import Any

from pgx_report.commands.options import add_quality_gate_options, non_negative, thresholds
from pgx_report.errors import UsageError

log = logging.getLogger(__name__)

DESCRIPTION = """\
Call every row of a truth file (reference samples of known genotype) with the same code
and thresholds as production, --repeat times each, and write OUTDIR/validation.json,
validation.html and validation.pdf (PDF/A-3b): concordance with its exact 95 % confidence
interval, per expected genotype, every row that is not concordant, repeatability
(byte-identical call JSON), and what was validated. The verdict is pass only if every row
is concordant and every repeat identical.

TRUTH.tsv columns: sample, input (VCF/gVCF/BCF/BAM/CRAM, relative to the TSV's folder),
expected (A/A, A/G, G/G or not_determined); optional vcf_sample, reference, note.
--bundled validates the real 1000 Genomes samples shipped with pgx-report (each as
shipped, as bgzip + tabix index and as BCF). See docs/validation.md.

Exit status: 0 whatever the verdict (the verdict is the result), 2 on bad input.
"""


def _positive(text: str) -> int:
    value = non_negative(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more: {value}")
    return value


def _date(text: str) -> str:
    try:
        date = dt.date.fromisoformat(text)
    except ValueError:
        date = None
    if date is None or date.isoformat() != text:
        raise argparse.ArgumentTypeError(f"not a date YYYY-MM-DD: {text!r}")
    return text


def add_subcommand(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "validate",
        help="method verification: accuracy and repeatability on samples of known genotype",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("truth", metavar="TRUTH.tsv", nargs="?", type=Path, help="truth file")
    parser.add_argument(
        "--bundled", action="store_true", help="validate the real samples shipped with pgx-report"
    )
    parser.add_argument("-o", "--output", required=True, type=Path, metavar="OUTDIR")
    parser.add_argument(
        "--repeat", type=_positive, default=3, metavar="N", help="calls per row (default 3)"
    )
    parser.add_argument("--lang", choices=("en", "nb"), default="en", help="language (en)")
    parser.add_argument(
        "--date",
        type=_date,
        metavar="YYYY-MM-DD",
        help="date of the validation (default: the truth file's modification date)",
    )
    add_quality_gate_options(parser, style="validate")
    parser.set_defaults(execute=execute)


def execute(args: argparse.Namespace) -> int:
    from pgx_report.validation.pack import Request, write_validation

    if args.bundled == (args.truth is not None):
        raise UsageError(None, "give either TRUTH.tsv or --bundled (one of them)")
    document = write_validation(
        Request(
            out=args.output,
            truth=args.truth,
            repeat=args.repeat,
            lang=args.lang,
            thresholds=thresholds(args),
            date=args.date,
        )
    )
    log.info("validation verdict: %s", document["verdict"])
    return 0
