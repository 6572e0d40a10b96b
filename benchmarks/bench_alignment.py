"""BAM/CRAM calling speed against bcftools mpileup, in the same run (``make bench``).

Inputs (fixed seed, generated once into ``benchmarks/.cache/alignment-v1/``):

- ``panel``: a targeted-panel-like BAM, 2,000x over 2 kb around rs1799971;
- ``wgs_slice``: 30x of 150 bp reads over 4 Mb of chr6 around the site (~800,000 reads),
  as BAM (+ .bai), the same BAM without an index, and CRAM (+ .crai);
- a GRCh38 chr6 FASTA (N outside 1 kb around the site), bgzipped with .fai/.gzi.

Measured: ``pgx-report call`` as a whole process (best of N wall-clock runs; includes
start-up, the SHA-256 of the input and, with --reference, of the FASTA), and the peer
``bcftools mpileup -r chr6:154039662 -q 20 -Q 20 -B -a AD`` on the same file (for the
unindexed BAM: ``-t``, which streams the file). Nothing here fails on a timing: the
table is informative. Results are also written to ``benchmarks/results/bench_alignment.json``.

Usage: python benchmarks/bench_alignment.py [--repeat N]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import pysam

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CACHE = HERE / ".cache" / "alignment-v1"
RESULTS = HERE / "results" / "bench_alignment.json"
SITE0 = 154_039_662 - 1
REGION = "chr6:154039662"
PGX = [sys.executable, "-m", "pgx_report"]
SEED = 20251125


def _generator() -> ModuleType:
    path = ROOT / "test_vcfs" / "alignments" / "generate.py"
    spec = importlib.util.spec_from_file_location("alignment_generator", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["alignment_generator"] = module
    spec.loader.exec_module(module)
    return module


def _write_bam(path: Path, starts: Sequence[int], length: int, rng: random.Random) -> None:
    """Reads of ``length`` bp at ``starts`` (sorted), bases random, half G at the site."""
    header = {
        "HD": {"VN": "1.6", "SO": "coordinate"},
        "SQ": [{"SN": "chr6", "LN": 170_805_979}],
        "RG": [{"ID": "rg1", "SM": "BENCH"}],
    }
    quals = pysam.qualitystring_to_array("I" * length)
    with pysam.AlignmentFile(str(path), "wb", header=header) as out:
        for i, start in enumerate(starts):
            read = pysam.AlignedSegment(out.header)
            read.query_name = f"r{i}"
            read.reference_id = 0
            read.reference_start = start
            read.mapping_quality = 60
            read.cigartuples = [(0, length)]
            seq = "".join(rng.choice("ACGT") for _ in range(8)) * (length // 8 + 1)
            seq = seq[:length]
            if start <= SITE0 < start + length:
                index = SITE0 - start
                seq = seq[:index] + rng.choice("AG") + seq[index + 1 :]
            read.query_sequence = seq
            read.query_qualities = quals
            read.set_tag("RG", "rg1")
            out.write(read)
    pysam.index(str(path))


def prepare() -> dict[str, Path]:
    CACHE.mkdir(parents=True, exist_ok=True)
    files = {
        "fasta": CACHE / "chr6.fa.gz",
        "panel": CACHE / "panel.bam",
        "wgs_slice": CACHE / "wgs_slice.bam",
        "wgs_slice_noindex": CACHE / "noindex" / "wgs_slice.bam",
        "wgs_slice_cram": CACHE / "wgs_slice.cram",
    }
    if all(p.exists() for p in files.values()):
        return files
    print("generating alignment benchmark inputs (once) ...", file=sys.stderr)
    gen = _generator()
    gen.write_fasta(files["fasta"], build="GRCh38", bgzip=True)
    rng = random.Random(SEED)
    panel = sorted(rng.randrange(SITE0 - 1_100, SITE0 + 1_000) for _ in range(2_000 * 2_000 // 100))
    _write_bam(files["panel"], panel, 100, rng)
    span = 4_000_000
    n = 30 * span // 150
    starts = sorted(rng.randrange(SITE0 - span // 2, SITE0 + span // 2) for _ in range(n))
    _write_bam(files["wgs_slice"], starts, 150, rng)
    files["wgs_slice_noindex"].parent.mkdir(exist_ok=True)
    shutil.copyfile(files["wgs_slice"], files["wgs_slice_noindex"])
    with (
        pysam.AlignmentFile(str(files["wgs_slice"])) as src,
        pysam.AlignmentFile(
            str(files["wgs_slice_cram"]), "wc", template=src, reference_filename=str(files["fasta"])
        ) as out,
    ):
        for read in src.fetch(until_eof=True):
            out.write(read)
    pysam.index(str(files["wgs_slice_cram"]))
    return files


def best_of(cmd: Sequence[str], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        best = min(best, time.perf_counter() - start)
    return best


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    files = prepare()
    fasta = str(files["fasta"])
    bcftools = shutil.which("bcftools")
    rows = []
    cases = [
        ("panel BAM (2,000x)", files["panel"], [], "-r"),
        ("30x slice BAM, indexed", files["wgs_slice"], [], "-r"),
        ("30x slice BAM, no index", files["wgs_slice_noindex"], [], "-t"),
        ("30x slice CRAM + --reference", files["wgs_slice_cram"], ["--reference", fasta], "-r"),
    ]
    for label, path, extra, region_flag in cases:
        ours = best_of([*PGX, "call", str(path), *extra], args.repeat)
        peer = None
        if bcftools:
            peer = best_of(
                [bcftools, "mpileup", "-f", fasta, region_flag, REGION, "-q", "20", "-Q", "20",
                 "-B", "-a", "AD", "-Ou", str(path)],
                args.repeat,
            )  # fmt: skip
        result = json.loads(
            subprocess.run(
                [*PGX, "call", str(path), *extra], check=True, capture_output=True, text=True
            ).stdout
        )
        rows.append(
            {
                "input": label,
                "size_mb": round(path.stat().st_size / 1e6, 1),
                "pgx_report_s": round(ours, 3),
                "bcftools_mpileup_s": None if peer is None else round(peer, 3),
                "ratio": None if peer is None else round(ours / peer, 2),
                "call": f"{result['status']} {result['genotype']} depth {result['qc']['depth']}",
            }
        )
    header = f"{'input':32} {'MB':>6} {'pgx-report s':>13} {'bcftools s':>11} {'ratio':>6}  call"
    print(header)
    for row in rows:
        peer_text = "-" if row["bcftools_mpileup_s"] is None else f"{row['bcftools_mpileup_s']:.3f}"
        ratio_text = "-" if row["ratio"] is None else f"{row['ratio']:.2f}"
        print(
            f"{row['input']:32} {row['size_mb']:>6} {row['pgx_report_s']:>13.3f} "
            f"{peer_text:>11} {ratio_text:>6}  {row['call']}"
        )
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(rows, indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
