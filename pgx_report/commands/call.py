"""``pgx-report call``: call OPRM1 rs1799971 from a VCF / bgzipped VCF / BCF / gVCF."""

from __future__ import annotations

import argparse
from typing import Any

from pgx_report.commands.options import (
    add_alignment_options,
    add_digest_option,
    add_plate_options,
    add_threshold_options,
    pileup_options,
    plate_options,
    thresholds,
)

HELP = "call the OPRM1 rs1799971 (c.118A>G) genotype from a VCF/gVCF/BCF or BAM/CRAM"

DESCRIPTION = """\
Call OPRM1 rs1799971 (c.118A>G, p.Asn40Asp) for one sample (one JSON, to stdout or -o
FILE) or for every sample (--all-samples: one JSON per sample plus calls.tsv in the -o
directory). INPUT may be VCF, bgzipped VCF (with or without a .tbi/.csi index),
plain-gzip VCF, BCF, or a GATK/DeepVariant gVCF.
BAM and CRAM (with --reference) are genotyped from the reads (docs/alignment.md).
A QuantStudio genotyping results export (a TaqMan-type plate) is read with the lab's
--assays definitions and the plate's own controls (docs/targeted.md).

The reference build is read from the header (chromosome 6 length, RefSeq contig name,
assembly tag, ##reference). Anything short of a clean, quality-passing A/A, A/G or G/G
is reported as not determined, with machine-readable reason codes (docs/calling.md).
A site absent from the file is "not_covered", never A/A.

Exit status: 0 on success (whatever the call), 2 on bad input (one line on stderr).
"""


def add_subcommand(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "call",
        help=HELP,
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "input",
        metavar="INPUT",
        help="VCF, VCF.gz, BCF or gVCF file, or BAM/CRAM (docs/alignment.md)",
    )
    which = parser.add_mutually_exclusive_group()
    which.add_argument(
        "--sample",
        metavar="NAME",
        help="sample to call (required when the file has more than one sample)",
    )
    which.add_argument(
        "--all-samples",
        action="store_true",
        help="call every sample in one pass; -o names the output directory "
        "(one <sample>.json per sample, plus calls.tsv)",
    )
    add_threshold_options(parser)
    parser.add_argument(
        "-o",
        "--output",
        metavar="OUT",
        help="output JSON file (default: stdout); with --all-samples the output directory "
        "(required)",
    )
    add_alignment_options(parser)
    add_digest_option(parser)
    add_plate_options(parser)
    parser.set_defaults(execute=execute)


def execute(args: argparse.Namespace) -> int:
    from pgx_report.pipeline import CallSettings, write_calls

    settings = CallSettings(
        build=args.build,
        thresholds=thresholds(args),
        pileup=pileup_options(args),
        plate=plate_options(args),
        full_digest=args.full_digest,
    )
    write_calls(
        args.input,
        args.output,
        sample=args.sample,
        all_samples=args.all_samples,
        reference=args.reference,
        settings=settings,
    )
    return 0
