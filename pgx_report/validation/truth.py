"""The truth file of ``pgx-report validate``: reference samples and their known genotypes.

A tab-separated file with a header. Columns: ``sample``, ``input`` (VCF/gVCF/BCF/BAM/CRAM,
relative to the truth file's folder), ``expected`` (A/A, A/G, G/G or not_determined) and,
optionally, ``vcf_sample``, ``reference`` and ``note``. Blank lines and ``#`` lines are
skipped. Every problem is one InputError naming the file, the line and the sample."""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from pgx_report.errors import InputError

COLUMNS = ("sample", "input", "expected", "vcf_sample", "reference", "note")
REQUIRED = ("sample", "input", "expected")
NOT_DETERMINED = "not_determined"
EXPECTED = ("A/A", "A/G", "G/G", NOT_DETERMINED)


@dataclass(frozen=True)
class TruthRow:
    """One reference sample: where its data is and what it must be called."""

    line: int
    sample: str
    input: Path  # resolved against the truth file's folder
    input_label: str  # as shown in the outputs (the truth file's text, or a bundled name)
    expected: str
    vcf_sample: str | None = None
    reference: Path | None = None
    note: str = ""
    # Set for another file form of a sample that has its own row (the bundled bgzip and BCF
    # copies): checked like any row, but not counted again in the accuracy statistics,
    # which assume independent samples.
    replicate_of: str | None = None


def _lines(text: str) -> Iterator[tuple[int, list[str]]]:
    for number, fields in enumerate(csv.reader(text.splitlines(), delimiter="\t"), start=1):
        if fields and "".join(fields).strip() and not fields[0].lstrip().startswith("#"):
            yield number, [field.strip() for field in fields]


def _check_header(source: Path, number: int, header: Sequence[str]) -> None:
    where = f"line {number} (header)"
    for name in header:
        if name not in COLUMNS:
            raise InputError(
                source, f"{where}: unknown column '{name}' (allowed: {', '.join(COLUMNS)})"
            )
        if header.count(name) > 1:
            raise InputError(source, f"{where}: column '{name}' appears twice")
    for name in REQUIRED:
        if name not in header:
            raise InputError(source, f"{where}: missing column '{name}'")


def _existing(source: Path, where: str, column: str, value: str) -> Path:
    path = Path(os.path.normpath(source.parent / value))
    if not path.is_file():
        raise InputError(source, f"{where}: column '{column}': file not found: {value}")
    return path


def _row(source: Path, number: int, record: dict[str, str]) -> TruthRow:
    sample = record.get("sample", "")
    where = f"line {number}" + (f" (sample '{sample}')" if sample else "")
    for name in REQUIRED:
        if not record.get(name):
            raise InputError(source, f"{where}: column '{name}' is empty")
    expected = record["expected"]
    if expected not in EXPECTED:
        raise InputError(
            source,
            f"{where}: column 'expected': '{expected}' is not one of {', '.join(EXPECTED)}",
        )
    reference = record.get("reference")
    return TruthRow(
        line=number,
        sample=sample,
        input=_existing(source, where, "input", record["input"]),
        input_label=record["input"],
        expected=expected,
        vcf_sample=record.get("vcf_sample") or None,
        reference=_existing(source, where, "reference", reference) if reference else None,
        note=record.get("note", ""),
    )


def parse_truth(text: str, source: Path) -> tuple[TruthRow, ...]:
    """The rows of a truth file's text; ``source`` names it in errors and anchors paths."""
    header: list[str] | None = None
    rows: list[TruthRow] = []
    first: dict[str, int] = {}
    for number, fields in _lines(text):
        if header is None:
            _check_header(source, number, fields)
            header = fields
            continue
        if len(fields) != len(header):
            raise InputError(
                source,
                f"line {number}: expected {len(header)} tab-separated fields (as in the "
                f"header), found {len(fields)}",
            )
        row = _row(source, number, dict(zip(header, fields, strict=True)))
        if row.sample in first:
            raise InputError(
                source,
                f"line {number}: duplicate sample '{row.sample}' (first on line "
                f"{first[row.sample]})",
            )
        first[row.sample] = number
        rows.append(row)
    if not rows:
        raise InputError(source, "no rows (a header and at least one sample are needed)")
    return tuple(rows)


def read_truth(path: Path) -> tuple[TruthRow, ...]:
    """Read and check a truth file (InputError naming the file and line if bad)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(path, "truth file not found") from None
    except IsADirectoryError:
        raise InputError(path, "is a directory, not a truth file") from None
    except PermissionError:
        raise InputError(path, "permission denied") from None
    except UnicodeDecodeError:
        raise InputError(path, "not UTF-8 text") from None
    return parse_truth(text, path)
