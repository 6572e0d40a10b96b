"""Build the demo genotype inputs in ``demo/vcfs/`` (bgzipped + tabix-indexed).

- Three real 1000 Genomes gVCF slices, copied unchanged from
  ``pgx_report/data/realdata/slices``:
  NA18564 (A/G), NA12878 (A/A; reference block with REF=G: the classic trap), NA18945 (G/G).
- ``DEMO-ND.vcf.gz``: synthetic single-sample GRCh38 VCF whose record at the site has
  FILTER=LowQual, so the call is ``failed_qc`` (not determined), never a genotype.
- ``cohort.b37.vcf.gz``: synthetic joint-called GRCh37 cohort (contig ``6``, b37 naming)
  with four samples; COH-001 is A/A, COH-002 A/G, COH-003 G/G, COH-004 a no-call.

Run from anywhere: ``python demo/make_demo_vcfs.py [--realdata DIR] [--out DIR]``.
The output is deterministic (same bytes on every run).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REALDATA = HERE.parent / "pgx_report" / "data" / "realdata" / "slices"
REAL_SAMPLES = ("NA18564", "NA12878", "NA18945")

GRCH38_CHR6 = 170805979
GRCH37_CHR6 = 171115067
SITE_GRCH38 = 154039662
SITE_GRCH37 = 154360797

FORMAT_HEADER = (
    '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
    '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths">\n'
    '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Read depth">\n'
    '##FORMAT=<ID=GQ,Number=1,Type=Integer,Description="Genotype quality">\n'
)


def demo_nd_text() -> str:
    """Synthetic GRCh38 sample: the site is present but FILTER=LowQual."""
    header = (
        "##fileformat=VCFv4.2\n"
        '##FILTER=<ID=PASS,Description="All filters passed">\n'
        '##FILTER=<ID=LowQual,Description="Low quality">\n'
        + FORMAT_HEADER
        + f"##contig=<ID=chr6,length={GRCH38_CHR6},assembly=GRCh38>\n"
        "##reference=file:///ref/GRCh38_full_analysis_set_plus_decoy_hla.fa\n"
        "##source=pgx-report demo (synthetic)\n"
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tDEMO-ND\n"
    )
    records = [
        ("chr6", 154039500, "C", "T", "812.6", "PASS", "0/1:20,22:42:99"),
        ("chr6", SITE_GRCH38, "A", "G", "21.3", "LowQual", "0/1:9,3:12:18"),
        ("chr6", 154039900, "G", "A", "640.1", "PASS", "0/1:18,19:37:99"),
    ]
    body = "".join(
        f"{chrom}\t{pos}\t.\t{ref}\t{alt}\t{qual}\t{filt}\t.\tGT:AD:DP:GQ\t{sample}\n"
        for chrom, pos, ref, alt, qual, filt, sample in records
    )
    return header + body


def cohort_b37_text() -> str:
    """Synthetic joint-called GRCh37 cohort with b37 contig names (``6``)."""
    samples = ("COH-001", "COH-002", "COH-003", "COH-004")
    header = (
        "##fileformat=VCFv4.2\n"
        '##FILTER=<ID=PASS,Description="All filters passed">\n'
        + FORMAT_HEADER
        + f"##contig=<ID=6,length={GRCH37_CHR6},assembly=b37>\n"
        "##reference=file:///ref/human_g1k_v37.fasta\n"
        "##source=pgx-report demo (synthetic joint-called cohort)\n"
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(samples) + "\n"
    )
    records = [
        (154360500, "T", "C", ["0/0:30,0:30:90", "0/1:15,14:29:99", "0/0:33,0:33:96", "./.:.:.:."]),
        (
            SITE_GRCH37,
            "A",
            "G",
            ["0/0:31,0:31:93", "0/1:16,17:33:99", "1/1:0,35:35:99", "./.:0,0:0:."],
        ),
        (154361200, "G", "A", ["0/1:14,16:30:99", "0/0:28,0:28:84", "0/0:36,0:36:99", "./.:.:.:."]),
    ]
    body = "".join(
        f"6\t{pos}\t.\t{ref}\t{alt}\t999\tPASS\t.\tGT:AD:DP:GQ\t" + "\t".join(gts) + "\n"
        for pos, ref, alt, gts in records
    )
    return header + body


def bgzip_and_index(text_path: Path, dest: Path) -> None:
    """Compress ``text_path`` to ``dest`` (BGZF) and write ``dest.tbi``."""
    import pysam

    tmp = dest.with_name(dest.name + ".part")
    pysam.tabix_compress(str(text_path), str(tmp), force=True)
    tmp.replace(dest)
    pysam.tabix_index(str(dest), preset="vcf", force=True)


def build(realdata: Path, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with tempfile.TemporaryDirectory() as tmpdir:
        scratch = Path(tmpdir)
        for sample in REAL_SAMPLES:
            src = realdata / f"{sample}.OPRM1.g.vcf"
            plain = scratch / src.name
            shutil.copyfile(src, plain)
            written.append(out / f"{src.name}.gz")
            bgzip_and_index(plain, written[-1])
        for name, text in (
            ("DEMO-ND.vcf", demo_nd_text()),
            ("cohort.b37.vcf", cohort_b37_text()),
        ):
            plain = scratch / name
            plain.write_text(text, encoding="utf-8")
            written.append(out / f"{name}.gz")
            bgzip_and_index(plain, written[-1])
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--realdata", type=Path, default=REALDATA, help="folder of the slices")
    parser.add_argument("--out", type=Path, default=HERE / "vcfs", help="output folder")
    args = parser.parse_args()
    for path in build(args.realdata, args.out):
        print(path)


if __name__ == "__main__":
    main()
