"""``pgx-report history LOG [--report-id ID]``: print and check a release log's chain.

One line per logged version (report id, version, status, time, reviewer, short SHA-256,
``✓`` or ``✗`` and what is wrong); exit 0 when every chain is intact, else exit 2 with
one line naming the first problem. See docs/report.md, "Release log".
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

HELP = "print the release log's chain of each report and check it"


def add_subcommand(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "history",
        help=HELP,
        description=(
            "Print every release and amendment logged in LOG (release-log.jsonl, written by "
            "`pgx-report release` and `pgx-report amend`), one line per version, and check "
            "each report's chain: versions consecutive, only the first final, each "
            "previous SHA-256 the SHA-256 of the version before, and each PDF named, if "
            "present beside the log, unchanged. Exit 0 if every chain is intact, 2 if not."
        ),
    )
    parser.add_argument("log", type=Path, metavar="LOG", help="release log (release-log.jsonl)")
    parser.add_argument(
        "--report-id", metavar="ID", help="only the chain of this report id (exit 2 if absent)"
    )
    parser.set_defaults(execute=execute)


def execute(args: argparse.Namespace) -> int:
    from pgx_report.outputs.release_log import chain_error, history, history_lines

    check = history(args.log, args.report_id)
    encoding = getattr(sys.stdout, "encoding", None) or "ascii"
    try:
        "\u2713\u2717".encode(encoding)
        ascii_only = False
    except (UnicodeEncodeError, LookupError):
        ascii_only = True
    lines = history_lines(check, ascii_only=ascii_only)
    if ascii_only:  # a reviewer's name the terminal cannot show: \xf8, not a crash
        lines = [line.encode(encoding, "backslashreplace").decode(encoding) for line in lines]
    print("\n".join(lines) if lines else f"{args.log}: no releases logged")
    error = chain_error(check, args.log)
    if error is not None:
        raise error
    return 0
