"""Reproducible benchmark inputs (fixed seed), generated once into ``$PGX_BENCH_CACHE``
(default ``~/.cache/pgx-report/bench``).

- ``wgs``: single-sample WGS-scale VCF, ~4.5 million variant records over chr1-22
  (natural contig order), bgzipped (~40-50 MB); the site is a PASS A/G record.
- ``gvcf``: single-sample GATK-style gVCF, ~4.5 million records (reference blocks with
  ``END=`` plus variant records ``X,<NON_REF>``), contigs grouped in *lexicographic*
  order like the NYGC files, ~3,400 ``##contig`` lines; the site lies inside a
  reference block whose REF (the base at the block start) is not A.
- ``cohort2504`` / ``cohort100k``: joint-called cohort VCFs with 2,504 / 100,000
  samples, GT:DP:GQ:AD, a dozen records around the site (HWE genotypes, some
  missing, some shallow).

- ``alignments_large``: a coordinate-sorted BAM and CRAM (>= 1.5 GB each) of 150 bp reads
  over a synthetic GRCh38-length chr6 (random sequence, A at the site), 40 reads at
  rs1799971 (20 A, 20 G) and random reads elsewhere (see :func:`alignments_large`).
- ``gvcf_large``: like ``gvcf`` but >= 1 GB (see :func:`gvcf_large`).

Each VCF is written once as ``<name>/indexed/<file>`` (+ ``.tbi``) and hard-linked as
``<name>/noindex/<file>`` (no index beside it). Generation streams lines into
``bgzip -@2`` and takes a few minutes the first time; later runs reuse the cache.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CACHE = Path(os.environ.get("PGX_BENCH_CACHE") or Path.home() / ".cache" / "pgx-report" / "bench")
SEED = 20251125
SITE = ("chr6", 154_039_662)
VERSION = "v1"  # bump when the generators change, to regenerate

# GRCh38 primary assembly lengths (chr1-22, X, Y, M).
GRCH38 = {
    "chr1": 248956422, "chr2": 242193529, "chr3": 198295559, "chr4": 190214555,
    "chr5": 181538259, "chr6": 170805979, "chr7": 159345973, "chr8": 145138636,
    "chr9": 138394717, "chr10": 133797422, "chr11": 135086622, "chr12": 133275309,
    "chr13": 114364328, "chr14": 107043718, "chr15": 101991189, "chr16": 90338345,
    "chr17": 83257441, "chr18": 80373285, "chr19": 58617616, "chr20": 64444167,
    "chr21": 46709983, "chr22": 50818468, "chrX": 156040895, "chrY": 57227415,
    "chrM": 16569,
}  # fmt: skip
AUTOSOMES = [f"chr{i}" for i in range(1, 23)]
BASES = np.array(list("ACGT"))


@dataclass(frozen=True)
class Input:
    name: str
    indexed: Path
    noindex: Path
    samples: int
    sample: str  # a sample to call


def _header(extra_contigs: int, samples: list[str], fmt: list[str], gvcf: bool) -> str:
    lines = ["##fileformat=VCFv4.2"]
    if gvcf:
        lines.append('##ALT=<ID=NON_REF,Description="Represents any possible alternative allele">')
        lines.append('##INFO=<ID=END,Number=1,Type=Integer,Description="End of the block">')
    lines.append('##INFO=<ID=DP,Number=1,Type=Integer,Description="Total depth">')
    lines.append('##FILTER=<ID=PASS,Description="All filters passed">')
    lines.append('##FILTER=<ID=LowQual,Description="Low quality">')
    described = {
        "GT": ("1", "String", "Genotype"),
        "AD": ("R", "Integer", "Allelic depths"),
        "DP": ("1", "Integer", "Read depth"),
        "GQ": ("1", "Integer", "Genotype quality"),
        "MIN_DP": ("1", "Integer", "Minimum depth in the block"),
        "PL": ("G", "Integer", "Phred-scaled genotype likelihoods"),
    }
    for key in fmt:
        number, kind, text = described[key]
        lines.append(f'##FORMAT=<ID={key},Number={number},Type={kind},Description="{text}">')
    for name, length in GRCH38.items():
        lines.append(f"##contig=<ID={name},length={length},assembly=GRCh38>")
    for i in range(extra_contigs):  # decoys / HLA-like names, as in the NYGC headers
        name = f"HLA-Z*{i // 100:02d}:{i % 100:02d}:01" if i % 2 else f"chrUn_JTFH{i:06d}v1_decoy"
        lines.append(f"##contig=<ID={name},length={1000 + i}>")
    lines.append("##reference=GRCh38_full_analysis_set_plus_decoy_hla.fa")
    cols = ["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT", *samples]
    lines.append("\t".join(cols))
    return "\n".join(lines) + "\n"


def _bgzip(target: Path, chunks: Iterator[str]) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".part")
    with tmp.open("wb") as out:
        proc = subprocess.Popen(["bgzip", "-@", "2", "-c"], stdin=subprocess.PIPE, stdout=out)
        assert proc.stdin is not None
        for chunk in chunks:
            proc.stdin.write(chunk.encode())
        proc.stdin.close()
        if proc.wait() != 0:
            raise RuntimeError("bgzip failed")
    tmp.replace(target)


def _finish(name: str, file_name: str, chunks: Iterator[str], samples: int, sample: str) -> Input:
    base = CACHE / VERSION / name
    indexed = base / "indexed" / file_name
    noindex = base / "noindex" / file_name
    if not (indexed.exists() and noindex.exists() and Path(f"{indexed}.tbi").exists()):
        shutil.rmtree(base, ignore_errors=True)
        print(f"generating {indexed} ...", flush=True)
        _bgzip(indexed, chunks)
        subprocess.run(["tabix", "-f", "-p", "vcf", str(indexed)], check=True)
        noindex.parent.mkdir(parents=True, exist_ok=True)
        os.link(indexed, noindex)
    return Input(name, indexed, noindex, samples, sample)


def _spread(rng: np.random.Generator, length: int, n: int) -> np.ndarray:
    pos = np.unique(rng.integers(10_000, length - 10_000, size=n))
    lo, hi = SITE[1] - 200, SITE[1] + 200
    return pos[(pos < lo) | (pos > hi)] if length == GRCH38["chr6"] else pos


def wgs(records: int = 4_500_000) -> Input:
    """Single-sample variant-only VCF."""

    def lines() -> Iterator[str]:
        rng = np.random.default_rng(SEED)
        yield _header(0, ["SYN-WGS"], ["GT", "AD", "DP", "GQ"], gvcf=False)
        total = sum(GRCH38[c] for c in AUTOSOMES)
        for chrom in AUTOSOMES:
            pos = _spread(rng, GRCH38[chrom], int(records * GRCH38[chrom] / total))
            if chrom == SITE[0]:
                pos = np.sort(np.append(pos, SITE[1]))
            n = len(pos)
            ref = BASES[rng.integers(0, 4, n)]
            alt = BASES[(np.searchsorted(BASES, ref) + rng.integers(1, 4, n)) % 4]
            hom = rng.random(n) < 0.35
            dp = rng.poisson(32, n) + 1
            alt_reads = np.where(hom, dp, rng.binomial(dp, 0.5))
            gq = np.minimum(99, 20 + rng.poisson(60, n))
            qual = np.round(rng.gamma(4, 150, n), 2)
            filt = np.where(rng.random(n) < 0.03, "LowQual", "PASS")
            site = pos == SITE[1] if chrom == SITE[0] else np.zeros(n, bool)
            ref[site], alt[site], hom[site], filt[site] = "A", "G", False, "PASS"
            gts = np.where(hom, "1/1", "0/1")
            out = []
            for p, r, a, q, f, d, g, x, y in zip(
                pos.tolist(), ref.tolist(), alt.tolist(), qual.tolist(), filt.tolist(),
                dp.tolist(), gts.tolist(), gq.tolist(), alt_reads.tolist(), strict=True,
            ):  # fmt: skip
                out.append(
                    f"{chrom}\t{p}\t.\t{r}\t{a}\t{q}\t{f}\tDP={d}\t"
                    f"GT:AD:DP:GQ\t{g}:{d - y},{y}:{d}:{x}\n"
                )
            yield "".join(out)

    return _finish("wgs", "SYN-WGS.vcf.gz", lines(), 1, "SYN-WGS")


def gvcf(records: int = 4_500_000, *, large: bool = False) -> Input:
    """Single-sample GATK-style gVCF in lexicographic contig order.

    ``large``: more variant records and noisier PL/MIN_DP values (more bytes per record,
    so that a >= 1 GB file needs fewer records and generates in a few minutes).
    """

    def lines() -> Iterator[str]:
        rng = np.random.default_rng(SEED + (2 if large else 1))
        yield _header(3_370, ["SYN-GVCF"], ["GT", "DP", "GQ", "MIN_DP", "PL"], gvcf=True)
        total = sum(GRCH38[c] for c in AUTOSOMES)
        mean = total / records * 1.08
        for chrom in sorted(AUTOSOMES):  # chr1, chr10, chr11, ... like the NYGC files
            length = GRCH38[chrom]
            cuts = np.cumsum(rng.geometric(1 / mean, int(length / mean * 1.2) + 10)) + 10_000
            cuts = cuts[cuts < length - 10_000]
            if chrom == SITE[0]:  # a reference block 154039600-154039700 holds the site
                cuts = cuts[(cuts < SITE[1] - 62) | (cuts > SITE[1] + 38)]
                cuts = np.sort(np.append(cuts, [SITE[1] - 62, SITE[1] + 39]))
            starts = cuts[:-1]
            ends = cuts[1:] - 1
            n = len(starts)
            variant = (rng.random(n) < (0.25 if large else 0.09)) & (ends > starts)
            if chrom == SITE[0]:
                variant[starts == SITE[1] - 62] = False
            ref = BASES[rng.integers(0, 4, n)]
            if chrom == SITE[0]:
                ref[starts == SITE[1] - 62] = "C"  # block REF is the base at the block start
            alt = BASES[(np.searchsorted(BASES, ref) + rng.integers(1, 4, n)) % 4]
            dp = rng.poisson(34, n) + 1
            gq = np.minimum(99, rng.poisson(70, n))
            pl = rng.integers(100, 4000, n) if large else gq * 15
            min_dp = np.maximum(dp - rng.integers(0, 12 if large else 5, n), 0)
            out = []
            for s, e, v, r, a, d, g, p, m in zip(
                starts.tolist(), ends.tolist(), variant.tolist(), ref.tolist(), alt.tolist(),
                dp.tolist(), gq.tolist(), pl.tolist(), min_dp.tolist(), strict=True,
            ):  # fmt: skip
                if v:
                    k = d // 2
                    out.append(
                        f"{chrom}\t{s}\t.\t{r}\t{a},<NON_REF>\t{d * 20}.77\t.\tDP={d}\t"
                        f"GT:AD:DP:GQ:PL\t0/1:{d - k},{k},0:{d}:99:"
                        f"{d * 20},0,{d * 25},{p},{p + g},{p + 900}\n"
                    )
                    s += 1
                    if s > e:
                        continue
                out.append(
                    f"{chrom}\t{s}\t.\t{r}\t<NON_REF>\t.\t.\tEND={e}\tGT:DP:GQ:MIN_DP:PL\t"
                    f"0/0:{d}:{g}:{m}:0,{g},{p}\n"
                )
            yield "".join(out)

    if large:
        return _finish(f"gvcf-large-{records}", "SYN-GVCF-L.g.vcf.gz", lines(), 1, "SYN-GVCF")
    return _finish("gvcf", "SYN-GVCF.g.vcf.gz", lines(), 1, "SYN-GVCF")


def gvcf_large(records: int = 57_000_000) -> Input:
    """A >= 1 GB bgzipped gVCF (``gvcf`` with ``large=True``), with and without a .tbi."""
    return gvcf(records, large=True)


def cohort(samples: int) -> Input:
    """Joint-called cohort: a dozen records around the site, every sample GT:DP:GQ:AD."""
    names = [f"S{i:06d}" for i in range(samples)]

    def lines() -> Iterator[str]:
        rng = np.random.default_rng(SEED + samples)
        yield _header(0, names, ["GT", "DP", "GQ", "AD"], gvcf=False)
        positions = [
            ("chr5", 1_000_000), ("chr6", SITE[1] - 900), ("chr6", SITE[1] - 31),
            ("chr6", SITE[1] - 2), ("chr6", SITE[1]), ("chr6", SITE[1] + 17),
            ("chr6", SITE[1] + 640), ("chr6", SITE[1] + 5000), ("chr7", 2_000_000),
        ]  # fmt: skip
        for chrom, pos in positions:
            freq = 0.16 if pos == SITE[1] else rng.uniform(0.01, 0.5)
            g = rng.binomial(2, freq, samples)
            dp = rng.poisson(30, samples)
            shallow = rng.random(samples) < 0.04
            dp[shallow] = rng.integers(0, 10, int(shallow.sum()))
            alt_reads = np.where(g == 2, dp, np.where(g == 1, rng.binomial(dp, 0.5), 0))
            gq = np.where(dp < 10, rng.integers(0, 30, samples), rng.integers(40, 100, samples))
            missing = rng.random(samples) < 0.01
            gt = np.array(["0/0", "0/1", "1/1"])[g]
            fields = []
            for t, d, q, x, m in zip(
                gt.tolist(), dp.tolist(), gq.tolist(), alt_reads.tolist(), missing.tolist(),
                strict=True,
            ):  # fmt: skip
                fields.append("./.:0:.:0,0" if m else f"{t}:{d}:{q}:{d - x},{x}")
            ref, alt = ("A", "G") if pos == SITE[1] else ("C", "T")
            yield (
                f"{chrom}\t{pos}\t.\t{ref}\t{alt}\t{int(rng.uniform(100, 9000))}\tPASS\t"
                f"DP={int(dp.sum())}\tGT:DP:GQ:AD\t" + "\t".join(fields) + "\n"
            )

    label = "cohort100k" if samples == 100_000 else f"cohort{samples}"
    return _finish(label, f"{label}.vcf.gz", lines(), samples, names[0])


# --- large alignments (issue 17) -------------------------------------------------------

READ_LENGTH = 150
_CODES = np.array([1, 2, 4, 8], dtype=np.uint8)  # BAM 4-bit codes of A, C, G, T
_NAME_LENGTH = 12  # "r" + 10 digits + NUL
_RECORD = np.dtype(
    [
        ("block_size", "<i4"), ("ref_id", "<i4"), ("pos", "<i4"), ("l_read_name", "u1"),
        ("mapq", "u1"), ("bin", "<u2"), ("n_cigar_op", "<u2"), ("flag", "<u2"),
        ("l_seq", "<i4"), ("next_ref_id", "<i4"), ("next_pos", "<i4"), ("tlen", "<i4"),
        ("name", f"S{_NAME_LENGTH}"), ("cigar", "<u4"), ("seq", "u1", (READ_LENGTH + 1) // 2),
        ("qual", "u1", (READ_LENGTH,)), ("tag", "S7"),
    ]
)  # fmt: skip


@dataclass(frozen=True)
class Alignments:
    bam: Path
    cram: Path
    fasta: Path
    reads: int


def _reg2bin(beg: np.ndarray, end: np.ndarray) -> np.ndarray:
    """SAM specification 5.3 ``reg2bin`` for 0-based [beg, end), vectorised."""
    end = end - 1
    out = np.zeros(len(beg), dtype=np.int64)
    done = np.zeros(len(beg), dtype=bool)
    for shift, offset in ((14, 4681), (17, 585), (20, 73), (23, 9), (26, 1)):
        same = ~done & ((beg >> shift) == (end >> shift))
        out[same] = offset + (beg[same] >> shift)
        done |= same
    return out.astype(np.uint16)


def _bam_header(sample: str) -> bytes:
    text = (
        f"@HD\tVN:1.6\tSO:coordinate\n@SQ\tSN:chr6\tLN:{GRCH38['chr6']}\n@RG\tID:rg1\tSM:{sample}\n"
    ).encode()
    name = b"chr6\0"
    return (
        b"BAM\1" + len(text).to_bytes(4, "little") + text + (1).to_bytes(4, "little")
        + len(name).to_bytes(4, "little") + name + GRCH38["chr6"].to_bytes(4, "little")
    )  # fmt: skip


def _reference(path: Path, rng: np.random.Generator) -> np.ndarray:
    """Random chr6 of the GRCh38 length with A at the site; written as plain FASTA + .fai."""
    import pysam

    codes = rng.integers(0, 4, GRCH38["chr6"], dtype=np.uint8)
    codes[SITE[1] - 1] = 0  # A
    letters = np.frombuffer(b"ACGT", dtype=np.uint8)[codes]
    tmp = path.with_name(path.name + ".part")
    with tmp.open("wb") as out:
        out.write(b">chr6\n")
        width = 60
        full = len(letters) // width * width
        body = np.empty((full // width, width + 1), dtype=np.uint8)
        body[:, :width] = letters[:full].reshape(-1, width)
        body[:, width] = ord("\n")
        out.write(body.tobytes())
        if full < len(letters):
            out.write(letters[full:].tobytes() + b"\n")
    tmp.replace(path)
    pysam.faidx(str(path))
    return codes


def _read_chunks(
    codes: np.ndarray, rng: np.random.Generator, reads: int, chunk: int = 250_000
) -> Iterator[bytes]:
    """BAM records, sorted: ``reads`` random reads off the site, 40 over it (20 A, 20 G)."""
    site0 = SITE[1] - 1
    starts = np.sort(rng.integers(10_000, GRCH38["chr6"] - 10_000, size=reads))
    starts = starts[(starts < site0 - 1_000) | (starts > site0 + 1_000)]
    site_starts = np.sort(rng.integers(site0 - READ_LENGTH + 1, site0 + 1, size=40))
    cut = int(np.searchsorted(starts, site0))
    starts = np.concatenate([starts[:cut], site_starts, starts[cut:]])
    site_rows = np.arange(cut, cut + 40)
    site_alleles = np.array([0, 2] * 20, dtype=np.uint8)  # A, G
    offsets = np.arange(READ_LENGTH)
    for first in range(0, len(starts), chunk):
        pos = starts[first : first + chunk]
        n = len(pos)
        rec = np.zeros(n, dtype=_RECORD)
        rec["block_size"] = _RECORD.itemsize - 4
        rec["pos"] = pos
        rec["l_read_name"] = _NAME_LENGTH
        rec["mapq"] = 60
        rec["bin"] = _reg2bin(pos, pos + READ_LENGTH)
        rec["n_cigar_op"] = 1
        rec["l_seq"] = READ_LENGTH
        rec["next_ref_id"] = -1
        rec["next_pos"] = -1
        rec["name"] = np.char.add(
            b"r", np.char.zfill(np.arange(first, first + n).astype("S10"), 10)
        )
        rec["cigar"] = READ_LENGTH << 4  # 150M
        bases = codes[pos[:, None] + offsets]
        quals = rng.integers(2, 42, size=(n, READ_LENGTH), dtype=np.uint8)
        here = (site_rows >= first) & (site_rows < first + n)
        for row, allele in zip(site_rows[here] - first, site_alleles[here], strict=True):
            bases[row, site0 - pos[row]] = allele
            quals[row] = 35
        nibbles = _CODES[bases]
        rec["seq"] = (nibbles[:, 0::2] << 4) | nibbles[:, 1::2]
        rec["qual"] = quals
        rec["tag"] = b"RGZrg1"  # NUL-padded to 7 bytes
        yield rec.tobytes()


def alignments_large(reads: int = 15_200_000) -> Alignments:
    """BAM (~2 GB) and CRAM (>= 1.5 GB) of the same reads, indexed, with their FASTA.

    BAM records are written directly (numpy, fixed-size records) into ``bgzip -l 1``; the
    CRAM is converted from it by htslib (pysam's samtools). A few minutes the first time.
    """
    import pysam

    base = CACHE / VERSION / f"alignments-large-{reads}"
    result = Alignments(base / "large.bam", base / "large.cram", base / "chr6.fa", reads)
    done = [result.bam, Path(f"{result.bam}.bai"), result.cram, Path(f"{result.cram}.crai")]
    if all(p.exists() for p in done):
        return result
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True)
    print(f"generating {base} (BAM, CRAM, FASTA; minutes) ...", flush=True)
    rng = np.random.default_rng(SEED + 17)
    codes = _reference(result.fasta, rng)
    tmp = result.bam.with_name("large.bam.part")
    with tmp.open("wb") as out:
        proc = subprocess.Popen(
            ["bgzip", "-l", "1", "-@", "2", "-c"], stdin=subprocess.PIPE, stdout=out
        )
        assert proc.stdin is not None
        proc.stdin.write(_bam_header("SYN-LARGE"))
        for chunk in _read_chunks(codes, rng, reads):
            proc.stdin.write(chunk)
        proc.stdin.close()
        if proc.wait() != 0:
            raise RuntimeError("bgzip failed")
    tmp.replace(result.bam)
    pysam.index(str(result.bam))
    part = result.cram.with_name("large.cram.part")
    pysam.view(
        "-C",
        "-@",
        "2",
        "-T",
        str(result.fasta),
        "-o",
        str(part),
        str(result.bam),
        catch_stdout=False,
    )
    part.replace(result.cram)
    pysam.index(str(result.cram))
    return result


def all_inputs() -> list[Input]:
    return [wgs(), gvcf(), cohort(2_504), cohort(100_000)]


if __name__ == "__main__":
    for item in all_inputs():
        size = item.indexed.stat().st_size / 1e6
        print(f"{item.name}: {item.indexed} ({size:.1f} MB, {item.samples} samples)")
