"""The per-sample steps of the lab workflow, for many samples in one process.

A batch of 1,000 patients is dominated by per-process cost when every step of every
sample is its own job (~1 s of Python start, imports and the first WeasyPrint layout,
against ~0.25 s for a warm render). The workflow therefore gives each job a *chunk* of
samples, and ``pgx-report batch`` runs, for each sample, the steps of the commands a
one-sample-per-job workflow would run::

    call INPUT [--sample S] [--reference FASTA] [--min-depth N --min-gq N] -o results/S/call.json
        (or: copy the sample's call from the cohort run of a shared VCF, found through
        the cohort folder's calls.tsv)
    render results/S/assessment.json -o results/S/report.pdf --html results/S/report.html
        --assess results/S/call.json QUESTIONNAIRE [--lang L]
    fhir results/S/assessment.json --pdf results/S/report.pdf -o results/S/report.fhir.json

with each step's stderr in ``logs/S/<step>.log`` (the batch summary takes a failed
sample's error line from there). Samples are independent: one sample's bad input stops
that sample only, and the others are still written.

This module is the pure part: the tasks, where each sample's files go, and the argument
lists of the single commands its steps are equal to (:func:`sample_steps`).
``pgx_report.batch.runner`` runs them through ``pgx_report.pipeline.run_sample`` (no
argument lists); the Snakefile declares the same paths (:func:`sample_outputs`,
:func:`sample_logs`) as the job's outputs and logs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pgx_report.contracts.languages import LANGUAGES
from pgx_report.contracts.report import REQUEST_FIELDS, request_problem
from pgx_report.errors import UsageError
from pgx_report.files.jsonio import parse_json
from pgx_report.pipeline import SampleTask as SampleTask  # defined beside run_sample

# The files a sample's steps write, by name; the Snakefile declares the same ones.
OUTPUT_NAMES: dict[str, str] = {
    "call": "call.json",
    "assessment": "assessment.json",
    "pdf": "report.pdf",
    "html": "report.html",
    "fhir": "report.fhir.json",
}
# A sample's steps, in order; each writes its stderr to logs/<sample>/<step>.log.
STEPS: tuple[str, ...] = ("call", "report", "fhir")
TASK_KEYS = frozenset(
    {"sample", "input", "call", "cohort", "questionnaire", "vcf_sample", "lang", "reference"}
    | set(REQUEST_FIELDS)
)


@dataclass(frozen=True)
class Step:
    """One step of one sample: the command's arguments (or a copy) and its log file."""

    name: str
    log: Path
    argv: tuple[str, ...] = ()  # pgx-report arguments; empty for a copy
    copy: tuple[Path, Path] | None = None  # (a call file, sample call)
    cohort: tuple[Path, str] | None = None  # (call --all-samples folder, VCF sample)


@dataclass(frozen=True)
class CallOptions:
    """The caller's options forwarded to ``call`` (None: the caller's default)."""

    min_depth: int | None = None
    min_gq: int | None = None
    full_digest: bool = False  # also hash the whole input (docs/calling.md)

    def argv(self) -> tuple[str, ...]:
        options: list[str] = ["--full-digest"] if self.full_digest else []
        if self.min_depth is not None:
            options += ["--min-depth", str(self.min_depth)]
        if self.min_gq is not None:
            options += ["--min-gq", str(self.min_gq)]
        return tuple(options)


def sample_outputs(results: str | Path, sample: str) -> dict[str, Path]:
    """The files written for ``sample`` under ``results`` (keys of :data:`OUTPUT_NAMES`)."""
    folder = Path(results) / sample
    return {key: folder / name for key, name in OUTPUT_NAMES.items()}


def sample_logs(logs: str | Path, sample: str) -> dict[str, Path]:
    """The log file of each of ``sample``'s steps under ``logs``."""
    return {step: Path(logs) / sample / f"{step}.log" for step in STEPS}


def sample_steps(
    task: SampleTask,
    results: str | Path,
    logs: str | Path,
    call_options: CallOptions,
    lab: str | Path | None = None,
) -> list[Step]:
    """The steps of one sample, in order (a failed step ends the sample); ``lab`` is
    the laboratory profile passed to ``render --lab``."""
    out = sample_outputs(results, task.sample)
    log = sample_logs(logs, task.sample)
    if task.call is not None:
        call = Step("call", log["call"], copy=(Path(task.call), out["call"]))
    elif task.cohort is not None:
        assert task.vcf_sample is not None  # parse_tasks guarantees it
        call = Step("call", log["call"], cohort=(Path(task.cohort), task.vcf_sample))
    else:
        assert task.input is not None  # parse_tasks guarantees one of the two
        options: list[str] = []
        if task.vcf_sample:
            options += ["--sample", task.vcf_sample]
        if task.reference:
            options += ["--reference", task.reference]
        argv = ("call", task.input, *options, *call_options.argv(), "-o", str(out["call"]))
        call = Step("call", log["call"], argv=argv)
    report = (
        "render",
        str(out["assessment"]),
        "-o",
        str(out["pdf"]),
        "--html",
        str(out["html"]),
        "--assess",
        str(out["call"]),
        task.questionnaire,
        *(("--lang", task.lang) if task.lang else ()),
        *(("--lab", str(lab)) if lab else ()),
        *(
            option
            for name in REQUEST_FIELDS
            if getattr(task, name) is not None
            for option in ("--" + name.replace("_", "-"), str(getattr(task, name)))
        ),
    )
    fhir = ("fhir", str(out["assessment"]), "--pdf", str(out["pdf"]), "-o", str(out["fhir"]))
    return [call, Step("report", log["report"], argv=report), Step("fhir", log["fhir"], argv=fhir)]


def parse_tasks(data: Any, source: str) -> list[SampleTask]:
    """Tasks from their JSON form (a list of objects); a bad one is a UsageError naming
    the item and the key. Sample names must be unique."""
    if not isinstance(data, list) or not data:
        raise UsageError(source, "expected a non-empty list of sample tasks")
    tasks: list[SampleTask] = []
    seen: set[str] = set()
    for index, item in enumerate(data):
        where = f"task {index + 1}"
        if not isinstance(item, Mapping):
            raise UsageError(source, f"{where}: expected a JSON object")
        unknown = sorted(set(item) - TASK_KEYS)
        if unknown:
            raise UsageError(
                source,
                f"{where}: unknown key '{unknown[0]}' (allowed: {', '.join(sorted(TASK_KEYS))})",
            )
        for key, value in item.items():
            if not isinstance(value, str) or not value:
                raise UsageError(source, f"{where}: '{key}' must be a non-empty string")
        for key in ("sample", "questionnaire"):
            if key not in item:
                raise UsageError(source, f"{where}: missing '{key}'")
        if len({"input", "call", "cohort"} & set(item)) != 1:
            raise UsageError(source, f"{where}: give exactly one of 'input', 'call' and 'cohort'")
        if "call" in item and ({"vcf_sample", "reference"} & set(item)):
            raise UsageError(
                source, f"{where}: 'vcf_sample' and 'reference' belong to an 'input' task"
            )
        if "cohort" in item and ("reference" in item or "vcf_sample" not in item):
            raise UsageError(
                source, f"{where}: a 'cohort' task needs 'vcf_sample' (and takes no 'reference')"
            )
        if item.get("lang", "en") not in LANGUAGES:
            raise UsageError(source, f"{where}: 'lang' must be one of {', '.join(LANGUAGES)}")
        sample = item["sample"]
        if "/" in sample or sample in {".", ".."}:
            raise UsageError(source, f"{where}: sample '{sample}' is not a valid folder name")
        if sample in seen:
            raise UsageError(source, f"{where}: sample '{sample}' appears twice")
        seen.add(sample)
        task = SampleTask(**item)
        request = task.request()
        problem = None if request is None else request_problem(request)
        if problem is not None:
            raise UsageError(source, f"{where}: '{problem[0]}': {problem[1]}")
        tasks.append(task)
    return tasks


def _json(text: str, source: str) -> Any:
    return parse_json(text.encode("utf-8"), source, UsageError)


def read_tasks(task_texts: Sequence[str], tasks_file: str | Path | None) -> list[SampleTask]:
    """The tasks of ``--task JSON`` arguments, then of a ``--tasks-file`` (a JSON list)."""
    from pgx_report.files.io import read_input_bytes

    items = [_json(text, f"--task {number}") for number, text in enumerate(task_texts, 1)]
    if tasks_file:
        path = Path(tasks_file)
        listed = _json(read_input_bytes(path).decode("utf-8", "replace"), str(path))
        if not isinstance(listed, list):
            raise UsageError(path, "expected a JSON list of sample tasks")
        items += listed
    if not items:
        raise UsageError(None, "no samples: give --task JSON (repeatable) or --tasks-file FILE")
    return parse_tasks(items, "batch")


def chunks(samples: Sequence[str], size: int) -> list[list[str]]:
    """``samples`` in order, cut into consecutive chunks of at most ``size`` (>= 1)."""
    if size < 1:
        raise ValueError("chunk size must be at least 1")
    return [list(samples[start : start + size]) for start in range(0, len(samples), size)]
