"""The workflow's sample sheet: parsed, validated and resolved in one place.

A sheet is a tab-separated file with a header; ``#`` lines and blank lines are skipped.
:func:`load_sample_sheet` is the workflow's strict reading (columns, JSON Schema per row,
duplicates, reserved names, paths relative to the sheet's folder, input formats, cohort
VCFs shared by several rows, the reference FASTA per row or from the config). Every
problem is a :class:`SheetError`: one line naming the sheet, the line and the sample.

:func:`sheet_samples` is the batch summary's lenient reading of the same file (only the
``sample`` and ``vcf_sample`` columns), through the same line parser and duplicate rule.
"""

from __future__ import annotations

import csv
import hashlib
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

from pgx_report.contracts.report import REQUEST_FIELDS, Request, request_problem
from pgx_report.contracts.text import text_problem
from pgx_report.errors import InputError, PgxError
from pgx_report.paths import SCHEMA_DIR

SHEET_COLUMNS = (
    "sample",
    "input",
    "vcf",
    "questionnaire",
    "vcf_sample",
    "lang",
    "reference",
    *REQUEST_FIELDS,  # optional: the request and specimen, printed in the report
)
REQUIRED_COLUMNS = ("sample", "input", "questionnaire")
# The genotype-input column was called 'vcf' before BAM/CRAM were accepted; both names work.
OLD_INPUT_COLUMN = "vcf"
# Names that would collide with the batch-level files in results/.
RESERVED_SAMPLES = frozenset({"batch_summary.tsv", "batch_summary.html", "batch_summary.pdf"})
SAMPLES_SCHEMA = SCHEMA_DIR / "samples.schema.yaml"

Record = dict[str, str]


class SheetError(PgxError):
    """A bad sample sheet (or sheet-related config value): one line, as the workflow
    prints it (``sample sheet SHEET: line N (sample 'S'): what is wrong``)."""

    def __init__(self, sheet: str | Path, line: int | None, sample: str | None, message: str):
        where = "" if line is None else f"line {line}" + (f" (sample '{sample}')" if sample else "")
        super().__init__(f"sample sheet {sheet}", f"{where}: {message}" if where else message)


class ConfigError(PgxError):
    """A bad workflow config value (``config: ...``)."""

    def __init__(self, message: str) -> None:
        super().__init__("config", message)


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
    request: Request | None = None  # the optional request and specimen columns


@dataclass(frozen=True)
class SheetTable:
    """The sheet's header line and data rows (line number, {column: non-empty value})."""

    header: tuple[str, ...]  # the old 'vcf' column read as 'input'
    input_column: str  # the name the sheet gives the genotype-input column
    rows: tuple[tuple[int, Record], ...]


# ---- the one line parser -----------------------------------------------------------------


def sheet_lines(text: str) -> Iterator[tuple[int, list[str]]]:
    """(line number, stripped fields) of a tab-separated sample sheet; blank lines and
    ``#`` comment lines are skipped."""
    for number, fields in enumerate(csv.reader(text.splitlines(), delimiter="\t"), start=1):
        if fields and "".join(fields).strip() and not fields[0].startswith("#"):
            yield number, [item.strip() for item in fields]


class FirstLines:
    """The duplicate-sample rule: each sample ID once per sheet, also ignoring case (two
    IDs that differ only in case would share ``results/<sample>/`` on a case-insensitive
    file system)."""

    def __init__(self) -> None:
        self._lines: dict[str, tuple[str, int]] = {}

    def repeated(self, sample: str, line: int) -> int | None:
        """The line of ``sample``'s first row if it was seen before, else None (and noted)."""
        first = self._lines.get(sample.casefold())
        if first is None:
            self._lines[sample.casefold()] = (sample, line)
            return None
        return first[1]

    def first_spelling(self, sample: str) -> str:
        """How the first row with ``sample`` (ignoring case) spells it."""
        return self._lines[sample.casefold()][0]


# ---- the batch summary's lenient reading ---------------------------------------------------


def sheet_samples(sheet: Path) -> list[tuple[str, str | None]]:
    """(sample, vcf_sample) in sheet order (the batch summary's reading: only the
    'sample' column is required); errors are InputErrors naming the sheet."""
    try:
        text = sheet.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(sheet, "file not found") from None
    except (UnicodeDecodeError, IsADirectoryError) as err:
        raise InputError(sheet, f"not a readable UTF-8 text file ({type(err).__name__})") from None
    header: list[str] | None = None
    samples: list[tuple[str, str | None]] = []
    seen = FirstLines()
    for number, fields in sheet_lines(text):
        if header is None:
            if "sample" not in fields:
                raise InputError(sheet, f"line {number}: header has no 'sample' column")
            header = fields
            continue
        row = dict(zip(header, fields, strict=False))
        sample = row.get("sample", "")
        if not sample:
            raise InputError(sheet, f"line {number}: empty 'sample'")
        first = seen.repeated(sample, number)
        if first is not None:
            raise InputError(
                sheet, f"line {number}: duplicate sample '{sample}' (first on line {first})"
            )
        samples.append((sample, row.get("vcf_sample") or None))
    if not samples:
        raise InputError(sheet, "no samples")
    return samples


# ---- the workflow's strict reading -----------------------------------------------------------


def read_sheet_table(sheet: Path) -> SheetTable:
    """The header (the old 'vcf' column read as 'input') and the rows, with their
    numbers of fields checked against the header."""
    try:
        text = sheet.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SheetError(sheet, None, None, "file not found (config key 'samples')") from None
    except UnicodeDecodeError:
        raise SheetError(sheet, None, None, "not UTF-8 text") from None
    header: tuple[str, ...] | None = None
    column = "input"
    rows: list[tuple[int, Record]] = []
    for number, fields in sheet_lines(text):
        if header is None:
            check_header(sheet, number, fields)
            column = input_column(fields)
            header = tuple("input" if name == OLD_INPUT_COLUMN else name for name in fields)
            continue
        if len(fields) != len(header):
            raise SheetError(
                sheet,
                number,
                fields[0],
                f"expected {len(header)} tab-separated fields (as in the header),"
                f" found {len(fields)}",
            )
        rows.append(
            (number, {key: value for key, value in zip(header, fields, strict=True) if value})
        )
    if header is None or not rows:
        raise SheetError(sheet, None, None, "no samples (header and at least one row needed)")
    return SheetTable(header, column, tuple(rows))


def input_column(header: Sequence[str]) -> str:
    """The name the sheet uses for the genotype-input column ('input' or the old 'vcf')."""
    return OLD_INPUT_COLUMN if OLD_INPUT_COLUMN in header else "input"


def check_header(sheet: Path, number: int, header: Sequence[str]) -> None:
    unknown = [name for name in header if name not in SHEET_COLUMNS]
    if unknown:
        allowed = ", ".join(SHEET_COLUMNS)
        raise SheetError(sheet, number, None, f"unknown column '{unknown[0]}' (allowed: {allowed})")
    duplicated = sorted({name for name in header if list(header).count(name) > 1})
    if duplicated:
        raise SheetError(sheet, number, None, f"column '{duplicated[0]}' appears twice")
    if "input" in header and OLD_INPUT_COLUMN in header:
        raise SheetError(
            sheet,
            number,
            None,
            f"columns 'input' and '{OLD_INPUT_COLUMN}' are the same column (the genotype input;"
            f" '{OLD_INPUT_COLUMN}' is its old name): keep one",
        )
    present = ["input" if name == OLD_INPUT_COLUMN else name for name in header]
    missing = [name for name in REQUIRED_COLUMNS if name not in present]
    if missing:
        raise SheetError(sheet, number, None, f"missing column '{missing[0]}'")


@cache
def _row_validator() -> Any:
    import jsonschema
    import yaml

    schema = yaml.safe_load(SAMPLES_SCHEMA.read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema)


def _check_printable(sheet: Path, line: int, record: Record, input_name: str) -> None:
    """Every cell (sample IDs, names, paths) printable: no control or format characters
    (the questionnaire's rule, :mod:`pgx_report.contracts.text`)."""
    sample = record.get("sample")
    shown = sample if sample is not None and text_problem(sample) is None else None
    for column, value in record.items():
        problem = text_problem(value)
        if problem:
            name = input_name if column == "input" else column
            raise SheetError(sheet, line, shown, f"column '{name}': {problem}")


def validate_rows(sheet: Path, table: SheetTable) -> None:
    """JSON-Schema validation of every row (the 'input' column under its sheet name);
    the first failure names the sheet line, the sample and the column."""
    validator = _row_validator()
    for line, record in table.rows:
        _check_printable(sheet, line, record, table.input_column)
        _check_request(sheet, line, record)
        error = next(iter(validator.iter_errors(record)), None)
        if error is None:
            continue
        path = list(error.path)
        name = table.input_column if path and path[0] == "input" else None
        column = f"column '{name or path[0]}': " if path else ""
        raise SheetError(sheet, line, record.get("sample"), column + error.message)


def row_request(record: Mapping[str, str]) -> Request | None:
    """A row's request and specimen columns (None when it has none)."""
    request = Request(**{name: record.get(name) for name in REQUEST_FIELDS})
    return request or None


def _check_request(sheet: Path, line: int, record: Record) -> None:
    """The request and specimen columns: real ISO dates, received not before collected,
    lengths (the rule of ``run``/``render``'s options, :func:`contracts.report.request_problem`)."""
    request = row_request(record)
    problem = None if request is None else request_problem(request)
    if problem is not None:
        raise SheetError(sheet, line, record.get("sample"), f"column '{problem[0]}': {problem[1]}")


def resolve_path(base: Path, value: str) -> str:
    """A sheet path relative to the sheet's folder, shown relative to the working
    directory when it lies inside it (tidy logs and provenance), else absolute."""
    path = Path(os.path.normpath(base / value))
    absolute = path if path.is_absolute() else Path.cwd() / path
    relative = os.path.relpath(absolute)
    return absolute.as_posix() if relative.startswith("..") else Path(relative).as_posix()


def config_reference(value: str | None) -> str | None:
    """The config key 'reference' (relative to the working directory), checked to exist."""
    if value is None:
        return None
    path = Path(value)
    if not path.is_file():
        reason = "is not a file" if path.exists() else "file not found"
        raise ConfigError(f"reference {value}: {reason}")
    return path.as_posix()


def cohort_ids(vcfs: Sequence[str]) -> dict[str, str]:
    """Stable, readable IDs for the shared (cohort) inputs: the file name without its
    VCF/BCF/BAM/CRAM suffixes, plus a short path hash when two share a file name."""

    def stem(path: str) -> str:
        name = Path(path).name
        for suffix in (".gz", ".bgz", ".vcf", ".bcf", ".bam", ".cram", ".txt"):
            name = name.removesuffix(suffix)
        return re.sub(r"[^A-Za-z0-9._-]", "_", name) or "cohort"

    stems = [stem(vcf) for vcf in vcfs]
    return {
        vcf: name
        if stems.count(name) == 1
        else f"{name}-{hashlib.sha1(vcf.encode()).hexdigest()[:8]}"
        for vcf, name in zip(vcfs, stems, strict=True)
    }


def input_format(sheet: Path, line: int, sample: str, column: str, path: str) -> str:
    """'bam', 'cram', 'plate' (a QuantStudio genotyping export) or 'vcf' (VCF, BCF, gVCF:
    left to the caller) from the file's content."""
    from pgx_report.files.sniff import alignment_format, is_plate

    try:
        return alignment_format(path) or ("plate" if is_plate(path) else "vcf")
    except PgxError as err:  # SAM text: one line naming the file and the fix
        raise SheetError(sheet, line, sample, f"column '{column}': {err}") from None


def _check_file(sheet: Path, line: int, sample: str, column: str, value: str) -> None:
    path = Path(value)
    if not path.is_file():
        reason = "is not a file" if path.exists() else "file not found"
        raise SheetError(sheet, line, sample, f"column '{column}': {path}: {reason}")


def _sheet_row(
    sheet: Path, line: int, record: Mapping[str, str], column: str, default_reference: str | None
) -> SheetRow:
    """One row resolved and checked: files exist, the input's format, CRAM's reference."""
    sample = record["sample"]
    base = sheet.parent
    own_reference = record.get("reference")
    row = SheetRow(
        sample=sample,
        input=resolve_path(base, record["input"]),
        questionnaire=resolve_path(base, record["questionnaire"]),
        vcf_sample=record.get("vcf_sample"),
        lang=record.get("lang"),
        line=line,
        reference=resolve_path(base, own_reference) if own_reference else default_reference,
        request=row_request(record),
    )
    _check_file(sheet, line, sample, column, row.input)
    _check_file(sheet, line, sample, "questionnaire", row.questionnaire)
    if own_reference and row.reference is not None:  # else none, or the config key's
        _check_file(sheet, line, sample, "reference", row.reference)
    row = replace(row, format=input_format(sheet, line, sample, column, row.input))
    if row.format == "cram" and row.reference is None:
        raise SheetError(
            sheet,
            line,
            sample,
            f"column '{column}': {row.input} is CRAM, which needs the reference FASTA "
            "it was written with: fill in column 'reference' or set config key 'reference'",
        )
    return row


def load_sample_sheet(sheet: Path, config_fasta: str | None = None) -> dict[str, SheetRow]:
    """Validate the sheet and return {sample: SheetRow} in sheet order, cohort VCFs marked.
    ``config_fasta`` is the config key 'reference' (checked by :func:`config_reference`
    once the rows are valid), the FASTA of rows without one."""
    table = read_sheet_table(sheet)
    validate_rows(sheet, table)
    default_reference = config_reference(config_fasta)
    rows: dict[str, SheetRow] = {}
    seen = FirstLines()
    seen_input: dict[tuple[str, str | None], SheetRow] = {}
    for line, record in table.rows:
        sample = record["sample"]
        first = seen.repeated(sample, line)
        if first is not None:
            spelled = seen.first_spelling(sample)
            if spelled != sample:
                raise SheetError(
                    sheet,
                    line,
                    sample,
                    f"sample ID differs only in case from '{spelled}' (line {first}): the two "
                    "would share one results folder on a case-insensitive file system",
                )
            raise SheetError(sheet, line, sample, f"duplicate sample (first on line {first})")
        if sample in RESERVED_SAMPLES:
            raise SheetError(sheet, line, sample, "this sample ID is reserved for a batch file")
        row = _sheet_row(sheet, line, record, table.input_column, default_reference)
        key = (os.path.realpath(row.input), row.vcf_sample)
        if row.vcf_sample and key in seen_input:
            kind = "VCF" if row.format == "vcf" else row.format.upper()
            raise SheetError(
                sheet,
                line,
                sample,
                f"{kind} sample '{row.vcf_sample}' of {row.input} is already used by sample "
                f"'{seen_input[key].sample}' (line {seen_input[key].line}): a sample swap?",
            )
        seen_input[key] = row
        rows[sample] = row
    return mark_cohorts(sheet, rows)


def mark_cohorts(sheet: Path, table: dict[str, SheetRow]) -> dict[str, SheetRow]:
    """Rows that share one VCF become a cohort: the file is read once for all of them
    (`call --all-samples`). Rows that share a BAM/CRAM (several read groups) need
    'vcf_sample' too, but each is called on its own (`--all-samples` is for VCFs)."""
    by_input: dict[str, list[SheetRow]] = {}
    for row in table.values():
        by_input.setdefault(os.path.realpath(row.input), []).append(row)
    # A plate is always read once for all its rows (its controls are the plate's).
    shared = {
        real: rows for real, rows in by_input.items() if len(rows) > 1 or rows[0].format == "plate"
    }
    ids = cohort_ids(
        sorted(real for real, rows in shared.items() if rows[0].format in ("vcf", "plate"))
    )
    marked = dict(table)
    for real, rows in shared.items():
        for row in rows:
            if not row.vcf_sample and row.format == "plate":
                raise SheetError(
                    sheet,
                    row.line,
                    row.sample,
                    f"column 'vcf_sample' is required: {row.input} is a genotyping plate "
                    "(give the sample's Sample Name on the plate)",
                )
            if not row.vcf_sample:
                kind = (
                    "a cohort VCF"
                    if row.format == "vcf"
                    else f"a multi-sample {row.format.upper()}"
                )
                raise SheetError(
                    sheet,
                    row.line,
                    row.sample,
                    f"column 'vcf_sample' is required: {row.input} is shared by "
                    f"{len(rows)} rows ({kind})",
                )
            if row.format == "plate":
                marked[row.sample] = replace(row, cohort=ids[real])
                continue
            if row.format != "vcf":
                continue  # alignments: always the single-sample call rule
            if row.reference != rows[0].reference:
                raise SheetError(
                    sheet,
                    row.line,
                    row.sample,
                    f"column 'reference': {row.input} is called once for all its rows (a cohort "
                    f"VCF), so they need one reference; line {rows[0].line} has "
                    f"{rows[0].reference or 'none'}",
                )
            marked[row.sample] = replace(row, cohort=ids[real])
    return marked
