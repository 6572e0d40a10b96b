"""A strict reader of the QuantStudio genotyping results text export.

Layout (QuantStudio 6/7 Flex and 12K software, "Export > Results" as text): ``* Key =
Value`` header lines, then bracketed sections (``[Sample Setup]``, ``[Amplification
Data]``, ``[Results]``, ...), each a tab-separated table with a header line. Only
``[Sample Setup]`` (allele names and reporters per assay) and ``[Results]`` (one row per
well) are read; any other section is skipped. Anything unexpected in what is read is an
:class:`~pgx_report.errors.InputError` naming the line: a plate never becomes calls from
a guess. (allotropy, which parses these exports into its qPCR model, is not used: it pins
``jsonschema < 4.18`` and pulls pandas, openpyxl and more; see docs/targeted.md.)
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pgx_report.contracts.text import text_problem
from pgx_report.errors import InputError
from pgx_report.files.io import read_input_bytes, sha256_bytes
from pgx_report.files.sniff import looks_like_plate

RESULTS_REQUIRED = (
    "Well",
    "Well Position",
    "Omit",
    "Sample Name",
    "SNP Assay Name",
    "Task",
    "Call",
)
SETUP_REQUIRED = ("Well", "Sample Name", "SNP Assay Name", "Allele1 Name", "Allele2 Name")
TASKS = frozenset({"UNKNOWN", "NTC", "PC_ALLELE_1", "PC_ALLELE_2", "PC_ALLELE_BOTH"})
# Calls that are not a genotype (compared case-insensitively): the well gives no call.
NO_CALL_WORDS = frozenset(
    {
        "undetermined",
        "no amp",
        "noamp",
        "no amplification",
        "invalid",
        "no call",
        "negative control (nc)",
        "ntc",
    }
)
_NUMBER = re.compile(r"-?\d+(\.\d+)?")
_POSITION = re.compile(r"[A-Z]{1,2}\d{1,3}")


@dataclass(frozen=True)
class AssaySetup:
    """One assay's alleles as ``[Sample Setup]`` names them."""

    name: str
    allele1: str
    allele2: str
    reporter1: str | None
    reporter2: str | None


@dataclass(frozen=True)
class Well:
    """One row of ``[Results]``; ``alleles`` is the call as two allele names, or None."""

    line: int
    well: int
    position: str
    omitted: bool
    sample: str
    assay: str
    task: str
    call: str
    alleles: tuple[str, str] | None
    allele1_delta_rn: float | None
    allele2_delta_rn: float | None
    quality: float | None
    allele1_ct: float | None
    allele2_ct: float | None


@dataclass(frozen=True)
class Plate:
    path: Path
    sha256: str
    header: Mapping[str, str]
    assays: Mapping[str, AssaySetup]
    wells: tuple[Well, ...]
    has_quality: bool


def _decode(path: Path, data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(path, f"line {line}: not UTF-8 text (export the plate as text)") from None


Table = tuple[int, list[str], list[tuple[int, list[str]]]]  # header line, columns, rows


def _sections(path: Path, lines: Sequence[str]) -> tuple[dict[str, str], dict[str, Table]]:
    header: dict[str, str] = {}
    tables: dict[str, Table] = {}
    current: str | None = None
    for number, raw in enumerate(lines, start=1):
        line = raw.rstrip("\r")
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1]
            if current in tables:
                raise InputError(path, f"line {number}: section [{current}] appears twice")
            tables[current] = (0, [], [])
            continue
        if current is None:
            if not line.strip():
                continue
            if not line.startswith("* ") or "=" not in line:
                raise InputError(path, f"line {number}: expected a '* Key = Value' header line")
            key, _, value = line[2:].partition("=")
            header[" ".join(key.split())] = value.strip()
            continue
        if not line.strip():
            continue
        fields = next(csv.reader([line], delimiter="\t"))
        _start, columns, rows = tables[current]
        if not columns:
            tables[current] = (number, [c.strip() for c in fields], rows)
        else:
            rows.append((number, fields))
    return header, tables


def _columns(path: Path, name: str, table: Table, required: Sequence[str]) -> dict[str, int]:
    start, columns, _rows = table
    index = {column: i for i, column in enumerate(columns)}
    missing = [column for column in required if column not in index]
    if missing:
        raise InputError(path, f"line {start}: [{name}] has no column {missing[0]!r}")
    return index


def _number(path: Path, line: int, column: str, text: str) -> float | None:
    text = text.strip()
    if text == "" or text.casefold() == "undetermined":
        return None
    if not _NUMBER.fullmatch(text):
        raise InputError(path, f"line {line}: {column} {text!r} is not a number")
    return float(text)


def _cell(fields: Sequence[str], index: Mapping[str, int], column: str) -> str:
    at = index.get(column)
    return fields[at].strip() if at is not None and at < len(fields) else ""


def _sample_name(
    path: Path, line: int, fields: Sequence[str], index: Mapping[str, int], section: str
) -> str:
    """The well's Sample Name: printable text only (it becomes the call's sample, the
    name a report prints), checked before the cell is stripped."""
    at = index.get("Sample Name")
    raw = fields[at] if at is not None and at < len(fields) else ""
    problem = text_problem(raw)
    if problem is not None:
        raise InputError(path, f"line {line}: [{section}] Sample Name: {problem}")
    return raw.strip()


def _setup(path: Path, table: Table) -> tuple[dict[str, AssaySetup], dict[int, tuple[str, str]]]:
    index = _columns(path, "Sample Setup", table, SETUP_REQUIRED)
    assays: dict[str, AssaySetup] = {}
    wells: dict[int, tuple[str, str]] = {}
    for line, fields in table[2]:
        name = _cell(fields, index, "SNP Assay Name")
        if not name:
            continue  # an unused well
        setup = AssaySetup(
            name,
            _cell(fields, index, "Allele1 Name"),
            _cell(fields, index, "Allele2 Name"),
            _cell(fields, index, "Allele1 Reporter") or None,
            _cell(fields, index, "Allele2 Reporter") or None,
        )
        if not setup.allele1 or not setup.allele2 or setup.allele1 == setup.allele2:
            raise InputError(path, f"line {line}: assay {name!r} needs two distinct allele names")
        if assays.setdefault(name, setup) != setup:
            raise InputError(path, f"line {line}: assay {name!r} has other alleles than before")
        well = _cell(fields, index, "Well")
        if well.isdigit():
            wells[int(well)] = (_sample_name(path, line, fields, index, "Sample Setup"), name)
    return assays, wells


def _alleles(path: Path, line: int, call: str, setup: AssaySetup) -> tuple[str, str] | None:
    """The call's two allele names; None for a no-call word; anything else is an error."""
    if call.casefold() in NO_CALL_WORDS:
        return None
    kind, _, rest = call.partition(" ")
    body = rest if kind in ("Homozygous", "Heterozygous") else call
    names = (setup.allele1, setup.allele2)
    for first in names:
        for second in names:
            if body == f"{first}/{second}":
                same = first == second
                if (kind == "Homozygous" and not same) or (kind == "Heterozygous" and same):
                    break
                return (first, second)
    raise InputError(
        path,
        f"line {line}: Call {call!r} is neither a genotype of assay {setup.name!r} "
        f"(alleles {setup.allele1!r}, {setup.allele2!r}) nor a no-call word",
    )


def _well(
    path: Path, line: int, fields: list[str], index: dict[str, int], setup: Mapping[str, AssaySetup]
) -> Well | None:
    def cell(column: str) -> str:
        return _cell(fields, index, column)

    if len(fields) > len(index) and any(f.strip() for f in fields[len(index) :]):
        raise InputError(path, f"line {line}: more fields than the [Results] header has")
    assay = cell("SNP Assay Name")
    if not assay:
        return None  # an unused well
    if assay not in setup:
        raise InputError(path, f"line {line}: assay {assay!r} is not in [Sample Setup]")
    well, position, omit, task = cell("Well"), cell("Well Position"), cell("Omit"), cell("Task")
    if not well.isdigit() or int(well) < 1:
        raise InputError(path, f"line {line}: Well {well!r} is not a well number")
    if not _POSITION.fullmatch(position):
        raise InputError(path, f"line {line}: Well Position {position!r} is not like A1")
    if omit.casefold() not in ("true", "false"):
        raise InputError(path, f"line {line}: Omit {omit!r} is neither true nor false")
    if task.upper() not in TASKS:
        raise InputError(
            path, f"line {line}: Task {task!r} is not one of {', '.join(sorted(TASKS))}"
        )
    omitted, call = omit.casefold() == "true", cell("Call")
    if not omitted and not call:
        raise InputError(path, f"line {line}: Call is empty (analyse the plate before export)")
    quality = _number(path, line, "Quality(%)", cell("Quality(%)"))
    if quality is not None and not 0 <= quality <= 100:
        raise InputError(path, f"line {line}: Quality(%) {quality} is not between 0 and 100")
    return Well(
        line=line,
        well=int(well),
        position=position,
        omitted=omitted,
        sample=_sample_name(path, line, fields, index, "Results"),
        assay=assay,
        task=task.upper(),
        call=call,
        alleles=None if omitted else _alleles(path, line, call, setup[assay]),
        allele1_delta_rn=_number(path, line, "Allele1 Delta Rn", cell("Allele1 Delta Rn")),
        allele2_delta_rn=_number(path, line, "Allele2 Delta Rn", cell("Allele2 Delta Rn")),
        quality=quality,
        allele1_ct=_number(path, line, "Allele1 Ct", cell("Allele1 Ct")),
        allele2_ct=_number(path, line, "Allele2 Ct", cell("Allele2 Ct")),
    )


def read_plate(path: str | Path) -> Plate:
    """Parse a QuantStudio genotyping results export (InputError naming the line)."""
    path = Path(path)
    data = read_input_bytes(path)
    if not looks_like_plate(data[:65536]):
        raise InputError(
            path, "not a QuantStudio results text export ('* ' header lines, [Results])"
        )
    header, tables = _sections(path, _decode(path, data).split("\n"))
    kind = header.get("Experiment Type")
    if kind is not None and kind.strip() != "Genotyping":
        raise InputError(path, f"Experiment Type is {kind!r}, not Genotyping")
    for name in ("Sample Setup", "Results"):
        if name not in tables or not tables[name][1]:
            raise InputError(path, f"no [{name}] section (export it with the results)")
    setup, setup_wells = _setup(path, tables["Sample Setup"])
    results = tables["Results"]
    index = _columns(path, "Results", results, RESULTS_REQUIRED)
    wells: list[Well] = []
    seen: dict[int, int] = {}
    for line, fields in results[2]:
        found = _well(path, line, fields, index, setup)
        if found is None:
            continue
        if found.well in seen:
            raise InputError(
                path, f"line {line}: well {found.well} again (first on line {seen[found.well]})"
            )
        seen[found.well] = line
        if setup_wells.get(found.well, (found.sample, found.assay)) != (found.sample, found.assay):
            raise InputError(
                path,
                f"line {line}: well {found.position}: sample or assay differs from [Sample Setup]",
            )
        wells.append(found)
    if not wells:
        raise InputError(path, f"line {results[0]}: [Results] has no wells")
    return Plate(path, sha256_bytes(data), header, setup, tuple(wells), "Quality(%)" in index)
