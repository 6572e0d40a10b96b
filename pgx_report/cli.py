"""Command-line entry point: ``pgx-report <command> ...``.

Each subcommand lives in ``pgx_report/commands/<name>.py`` and provides
``add_subcommand(subparsers)`` (which must ``set_defaults(execute=execute)``)
and ``execute(args) -> int``. Command modules import heavy libraries
(pysam, cyvcf2, WeasyPrint) lazily inside ``execute`` so that every command
starts fast.

This is the only place that turns exceptions into exit codes and messages:
bad input -> one line ``pgx-report: error: FILE: what is wrong`` and exit 2.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from pgx_report import __version__
from pgx_report.errors import PROG, exit_code_of

# Subcommand modules, in the order shown by --help.
COMMANDS: tuple[str, ...] = (
    "call",
    "validate_questionnaire",
    "form",
    "assess",
    "render",
    "run",
    "fhir",
    "summarize",
    "batch",
    "validate",
    "history",
    "release",
    "amend",
    "release_batch",
)

log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=(
            "Call OPRM1 rs1799971 (c.118A>G, p.Asn40Asp) from a lab's VCF/gVCF/BCF or BAM/CRAM, "
            "combine it with a clinical questionnaire, and render a naltrexone "
            "decision-support report (PDF/HTML). Decision support only: not a "
            "validated prediction model."
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more log output on stderr (-vv: debug)"
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        module = importlib.import_module(f"{__package__}.commands.{name}")
        module.add_subcommand(subparsers)
    return parser


class _ArgumentParserExit(Exception):
    pass


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit code (0 ok, 2 bad input, 1 internal error)."""
    parser = build_parser()
    args = parser.parse_args(argv)  # argparse itself exits 2 on bad usage
    level = (logging.WARNING, logging.INFO, logging.DEBUG)[min(args.verbose, 2)]
    logging.basicConfig(level=level, format=f"{PROG}: %(levelname)s: %(message)s")
    return dispatch(args)


def dispatch(args: argparse.Namespace) -> int:
    """Execute parsed arguments; map errors to the exit code and ONE line on stderr.

    ``pgx-report batch`` maps each step's errors the same way (errors.exit_code_of)."""
    try:
        return int(args.execute(args))
    except BaseException as exc:
        return exit_code_of(exc)


if __name__ == "__main__":
    sys.exit(main())
