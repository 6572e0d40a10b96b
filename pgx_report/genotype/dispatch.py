"""The one genotype entry point: any supported input file -> :class:`Call`.

The file's format is told once (:func:`pgx_report.files.sniff.sniff_format`), then the
sample is called from the reads (BAM/CRAM: :mod:`pgx_report.genotype.pileup.alignment`)
or from the VCF/BCF/gVCF records (:mod:`pgx_report.genotype.vcf.rules`). A reference
FASTA, when given, is checked at the site and recorded in ``provenance.reference``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pgx_report.contracts.call import Call, Thresholds
from pgx_report.errors import UsageError
from pgx_report.files.sniff import alignment_format, sniff_format
from pgx_report.genotype.pileup.alignment import PileupOptions, call_alignment
from pgx_report.genotype.reference import check_call_reference
from pgx_report.genotype.site import Build
from pgx_report.genotype.vcf import rules


def call_sample(
    path: str | Path,
    *,
    sample: str | None = None,
    build: str | None = None,
    thresholds: Thresholds | None = None,
    options: PileupOptions | None = None,
    reference: str | Path | None = None,
) -> Call:
    """One sample's call from any supported input (BAM, CRAM, VCF, BCF, gVCF).

    ``sample`` is needed when the file holds more than one; ``reference`` (required for
    CRAM) is checked at the site and recorded in ``provenance.reference``."""
    fmt = sniff_format(path)
    if fmt.is_alignment:
        return call_alignment(
            path,
            fmt=fmt.value,
            sample=sample,
            build=build,
            thresholds=thresholds,
            options=options,
            reference=reference,
        )
    call = rules.call_file(
        path,
        sample=sample,
        build=build,
        thresholds=thresholds or Thresholds(),
        input_format=fmt,
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
) -> Sequence[Call]:
    """Every sample of a multi-sample VCF/BCF in one pass (a BAM/CRAM is refused).

    The result is a read-only sequence made in bulk (see
    :func:`pgx_report.genotype.vcf.rules.call_all_samples`)."""
    check_multi_sample_input(path)
    calls: Sequence[Call] = rules.call_all_samples(
        path, build=build, thresholds=thresholds or Thresholds()
    )
    return check_call_reference(calls, reference) if reference else calls
