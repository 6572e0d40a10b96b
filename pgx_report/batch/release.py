"""Releasing a workflow batch: ``pgx-report release-batch`` (issue 15 item 7).

The workflow writes preliminary reports (``results/<sample>/report.pdf``). A lab reads
the batch QC summary (``pgx-report summarize``) and then releases the whole batch with
one command. :func:`release_batch` computes the same batch QC verdict as the summary
(:mod:`pgx_report.outputs.batch_summary`, same population and thresholds) and refuses
while it is not OK, unless an override reason is given: each released report then
prints that reason (and the release log records it). Every sample's release is checked
and rendered in memory first; nothing is written unless all of them succeed. The
released reports go to ``OUT/<sample>/report.pdf`` (with ``report.html`` and
``report.fhir.json``), the releases to one log, ``OUT/release-log.jsonl``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from pgx_report.batch.sheet import sheet_samples
from pgx_report.batch.tasks import sample_outputs
from pgx_report.errors import InputError, UsageError
from pgx_report.outputs.batch_summary import (
    SampleStatus,
    collect_sample,
    load_populations,
    summarize_batch,
)
from pgx_report.outputs.release import Outputs, Release, Written, prepare_release, write
from pgx_report.outputs.release_log import LOG_NAME


class BatchReleaseError(InputError):
    """The batch cannot be released (its QC verdict is not OK, no report to release)."""


@dataclass(frozen=True)
class BatchQC:
    """Which batch QC settings decide the verdict (those of ``pgx-report summarize``)."""

    population: str = "global_1000g"
    alpha: float = 0.001
    max_not_determined: float = 0.2


@dataclass(frozen=True)
class BatchRelease:
    """What a batch release did."""

    verdict: str
    flags: tuple[str, ...]
    released: tuple[str, ...]  # samples
    skipped: tuple[str, ...]  # samples without a report (failed, not run)
    log: Path


def release_batch(
    sheet: Path,
    results: Path,
    logs: Path,
    out_dir: Path,
    release: Release,
    qc: BatchQC = BatchQC(),
) -> BatchRelease:
    """Release every reported sample of a batch (see the module)."""
    populations = load_populations()
    if qc.population not in populations:
        raise UsageError("--population", f"unknown population '{qc.population}'")
    samples = [
        collect_sample(sample, vcf_sample, results, logs)
        for sample, vcf_sample in sheet_samples(sheet)
    ]
    summary = summarize_batch(samples, populations[qc.population], qc.alpha, qc.max_not_determined)
    flags = tuple(flag.code.value for flag in summary.flags)
    if summary.verdict != "OK" and release.override is None:
        raise BatchReleaseError(
            results,
            f"batch QC verdict is {summary.verdict} ({', '.join(flags)}): read the batch "
            "summary; to release anyway give --override REASON (printed on every report)",
        )
    if summary.verdict == "OK":
        release = replace(release, override=None)  # nothing overridden: nothing to print
    reported = [s.sample for s in samples if s.status is SampleStatus.REPORTED]
    if not reported:
        raise BatchReleaseError(results, "no sample of the batch has a report to release")
    log = out_dir / LOG_NAME
    planned: list[Written] = []
    for sample in reported:
        folder = out_dir / sample
        outputs = Outputs(
            folder / "report.pdf", folder / "report.html", folder / "report.fhir.json", log=log
        )
        planned.append(prepare_release(sample_outputs(results, sample)["pdf"], release, outputs))
    for written in planned:  # everything checked and rendered: now write
        written.outputs.pdf.parent.mkdir(parents=True, exist_ok=True)
        write(written)
    skipped = tuple(s.sample for s in samples if s.status is not SampleStatus.REPORTED)
    return BatchRelease(summary.verdict, flags, tuple(reported), skipped, log)
