"""The 16 real 1000 Genomes gVCFs in pgx_report/data/realdata: each must be called exactly as
genotypes_rs1799971.tsv says, from the whole file and from a slice, with and without an
index. Copies (bgzipped, indexed, BCF) are built in a temporary folder: the bundled inputs
are treated as read-only and never written beside."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import REALDATA, run_pgx

from pgx_report.contracts.call import validate_call_dict
from pgx_report.genotype.vcf.rules import call_file

SITE = "chr6:154039662"


def _truth() -> dict[str, dict[str, str]]:
    with (REALDATA / "genotypes_rs1799971.tsv").open() as handle:
        return {row["sample"]: row for row in csv.DictReader(handle, delimiter="\t")}


TRUTH = _truth() if (REALDATA / "genotypes_rs1799971.tsv").exists() else {}
SAMPLES = sorted(TRUTH)


def _source(realdata: Path, sample: str) -> tuple[str, Path]:
    full = realdata / "full" / f"{sample}.pgx.vcf.gz"
    if full.exists():
        return "full", full
    return "slice", realdata / "slices" / f"{sample}.OPRM1.g.vcf"


def _run(*cmd: str | Path) -> None:
    subprocess.run([str(c) for c in cmd], check=True, capture_output=True)


@pytest.fixture(scope="session")
def variants(
    realdata: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, dict[str, Path]]:
    """Per sample: every way the file is read (as given, BGZF, indexed, BCF, a slice)."""
    for tool in ("bgzip", "tabix", "bcftools"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} missing: run scripts/install-system-deps.sh")
    out = tmp_path_factory.mktemp("realdata")
    made: dict[str, dict[str, Path]] = {}
    for sample in SAMPLES:
        kind, src = _source(realdata, sample)
        ways = {f"{kind}-as-given": src}
        if kind == "full":
            indexed = out / src.name
            shutil.copyfile(src, indexed)
            _run("tabix", "-p", "vcf", indexed)
            ways["full-tbi"] = indexed
            cut = out / f"{sample}.cut.vcf"
            _run(
                "bcftools",
                "view",
                "--no-version",
                "-r",
                "chr6:154030000-154050000",
                "-Ov",
                "-o",
                cut,
                indexed,
            )
            ways["slice-cut-from-full"] = cut
        else:
            bgz = out / f"{src.name}.gz"
            with bgz.open("wb") as handle:
                subprocess.run(["bgzip", "-c", str(src)], check=True, stdout=handle)
            ways["slice-bgzf-no-index"] = bgz
            indexed = out / f"{sample}.tbi.g.vcf.gz"
            shutil.copyfile(bgz, indexed)
            _run("tabix", "-p", "vcf", indexed)
            ways["slice-tbi"] = indexed
            bcf = out / f"{sample}.g.bcf"
            _run("bcftools", "view", "--no-version", "-Ob", "-o", bcf, src)
            _run("bcftools", "index", bcf)
            ways["slice-bcf-csi"] = bcf
        made[sample] = ways
    return made


def _expected_record(row: dict[str, str]) -> dict[str, Any]:
    return {
        "chrom": "chr6",
        "pos": int(row["record_POS"]),
        "end": int(row["record_END"]),
        "ref": row["REF"],
        "alt": row["ALT"].split(","),
    }


def _check(call: dict[str, Any], row: dict[str, str]) -> None:
    validate_call_dict(call, "test")
    assert call["status"] == "called", call["reasons"]
    assert call["genotype"] == row["genotype_at_chr6:154039662"]
    assert call["gt"] == row["GT"]
    assert call["reason_codes"] == []
    assert call["variant"]["build"] == "GRCh38" and call["variant"]["chrom"] == "chr6"
    assert call["provenance"]["build"]["method"] == "header_contig_length"
    assert call["qc"]["record"] == _expected_record(row)
    assert call["qc"]["source"] == (
        "reference_block" if row["record_type"] == "refblock" else "variant_record"
    )
    assert call["qc"]["depth"] == int(row["DP"])
    assert call["qc"]["gq"] == int(row["GQ"])
    expected_ad = [int(x) for x in row["AD"].split(",")] if row["AD"] else None
    assert call["qc"]["allele_depths"] == expected_ad


def test_truth_table_complete(realdata: Path) -> None:
    assert len(SAMPLES) == 16
    for sample in SAMPLES:
        assert _source(realdata, sample)[1].exists()


@pytest.mark.parametrize("sample", SAMPLES)
def test_every_way_of_reading(sample: str, variants: dict[str, dict[str, Path]]) -> None:
    ways = variants[sample]
    assert len(ways) == (3 if "full-as-given" in ways else 4)
    for way, path in ways.items():
        call = call_file(path).to_dict()
        assert call["sample"] == sample, way
        try:
            _check(call, TRUTH[sample])
        except AssertionError as err:
            raise AssertionError(f"{sample} read as {way}: {err}") from err


@pytest.mark.parametrize("sample", SAMPLES)
def test_cli_on_the_bundled_file(sample: str, realdata: Path) -> None:
    """The command as a lab runs it, on the read-only original."""
    _, src = _source(realdata, sample)
    result = run_pgx("call", src, "--sample", sample, check=True)
    _check(json.loads(result.stdout), TRUTH[sample])


def test_nothing_written_beside_inputs(realdata: Path) -> None:
    names = {p.name for p in realdata.rglob("*")}
    assert not any(n.endswith((".tbi", ".csi", ".json")) for n in names)
