"""Bad input to ``pgx-report call``: exit 2, one line naming the file and the problem,
no traceback, no output file left behind, the input untouched."""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from calling_support import CASES, build_test_vcfs
from conftest import assert_clean_error, run_pgx

from pgx_report.files.sniff import BGZF_EOF


@pytest.fixture(scope="session")
def vcfs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Path]]:
    return build_test_vcfs(tmp_path_factory)


def _call_fails(src: Path, tmp_path: Path, *fragments: str, args: tuple[str, ...] = ()) -> None:
    """Run the caller with -o; check the clean error and that nothing was written."""
    before = src.read_bytes() if src.is_file() else None
    out = tmp_path / "out" / "call.json"
    result = run_pgx("call", src, *args, "-o", out)
    assert_clean_error(result, *fragments)
    assert not out.parent.exists() or list(out.parent.iterdir()) == []
    if before is not None:
        assert src.read_bytes() == before


def _copy(vcfs: dict[str, dict[str, Path]], tmp_path: Path, name: str, fmt: str) -> Path:
    src = vcfs[name][fmt]
    dst = tmp_path / src.name
    shutil.copyfile(src, dst)
    for suffix in (".tbi", ".csi"):
        index = src.with_name(src.name + suffix)
        if index.exists():
            shutil.copyfile(index, dst.with_name(dst.name + suffix))
    return dst


ERROR_CASES = [
    (name, fmt) for name, case in CASES["errors"].items() for fmt in case.get("formats", ["vcf"])
]


@pytest.mark.parametrize(("name", "fmt"), ERROR_CASES)
def test_error_cases(name: str, fmt: str, vcfs: dict[str, dict[str, Path]], tmp_path: Path) -> None:
    case = CASES["errors"][name]
    src = _copy(vcfs, tmp_path, name, fmt)
    args: list[str] = []
    for key, value in case.get("options", {}).items():
        args += [f"--{key.replace('_', '-')}", str(value)]
    _call_fails(src, tmp_path, str(src), case["message"], args=tuple(args))


def _truncate_eof_only(path: Path) -> None:
    """Drop only the 28-byte BGZF EOF block: every record, the site too, is still readable."""
    data = path.read_bytes()
    assert data.endswith(BGZF_EOF)
    path.write_bytes(data[: -len(BGZF_EOF)])


def _truncate_half(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _garbage(path: Path) -> None:
    path.write_bytes(b"\x00\x01binary\xff" * 100)


def _text(path: Path) -> None:
    path.write_text("sample\tgenotype\nNA12878\tA/G\n")


def _gzip_text(path: Path) -> None:
    path.write_bytes(gzip.compress(b"just some text\n"))


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _no_chrom_line(path: Path) -> None:
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(line for line in lines if not line.startswith("#CHROM")))


def _bad_pos(path: Path) -> None:
    text = path.read_text()
    path.write_text(text.replace("chr6\t154039662\t", "chr6\tabc\t"))


def _short_line(path: Path) -> None:
    with path.open("a") as handle:
        handle.write("chr6\t154039700\t.\tA\n")


CORRUPTIONS: list[tuple[str, str, Callable[[Path], None], tuple[str, ...]]] = [
    ("empty", "vcf", _empty, ("file is empty",)),
    ("not-a-vcf-text", "vcf", _text, ("not a VCF file",)),
    ("not-a-vcf-binary", "vcf", _garbage, ("not a VCF file",)),
    ("gzip-of-text", "gzip", _gzip_text, ("not a VCF file (compressed",)),
    ("bgzf-missing-eof", "vcf.gz", _truncate_eof_only, ("truncated file", "end-of-file marker")),
    ("bgzf-cut-in-half", "vcf.gz", _truncate_half, ("truncated file",)),
    ("bcf-missing-eof", "bcf", _truncate_eof_only, ("truncated file", "end-of-file marker")),
    ("no-chrom-line", "vcf", _no_chrom_line, ("cannot read the VCF header",)),
    ("bad-position", "vcf", _bad_pos, ("line 19:", "POS 'abc' is not a position")),
    ("short-line", "vcf", _short_line, ("line 20:", "malformed record")),
]


@pytest.mark.parametrize(
    ("fmt", "corrupt", "fragments"),
    [c[1:] for c in CORRUPTIONS],
    ids=[c[0] for c in CORRUPTIONS],
)
def test_corrupt_files(
    fmt: str,
    corrupt: Callable[[Path], None],
    fragments: tuple[str, ...],
    vcfs: dict[str, dict[str, Path]],
    tmp_path: Path,
) -> None:
    src = tmp_path / "in" / vcfs["het"][fmt].name
    src.parent.mkdir()
    shutil.copyfile(vcfs["het"][fmt], src)
    corrupt(src)
    _call_fails(src, tmp_path, str(src), *fragments)


def _many_records(template: Path, n: int) -> str:
    header = "".join(line for line in template.open() if line.startswith("#"))
    return header + "".join(
        f"chr6\t{1000 + i}\t.\tA\tG\t50\tPASS\t.\tGT:DP:GQ:AD\t0/1:30:99:15,15\n" for i in range(n)
    )


def test_truncated_plain_gzip(tmp_path: Path, vcfs: dict[str, dict[str, Path]]) -> None:
    """Plain gzip has no EOF block; streaming to the end finds the truncation."""
    data = gzip.compress(_many_records(vcfs["het"]["vcf"], 20000).encode(), mtime=0)
    src = tmp_path / "in" / "cut.vcf.gz"
    src.parent.mkdir()
    src.write_bytes(data[: len(data) // 2])
    _call_fails(src, tmp_path, str(src), "truncated file")


def test_missing_file_and_directory(tmp_path: Path) -> None:
    _call_fails(tmp_path / "nope.vcf", tmp_path, "nope.vcf: file not found")
    folder = tmp_path / "folder.vcf"
    folder.mkdir()
    _call_fails(folder, tmp_path, "is a directory")


INDEX_PROBLEMS: list[tuple[str, str, Any, tuple[str, ...]]] = [
    ("stale-tbi", "tbi", "stale", ("index is older than", "(stale)", "tabix -p vcf")),
    ("stale-csi-bcf", "bcf", "stale", ("index is older than", "bcftools index")),
    ("tbi-of-other-file", "tbi", "other", ("index does not match", "contig '6'")),
    ("csi-of-other-file", "csi", "other", ("index does not match", "contig '6'")),
    ("csi-of-other-bcf", "bcf", "other", ("index does not match",)),
    ("corrupt-tbi", "tbi", "garbage", ("index file is corrupt",)),
    ("index-beside-plain-gzip", "gzip", "beside", ("is not BGZF-compressed",)),
]


@pytest.mark.parametrize(
    ("fmt", "problem", "fragments"),
    [p[1:] for p in INDEX_PROBLEMS],
    ids=[p[0] for p in INDEX_PROBLEMS],
)
def test_bad_index(
    fmt: str,
    problem: str,
    fragments: tuple[str, ...],
    vcfs: dict[str, dict[str, Path]],
    tmp_path: Path,
) -> None:
    src = _copy(vcfs, tmp_path, "het", fmt)
    suffix = ".tbi" if fmt in ("tbi", "gzip") else ".csi"
    index = src.with_name(src.name + suffix)
    if problem == "stale":
        stamp = index.stat().st_mtime_ns
        os.utime(src, ns=(stamp + 10**9, stamp + 10**9))
    elif problem == "other" and fmt in ("tbi", "csi"):
        # the index of a file with other contents (a GRCh37 file, contig "6")
        other = vcfs["grch37_contig_6"][fmt]
        shutil.copyfile(other.with_name(other.name + suffix), index)
    elif problem == "other":
        # the index of a much bigger BCF with the same contigs
        big = tmp_path / "big.vcf"
        big.write_text(_many_records(vcfs["het"]["vcf"], 20000))
        big_bcf = tmp_path / "big.bcf"
        subprocess.run(["bcftools", "view", "-Ob", "-o", big_bcf, big], check=True)
        subprocess.run(["bcftools", "index", big_bcf], check=True)
        shutil.copyfile(big_bcf.with_name("big.bcf.csi"), index)
    elif problem == "garbage":
        index.write_bytes(b"not an index")
    elif problem == "beside":
        index.write_bytes(
            vcfs["het"]["tbi"].with_name(vcfs["het"]["tbi"].name + ".tbi").read_bytes()
        )
    _call_fails(src, tmp_path, *fragments)


def test_index_of_other_file_same_contigs(vcfs: dict[str, dict[str, Path]], tmp_path: Path) -> None:
    """An index built for a different file with the same contigs: offsets do not fit."""
    src = _copy(vcfs, tmp_path, "het", "tbi")
    other = vcfs["absent_variant_only"]["tbi"]
    shutil.copyfile(other.with_name(other.name + ".tbi"), src.with_name(src.name + ".tbi"))
    _call_fails(src, tmp_path, "index does not match")


def test_usage_errors(vcfs: dict[str, dict[str, Path]], tmp_path: Path) -> None:
    src = _copy(vcfs, tmp_path, "het", "vcf")
    assert_clean_error(run_pgx("call", src, "--all-samples"), "--all-samples needs -o OUT")
    assert_clean_error(run_pgx("call", src, "-o", src), "output would overwrite the input file")
    assert_clean_error(run_pgx("call", src, "--all-samples", "-o", src), "overwrite the input")
    bad = run_pgx("call", src, "--min-depth", "-1")
    assert bad.returncode == 2 and "must be 0 or more" in bad.stderr
    both = run_pgx("call", src, "--sample", "S1", "--all-samples", "-o", tmp_path / "x")
    assert both.returncode == 2 and "not allowed with argument" in both.stderr


def test_all_samples_error_leaves_no_directory(
    vcfs: dict[str, dict[str, Path]], tmp_path: Path
) -> None:
    src = tmp_path / "in.vcf.gz"
    shutil.copyfile(vcfs["split_multiallelic"]["vcf.gz"], src)
    _truncate_eof_only(src)
    out = tmp_path / "calls"
    assert_clean_error(run_pgx("call", src, "--all-samples", "-o", out), "truncated file")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.vcf.gz"]


def test_existing_output_kept_on_error(vcfs: dict[str, dict[str, Path]], tmp_path: Path) -> None:
    """A failed run does not replace or remove an earlier good output."""
    out = tmp_path / "call.json"
    run_pgx("call", vcfs["het"]["vcf"], "-o", out, check=True)
    before = out.read_bytes()
    assert_clean_error(run_pgx("call", tmp_path / "missing.vcf", "-o", out), "file not found")
    assert out.read_bytes() == before


def test_an_odd_sample_name_refuses_only_its_own_call(tmp_path: Path) -> None:
    """A cohort VCF with one sample name holding a control character (found by `make
    fuzz`): `--all-samples` and a call of that sample are refused naming the column;
    another sample of the file is still called."""
    from calling_support import GENERATE

    case = {
        "samples": ["S1", "S\x05odd"],
        "records": ["SITE A G 50 PASS . GT:DP:GQ:AD 0/1:30:99:15,15 1/1:30:99:0,30"],
    }
    src = tmp_path / "cohort.vcf"
    src.write_text(GENERATE.vcf_text(case, CASES["headers"]), "utf-8")
    message = "#CHROM line, column 11: sample name 'S\\x05odd': character 2 is U+0005"
    result = run_pgx("call", src, "--all-samples", "-o", tmp_path / "all")
    assert_clean_error(result, message)
    assert not (tmp_path / "all").exists()
    out = tmp_path / "s1.json"
    assert run_pgx("call", src, "--sample", "S1", "-o", out).returncode == 0
    assert '"genotype": "A/G"' in out.read_text("utf-8")
