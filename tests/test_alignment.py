"""`pgx-report call` on BAM/CRAM input: every case of test_vcfs/alignments/spec.yaml,
CRAM and --reference checks, bad alignment files, and concordance with bcftools mpileup."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from alignment_support import load_generator
from calling_support import check_input_identity
from conftest import REPO_ROOT, assert_clean_error, run_pgx

from pgx_report.contracts.call import validate_call_dict

DEMO_VCF = REPO_ROOT / "demo" / "vcfs" / "NA12878.OPRM1.g.vcf.gz"


GEN = load_generator()
SPEC = GEN.load_spec()
CASES = [
    pytest.param(name, fmt, id=f"{name}-{fmt}")
    for name, case in SPEC.items()
    for fmt in case.get("formats", ["bam"])
]


@pytest.fixture(scope="session")
def aln(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Every spec case written as BAM (+ unindexed copy, + CRAM where asked)."""
    return GEN.build_all(tmp_path_factory.mktemp("alignments"))


@pytest.fixture(scope="session")
def extra_fastas(aln: Any) -> dict[str, Path]:
    folder = aln.folder / "extra"
    folder.mkdir()
    return {
        "wrong_base": GEN.write_fasta(folder / "wrong_base.fa", build="GRCh38", site_base="G"),
        "other_sequence": GEN.write_fasta(folder / "other.fa", build="GRCh38", seed=999),
        "grch37": GEN.write_fasta(folder / "b37.fa", build="GRCh37"),
    }


def call_json(*args: str | Path) -> dict[str, Any]:
    result = run_pgx("call", *args)
    assert result.returncode == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    validate_call_dict(data, "test")  # the published contract holds
    return data


@pytest.mark.parametrize(("name", "fmt"), CASES)
def test_spec_case(aln: Any, name: str, fmt: str) -> None:
    case = SPEC[name]
    expect = case["expect"]
    args: list[str | Path] = [aln.cases[name].files[fmt], *case.get("args", [])]
    if fmt == "cram":
        args += ["--reference", aln.fastas[f"{case.get('build', 'GRCh38')}-chr6"]]
    if "error" in expect:
        assert_clean_error(run_pgx("call", *args), *expect["error"])
        return
    data = call_json(*args)
    qc, pileup = data["qc"], data["qc"]["pileup"]
    assert qc["source"] == "alignment"
    assert data["status"] == expect["status"]
    assert data["genotype"] == expect.get("genotype", data["genotype"])
    if data["status"] != "called":
        assert data["genotype"] is None and data["carrier"] is None
    else:
        assert data["carrier"] == (data["genotype"] != "A/A")
    assert data["reason_codes"] == expect.get("reason_codes", [])
    assert len(data["reasons"]) == len(data["reason_codes"])
    assert data["provenance"]["input"]["format"] == fmt.removesuffix("_noindex")
    assert data["provenance"]["input"]["index"] == (
        "none" if fmt == "bam_noindex" else {"bam": "bai", "cram": "crai"}[fmt]
    )
    index_kind = data["provenance"]["input"]["index"]
    path = Path(aln.cases[name].files[fmt])
    index = path.with_name(f"{path.name}.{index_kind}") if index_kind != "none" else None
    check_input_identity(path, data["provenance"]["input"], index)
    simple = {
        "gt": data["gt"],
        "depth": qc["depth"],
        "allele_depths": qc["allele_depths"],
        "gq": qc["gq"],
        "pl": pileup["pl"],
        "deletions": pileup["deletions"],
        "bases": pileup["bases"],
        "build": data["variant"]["build"],
        "chrom": data["variant"]["chrom"],
        "sample": data["sample"],
    }
    for key, value in simple.items():
        if key in expect:
            assert value == expect[key], key
    for reason, count in expect.get("excluded", {}).items():
        assert pileup["excluded"].get(reason) == count, reason
    # Counts add up: every fetched read is counted once or excluded for one reason.
    counted = sum(pileup["bases"].values()) + pileup["deletions"]
    assert counted == qc["depth"]
    assert counted + sum(pileup["excluded"].values()) == pileup["reads_overlapping"]


def test_same_call_from_bam_unindexed_bam_and_cram(aln: Any) -> None:
    files = aln.cases["ag"].files
    fasta = aln.fastas["GRCh38-chr6"]
    outputs = [
        call_json(files["bam"]),
        call_json(files["bam_noindex"]),
        call_json(files["cram"], "--reference", fasta),
    ]
    for data in outputs:
        data["provenance"].pop("input")
        data["provenance"].pop("reference", None)
        data["provenance"]["build"]["evidence"] = data["provenance"]["build"]["evidence"][:1]
    assert outputs[0] == outputs[1] == outputs[2]


def test_output_file_is_deterministic(aln: Any, tmp_path: Path) -> None:
    bam = aln.cases["gg"].files["bam"]
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    assert run_pgx("call", bam, "-o", first).returncode == 0
    assert run_pgx("call", bam, "-o", second).returncode == 0
    assert first.read_bytes() == second.read_bytes()
    data = json.loads(first.read_text())
    assert data["genotype"] == "G/G"
    assert data["provenance"]["pileup"]["min_base_quality"] == 20
    assert data["provenance"]["pileup"]["min_mapping_quality"] == 20
    assert data["provenance"]["pileup"]["error_rate"] == 0.01


# --------------------------------------------------------------------------- reference


def test_bam_with_matching_reference(aln: Any) -> None:
    fasta = aln.fastas["GRCh38-chr6"]
    data = call_json(aln.cases["ag"].files["bam"], "--reference", fasta)
    ref = data["provenance"]["reference"]
    assert (ref["base"], ref["contig"], ref["pos"], ref["path"]) == (
        "A",
        "chr6",
        154039662,
        fasta.name,
    )
    assert len(ref["sha256"]) == 64
    assert data["genotype"] == "A/G"


def test_vcf_with_reference(aln: Any, extra_fastas: dict[str, Path]) -> None:
    data = call_json(DEMO_VCF, "--reference", aln.fastas["GRCh38-chr6"])
    assert data["genotype"] == "A/A"
    assert data["provenance"]["reference"]["base"] == "A"
    assert data["qc"]["source"] == "reference_block"
    bad = extra_fastas["wrong_base"]
    assert_clean_error(
        run_pgx("call", DEMO_VCF, "--reference", bad),
        str(bad),
        "reference base at chr6:154039662 is G, expected A",
    )


@pytest.mark.parametrize(
    ("case", "fmt", "fasta", "fragments"),
    [
        ("ag", "bam", "wrong_base", ["wrong_base.fa", "is G, expected A"]),
        ("ag", "cram", "wrong_base", ["wrong_base.fa", "is G, expected A"]),
        ("ag", "cram", "other_sequence", ["other.fa", "not the reference the CRAM was written"]),
        ("ag", "bam", "grch37", ["b37.fa", "is 171115067 bp long but GRCh38 chr6"]),
        ("grch37_contig_6", "bam", "grch37", ["b37.fa", "reference base at chr6:154360797"]),
    ],
)
def test_reference_mismatch_is_an_error(
    aln: Any,
    extra_fastas: dict[str, Path],
    tmp_path: Path,
    case: str,
    fmt: str,
    fasta: str,
    fragments: list[str],
) -> None:
    out = tmp_path / "call.json"
    if case == "grch37_contig_6":
        # A GRCh37 FASTA with G at the site (wrong file for this sample).
        path = GEN.write_fasta(tmp_path / "b37.fa", build="GRCh37", site_base="G")
    else:
        path = extra_fastas[fasta]
    result = run_pgx("call", aln.cases[case].files[fmt], "--reference", path, "-o", out)
    assert_clean_error(result, *fragments)
    assert not out.exists()


def test_cram_needs_reference(aln: Any, tmp_path: Path) -> None:
    out = tmp_path / "call.json"
    result = run_pgx("call", aln.cases["ag"].files["cram"], "-o", out)
    assert_clean_error(result, "ag.cram", "CRAM input needs", "--reference FASTA")
    assert not out.exists()


def test_cram_reference_with_other_contig_names(aln: Any, tmp_path: Path) -> None:
    # The FASTA calls chromosome 6 "6"; the CRAM's reads are on "chr6": cannot decode.
    fasta = GEN.write_fasta(tmp_path / "named6.fa", build="GRCh38", contig="6")
    result = run_pgx("call", aln.cases["ag"].files["cram"], "--reference", fasta)
    assert_clean_error(result, "named6.fa", "has no contig 'chr6'")


# --------------------------------------------------------------------------- bad input


def test_truncated_bam(aln: Any, tmp_path: Path) -> None:
    data = aln.cases["ag"].files["bam"].read_bytes()
    bam = tmp_path / "cut.bam"
    bam.write_bytes(data[:-28])  # drop the BGZF end-of-file marker block
    assert_clean_error(run_pgx("call", bam), "cut.bam", "truncated")


def test_corrupt_bam(tmp_path: Path) -> None:
    import gzip

    bam = tmp_path / "junk.bam"
    bam.write_bytes(gzip.compress(b"BAM\x01" + b"\xff" * 64))
    assert_clean_error(run_pgx("call", bam), "junk.bam")


def test_stale_index(aln: Any, tmp_path: Path) -> None:
    src = aln.cases["ag"].files["bam"]
    bam = tmp_path / "ag.bam"
    shutil.copyfile(src, bam)
    index = tmp_path / "ag.bam.bai"
    shutil.copyfile(Path(f"{src}.bai"), index)
    stat = bam.stat()
    os.utime(index, ns=(stat.st_atime_ns, stat.st_mtime_ns - 10**9))
    assert_clean_error(run_pgx("call", bam), "ag.bam.bai", "stale", "samtools index")


def test_all_samples_is_for_vcf(aln: Any, tmp_path: Path) -> None:
    result = run_pgx("call", aln.cases["ag"].files["bam"], "--all-samples", "-o", tmp_path / "o")
    assert_clean_error(result, "--all-samples", "--sample")


@pytest.mark.parametrize(
    ("option", "value", "fragment"),
    [
        ("--error-rate", "0.7", "--error-rate must be above 0 and below 0.5"),
        ("--min-base-quality", "200", "--min-base-quality must be 0-93"),
    ],
)
def test_bad_pileup_option(aln: Any, option: str, value: str, fragment: str) -> None:
    assert_clean_error(run_pgx("call", aln.cases["ag"].files["bam"], option, value), fragment)


# --------------------------------------------------------------------------- peer


PEER_CASES = [
    "aa",
    "ag",
    "gg",
    "duplicates_excluded",
    "low_mapq_excluded",
    "low_base_quality_excluded",
    "non_ag_bases_reported",
    "soft_clip_not_counted",
    "skewed_het",
]


@pytest.mark.skipif(shutil.which("bcftools") is None, reason="bcftools not installed")
@pytest.mark.parametrize("name", PEER_CASES)
def test_counts_match_bcftools_mpileup(aln: Any, name: str) -> None:
    """bcftools mpileup with the same filters (-q 20 -Q 20, no BAQ) counts the same A and G."""
    bam = aln.cases[name].files["bam"]
    fasta = aln.fastas.get("GRCh38-chr6") or GEN.write_fasta(
        aln.folder / "peer.fa.gz", build="GRCh38", bgzip=True
    )
    pileup = subprocess.run(
        [
            "bcftools",
            "mpileup",
            "-f",
            str(fasta),
            "-r",
            "chr6:154039662",
            "-q",
            "20",
            "-Q",
            "20",
            "-B",
            "-a",
            "FORMAT/AD",
            "-Ou",
            str(bam),
        ],
        capture_output=True,
        check=True,
    )
    query = subprocess.run(
        ["bcftools", "query", "-f", "%REF\t%ALT\t[%AD]\n"],
        input=pileup.stdout,
        capture_output=True,
        check=True,
    )
    ref, alts, ad = query.stdout.decode().strip().split("\t")
    alleles = [ref, *alts.split(",")]
    depths = dict(zip(alleles, map(int, ad.split(",")), strict=True))
    ours = call_json(bam)["qc"]["pileup"]["bases"]
    assert ref == "A"
    for base in "ACGT":
        assert ours[base] == depths.get(base, 0), base


# --------------------------------------------------------------------------- contract


def test_schema_checks_the_alignment_fields(aln: Any, extra_fastas: dict[str, Path]) -> None:
    from pgx_report.errors import InputError

    data = call_json(aln.cases["ag"].files["bam"], "--reference", aln.fastas["GRCh38-chr6"])
    bad_values = [
        (("qc", "pileup", "bases", "A"), -1),
        (("qc", "pileup", "pl"), [0, 1]),
        (("qc", "pileup", "likely_genotype"), "A/T"),
        (("provenance", "pileup", "error_rate"), 0.9),
        (("provenance", "reference", "base"), "G"),
        (("provenance", "reference", "sha256"), "abc"),
    ]
    for path, value in bad_values:
        broken = json.loads(json.dumps(data))
        target = broken
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        with pytest.raises(InputError) as err:
            validate_call_dict(broken, "x.json")
        assert "/".join(path[:-1]) in str(err.value), path


@pytest.mark.parametrize(
    ("fmt", "index_name", "kind"),
    [
        ("bam", "{stem}.bam.bai", "bai"),
        ("bam", "{stem}.bai", "bai"),
        ("bam", "{stem}.bam.csi", "csi"),
        ("cram", None, "none"),
    ],
)
def test_index_forms(aln: Any, tmp_path: Path, fmt: str, index_name: str | None, kind: str) -> None:
    import pysam

    src = aln.cases["ag"].files[fmt]
    copy = tmp_path / src.name
    shutil.copyfile(src, copy)
    if index_name is not None:
        built = tmp_path / "built"
        built.mkdir()
        shutil.copyfile(src, built / src.name)
        pysam.index(str(built / src.name), *(["-c"] if kind == "csi" else []))
        made = next(p for p in built.iterdir() if p.suffix in (".bai", ".csi"))
        shutil.copyfile(made, tmp_path / index_name.format(stem=src.stem))
    extra = ["--reference", aln.fastas["GRCh38-chr6"]] if fmt == "cram" else []
    data = call_json(copy, *extra)
    assert data["provenance"]["input"]["index"] == kind
    assert (data["genotype"], data["qc"]["allele_depths"]) == ("A/G", [14, 12])


def test_sam_text_is_refused_with_a_hint(tmp_path: Path) -> None:
    sam = tmp_path / "reads.sam"
    sam.write_text("@HD\tVN:1.6\tSO:coordinate\n@SQ\tSN:chr6\tLN:170805979\n")
    assert_clean_error(run_pgx("call", sam), "reads.sam", "is SAM text", "samtools sort")


def test_unaligned_bam(tmp_path: Path) -> None:
    import pysam

    bam = tmp_path / "unaligned.bam"
    header = {"HD": {"VN": "1.6", "SO": "unsorted"}, "RG": [{"ID": "rg", "SM": "S1"}]}
    with pysam.AlignmentFile(str(bam), "wb", header=header) as out:
        read = pysam.AlignedSegment(out.header)
        read.query_name, read.flag, read.query_sequence = "r1", 0x4, "ACGT"
        out.write(read)
    assert_clean_error(run_pgx("call", bam), "unaligned.bam", "no @SQ lines")


def _modules_loaded_by_call(path: Path, out: Path, names: tuple[str, ...]) -> list[str]:
    """Which of ``names`` a whole ``pgx-report call`` process has imported."""
    code = (
        "import sys\nfrom pgx_report.cli import main\n"
        f"rc = main(['call', {str(path)!r}, '-o', {str(out)!r}])\n"
        f"print('LOADED', rc, *[m for m in {names!r} if m in sys.modules])\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("LOADED")][-1].split()
    assert line[1] == "0", proc.stderr
    return line[2:]


def test_bam_call_does_not_import_the_vcf_reader(aln: Any, tmp_path: Path) -> None:
    """Start-up (issue 17): a BAM call never loads numpy/cyvcf2 (the VCF reader)."""
    bam = aln.cases["ag"].files["bam"]
    names = ("numpy", "cyvcf2", "pgx_report.genotype.vcf.rules", "pgx_report.genotype.plate.qc")
    assert _modules_loaded_by_call(bam, tmp_path / "call.json", names) == []


def test_vcf_call_does_not_import_the_pileup(aln: Any, tmp_path: Path) -> None:
    """Start-up (issue 17): a VCF call never loads the pileup or the plate code."""
    names = ("pgx_report.genotype.pileup.alignment", "pgx_report.genotype.plate.qc")
    assert _modules_loaded_by_call(DEMO_VCF, tmp_path / "call.json", names) == []
