"""``pgx-report render ASSESSMENT.json -o REPORT.pdf [--html REPORT.html] [--lang nb|en]``.

With ``--assess CALL.json QUESTIONNAIRE`` the assessment is made first (exactly as
``pgx-report assess`` makes it) and written to ASSESSMENT.json, in the same process:
one Python start and one set of imports per patient instead of two (the workflow's
``report`` rule). Nothing is written unless both steps succeed.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from pgx_report.commands.options import (
    add_report_options,
    add_request_options,
    lab_profile,
    request_option,
)

HELP = "render the clinician report (PDF/A-3b, optionally HTML) from an assessment JSON"


def add_subcommand(subparsers: Any) -> None:
    parser = subparsers.add_parser("render", help=HELP, description=HELP + ".")
    parser.add_argument(
        "assessment",
        type=Path,
        metavar="ASSESSMENT",
        help="assessment JSON (with --assess: the assessment to write)",
    )
    parser.add_argument(
        "--assess",
        nargs=2,
        type=Path,
        metavar=("CALL.json", "QUESTIONNAIRE"),
        help="first assess CALL.json with QUESTIONNAIRE and write ASSESSMENT, as "
        "'pgx-report assess --call CALL.json --questionnaire QUESTIONNAIRE -o ASSESSMENT' "
        "would, then render it; one process instead of two",
    )
    out = parser.add_argument_group("output")
    out.add_argument(
        "-o", "--output", type=Path, required=True, metavar="REPORT.pdf", help="PDF to write"
    )
    out.add_argument("--html", type=Path, metavar="REPORT.html", help="also write the HTML report")
    add_report_options(parser.add_argument_group("report"))
    add_request_options(parser)
    parser.set_defaults(execute=execute)


def execute(args: argparse.Namespace) -> int:
    from pgx_report.pipeline import ReportSettings, render_files

    settings = ReportSettings(
        lang=args.lang,
        lab=lab_profile(args),
        templates=args.templates,
        request=request_option(args),
    )
    render_files(args.assessment, args.output, args.html, assess=args.assess, settings=settings)
    return 0
