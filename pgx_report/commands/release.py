"""``pgx-report release PRELIMINARY.pdf --reviewer "NAME, ROLE" --at ISO -o FINAL.pdf``.

Reads the assessment and report identity embedded in a preliminary report and writes
the final report (status FINAL, "Reviewed and released by" in the sign-off block),
optionally its HTML and FHIR bundle, and appends the release to the release log beside
the PDF. See :mod:`pgx_report.outputs.release` and docs/report.md, "Releasing a report".
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

HELP = "release a reviewed preliminary report: write the FINAL report and log it"


def add_release_options(parser: argparse.ArgumentParser) -> None:
    """--reviewer, --at, --lab, --templates (shared by release and amend)."""
    group = parser.add_argument_group("release")
    group.add_argument(
        "--reviewer", required=True, metavar='"NAME, ROLE"', help="who reviewed and released it"
    )
    group.add_argument(
        "--at",
        required=True,
        metavar="ISO-DATETIME",
        help="when it was released, with a UTC offset (2025-11-21T09:30:00+01:00); "
        "an input, never the clock: the same inputs give the same bytes",
    )
    group.add_argument(
        "--lab", type=Path, metavar="LAB.yaml", help="the laboratory's profile (required)"
    )
    group.add_argument("--templates", type=Path, metavar="DIR", help=argparse.SUPPRESS)


def add_outputs(parser: argparse.ArgumentParser, pdf: str) -> None:
    out = parser.add_argument_group("output")
    out.add_argument("-o", "--output", type=Path, required=True, metavar=pdf, help="PDF to write")
    out.add_argument("--html", type=Path, metavar="REPORT.html", help="also write the HTML report")
    out.add_argument("--fhir", type=Path, metavar="F.json", help="also write the FHIR bundle")


def add_subcommand(subparsers: Any) -> None:
    parser = subparsers.add_parser("release", help=HELP, description=HELP + ".")
    parser.add_argument("preliminary", type=Path, metavar="PRELIMINARY.pdf")
    add_outputs(parser, "FINAL.pdf")
    add_release_options(parser)
    parser.set_defaults(execute=execute)


def execute(args: argparse.Namespace) -> int:
    from pgx_report.outputs.release import Outputs, Release, check_distinct, release_report

    check_distinct([args.output, args.html, args.fhir])
    release = Release(args.reviewer, args.at, args.lab, templates=args.templates)
    release_report(args.preliminary, release, Outputs(args.output, args.html, args.fhir))
    return 0
