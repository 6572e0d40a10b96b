"""The ``provenance`` and ``qc`` parts of a call, built the same way for every genotype source.

Both the VCF rules (:mod:`pgx_report.genotype.vcf.rules`) and the pileup caller
(:mod:`pgx_report.genotype.pileup.alignment`) describe their input and evidence with these
two small types; ``to_dict`` gives the shape of ``docs/contracts.md`` (call contract).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pgx_report import __version__
from pgx_report.contracts.call import Thresholds
from pgx_report.files.digest import Identity
from pgx_report.genotype.genome_build import BuildDetection


@dataclass(frozen=True)
class InputFile:
    """How the genotype input was stored and read (``provenance.input``)."""

    path: str | Path
    identity: Identity  # whole-file SHA-256 and/or region digest, sidecar checksums
    format: str  # an InputFormat value: vcf | vcf.gz | vcf.gzip | bcf | bam | cram
    index: str  # tbi | csi | bai | crai | none
    access: str | None = None  # VCF only: how the site was found (index | bisection | stream)

    def to_dict(self) -> dict[str, Any]:
        source: dict[str, Any] = {
            "path": Path(self.path).name,
            **self.identity.to_dict(),
            "format": self.format,
            "index": self.index,
        }
        if self.access is not None:
            source["access"] = self.access
        return source


def provenance(
    source: InputFile,
    build: BuildDetection,
    thresholds: Thresholds,
    *,
    pileup: Mapping[str, Any] | None = None,
    reference: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The call's ``provenance``: tool, input, build evidence, thresholds (and, for
    alignments, the pileup options; with ``--reference``, the FASTA's evidence)."""
    out: dict[str, Any] = {
        "tool": "pgx-report",
        "tool_version": __version__,
        "input": source.to_dict(),
        "build": build.to_dict(),
        "thresholds": thresholds.to_dict(),
    }
    if pileup is not None:
        out["pileup"] = dict(pileup)
    if reference is not None:
        out["reference"] = reference
    return out


@dataclass(frozen=True)
class SiteQc:
    """The evidence at the site a call was made from (the call's ``qc``).

    ``source``: variant_record | reference_block (VCF), alignment (BAM/CRAM), none (no
    record or read covers the site). Values the source does not have stay None.
    """

    source: str
    record: Mapping[str, Any] | None = None  # the VCF record used (chrom, pos, end, ref, alt)
    depth: int | None = None
    min_dp: int | None = None
    depth_used: int | None = None  # the depth the thresholds were applied to
    gq: int | None = None
    gp_max: float | None = None
    allele_depths: Sequence[int | None] | None = None
    allele_balance: float | None = None
    filter: Sequence[str] | None = None
    qual: float | None = None
    phased: bool = False
    pileup: Mapping[str, Any] | None = None  # alignments only: counts, likely genotype, PL

    def to_dict(self) -> dict[str, Any]:
        qc: dict[str, Any] = {
            "source": self.source,
            "record": self.record,
            "depth": self.depth,
            "min_dp": self.min_dp,
            "depth_used": self.depth_used,
            "gq": self.gq,
            "gp_max": self.gp_max,
            "allele_depths": self.allele_depths,
            "allele_balance": self.allele_balance,
            "filter": self.filter,
            "qual": self.qual,
            "phased": self.phased,
        }
        if self.pileup is not None:
            qc["pileup"] = self.pileup
        return qc
