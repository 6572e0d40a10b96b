"""pgx_report.genotype.vcf.locate on the real NYGC gVCFs (no index, lexicographic contig order,
~3,400 header contigs including HLA names with '*' and ':', long reference blocks)."""

from __future__ import annotations

import csv
import gzip
import json
import random
from pathlib import Path

import pytest
from conftest import run_pgx

from pgx_report.files.sniff import file_kind
from pgx_report.genotype.vcf.locate import header_contigs, locate

SITE = 154_039_662
ALIASES = ("chr6", "6", "NC_000006.12")


def _truth(realdata: Path) -> dict[str, dict[str, str]]:
    with (realdata / "genotypes_rs1799971.tsv").open() as handle:
        return {row["sample"]: row for row in csv.DictReader(handle, delimiter="\t")}


def _inputs(realdata: Path) -> list[Path]:
    files = sorted((realdata / "full").glob("*.pgx.vcf.gz"))
    files += sorted((realdata / "slices").glob("*.OPRM1.g.vcf"))
    assert len(files) == 16
    return files


def _sample(path: Path) -> str:
    return path.name.split(".")[0]


def test_every_real_file_finds_the_record_the_truth_table_names(realdata: Path) -> None:
    truth = _truth(realdata)
    for path in _inputs(realdata):
        row = truth[_sample(path)]
        hit = locate(path, ALIASES, SITE)
        assert hit.method == "bisection", path
        assert hit.contig == "chr6"
        assert len(hit.records) == 1, (path, hit.records)
        fields = hit.records[0].split("\t")
        assert int(fields[1]) == int(row["record_POS"]), path
        assert fields[3] == row["REF"] and fields[4] == row["ALT"], path
        if row["record_type"] == "refblock":
            assert f"END={row['record_END']}" in fields[7], path
        assert hit.records == locate(path, ALIASES, SITE, method="stream").records
        assert hit.header.rstrip("\n").split("\n")[-1].endswith(_sample(path))


@pytest.mark.parametrize("index", range(4))
def test_random_sites_across_contigs_match_a_streaming_scan(realdata: Path, index: int) -> None:
    """Sites at record starts, ends and just outside, on every kind of contig
    (chr1 ... chrX, chrM, HLA), plus a contig absent from the file."""
    path = sorted((realdata / "full").glob("*.pgx.vcf.gz"))[index]
    assert file_kind(path) == "bgzf"
    rows = [line.split("\t", 8) for line in gzip.open(path, "rt") if not line.startswith("#")]
    rng = random.Random(index)
    picks = rng.sample(rows, 12) + [r for r in rows if r[0].startswith("HLA")][:2]
    cases: list[tuple[str, int]] = [("chrZ", 5), ("chr6", 1), ("chr22", 10**9)]
    for chrom, pos, _id, ref, _alt, _q, _f, info, *_ in picks:
        end = int(pos) + len(ref) - 1
        if "END=" in info:
            end = max(end, int(info.split("END=")[1].split(";")[0]))
        cases += [(chrom, int(pos)), (chrom, end), (chrom, end + 1), (chrom, int(pos) - 1)]
    by_contig: dict[str, list[tuple[int, int, str]]] = {}
    for r in rows:
        by_contig.setdefault(r[0], []).append((int(r[1]), _end(r), "\t".join(r).rstrip("\n")))
    for k, (chrom, pos) in enumerate(cases):
        fast = locate(path, [chrom], pos)
        assert fast.method == "bisection", (chrom, pos)
        want = [line for start, end, line in by_contig.get(chrom, []) if start <= pos <= end]
        assert list(fast.records) == want, (chrom, pos)
        if k % 8 == 0:  # the streaming scan agrees too (a sample: it reads the whole file)
            assert locate(path, [chrom], pos, method="stream").records == fast.records


def _end(fields: list[str]) -> int:
    end = int(fields[1]) + len(fields[3]) - 1
    if "END=" in fields[7]:
        end = max(end, int(fields[7].split("END=")[1].split(";")[0]))
    return end


def test_real_header_is_returned_whole(realdata: Path) -> None:
    path = sorted((realdata / "full").glob("*.pgx.vcf.gz"))[0]
    hit = locate(path, ALIASES, SITE)
    with gzip.open(path, "rt") as handle:
        header = "".join(line for line in handle if line.startswith("#"))
    assert hit.header == header
    contigs = header_contigs(hit.header)
    assert len(contigs) > 3000
    assert "chr6" in contigs and any("*" in c and ":" in c for c in contigs)


def test_cli_calls_an_unindexed_real_gvcf_by_bisection(realdata: Path) -> None:
    """The caller uses bisection on an unindexed real gVCF, says so in the provenance,
    and gets the genotype of the truth table."""
    truth = _truth(realdata)
    for path in sorted((realdata / "full").glob("*.pgx.vcf.gz")):
        result = run_pgx("call", path, check=True)
        call = json.loads(result.stdout)
        assert call["provenance"]["input"]["access"] == "bisection"
        assert call["provenance"]["input"]["index"] == "none"
        assert call["genotype"] == truth[_sample(path)]["genotype_at_chr6:154039662"]
