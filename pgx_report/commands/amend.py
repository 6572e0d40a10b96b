"""``pgx-report amend PREVIOUS.pdf --assessment NEW.json --reason TEXT --reviewer ... --at ...``.

Writes version n+1 of a released report, AMENDED (or CORRECTED with ``--corrected``),
from a new assessment of the same patient and sample; page 1 names the version it
replaces, the reason and what changed. Logged like a release. See
:mod:`pgx_report.outputs.release` and docs/report.md, "Amending a report".
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

HELP = "amend (or correct) a released report: version n+1 from a new assessment"


def add_subcommand(subparsers: Any) -> None:
    # options are declared here, not imported from the release command: a command
    # module never imports another command module
    parser = subparsers.add_parser("amend", help=HELP, description=HELP + ".")
    parser.add_argument("previous", type=Path, metavar="PREVIOUS.pdf")
    parser.add_argument(
        "--assessment", type=Path, required=True, metavar="NEW.json", help="the new assessment"
    )
    parser.add_argument("--reason", required=True, metavar="TEXT", help="why it is amended")
    parser.add_argument(
        "--corrected", action="store_true", help="status CORRECTED instead of AMENDED"
    )
    out = parser.add_argument_group("output")
    out.add_argument("-o", "--output", type=Path, required=True, metavar="NEW.pdf")
    out.add_argument("--html", type=Path, metavar="REPORT.html", help="also write the HTML report")
    out.add_argument("--fhir", type=Path, metavar="F.json", help="also write the FHIR bundle")
    group = parser.add_argument_group("release")
    group.add_argument("--reviewer", required=True, metavar='"NAME, ROLE"')
    group.add_argument("--at", required=True, metavar="ISO-DATETIME", help="with a UTC offset")
    group.add_argument("--lab", type=Path, metavar="LAB.yaml", help="the laboratory's profile")
    group.add_argument("--templates", type=Path, metavar="DIR", help=argparse.SUPPRESS)
    parser.set_defaults(execute=execute)


def execute(args: argparse.Namespace) -> int:
    from pgx_report.outputs.release import Outputs, Release, amend_report, check_distinct

    check_distinct([args.output, args.html, args.fhir])
    release = Release(args.reviewer, args.at, args.lab, templates=args.templates)
    amend_report(
        args.previous,
        args.assessment,
        args.reason,
        release,
        Outputs(args.output, args.html, args.fhir),
        corrected=args.corrected,
    )
    return 0
