"""``pgx-report release-batch --sheet SHEET --reviewer "NAME, ROLE" --at ISO --lab LAB -o OUT``.

Releases every reported sample of a workflow batch (``results/<sample>/report.pdf``)
to ``OUT/<sample>/report.pdf`` (+ HTML, FHIR) and logs each release in
``OUT/release-log.jsonl``; refuses while the batch QC verdict (the one
``pgx-report summarize`` prints) is not OK, unless ``--override REASON`` is given, which
every released report then prints. See :mod:`pgx_report.batch.release`.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

HELP = "release a whole workflow batch once its QC verdict is OK (or with --override REASON)"
log = logging.getLogger(__name__)


def add_subcommand(subparsers: Any) -> None:
    parser = subparsers.add_parser("release-batch", help=HELP, description=HELP + ".")
    inputs = parser.add_argument_group("inputs")
    inputs.add_argument("--sheet", required=True, type=Path, help="the workflow's sample sheet")
    inputs.add_argument("--results", type=Path, default=Path("results"), help="(default: results)")
    inputs.add_argument("--logs", type=Path, default=Path("logs"), help="(default: logs)")
    qc = parser.add_argument_group("batch QC (as for pgx-report summarize)")
    qc.add_argument("--population", default="global_1000g")
    qc.add_argument("--alpha", type=float, default=0.001)
    qc.add_argument("--max-not-determined", type=float, default=0.2)
    qc.add_argument(
        "--override",
        metavar="REASON",
        help="release although the batch QC verdict is not OK; every report prints REASON",
    )
    group = parser.add_argument_group("release")
    group.add_argument("--reviewer", required=True, metavar='"NAME, ROLE"')
    group.add_argument("--at", required=True, metavar="ISO-DATETIME", help="with a UTC offset")
    group.add_argument("--lab", type=Path, metavar="LAB.yaml", help="the laboratory's profile")
    group.add_argument("--templates", type=Path, metavar="DIR", help=argparse.SUPPRESS)
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        required=True,
        metavar="OUT",
        help="folder of the released reports",
    )
    parser.set_defaults(execute=execute)


def execute(args: argparse.Namespace) -> int:
    from pgx_report.batch.release import BatchQC, release_batch
    from pgx_report.errors import UsageError
    from pgx_report.outputs.release import Release

    if args.override is not None and (
        not args.override.strip() or " ".join(args.override.split()) != args.override
    ):
        raise UsageError("--override", "give the reason as one line of text")
    release = Release(args.reviewer, args.at, args.lab, args.override, args.templates)
    qc = BatchQC(args.population, args.alpha, args.max_not_determined)
    done = release_batch(args.sheet, args.results, args.logs, args.output, release, qc)
    print(
        f"released {len(done.released)} report(s) to {args.output} (batch QC verdict "
        f"{done.verdict}{', overridden' if done.flags and args.override else ''}); "
        f"log {done.log}"
        + (f"; not released (no report): {', '.join(done.skipped)}" if done.skipped else "")
    )
    return 0
