"""What the Snakemake workflow runs, from its config and sample sheet.

The Snakefile's rules are thin: every value they need (samples, chunks of samples per
job, cohort VCFs read once for several rows, each job's inputs, outputs, logs and
``pgx-report`` arguments) comes from a :class:`WorkflowPlan`, built and checked here so
that unit tests reach it without Snakemake. Chunks: a job is a run of consecutive sheet
rows done by ONE ``pgx-report batch`` process (the Python start, the imports and the
first WeasyPrint layout are paid once per chunk, not once per sample).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pgx_report.batch.sheet import ConfigError, SheetRow, load_sample_sheet
from pgx_report.batch.tasks import CallOptions, chunks, sample_logs, sample_outputs
from pgx_report.contracts.text import unprintable_in
from pgx_report.pipeline import SampleTask

COHORT_DIR = "results/_cohorts"
COHORT_LOG_DIR = "logs/_cohorts"


def check_population(name: str) -> None:
    from pgx_report.outputs.batch_summary import load_populations

    known = load_populations()
    if name not in known:
        raise ConfigError(
            f"population '{name}' is not known (choose one of: {', '.join(sorted(known))})"
        )


def check_lab(path: str | None) -> None:
    """The config key 'lab' (the laboratory profile), validated before any job."""
    if path is None:
        return
    from pgx_report.contracts.lab import load_lab
    from pgx_report.errors import PgxError

    try:
        load_lab(path)
    except PgxError as err:
        raise ConfigError(f"lab: {err}") from None


def find_pgx_report(command: str) -> str:
    """The pgx-report command for the jobs: PATH first, then beside this Python."""
    if shutil.which(command):
        return command
    beside = Path(sys.executable).parent / command
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    raise ConfigError(
        f"command '{command}' not found on PATH nor in {beside.parent} "
        "(install pgx-report in this environment, or set config key 'pgx_report')"
    )


def sample_task(row: SheetRow) -> SampleTask:
    """The `pgx-report batch` task of one sheet row."""
    request: dict[str, Any] = {} if row.request is None else row.request.to_dict()
    if row.cohort:
        return SampleTask(
            sample=row.sample,
            questionnaire=row.questionnaire,
            cohort=f"{COHORT_DIR}/{row.cohort}",
            vcf_sample=row.vcf_sample,
            lang=row.lang,
            **request,
        )
    return SampleTask(
        sample=row.sample,
        questionnaire=row.questionnaire,
        input=row.input,
        vcf_sample=row.vcf_sample,
        lang=row.lang,
        reference=row.reference,
        **request,
    )


@dataclass(frozen=True)
class WorkflowPlan:
    """The checked config and sample sheet, and the values the rules take from them."""

    config: Mapping[str, Any]
    sheet: Path
    table: Mapping[str, SheetRow]  # sample -> row, in sheet order
    pgx: str  # the shell-quoted pgx-report command of the jobs

    @property
    def samples(self) -> list[str]:
        return list(self.table)

    @property
    def cohorts(self) -> dict[str, list[SheetRow]]:
        found: dict[str, list[SheetRow]] = {}
        for row in self.table.values():
            if row.cohort:
                found.setdefault(row.cohort, []).append(row)
        return found

    @property
    def chunks(self) -> dict[str, list[str]]:
        """Chunk id ("0001", ...) -> its samples, in sheet order."""
        size = self.config["samples_per_job"]
        return {
            f"{number:04d}": samples
            for number, samples in enumerate(chunks(self.samples, size), start=1)
        }

    def chunk_inputs(self, samples: list[str]) -> list[str]:
        """Every file a chunk reads: genotype inputs (or cohort call folders),
        questionnaires, reference FASTAs; a changed one reruns the chunk."""
        files = []
        for sample in samples:
            row = self.table[sample]
            files.append(f"{COHORT_DIR}/{row.cohort}" if row.cohort else row.input)
            files.append(row.questionnaire)
            if row.reference and not row.cohort:
                files.append(row.reference)
        if self.config.get("lab"):  # a changed laboratory profile reruns every chunk
            files.append(self.config["lab"])
        return list(dict.fromkeys(files))

    def chunk_outputs(self, samples: list[str]) -> list[str]:
        return [str(path) for s in samples for path in sample_outputs("results", s).values()]

    def chunk_logs(self, samples: list[str]) -> list[str]:
        return [str(path) for s in samples for path in sample_logs("logs", s).values()]

    def chunk_tasks(self, samples: list[str]) -> str:
        """The chunk's `--task JSON` arguments, shell-quoted: one compact JSON object per
        sample (one argument each, so no single argument outgrows the kernel's limit)."""
        words = []
        for sample in samples:
            task = sample_task(self.table[sample]).to_dict()
            words += ["--task", json.dumps(task, separators=(",", ":"), ensure_ascii=False)]
        return shlex.join(words)

    def batch_options(self) -> str:
        """Shell-quoted options of the chunk's `pgx-report batch`: the call options and
        the laboratory profile (config key 'lab')."""
        lab = self.config.get("lab")
        words = shlex.split(self.call_options()) + (["--lab", lab] if lab else [])
        return shlex.join(words)

    def call_options(self) -> str:
        """Shell-quoted options of `pgx-report call` (config call.min_depth, .min_gq)."""
        call = dict(self.config["call"])
        call.pop("min_quality", None)  # plates only: cohort_plate_options
        return shlex.join(CallOptions(**call).argv())

    def cohort_plate_options(self, wildcards: Any) -> str:
        """A plate cohort's `--assays` (config key 'assays') and `--min-quality`."""
        if self.cohorts[wildcards.cohort][0].format != "plate":
            return ""
        words = ["--assays", self.config["assays"]]
        min_quality = self.config["call"].get("min_quality")
        if min_quality is not None:
            words += ["--min-quality", str(min_quality)]
        return shlex.join(words)

    def cohort_assays(self, wildcards: Any) -> list[str]:
        is_plate = self.cohorts[wildcards.cohort][0].format == "plate"
        return [self.config["assays"]] if is_plate else []

    def cohort_vcf(self, wildcards: Any) -> str:
        return self.cohorts[wildcards.cohort][0].input

    def cohort_reference(self, wildcards: Any) -> list[str]:
        reference = self.cohorts[wildcards.cohort][0].reference
        return [reference] if reference else []

    def cohort_reference_option(self, wildcards: Any) -> str:
        reference = self.cohorts[wildcards.cohort][0].reference
        return shlex.join(["--reference", reference]) if reference else ""

    def summary_args(self) -> list[str]:
        """Arguments of `pgx-report summarize` (shared by the rule and the on-error hook)."""
        summary = self.config["summary"]
        return [
            *("--sheet", str(self.sheet), "--results", "results", "--logs", "logs"),
            *("--population", self.config["population"], "--alpha", str(summary["alpha"])),
            *("--max-not-determined", str(summary["max_not_determined_fraction"])),
        ]

    def summary_options(self) -> str:
        return shlex.join(self.summary_args())

    def write_summary_after_failure(self) -> None:
        """On a failed run (e.g. --keep-going with a bad sample) still write the batch
        summary, which lists the failed samples with the error line from their logs."""
        outputs = ["-o", "results/batch_summary.tsv", "--html", "results/batch_summary.html"]
        outputs += ["--pdf", "results/batch_summary.pdf"]
        argv = [*shlex.split(self.pgx), "summarize", *self.summary_args(), *outputs]
        Path("logs").mkdir(exist_ok=True)
        with Path("logs/batch_summary.log").open("w", encoding="utf-8") as log:
            done = subprocess.run(argv, stderr=log, check=False)
        if done.returncode == 0:
            message = "batch summary of the failed run: results/batch_summary.html"
        else:
            message = "could not write the batch summary: see logs/batch_summary.log"
        print(f"pgx-report: {message}", file=sys.stderr)


def load_plan(config: Mapping[str, Any]) -> WorkflowPlan:
    """The plan of a (schema-validated) workflow config; a bad sheet or config value is
    a SheetError / ConfigError (one line)."""
    found = unprintable_in(dict(config))  # paths, keys and commands shown in logs and jobs
    if found:
        raise ConfigError(f"{found[0].removeprefix('$.')}: {found[1]}")
    sheet = Path(config["samples"])
    table = load_sample_sheet(sheet, config.get("reference"))
    check_population(config["population"])
    plates = [row for row in table.values() if row.format == "plate"]
    if plates and not config.get("assays"):
        raise ConfigError(
            f"sample '{plates[0].sample}': {plates[0].input} is a genotyping plate: set config "
            "key 'assays' (the lab's assay definitions, docs/targeted.md)"
        )
    check_lab(config.get("lab"))
    pgx = shlex.quote(find_pgx_report(config["pgx_report"]))
    return WorkflowPlan(config=config, sheet=sheet, table=table, pgx=pgx)
