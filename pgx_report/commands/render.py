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

HELP = "render the clinician report (PDF/A-3b, optionally HTML) from an assessment JSON"


def add_report_options(group: argparse._ArgumentGroup) -> None:
    """Options shared by ``render`` and ``run``."""
    group.add_argument(
        "--lang",
        choices=("nb", "en"),
        default=None,
        help="report language (default: the questionnaire's language, else en)",
    )
    group.add_argument(
        "--lab",
        metavar="NAME",
        default=None,
        help="laboratory or organisation name printed in the report header and PDF author",
    )
    group.add_argument(
        "--templates",
        metavar="DIR",
        type=Path,
        default=None,
        help="report templates folder (default: the one installed with pgx-report)",
    )


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
    parser.set_defaults(execute=execute)


def execute(args: argparse.Namespace) -> int:
    from pgx_report.errors import UsageError
    from pgx_report.files.io import (
        atomic_write_bytes,
        atomic_write_text,
        canonical_json,
        check_not_input,
    )
    from pgx_report.outputs.report.pdf import (
        find_templates,
        parse_assessment,
        read_assessment,
        render_pdf,
    )
    from pgx_report.outputs.report.view import choose_language

    outputs = [args.output, *([args.html] if args.html else [])]
    if args.html is not None and Path(args.html).resolve() == Path(args.output).resolve():
        raise UsageError(args.html, "--html and -o name the same file")
    inputs = [args.assessment]
    if args.assess is not None:
        if Path(args.assessment).resolve() in {Path(path).resolve() for path in outputs}:
            raise UsageError(args.assessment, "ASSESSMENT and -o/--html name the same file")
        outputs.append(args.assessment)
        inputs = args.assess
    for output in outputs:
        check_not_input(output, inputs)
    templates = find_templates(args.templates)
    if args.assess is None:
        assessment, data = read_assessment(args.assessment)
    else:
        from pgx_report.commands.assess import assess_files

        data = canonical_json(assess_files(*args.assess).to_dict()).encode("utf-8")
        # Rendered from its JSON text, like a file written by `assess`: the same PDF bytes.
        assessment = parse_assessment(data, args.assessment)
    lang = choose_language(args.lang, assessment)
    report = render_pdf(assessment, data, lang, templates, source=args.assessment, lab=args.lab)
    assert report.pdf is not None
    if args.assess is not None:
        atomic_write_bytes(args.assessment, data)
    atomic_write_bytes(args.output, report.pdf)
    if args.html is not None:
        atomic_write_text(args.html, report.html)
    return 0
