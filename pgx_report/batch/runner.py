"""Run the samples of a workflow chunk in ONE process (``pgx-report batch``).

Each sample goes through :func:`pgx_report.pipeline.run_sample`; each of its steps
(call, report, fhir) has its stderr in ``LOGS/SAMPLE/STEP.log``, with the message the
single-step command would print, and each output is written when its step is done. A
sample whose step fails is skipped from there on and the others go on. At the end one
line per failed sample is printed; the exit code is 0 when every sample succeeded, 2
when every failure was bad input, 1 otherwise (130 stops at once on Ctrl-C).
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pgx_report.batch.tasks import CallOptions, sample_logs, sample_outputs
from pgx_report.errors import PROG, exit_code_of
from pgx_report.files.io import atomic_write_bytes
from pgx_report.genotype.isolated import stderr_to
from pgx_report.pipeline import CallSettings, ReportSettings, SampleTask

if TYPE_CHECKING:
    from pgx_report.contracts.lab import LabProfile

log = logging.getLogger(__name__)

INTERRUPTED = 130


class StepFailed(Exception):
    """A step of a sample failed; its message is in its log."""

    def __init__(self, step: str, code: int, log_file: Path) -> None:
        super().__init__(step)
        self.step, self.code, self.log_file = step, code, log_file


@dataclass(frozen=True)
class _Logs:
    """The ``stage`` of :func:`run_sample`: each step with its stderr in its log file,
    an error turned into its one line there (as the command prints it) and StepFailed."""

    files: Mapping[str, Path]

    @contextlib.contextmanager
    def stage(self, step: str) -> Iterator[None]:
        path = self.files[step]
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as stream, stderr_to(stream):
            try:
                yield
            except BaseException as exc:
                code = exit_code_of(exc)
            else:
                return
        raise StepFailed(step, code, path)


def _last_line(path: Path) -> str:
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return lines[-1] if lines else f"no message (see {path})"


def _run_each(
    tasks: Sequence[SampleTask],
    results: str | Path,
    logs: str | Path,
    calling: CallSettings,
    report: ReportSettings,
) -> list[tuple[str, str, int, str]] | None:
    """Run every task; the failures (sample, step, code, error line), None if interrupted."""
    from pgx_report.pipeline import run_sample

    failures: list[tuple[str, str, int, str]] = []
    for task in tasks:
        paths = sample_outputs(results, task.sample)

        def write(key: str, data: bytes, paths: Mapping[str, Path] = paths) -> None:
            atomic_write_bytes(paths[key], data)

        try:
            run_sample(
                task, paths, calling=calling, report=report,
                stage=_Logs(sample_logs(logs, task.sample)).stage, emit=write,
            )  # fmt: skip
        except StepFailed as failed:
            if failed.code == INTERRUPTED:
                print(f"{PROG}: interrupted at sample '{task.sample}'", file=sys.stderr)
                return None
            failures.append((task.sample, failed.step, failed.code, _last_line(failed.log_file)))
            continue
        log.info("sample %s: done", task.sample)
    return failures


def run_tasks(
    tasks: Sequence[SampleTask],
    results: str | Path,
    logs: str | Path,
    options: CallOptions,
    *,
    lab: LabProfile | None = None,
) -> int:
    """Run every task (see the module's docstring); the exit code. ``lab`` is the
    laboratory's profile, printed in every report."""
    from pgx_report.contracts.call import Thresholds
    from pgx_report.genotype.isolated import reader_session

    defaults = Thresholds()
    thresholds = Thresholds(
        min_depth=defaults.min_depth if options.min_depth is None else options.min_depth,
        min_gq=defaults.min_gq if options.min_gq is None else options.min_gq,
    )
    calling = CallSettings(thresholds=thresholds, full_digest=options.full_digest)
    report = ReportSettings(lab=lab)
    with reader_session():  # one reader process for the chunk; a crash fails one sample
        failures = _run_each(tasks, results, logs, calling, report)
    if failures is None:
        return INTERRUPTED
    for sample, failed_step, _code, message in failures:
        message = message.removeprefix(f"{PROG}: error: ").removeprefix(f"{PROG}: ")
        print(f"{PROG}: error: sample '{sample}' ({failed_step}): {message}", file=sys.stderr)
    if not failures:
        return 0
    print(
        f"{PROG}: {len(failures)} of {len(tasks)} samples failed (the others are written)",
        file=sys.stderr,
    )
    return 2 if all(code == 2 for _s, _st, code, _m in failures) else 1
