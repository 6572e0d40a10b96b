"""Genotype rules: every case of test_vcfs/cases.yaml, in every file format it is built in."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from calling_support import CASES, build_test_vcfs, case_formats, check_input_identity
from conftest import run_pgx

from pgx_report.contracts.call import (
    Call,
    Reason,
    Status,
    Thresholds,
    load_call,
    validate_call_dict,
)
from pgx_report.errors import InputError
from pgx_report.files.io import canonical_json
from pgx_report.genotype.vcf.rules import call_all_samples, call_file
from pgx_report.outputs.call_json import render_call


@pytest.fixture(scope="session")
def vcfs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Path]]:
    return build_test_vcfs(tmp_path_factory)


FORMAT_OF = {
    "vcf": ("vcf", "none"),
    "vcf.gz": ("vcf.gz", "none"),
    "tbi": ("vcf.gz", "tbi"),
    "csi": ("vcf.gz", "csi"),
    "gzip": ("vcf.gzip", "none"),
    "bcf": ("bcf", "csi"),
}

# How the site's records are found (docs/performance.md): through the index, by
# bisection over unindexed BGZF / plain text, by streaming plain gzip.
ACCESS_OF = {
    "vcf": "bisection",
    "vcf.gz": "bisection",
    "tbi": "index",
    "csi": "index",
    "gzip": "stream",
    "bcf": "index",
}

MATRIX = [(name, fmt) for name in CASES["cases"] for fmt in case_formats(name)]


def _thresholds(options: dict[str, Any]) -> Thresholds:
    defaults = Thresholds()
    return Thresholds(
        min_depth=options.get("min_depth", defaults.min_depth),
        min_gq=options.get("min_gq", defaults.min_gq),
    )


def _check(call: Call, want: dict[str, Any], case: dict[str, Any]) -> None:
    assert call.status.value == want["status"], (call.sample, call.reason_codes, call.reasons)
    assert call.genotype == want["genotype"]
    assert list(call.reason_codes) == want["codes"], call.reasons
    assert len(call.reasons) == len(call.reason_codes)
    if "gt" in want:
        assert call.gt == str(want["gt"])
    if "source" in want:
        assert call.qc["source"] == want["source"]
    if call.status is Status.CALLED:
        assert call.carrier is ("G" in call.genotype)  # type: ignore[operator]
    else:
        assert call.carrier is None
    if "build" in case:
        assert call.provenance["build"]["name"] == case["build"]["name"]
        assert call.provenance["build"]["method"] == case["build"]["method"]
        assert call.variant["build"] == case["build"]["name"]
    validate_call_dict(call.to_dict(), "test")


@pytest.mark.parametrize(("name", "fmt"), MATRIX, ids=[f"{n}-{f}" for n, f in MATRIX])
def test_case(name: str, fmt: str, vcfs: dict[str, dict[str, Path]]) -> None:
    case = CASES["cases"][name]
    path = vcfs[name][fmt]
    options = case.get("options", {})
    calls = call_all_samples(path, build=options.get("build"), thresholds=_thresholds(options))
    assert [c.sample for c in calls] == case.get("samples", ["S1"])
    for call in calls:
        _check(call, case["expect"][call.sample], case)
        fmt_name, index = FORMAT_OF[fmt]
        source = dict(call.provenance["input"])
        identity = {key: source.pop(key) for key in ("sha256", "region_digest") if key in source}
        assert source == {
            "path": path.name,
            "format": fmt_name,
            "index": index,
            "access": ACCESS_OF[fmt],
        }
        index_file = path.with_name(f"{path.name}.{index}") if index != "none" else None
        check_input_identity(path, identity, index_file)
        # a call that read the whole file names its SHA-256; one that read a part, not
        assert ("sha256" in identity) is (ACCESS_OF[fmt] == "stream")


@pytest.mark.parametrize(
    "name", [n for n in CASES["cases"] if len(CASES["cases"][n].get("samples", ["S1"])) > 1]
)
def test_single_sample_equals_all_samples(name: str, vcfs: dict[str, dict[str, Path]]) -> None:
    """The one-sample path and the all-samples path give identical calls."""
    case = CASES["cases"][name]
    path = vcfs[name]["vcf"]
    options = case.get("options", {})
    every = call_all_samples(path, build=options.get("build"), thresholds=_thresholds(options))
    for call in every:
        one = call_file(
            path, sample=call.sample, build=options.get("build"), thresholds=_thresholds(options)
        )
        assert one.to_dict() == call.to_dict()


def test_reason_codes_all_exercised() -> None:
    """Every reason code of the caller has at least one case in test_vcfs/cases.yaml, or
    (targeted assay plates) in test_vcfs/plates/spec.yaml."""
    from plate_support import load_spec

    seen = {
        code
        for case in CASES["cases"].values()
        for want in case["expect"].values()
        for code in want["codes"]
    }
    seen |= {
        code
        for plate in load_spec()["plates"].values()
        for want in plate["expect"].values()
        for code in want[2]
    }
    assert seen == {r.value for r in Reason}


def test_thresholds_recorded(vcfs: dict[str, dict[str, Path]]) -> None:
    call = call_file(vcfs["het"]["vcf"], thresholds=Thresholds(min_depth=12, min_gq=30))
    assert call.provenance["thresholds"]["min_depth"] == 12
    assert call.provenance["thresholds"]["min_gq"] == 30


def test_qc_values(vcfs: dict[str, dict[str, Path]]) -> None:
    call = call_file(vcfs["allele_balance_skew"]["vcf"])
    assert call.qc["depth"] == 32
    assert call.qc["gq"] == 60
    assert call.qc["allele_depths"] == [27, 5]
    assert call.qc["allele_balance"] == pytest.approx(5 / 32, abs=1e-4)
    assert call.qc["filter"] == ["PASS"]
    assert call.qc["qual"] == 50
    assert call.qc["record"] == {
        "chrom": "chr6",
        "pos": 154039662,
        "end": 154039662,
        "ref": "A",
        "alt": ["G"],
    }
    block = call_file(vcfs["gvcf_block_trap_ref_g"]["vcf"])
    assert block.qc["depth"] == 33  # the block's DP (median) is reported ...
    assert block.qc["min_dp"] == 30  # ... and its MIN_DP is what the depth gate used
    assert block.qc["depth_used"] == 30
    assert block.qc["record"]["ref"] == "G"
    assert block.qc["filter"] == ["."]


def test_block_gate_uses_min_dp_not_median(vcfs: dict[str, dict[str, Path]]) -> None:
    """DP=14 (median) would pass a depth of 10; MIN_DP=4 says part of the block is at 4x."""
    call = call_file(vcfs["gvcf_block_low_min_dp"]["vcf"])
    assert call.qc["depth"] == 14 and call.qc["min_dp"] == 4
    assert "MIN_DP" in call.reasons[0]


def test_roundtrip_and_load_call(tmp_path: Path, vcfs: dict[str, dict[str, Path]]) -> None:
    call = call_file(vcfs["het"]["vcf"])
    again = Call.from_dict(json.loads(json.dumps(call.to_dict())))
    assert again == call
    out = tmp_path / "call.json"
    out.write_text(json.dumps(call.to_dict()))
    assert load_call(out) == call


@pytest.mark.parametrize(
    ("mutate", "fragment"),
    [
        (lambda d: d.pop("status"), "'status' is a required property"),
        (lambda d: d.update(genotype="A/T"), "genotype"),
        (lambda d: d.update(status="called", genotype=None), "genotype"),
        (lambda d: d["variant"].update(pos=154360518), "variant/pos"),
        (lambda d: d.update(reason_codes=["MADE_UP"]), "reason_codes/0"),
    ],
    ids=["no-status", "bad-genotype", "called-without-genotype", "wrong-pos", "unknown-code"],
)
def test_load_call_rejects_bad_files(
    tmp_path: Path,
    vcfs: dict[str, dict[str, Path]],
    mutate: Any,
    fragment: str,
) -> None:
    data = call_file(vcfs["het"]["vcf"]).to_dict()
    mutate(data)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    with pytest.raises(InputError) as err:
        load_call(bad)
    assert str(bad) in str(err.value)
    assert fragment in str(err.value)


def test_load_call_not_json(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(InputError, match="line 1 column 2: invalid JSON"):
        load_call(bad)


# --------------------------------------------------------------------------- CLI


def test_cli_stdout_and_file_identical(tmp_path: Path, vcfs: dict[str, dict[str, Path]]) -> None:
    src = vcfs["het"]["tbi"]
    first = run_pgx("call", src, check=True)
    data = json.loads(first.stdout)
    assert data["genotype"] == "A/G" and data["schema"] == "pgx-report.call"
    out = tmp_path / "out" / "S1.json"
    run_pgx("call", src, "-o", out, check=True)
    assert out.read_text() == first.stdout  # canonical JSON, same bytes
    assert run_pgx("call", src, check=True).stdout == first.stdout  # deterministic
    assert list(out.parent.iterdir()) == [out]  # no temp files left


def test_cli_options(vcfs: dict[str, dict[str, Path]]) -> None:
    path = vcfs["low_depth_and_gq"]["vcf"]
    strict = json.loads(run_pgx("call", path, "--sample", "S1", check=True).stdout)
    assert strict["status"] == "failed_qc"
    loose = json.loads(
        run_pgx("call", path, "--sample", "S1", "--min-depth", "5", check=True).stdout
    )
    assert loose["genotype"] == "A/G"
    built = json.loads(
        run_pgx(
            "call",
            vcfs["build_option_settles_missing"]["vcf"],
            "--build",
            "GRCh38",
            check=True,
        ).stdout
    )
    assert built["provenance"]["build"]["method"] == "option"


def test_cli_help_documents_every_option() -> None:
    result = run_pgx("call", "--help", check=True)
    for option in (
        "--sample",
        "--all-samples",
        "--build",
        "--min-depth",
        "--min-gq",
        "-o",
        "MIN_DP",
        "default 10",
        "default 20",
    ):
        assert option in result.stdout, option


def test_cli_all_samples(tmp_path: Path, vcfs: dict[str, dict[str, Path]]) -> None:
    out = tmp_path / "calls"
    run_pgx("call", vcfs["split_multiallelic"]["bcf"], "--all-samples", "-o", out, check=True)
    assert sorted(p.name for p in out.iterdir()) == [
        "S1.json",
        "S2.json",
        "S3.json",
        "S4.json",
        "calls.tsv",
    ]
    rows = [line.split("\t") for line in (out / "calls.tsv").read_text().splitlines()]
    assert rows[0] == [
        "sample",
        "status",
        "genotype",
        "carrier",
        "gt",
        "reason_codes",
        "depth",
        "gq",
        "file",
    ]
    assert rows[1] == ["S1", "called", "A/G", "true", "0/1", "", "30", "99", "S1.json"]
    assert rows[3][:6] == ["S3", "no_call", "", "", "0/1", "MULTIPLE_RECORDS"]
    for row in rows[1:]:
        assert load_call(out / row[8]).status.value == row[1]
    # a second run replaces the folder it wrote as a whole
    before = sorted(p.name for p in out.iterdir())
    run_pgx("call", vcfs["split_multiallelic"]["bcf"], "--all-samples", "-o", out, check=True)
    assert sorted(p.name for p in out.iterdir()) == before
    assert [p.name for p in tmp_path.iterdir()] == ["calls"]  # no staging folders left
    # ... but never a folder holding a file pgx-report did not write there (issue 13)
    (out / "stale.json").write_text("{}")
    result = run_pgx("call", vcfs["split_multiallelic"]["bcf"], "--all-samples", "-o", out)
    assert result.returncode == 2
    assert "folder holds 'stale.json', which pgx-report did not write there" in result.stderr
    assert (out / "stale.json").read_text() == "{}"


def test_all_samples_unsafe_names(tmp_path: Path) -> None:
    names = ["../evil", "a b", ".hidden", "Dup", "dup", "NA12878", "x" * 300, "comma,name"]
    gt = "\t".join("0/1:30:99:15,15" for _ in names)
    vcf = tmp_path / "names.vcf"
    vcf.write_text(
        "##fileformat=VCFv4.2\n##contig=<ID=chr6,length=170805979>\n"
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="GT">\n'
        '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="DP">\n'
        '##FORMAT=<ID=GQ,Number=1,Type=Integer,Description="GQ">\n'
        '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="AD">\n'
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(names) + "\n"
        f"chr6\t154039662\t.\tA\tG\t50\tPASS\t.\tGT:DP:GQ:AD\t{gt}\n"
    )
    out = tmp_path / "out"
    run_pgx("call", vcf, "--all-samples", "-o", out, check=True)
    files = sorted(p.name for p in out.iterdir())
    assert len(files) == len(names) + 1
    assert "NA12878.json" in files
    assert all("/" not in f and not f.startswith(".") and len(f) < 120 for f in files)
    assert not (tmp_path / "evil").exists()
    rows = [line.split("\t") for line in (out / "calls.tsv").read_text().splitlines()[1:]]
    assert [r[0] for r in rows] == names
    for row in rows:
        assert load_call(out / row[8]).sample == row[0]
    one = run_pgx("call", vcf, "--sample", "comma,name", check=True)
    assert json.loads(one.stdout)["sample"] == "comma,name"


def test_bulk_rendering_is_canonical_json(vcfs: dict[str, dict[str, Path]]) -> None:
    """--all-samples renders shared parts once; the bytes must equal canonical_json."""
    checked = 0
    for name, case in CASES["cases"].items():
        options = case.get("options", {})
        memo: dict[int, tuple[Any, str]] = {}
        for call in call_all_samples(vcfs[name]["vcf"], build=options.get("build")):
            assert render_call(call, memo) == canonical_json(call.to_dict())
            checked += 1
    assert checked >= 60
