"""``pgx-report batch --task JSON [--task JSON ...] --results DIR --logs DIR``: call,
assess, render and export many samples in ONE process (the workflow's per-chunk job;
docs/workflow.md). ``--tasks-file FILE`` reads a JSON list of tasks instead.

Each sample runs the same commands, with the same checks and messages, as it would on
its own (``pgx_report.batch.tasks``); each step's stderr goes to ``LOGS/SAMPLE/STEP.log``.
A sample whose step fails is skipped from there on and the others go on. At the end one
line per failed sample is printed, and the exit code is 0 when every sample succeeded,
2 when every failure was bad input, 1 otherwise (130 stops at once on Ctrl-C).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from pgx_report.errors import UsageError
from pgx_report.files.io import atomic_write_bytes, read_input_bytes
from pgx_report.files.jsonio import parse_json

if TYPE_CHECKING:
    from pgx_report.batch.tasks import SampleTask, Step

log = logging.getLogger(__name__)

INTERRUPTED = 130


def add_subcommand(subparsers: Any) -> None:
    from pgx_report.commands.call import non_negative

    parser = subparsers.add_parser(
        "batch",
        help="call + assess + render + FHIR for many samples in one process (workflow jobs)",
        description=(
            "Run, for each sample of TASKS, the steps `call` (or copy the sample's call "
            "from a cohort run), `render --assess` and `fhir`, writing RESULTS/SAMPLE/"
            "{call.json,assessment.json,report.pdf,report.html,report.fhir.json} and each "
            "step's messages to LOGS/SAMPLE/{call,report,fhir}.log. One process pays the "
            "start-up once; samples stay independent (a bad one does not stop the others)."
        ),
    )
    parser.add_argument(
        "--task",
        action="append",
        default=[],
        metavar="JSON",
        help=(
            "one sample, as a JSON object with keys sample, questionnaire, and either input "
            "(VCF/BCF/gVCF/BAM/CRAM, with optional vcf_sample and reference) or call (a "
            "call.json from `call --all-samples`); optional lang (en|nb). Repeat per sample"
        ),
    )
    parser.add_argument(
        "--tasks-file",
        metavar="FILE",
        help="a JSON file with a list of such objects (run after the --task samples)",
    )
    parser.add_argument("--results", required=True, metavar="DIR", help="results folder")
    parser.add_argument("--logs", required=True, metavar="DIR", help="logs folder")
    parser.add_argument(
        "--min-depth", type=non_negative, metavar="N", help="passed to `call` (see call --help)"
    )
    parser.add_argument(
        "--min-gq", type=non_negative, metavar="N", help="passed to `call` (see call --help)"
    )
    parser.set_defaults(execute=execute)


@contextlib.contextmanager
def _stderr_to(stream: IO[str]) -> Iterator[None]:
    """Send ``sys.stderr`` and the root logger's stderr handlers to ``stream``."""
    original = sys.stderr
    handlers = [
        handler
        for handler in logging.getLogger().handlers
        if isinstance(handler, logging.StreamHandler) and handler.stream is original
    ]
    for handler in handlers:
        handler.setStream(stream)
    try:
        with contextlib.redirect_stderr(stream):
            yield
    finally:
        for handler in handlers:
            handler.setStream(original)


def _copy(source: Path, dest: Path) -> int:
    """Copy a cohort call into the sample's folder (atomically)."""
    atomic_write_bytes(dest, read_input_bytes(source))
    return 0


def _run_step(step: Step, parser: argparse.ArgumentParser) -> int:
    """Run one step with its stderr in its log file; the exit code."""
    from pgx_report.cli import dispatch

    step.log.parent.mkdir(parents=True, exist_ok=True)
    with step.log.open("w", encoding="utf-8") as stream, _stderr_to(stream):
        if step.copy is not None:
            source, dest = step.copy
            return dispatch(argparse.Namespace(execute=lambda _args: _copy(source, dest)))
        try:
            args = parser.parse_args(step.argv)
        except SystemExit as exc:  # argparse has printed the usage error into the log
            return int(exc.code or 0) if isinstance(exc.code, int) else 2
        return dispatch(args)


def _last_line(path: Path) -> str:
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return lines[-1] if lines else f"no message (see {path})"


def run_tasks(tasks: Sequence[SampleTask], args: argparse.Namespace) -> int:
    from pgx_report.batch.tasks import CallOptions, sample_steps
    from pgx_report.cli import PROG, build_parser

    parser = build_parser()
    call_options = CallOptions(min_depth=args.min_depth, min_gq=args.min_gq)
    failures: list[tuple[str, str, int, str]] = []
    for task in tasks:
        for step in sample_steps(task, args.results, args.logs, call_options):
            code = _run_step(step, parser)
            if code == INTERRUPTED:
                print(f"{PROG}: interrupted at sample '{task.sample}'", file=sys.stderr)
                return INTERRUPTED
            if code != 0:
                failures.append((task.sample, step.name, code, _last_line(step.log)))
                break
        else:
            log.info("sample %s: done", task.sample)
    for sample, failed_step, _code, message in failures:
        message = message.removeprefix(f"{PROG}: error: ")
        print(f"{PROG}: error: sample '{sample}' ({failed_step}): {message}", file=sys.stderr)
    if not failures:
        return 0
    print(
        f"{PROG}: {len(failures)} of {len(tasks)} samples failed (the others are written)",
        file=sys.stderr,
    )
    return 2 if all(code == 2 for _s, _st, code, _m in failures) else 1


def _json(text: str, source: str) -> Any:
    return parse_json(text.encode("utf-8"), source, UsageError)


def execute(args: argparse.Namespace) -> int:
    from pgx_report.batch.tasks import parse_tasks

    items = [_json(text, f"--task {number}") for number, text in enumerate(args.task, 1)]
    if args.tasks_file:
        path = Path(args.tasks_file)
        listed = _json(read_input_bytes(path).decode("utf-8", "replace"), str(path))
        if not isinstance(listed, list):
            raise UsageError(path, "expected a JSON list of sample tasks")
        items += listed
    if not items:
        raise UsageError(None, "no samples: give --task JSON (repeatable) or --tasks-file FILE")
    return run_tasks(parse_tasks(items, "batch"), args)
