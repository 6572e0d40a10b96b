"""Tiny QuantStudio genotyping results exports from test_vcfs/plates/spec.yaml."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

SPEC = Path(__file__).resolve().parent.parent / "test_vcfs" / "plates" / "spec.yaml"
HEADER = (
    "* Experiment Name = spec plate {name}\n"
    "* Experiment Run End Time = 2026-01-05 10:00:00 AM CET\n"
    "* Experiment Type = Genotyping\n"
    "* Instrument Name = TEST-QS7\n"
    "* Instrument Serial Number = 000\n"
    "* Instrument Type = QuantStudio(TM) 7 Flex System\n"
)
SETUP = (
    "Well\tWell Position\tSample Name\tSNP Assay Name\tTask\tAllele1 Name\tAllele1 Reporter"
    "\tAllele2 Name\tAllele2 Reporter"
)
RESULTS = (
    "Well\tWell Position\tOmit\tSample Name\tSNP Assay Name\tTask\tAllele1 Delta Rn"
    "\tAllele2 Delta Rn\tQuality(%)\tCall\tAllele1 Ct\tAllele2 Ct"
)


def load_spec() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    return data


def _number(position: str) -> int:
    return (ord(position[0]) - ord("A")) * 12 + int(position[1:])


def plate_text(name: str, wells: list[list[Any]], assay: str = "OPRM1_A118G") -> str:
    setup, results = [SETUP], [RESULTS]
    for position, sample, task, call, quality in wells:
        omit = str(task).endswith("!")
        task = str(task).rstrip("!")
        number = _number(position)
        setup.append(f"{number}\t{position}\t{sample}\t{assay}\t{task}\tA118\tVIC\tG118\tFAM")
        amplified = "Homozygous" in call or "Heterozygous" in call
        ct = "27.100\t28.200" if amplified else "Undetermined\tUndetermined"
        rn = "4.100\t1.200" if amplified else "0.020\t0.030"
        results.append(
            f"{number}\t{position}\t{str(omit).lower()}\t{sample}\t{assay}\t{task}\t{rn}"
            f"\t{float(quality):.3f}\t{call}\t{ct}"
        )
    return (
        HEADER.format(name=name)
        + "\n[Sample Setup]\n"
        + "\n".join(setup)
        + "\n\n[Results]\n"
        + "\n".join(results)
        + "\n"
    )


def write_plate(folder: Path, name: str) -> Path:
    spec = load_spec()
    path = folder / f"{name}.txt"
    path.write_text(plate_text(name, spec["plates"][name]["wells"]), encoding="utf-8")
    return path


def write_assays(folder: Path) -> Path:
    path = folder / "assays.yaml"
    path.write_text(yaml.safe_dump(load_spec()["assay_map"]), encoding="utf-8")
    return path
