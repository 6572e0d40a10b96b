"""The one genotype entry point: any supported input file -> :class:`Call`.

The file's format is told once (:func:`pgx_report.files.sniff.sniff_format`), then the
sample is called from the reads (BAM/CRAM: :mod:`pgx_report.genotype.pileup.alignment`)
or from the VCF/BCF/gVCF records (:mod:`pgx_report.genotype.vcf.rules`). A reference
FASTA, when given, is checked at the site and recorded in ``provenance.reference``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pgx_report.contracts.call import Call, Thresholds
from pgx_report.errors import UsageError
from pgx_report.files.sniff import InputFormat, alignment_format, is_plate, sniff_format
from pgx_report.genotype.plate import DEFAULT_MIN_QUALITY
from pgx_report.genotype.reference import check_call_reference

# Each input kind imports only its own reader: a BAM/CRAM call never loads numpy and
# cyvcf2 (vcf.rules), a VCF call never the pileup code (start-up time, issue 17).
if TYPE_CHECKING:
    from pgx_report.genotype.pileup.options import PileupOptions
    from pgx_report.genotype.site import Build


@dataclass(frozen=True)
class PlateOptions:
    """How a targeted assay plate is read: the lab's assay map and the quality gate."""

    assays: str | Path | None = None
    min_quality: float = DEFAULT_MIN_QUALITY


def _plate_calls(path: str | Path, options: PlateOptions | None, sample: str | None) -> list[Call]:
    from pgx_report.genotype.plate.assays import load_assays
    from pgx_report.genotype.plate.qc import PlateSettings, call_plate
    from pgx_report.genotype.plate.quantstudio import read_plate

    options = options or PlateOptions()
    if options.assays is None:
        raise UsageError(
            path, "is a genotyping plate: --assays FILE must say which assay is rs1799971"
        )
    plate = read_plate(path)
    return call_plate(
        plate, load_assays(options.assays), PlateSettings(options.min_quality), sample
    )


def call_sample(
    path: str | Path,
    *,
    sample: str | None = None,
    build: str | None = None,
    thresholds: Thresholds | None = None,
    options: PileupOptions | None = None,
    reference: str | Path | None = None,
    plate: PlateOptions | None = None,
    full_digest: bool = False,
) -> Call:
    """One sample's call from any supported input (BAM, CRAM, VCF, BCF, gVCF, or a
    QuantStudio genotyping plate export with ``plate`` naming the assay map).

    ``sample`` is needed when the file holds more than one; ``reference`` (required for
    CRAM) is checked at the site and recorded in ``provenance.reference``; ``full_digest``
    adds the whole file's SHA-256 to the region digest (docs/calling.md)."""
    fmt = sniff_format(path)
    if fmt is InputFormat.QUANTSTUDIO:
        if reference:
            raise UsageError(path, "is a genotyping plate: --reference does not apply to it")
        calls = _plate_calls(path, plate, sample)
        if len(calls) > 1:
            raise UsageError(
                path, "the plate has more than one sample: pass --sample or --all-samples"
            )
        return calls[0]
    if fmt.is_alignment:
        from pgx_report.genotype.pileup.alignment import call_alignment

        return call_alignment(
            path,
            fmt=fmt.value,
            sample=sample,
            build=build,
            thresholds=thresholds,
            options=options,
            reference=reference,
            full_digest=full_digest,
        )
    from pgx_report.genotype.vcf import rules

    call = rules.call_file(
        path,
        sample=sample,
        build=build,
        thresholds=thresholds or Thresholds(),
        input_format=fmt,
        full_digest=full_digest,
    )
    return check_call_reference([call], reference)[0] if reference else call


def check_multi_sample_input(path: str | Path) -> None:
    """Refuse a BAM/CRAM where every sample of a VCF/BCF is to be called."""
    if alignment_format(path) is not None:
        raise UsageError(
            path, "--all-samples is for multi-sample VCF/BCF; call a BAM/CRAM with --sample"
        )


def call_all_samples(
    path: str | Path,
    *,
    build: str | Build | None = None,
    thresholds: Thresholds | None = None,
    reference: str | Path | None = None,
    plate: PlateOptions | None = None,
    full_digest: bool = False,
) -> Sequence[Call]:
    """Every sample of a multi-sample VCF/BCF in one pass (a BAM/CRAM is refused).

    The result is a read-only sequence made in bulk (see
    :func:`pgx_report.genotype.vcf.rules.call_all_samples`)."""
    if is_plate(path):
        return _plate_calls(path, plate, None)
    check_multi_sample_input(path)
    from pgx_report.genotype.vcf import rules

    calls: Sequence[Call] = rules.call_all_samples(
        path, build=build, thresholds=thresholds or Thresholds(), full_digest=full_digest
    )
    return check_call_reference(calls, reference) if reference else calls
