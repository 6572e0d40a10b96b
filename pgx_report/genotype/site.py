"""The site pgx-report calls: OPRM1 rs1799971 (c.118A>G, p.Asn40Asp) in both builds.

All values live in ``data/variant.yaml`` (taken from shared/DOMAIN.md section 1);
this module only loads and types them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from functools import cache
from typing import Any

import yaml

from pgx_report.contracts.text import unprintable_in
from pgx_report.errors import InputError
from pgx_report.paths import DATA_DIR


class Build(enum.StrEnum):
    """The two reference builds the caller knows."""

    GRCh37 = "GRCh37"
    GRCh38 = "GRCh38"


@dataclass(frozen=True)
class BuildCoordinates:
    """Where the site is in one build and how that build names/measures chromosome 6."""

    build: Build
    pos: int
    hgvs_g: str
    chr6_length: int
    contig_aliases: tuple[str, ...]
    assembly_names: tuple[str, ...]


@dataclass(frozen=True)
class Variant:
    """rs1799971 as defined in the data file."""

    rsid: str
    gene: str
    transcript: str
    hgvs_c: str
    hgvs_p: str
    ref: str
    alt: str
    names: tuple[str, ...]
    builds: tuple[BuildCoordinates, ...]

    def in_build(self, build: Build | str) -> BuildCoordinates:
        wanted = Build(build)
        for coords in self.builds:
            if coords.build is wanted:
                return coords
        raise KeyError(wanted)  # unreachable: the data file defines both builds

    def describe(self, build: Build | str, chrom: str) -> dict[str, Any]:
        """The call.json ``variant`` object for ``build``; ``chrom`` as the file names it."""
        coords = self.in_build(build)
        return {
            "rsid": self.rsid,
            "gene": self.gene,
            "hgvs_c": self.hgvs_c,
            "hgvs_p": self.hgvs_p,
            "build": coords.build.value,
            "chrom": chrom,
            "pos": coords.pos,
            "ref": self.ref,
            "alt": self.alt,
        }


def _load(raw: dict[str, Any]) -> Variant:
    builds = tuple(
        BuildCoordinates(
            build=Build(name),
            pos=int(spec["pos"]),
            hgvs_g=str(spec["hgvs_g"]),
            chr6_length=int(spec["chr6_length"]),
            contig_aliases=tuple(str(a) for a in spec["contig_aliases"]),
            assembly_names=tuple(str(a).lower() for a in spec["assembly_names"]),
        )
        for name, spec in raw["builds"].items()
    )
    return Variant(
        rsid=str(raw["rsid"]),
        gene=str(raw["gene"]),
        transcript=str(raw["transcript"]),
        hgvs_c=str(raw["hgvs_c"]),
        hgvs_p=str(raw["hgvs_p"]),
        ref=str(raw["ref"]),
        alt=str(raw["alt"]),
        names=tuple(str(n) for n in raw["names"]),
        builds=builds,
    )


@cache
def rs1799971() -> Variant:
    """The site definition, loaded once from the packaged data file."""
    text = (DATA_DIR / "variant.yaml").read_text("utf-8")
    # libyaml's safe loader when PyYAML was built with it (same result, ~10x faster)
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    raw = yaml.load(text, Loader=loader)
    found = unprintable_in(raw)  # its names are printed in every call and report
    if found:
        raise InputError(DATA_DIR / "variant.yaml", f"{found[0]}: {found[1]}")
    return _load(raw)
