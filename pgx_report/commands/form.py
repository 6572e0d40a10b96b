"""``pgx-report form -o questionnaire-form.html [--lang nb|en]``: the clinician's form.

Writes one self-contained HTML file that fills in the clinical questionnaire offline in a
browser and saves it as the native JSON (or a FHIR QuestionnaireResponse) that
``validate-questionnaire`` and ``assess`` accept. See docs/questionnaire.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

HELP = "write the clinician's questionnaire form (one offline HTML file)"


def add_subcommand(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "form",
        help=HELP,
        description=(
            "Write the clinical questionnaire as one self-contained HTML form, generated from "
            "the questionnaire schema: it works offline in any current browser, checks every "
            "answer as validate-questionnaire does, and saves <sample_id>.questionnaire.json "
            "(or a FHIR R4 QuestionnaireResponse) for the lab."
        ),
    )
    parser.add_argument(
        "-o", "--output", type=Path, required=True, metavar="FORM.html", help="HTML file to write"
    )
    parser.add_argument(
        "--lang", choices=("nb", "en"), default="en", help="language of the form (default: en)"
    )
    parser.set_defaults(execute=execute)


def execute(args: argparse.Namespace) -> int:
    from pgx_report.errors import OutputError
    from pgx_report.files.io import atomic_write_text
    from pgx_report.form import render_form

    if Path(args.output).is_dir():
        raise OutputError(args.output, "is a folder (expected the HTML file to write)")
    atomic_write_text(args.output, render_form(args.lang))
    return 0
