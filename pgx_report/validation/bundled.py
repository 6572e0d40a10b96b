"""The real samples shipped in the package (pgx_report/data/realdata, README.md there), as
truth rows: each through its real file, and also as bgzip + tabix index and as BCF.

The two extra forms are made with pysam (htslib) in a folder the caller provides; the
shipped files are only read."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

from pgx_report.paths import DATA_DIR
from pgx_report.validation.truth import TruthRow, read_truth

BUNDLED_DIR = DATA_DIR / "realdata"
BUNDLED_TRUTH = BUNDLED_DIR / "truth.tsv"
BGZIP_FORM = "bgzip + tabix index"
BCF_FORM = "BCF"


def _stem(path: Path) -> str:
    name = path.name
    for suffix in (".vcf.gz", ".vcf"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


def bgzip_indexed(src: Path, folder: Path) -> Path:
    """``src`` as a BGZF file with a .tbi index in ``folder``."""
    import pysam

    out = folder / f"{_stem(src)}.vcf.gz"
    if src.name.endswith(".gz"):
        shutil.copyfile(src, out)  # the shipped .gz files are BGZF already
    else:
        pysam.tabix_compress(str(src), str(out), force=True)
    pysam.tabix_index(str(out), preset="vcf", force=True)
    return out


def as_bcf(src: Path, folder: Path) -> Path:
    """``src`` rewritten as BCF (records and header unchanged) in ``folder``."""
    import pysam

    out = folder / f"{_stem(src)}.bcf"
    quiet = pysam.set_verbosity(0)  # htslib would note on stderr that the .gz has no index
    try:
        _copy_records(pysam, src, out)
    finally:
        pysam.set_verbosity(quiet)
    return out


def _copy_records(pysam: Any, src: Path, out: Path) -> None:
    with (
        pysam.VariantFile(str(src)) as reader,
        pysam.VariantFile(str(out), "wb", header=reader.header) as writer,
    ):
        for record in reader:
            writer.write(record)


def bundled_rows(work: Path) -> tuple[TruthRow, ...]:
    """The bundled truth rows, three per sample (as shipped, bgzip + index, BCF); the
    extra forms are written under ``work`` (an empty folder the caller removes)."""
    rows = []
    for row in read_truth(BUNDLED_TRUTH):
        folder = work / row.sample
        folder.mkdir(parents=True)
        vcf_sample = row.vcf_sample or row.sample
        rows.append(replace(row, vcf_sample=vcf_sample))
        for form, make in ((BGZIP_FORM, bgzip_indexed), (BCF_FORM, as_bcf)):
            path = make(row.input, folder)
            rows.append(
                replace(
                    row,
                    sample=f"{row.sample} ({form})",
                    input=path,
                    input_label=f"{row.input_label} ({form})",
                    vcf_sample=vcf_sample,
                    replicate_of=row.sample,
                )
            )
    return tuple(rows)
