"""The lab's assay definitions (``--assays`` YAML): which plate assay is rs1799971 and
which allele name is which base. Never guessed from dye or order (docs/targeted.md)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from pgx_report.contracts.schema import json_path, schema_errors
from pgx_report.contracts.text import unprintable_in
from pgx_report.errors import InputError
from pgx_report.files.io import read_input_bytes, sha256_bytes

SCHEMA_FILE = "assays.schema.json"


@dataclass(frozen=True)
class AssayDefinition:
    name: str
    site: str
    alleles: Mapping[str, str]  # plate allele name -> base (A or G)
    controls: Mapping[str, str] = field(default_factory=dict)  # sample name -> genotype


@dataclass(frozen=True)
class AssayMap:
    path: Path
    sha256: str
    assays: Mapping[str, AssayDefinition]
    ignore: frozenset[str] = frozenset()


def load_assays(path: str | Path) -> AssayMap:
    """Read and validate an assay definition file (InputError naming the field)."""
    path = Path(path)
    data = read_input_bytes(path)
    try:
        raw = yaml.safe_load(data.decode("utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InputError(path, f"not valid YAML: {' '.join(str(exc).split())}") from None
    found = unprintable_in(raw)  # assay, allele and control names are printed
    if found:
        raise InputError(path, f"{found[0]}: {found[1]}")
    errors = schema_errors(raw, SCHEMA_FILE)
    if errors:
        err = errors[0]
        raise InputError(path, f"{json_path(err.absolute_path)}: {err.message}")
    assays = {}
    for name, item in raw["assays"].items():
        if sorted(item["alleles"].values()) != ["A", "G"]:
            raise InputError(path, f"$.assays.{name}.alleles: must map one allele to A, one to G")
        assays[name] = AssayDefinition(
            name, item["site"], item["alleles"], item.get("controls", {})
        )
    ignored = frozenset(raw.get("ignore", ()))
    both = sorted(ignored & set(assays))
    if both:
        raise InputError(path, f"$.ignore: {both[0]!r} is also defined under assays")
    return AssayMap(path, sha256_bytes(data), assays, ignored)
