# Helpers for the rules: config and sample-sheet validation, the sample table, and the
# input/param functions. No rules here (snakemake --lint wants functions apart from rules).

import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd
from jsonschema import ValidationError
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from pgx_report.files.sniff import alignment_format as sniff_alignment_format
from pgx_report.outputs.summary import load_populations, sheet_lines
from pgx_report.errors import PgxError
from pgx_report.batch.tasks import CallOptions, SampleTask, chunks, sample_logs, sample_outputs

validate(config, schema="../schemas/config.schema.yaml")

SHEET_COLUMNS = ("sample", "input", "vcf", "questionnaire", "vcf_sample", "lang", "reference")
REQUIRED_COLUMNS = ("sample", "input", "questionnaire")
# The genotype-input column was called 'vcf' before BAM/CRAM were accepted; both names work.
OLD_INPUT_COLUMN = "vcf"
# Names that would collide with the batch-level files in results/.
RESERVED_SAMPLES = frozenset({"batch_summary.tsv", "batch_summary.html", "batch_summary.pdf"})
COHORT_DIR = "results/_cohorts"
COHORT_LOG_DIR = "logs/_cohorts"


@dataclass(frozen=True)
class SheetRow:
    """One validated sample-sheet row, with paths resolved against the sheet's folder."""

    sample: str
    input: str  # genotype input: VCF/BCF/gVCF, BAM or CRAM
    questionnaire: str
    vcf_sample: str | None  # the sample name inside the input (VCF column, @RG SM)
    lang: str | None
    line: int
    format: str = "vcf"  # vcf (also BCF/gVCF), bam or cram: from the file's content
    reference: str | None = None  # FASTA passed as --reference (row, else config key)
    cohort: str | None = None


def sheet_error(sheet, line, sample, message):
    where = f"line {line}" + (f" (sample '{sample}')" if sample else "")
    return WorkflowError(f"sample sheet {sheet}: {where}: {message}")


def resolve_path(base, value):
    """A sheet path relative to the sheet's folder, shown relative to the working
    directory when it lies inside it (tidy logs and provenance), else absolute."""
    path = Path(os.path.normpath(base / value))
    absolute = path if path.is_absolute() else Path.cwd() / path
    relative = os.path.relpath(absolute)
    return absolute.as_posix() if relative.startswith("..") else Path(relative).as_posix()


def read_sheet_rows(sheet):
    """Rows of the TSV as (line number, {column: value}), and the name the sheet uses for
    the genotype-input column ('input', or the old 'vcf', stored as 'input');
    '#' lines and blank lines skipped."""
    try:
        text = sheet.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise WorkflowError(
            f"sample sheet {sheet}: file not found (config key 'samples')"
        ) from None
    except UnicodeDecodeError:
        raise WorkflowError(f"sample sheet {sheet}: not UTF-8 text") from None
    header = None
    rows = []
    for number, fields in sheet_lines(text):
        if header is None:
            check_header(sheet, number, fields)
            input_column = OLD_INPUT_COLUMN if OLD_INPUT_COLUMN in fields else "input"
            header = ["input" if name == OLD_INPUT_COLUMN else name for name in fields]
            continue
        if len(fields) != len(header):
            raise sheet_error(
                sheet,
                number,
                fields[0],
                f"expected {len(header)} tab-separated fields (as in the header), found {len(fields)}",
            )
        rows.append((number, {key: value for key, value in zip(header, fields) if value}))
    if header is None or not rows:
        raise WorkflowError(f"sample sheet {sheet}: no samples (header and at least one row needed)")
    return rows, input_column


def check_header(sheet, number, header):
    unknown = [name for name in header if name not in SHEET_COLUMNS]
    if unknown:
        raise sheet_error(
            sheet,
            number,
            None,
            f"unknown column '{unknown[0]}' (allowed: {', '.join(SHEET_COLUMNS)})",
        )
    duplicated = sorted({name for name in header if header.count(name) > 1})
    if duplicated:
        raise sheet_error(sheet, number, None, f"column '{duplicated[0]}' appears twice")
    if "input" in header and OLD_INPUT_COLUMN in header:
        raise sheet_error(
            sheet,
            number,
            None,
            f"columns 'input' and '{OLD_INPUT_COLUMN}' are the same column (the genotype input;"
            f" '{OLD_INPUT_COLUMN}' is its old name): keep one",
        )
    present = ["input" if name == OLD_INPUT_COLUMN else name for name in header]
    missing = [name for name in REQUIRED_COLUMNS if name not in present]
    if missing:
        raise sheet_error(sheet, number, None, f"missing column '{missing[0]}'")


def validate_rows(sheet, rows, input_column):
    """JSON-Schema validation of every row (snakemake.utils.validate on a data frame);
    a failure names the sheet line, the sample and the column (as the sheet names it)."""
    frame = pd.DataFrame([record for _, record in rows], dtype=object)
    try:
        validate(frame, schema="../schemas/samples.schema.yaml", set_default=False)
    except WorkflowError as err:
        cause = err.__context__  # the jsonschema error that validate() wrapped
        found = re.search(r"row (\d+) of data frame", str(err))
        if not isinstance(cause, ValidationError) or found is None:
            raise
        line, record = rows[int(found.group(1))]
        name = input_column if cause.path and cause.path[0] == "input" else None
        column = f"column '{name or cause.path[0]}': " if cause.path else ""
        raise sheet_error(sheet, line, record.get("sample"), column + cause.message) from None


def cohort_ids(vcfs):
    """Stable, readable IDs for the shared (cohort) inputs: the file name without its
    VCF/BCF/BAM/CRAM suffixes, plus a short path hash when two share a file name."""
    def stem(path):
        name = Path(path).name
        for suffix in (".gz", ".bgz", ".vcf", ".bcf", ".bam", ".cram"):
            name = name.removesuffix(suffix)
        return re.sub(r"[^A-Za-z0-9._-]", "_", name) or "cohort"

    stems = [stem(vcf) for vcf in vcfs]
    return {
        vcf: name if stems.count(name) == 1 else f"{name}-{hashlib.sha1(vcf.encode()).hexdigest()[:8]}"
        for vcf, name in zip(vcfs, stems)
    }


def config_reference():
    """The config key 'reference' (relative to the working directory), checked to exist."""
    value = config.get("reference")
    if value is None:
        return None
    path = Path(value)
    if not path.is_file():
        reason = "is not a file" if path.exists() else "file not found"
        raise WorkflowError(f"config: reference {value}: {reason}")
    return path.as_posix()


def input_format(sheet, line, sample, column, path):
    """'bam', 'cram' or 'vcf' (VCF, BCF, gVCF: left to the caller) from the file's content."""
    try:
        return sniff_alignment_format(path) or "vcf"
    except PgxError as err:  # SAM text: one line naming the file and the fix
        raise sheet_error(sheet, line, sample, f"column '{column}': {err}") from None


def load_sample_sheet(sheet):
    """Validate the sheet and return {sample: SheetRow}, cohort VCFs marked."""
    rows, input_column = read_sheet_rows(sheet)
    validate_rows(sheet, rows, input_column)
    default_reference = config_reference()
    base = sheet.parent
    table = {}
    seen_input = {}
    for line, record in rows:
        sample = record["sample"]
        if sample in table:
            raise sheet_error(
                sheet, line, sample, f"duplicate sample (first on line {table[sample].line})"
            )
        if sample in RESERVED_SAMPLES:
            raise sheet_error(sheet, line, sample, "this sample ID is reserved for a batch file")
        reference = record.get("reference")
        row = SheetRow(
            sample=sample,
            input=resolve_path(base, record["input"]),
            questionnaire=resolve_path(base, record["questionnaire"]),
            vcf_sample=record.get("vcf_sample"),
            lang=record.get("lang"),
            line=line,
            reference=resolve_path(base, reference) if reference else default_reference,
        )
        for field, column in (
            ("input", input_column),
            ("questionnaire", "questionnaire"),
            ("reference", "reference"),
        ):
            value = getattr(row, field)
            if field == "reference" and not reference:
                continue  # none, or the config key's (checked above)
            path = Path(value)
            if not path.is_file():
                reason = "is not a file" if path.exists() else "file not found"
                raise sheet_error(sheet, line, sample, f"column '{column}': {path}: {reason}")
        row = replace(row, format=input_format(sheet, line, sample, input_column, row.input))
        if row.format == "cram" and row.reference is None:
            raise sheet_error(
                sheet,
                line,
                sample,
                f"column '{input_column}': {row.input} is CRAM, which needs the reference FASTA "
                "it was written with: fill in column 'reference' or set config key 'reference'",
            )
        key = (os.path.realpath(row.input), row.vcf_sample)
        if row.vcf_sample and key in seen_input:
            raise sheet_error(
                sheet,
                line,
                sample,
                f"{'VCF' if row.format == 'vcf' else row.format.upper()} sample "
                f"'{row.vcf_sample}' of {row.input} is already used by sample "
                f"'{seen_input[key].sample}' (line {seen_input[key].line}): a sample swap?",
            )
        seen_input[key] = row
        table[sample] = row
    return mark_cohorts(sheet, table)


def mark_cohorts(sheet, table):
    """Rows that share one VCF become a cohort: the file is read once for all of them
    (`call --all-samples`). Rows that share a BAM/CRAM (several read groups) need
    'vcf_sample' too, but each is called on its own (`--all-samples` is for VCFs)."""
    by_input = {}
    for row in table.values():
        by_input.setdefault(os.path.realpath(row.input), []).append(row)
    shared = {real: rows for real, rows in by_input.items() if len(rows) > 1}
    ids = cohort_ids(sorted(real for real, rows in shared.items() if rows[0].format == "vcf"))
    for real, rows in shared.items():
        for row in rows:
            if not row.vcf_sample:
                kind = "a cohort VCF" if row.format == "vcf" else f"a multi-sample {row.format.upper()}"
                raise sheet_error(
                    sheet,
                    row.line,
                    row.sample,
                    f"column 'vcf_sample' is required: {row.input} is shared by "
                    f"{len(rows)} rows ({kind})",
                )
            if row.format != "vcf":
                continue  # alignments: always the single-sample call rule
            if row.reference != rows[0].reference:
                raise sheet_error(
                    sheet,
                    row.line,
                    row.sample,
                    f"column 'reference': {row.input} is called once for all its rows (a cohort "
                    f"VCF), so they need one reference; line {rows[0].line} has "
                    f"{rows[0].reference or 'none'}",
                )
            table[row.sample] = replace(row, cohort=ids[real])
    return table


def check_population(name):
    known = load_populations()
    if name not in known:
        raise WorkflowError(
            f"config: population '{name}' is not known (choose one of: {', '.join(sorted(known))})"
        )


def find_pgx_report(command):
    """The pgx-report command for the jobs: PATH first, then beside this Python."""
    if shutil.which(command):
        return command
    beside = Path(sys.executable).parent / command
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    raise WorkflowError(
        f"config: command '{command}' not found on PATH nor in {beside.parent} "
        "(install pgx-report in this environment, or set config key 'pgx_report')"
    )


SHEET = Path(config["samples"])
SAMPLE_TABLE = load_sample_sheet(SHEET)
SAMPLES = list(SAMPLE_TABLE)
COHORTS = {}
for _row in SAMPLE_TABLE.values():
    if _row.cohort:
        COHORTS.setdefault(_row.cohort, []).append(_row)
# chunk id ("0001", ...) -> its samples, in sheet order
CHUNKS = {
    f"{number:04d}": samples
    for number, samples in enumerate(chunks(SAMPLES, config["samples_per_job"]), start=1)
}
check_population(config["population"])
PGX = shlex.quote(find_pgx_report(config["pgx_report"]))


# ---- chunks: many samples per job ------------------------------------------------------
# A job is a chunk of consecutive sheet rows run by ONE `pgx-report batch` process (the
# Python start, the imports and the first WeasyPrint layout are paid once per chunk, not
# once per sample). Each chunk declares every file of its samples, so Snakemake still
# tracks (and reruns) reports file by file; a failed sample does not lose the others'
# reports (the profile sets keep-incomplete: every file is written atomically).


def sample_task(row):
    """The `pgx-report batch` task of one sheet row (pgx_report.batch.tasks.SampleTask)."""
    if row.cohort:
        return SampleTask(
            sample=row.sample,
            questionnaire=row.questionnaire,
            call=f"{COHORT_DIR}/{row.cohort}/{row.vcf_sample}.json",
            lang=row.lang,
        )
    return SampleTask(
        sample=row.sample,
        questionnaire=row.questionnaire,
        input=row.input,
        vcf_sample=row.vcf_sample,
        lang=row.lang,
        reference=row.reference,
    )


def chunk_inputs(samples):
    """Every file a chunk reads: genotype inputs (or cohort call folders), questionnaires,
    reference FASTAs; a changed one reruns the chunk."""
    files = []
    for sample in samples:
        row = SAMPLE_TABLE[sample]
        files.append(f"{COHORT_DIR}/{row.cohort}" if row.cohort else row.input)
        files.append(row.questionnaire)
        if row.reference and not row.cohort:
            files.append(row.reference)
    return list(dict.fromkeys(files))


def chunk_outputs(samples):
    return [str(path) for s in samples for path in sample_outputs("results", s).values()]


def chunk_sample_logs(samples):
    return [str(path) for s in samples for path in sample_logs("logs", s).values()]


def chunk_tasks(samples):
    """The chunk's `--task JSON` arguments, shell-quoted: one compact JSON object per
    sample (one argument each, so no single argument outgrows the kernel's limit)."""
    words = []
    for sample in samples:
        task = sample_task(SAMPLE_TABLE[sample]).to_dict()
        words += ["--task", json.dumps(task, separators=(",", ":"), ensure_ascii=False)]
    return shlex.join(words)


def call_options():
    """Shell-quoted options of `pgx-report call` from the config (call.min_depth, .min_gq)."""
    return shlex.join(CallOptions(**config["call"]).argv())


def cohort_vcf(wildcards):
    return COHORTS[wildcards.cohort][0].input


def cohort_reference(wildcards):
    reference = COHORTS[wildcards.cohort][0].reference
    return [reference] if reference else []


def cohort_reference_option(wildcards):
    reference = COHORTS[wildcards.cohort][0].reference
    return shlex.join(["--reference", reference]) if reference else ""


def summary_args():
    """Arguments of `pgx-report summarize` (shared by the rule and the on-error hook)."""
    return [
        "--sheet", str(SHEET),
        "--results", "results",
        "--logs", "logs",
        "--population", config["population"],
        "--alpha", str(config["summary"]["alpha"]),
        "--max-not-determined", str(config["summary"]["max_not_determined_fraction"]),
    ]


def write_summary_after_failure():
    """On a failed run (e.g. --keep-going with a bad sample) still write the batch summary,
    which lists the failed samples with the error line from their logs."""
    outputs = [
        "-o", "results/batch_summary.tsv",
        "--html", "results/batch_summary.html",
        "--pdf", "results/batch_summary.pdf",
    ]
    argv = [*shlex.split(PGX), "summarize", *summary_args(), *outputs]
    Path("logs").mkdir(exist_ok=True)
    with Path("logs/batch_summary.log").open("w", encoding="utf-8") as log:
        done = subprocess.run(argv, stderr=log, check=False)
    if done.returncode == 0:
        print("pgx-report: batch summary of the failed run: results/batch_summary.html", file=sys.stderr)
    else:
        print("pgx-report: could not write the batch summary: see logs/batch_summary.log", file=sys.stderr)
