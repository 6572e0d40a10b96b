"""The input digest (docs/calling.md, "Input digest"): a region digest of what the call
read, whose cost does not grow with the file, and the whole-file SHA-256 on request.

The files are made here from a readable description: many records (or reads) on chr6
around rs1799971, so that the site sits in one BGZF block among hundreds.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pysam
import pytest
from calling_support import check_input_identity
from conftest import DEMO, assert_clean_error, run_pgx

SITE = 154039662  # rs1799971, GRCh38
# Records every 7 bases over 400 kb on each side of the site and on chr5: ~170,000 lines,
# ~170 BGZF blocks of 64 KB.
SPAN, STEP = 400_000, 7
HEADER = (
    "##fileformat=VCFv4.2\n"
    "##contig=<ID=chr5,length=181538259>\n"
    "##contig=<ID=chr6,length=170805979>\n"
    '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
    '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Depth">\n'
    '##FORMAT=<ID=GQ,Number=1,Type=Integer,Description="Genotype quality">\n'
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\n"
)


def _record(chrom: str, pos: int, gt: str = "0/0") -> str:
    """One record; QUAL, DP and GQ vary (seeded by position) so the file compresses like
    real data (hundreds of BGZF blocks), not to a handful."""
    alt = "G" if pos == SITE else "T"
    ref = "A" if pos == SITE else "C"
    qual, depth, gq = 10 + pos * 7919 % 89, 10 + pos * 104729 % 80, 20 + pos * 1299709 % 79
    fields = [chrom, pos, f"rs{pos * 31 % 999983}", ref, alt, qual, "PASS", ".", "GT:DP:GQ"]
    return "\t".join(map(str, fields)) + f"\t{gt}:{depth}:{gq}\n"


def _vcf_text(change: str | None = None) -> bytes:
    """The file's text; ``change`` alters one character without changing any length:
    "header" (a header line), "site" (a record 7 bases after the site), "far" (a chr5
    record, far from the site)."""
    header = (
        HEADER.replace("Genotype quality", "Genotype Quality") if change == "header" else HEADER
    )
    lines = [_record("chr5", p) for p in range(1000, 1000 + SPAN, STEP)]
    for pos in range(SITE - SPAN, SITE + SPAN, STEP):
        lines.append(_record("chr6", pos))
        if SITE - STEP < pos < SITE:
            lines.append(_record("chr6", SITE, "0/1"))
    target = {"site": 1 + lines.index(_record("chr6", SITE, "0/1")), "far": SPAN // STEP // 2}.get(
        change or ""
    )
    if target is not None:
        fields = lines[target].split("\t")
        fields[5] = ("1" if fields[5][0] != "1" else "2") + fields[5][1:]  # a QUAL digit
        lines[target] = "\t".join(fields)
    return (header + "".join(lines)).encode()


def _bgzip(text: bytes, path: Path, extra_empty_block: bool = False) -> Path:
    """BGZF with *stored* (level 0) deflate blocks of 0xff00 bytes, as bgzip splits them:
    a same-length change of the text leaves every block offset, and so the index, as it is."""
    blocks = [bgzf_block(text[i : i + 0xFF00], level=0) for i in range(0, len(text), 0xFF00)]
    if extra_empty_block:
        blocks.append(bgzf_block(b""))
    path.write_bytes(b"".join(blocks) + bgzf_block(b""))  # the last: the end-of-file marker
    return path


def _write_vcf(
    folder: Path, change: str | None = None, extra: bool = False, index: str = "tbi"
) -> Path:
    path = _bgzip(_vcf_text(change), folder / "big.vcf.gz", extra)
    if index != "none":
        pysam.tabix_index(str(path), preset="vcf", force=True, csi=index == "csi")
    return path


@pytest.fixture(scope="module")
def big_vcf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _write_vcf(tmp_path_factory.mktemp("digest"))


def _call(path: Path, *args: str) -> dict[str, Any]:
    result = run_pgx("call", path, *args)
    assert result.returncode == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def _input(path: Path, *args: str) -> dict[str, Any]:
    source: dict[str, Any] = _call(path, *args)["provenance"]["input"]
    return source


def _copy(big_vcf: Path, folder: Path) -> Path:
    folder.mkdir()
    target = folder / big_vcf.name
    shutil.copy2(big_vcf, target)
    shutil.copy2(f"{big_vcf}.tbi", f"{target}.tbi")
    return target


def bgzf_block(text: bytes, level: int = 6) -> bytes:
    """One BGZF block holding ``text`` (SAM/BAM specification 4.1)."""
    import struct
    import zlib

    compressor = zlib.compressobj(level, zlib.DEFLATED, -15)
    body = compressor.compress(text) + compressor.flush()
    header = b"\x1f\x8b\x08\x04\x00\x00\x00\x00\x00\xff\x06\x00BC\x02\x00"
    size = len(header) + 2 + len(body) + 8
    trailer = struct.pack("<II", zlib.crc32(text), len(text))
    return header + struct.pack("<H", size - 1) + body + trailer


def test_region_digest_reads_a_small_part_and_recomputes(big_vcf: Path) -> None:
    source = _input(big_vcf)
    region = source["region_digest"]
    assert "sha256" not in source  # not a whole-file hash, and not named like one
    assert region["scheme"] == "pgx-report-region-sha256/1"
    check_input_identity(big_vcf, source, Path(f"{big_vcf}.tbi"))
    hashed = sum(end - start for start, end in region["ranges"])
    assert hashed < big_vcf.stat().st_size / 20, (hashed, big_vcf.stat().st_size)
    assert region["ranges"][-1][1] == region["size"]  # the end-of-file marker
    assert _input(big_vcf) == source  # same file, same digest


def test_full_digest_is_the_whole_file_sha256(big_vcf: Path) -> None:
    source = _input(big_vcf, "--full-digest")
    assert source["sha256"] == hashlib.sha256(big_vcf.read_bytes()).hexdigest()
    assert source["region_digest"] == _input(big_vcf)["region_digest"]


@pytest.mark.parametrize("where", ["header", "site", "index", "far", "size"])
def test_what_changes_the_digest(big_vcf: Path, tmp_path: Path, where: str) -> None:
    before = _input(big_vcf)
    folder = tmp_path / where
    folder.mkdir()
    if where == "index":
        copy = _copy(big_vcf, folder / "copy")
        index = Path(f"{copy}.tbi")
        data = bytearray(gzip.decompress(index.read_bytes()))
        data[-1] ^= 0x01  # n_no_coor, the index's last field: the records found are the same
        with pysam.BGZFile(str(index), "wb") as out:
            out.write(bytes(data))
    else:
        copy = _write_vcf(folder, None if where == "size" else where, extra=where == "size")
    after = _input(copy)
    if where != "size":
        assert after["region_digest"]["ranges"] == before["region_digest"]["ranges"]
    changed = after["region_digest"]["sha256"] != before["region_digest"]["sha256"]
    # What the region digest cannot see, by design (docs/calling.md): a byte changed in a
    # block the call did not read. --full-digest sees it.
    assert changed is (where != "far"), where
    if where == "far":
        assert _input(copy, "--full-digest")["sha256"] != _input(big_vcf, "--full-digest")["sha256"]


@pytest.mark.parametrize("index", ["tbi", "csi", "none"])
def test_a_change_at_the_site_is_seen_through_every_access(tmp_path: Path, index: str) -> None:
    """Through a TBI or CSI index and by bisection without one, a changed record next to
    the site changes the digest over the same ranges; a change far away, in a block an
    index query does not return, does not (bisection may probe anywhere)."""
    digests = {}
    for change in (None, "site", "far"):
        folder = tmp_path / str(change)
        folder.mkdir()
        path = _write_vcf(folder, change, index=index)
        source = _input(path)
        assert source["access"] == ("bisection" if index == "none" else "index")
        check_input_identity(path, source, Path(f"{path}.{index}") if index != "none" else None)
        digests[change] = source["region_digest"]
    assert digests["site"]["ranges"] == digests[None]["ranges"]
    assert digests["site"]["sha256"] != digests[None]["sha256"]
    if index != "none":
        assert digests["far"]["sha256"] == digests[None]["sha256"]


def test_sidecar_checksums(big_vcf: Path, tmp_path: Path) -> None:
    copy = _copy(big_vcf, tmp_path / "sidecar")
    data = copy.read_bytes()
    sha, md5 = hashlib.sha256(data).hexdigest(), hashlib.md5(data).hexdigest()
    Path(f"{copy}.sha256").write_text(f"{sha}  {copy.name}\n")
    Path(f"{copy}.md5").write_text(f"{md5.upper()}\n")
    given = _input(copy)["checksums"]
    assert given == [
        {"file": f"{copy.name}.md5", "algorithm": "md5", "value": md5, "verified": False},
        {"file": f"{copy.name}.sha256", "algorithm": "sha256", "value": sha, "verified": False},
    ]
    full = _input(copy, "--full-digest")["checksums"]
    assert [c["verified"] for c in full] == [True, True]

    Path(f"{copy}.md5").write_text("0" * 32 + "\n")
    assert _input(copy)["checksums"][0]["verified"] is False  # recorded as given
    result = run_pgx("call", copy, "--full-digest")
    assert_clean_error(result, copy.name, "its md5 is", f"{copy.name}.md5 says")
    assert result.stdout == ""

    Path(f"{copy}.md5").write_text("not a checksum\n")
    assert_clean_error(run_pgx("call", copy), f"{copy.name}.md5", "line 1", "not a md5")


def _write_bam(path: Path, far_reads: int) -> Path:
    """Reads every 8 bases over 40 kb around the site (depth 12, all A: A/A), and
    ``far_reads`` more at chr6:100 Mb, far from the site."""
    header = {
        "HD": {"VN": "1.6", "SO": "coordinate"},
        "SQ": [{"SN": "chr6", "LN": 170805979}],
        "RG": [{"ID": "rg1", "SM": "S1"}],
    }
    far = range(100_000_000, 100_000_000 + 8 * far_reads, 8)
    near = range(SITE - 20_000, SITE + 20_000, 8)
    quality = pysam.qualitystring_to_array("I" * 100)
    with pysam.AlignmentFile(str(path), "wb", header=header) as out:
        for i, start in enumerate([*far, *near]):
            read = pysam.AlignedSegment(out.header)
            read.query_name = f"r{i}"
            read.reference_id, read.reference_start = 0, start
            read.cigarstring, read.mapping_quality = "100M", 60
            read.query_sequence = (
                "ACGT"[i % 4] * 30 + "A" * 70 if start < SITE - 30_000 else "A" * 100
            )
            read.query_qualities = quality
            read.set_tag("RG", "rg1")
            out.write(read)
    pysam.index(str(path))
    return path


def test_bam_region_digest_does_not_grow_with_the_file(tmp_path: Path) -> None:
    small, large = (_write_bam(tmp_path / f"{n}.bam", n) for n in (20_000, 200_000))
    assert large.stat().st_size > 5 * small.stat().st_size
    hashed = {}
    for bam in (small, large):
        data = _call(bam)
        assert data["genotype"] == "A/A"
        source = data["provenance"]["input"]
        assert "sha256" not in source
        check_input_identity(bam, source, Path(f"{bam}.bai"))
        hashed[bam] = sum(end - start for start, end in source["region_digest"]["ranges"])
    # the same site reads, whatever else the file holds: the bytes hashed stay the same
    assert abs(hashed[large] - hashed[small]) < 0.1 * hashed[small], hashed
    assert hashed[large] < large.stat().st_size / 10
    unindexed = tmp_path / "noindex.bam"
    shutil.copy2(small, unindexed)
    whole = _input(unindexed)  # read from the start: the whole-file SHA-256
    assert whole["sha256"] == hashlib.sha256(small.read_bytes()).hexdigest()
    assert "region_digest" not in whole


def test_run_into_two_folders_gives_identical_bytes(tmp_path: Path) -> None:
    vcf = DEMO / "vcfs" / "NA12878.OPRM1.g.vcf.gz"
    questionnaire = DEMO / "questionnaires" / "demo-aa.json"
    for folder in ("one", "two/deeper"):
        result = run_pgx("run", vcf, questionnaire, "--sample", "NA12878", "-o", tmp_path / folder)
        assert result.returncode == 0, result.stderr
    for name in ("call.json", "assessment.json", "report.pdf", "report.html"):
        one, two = (tmp_path / "one" / name).read_bytes(), (tmp_path / "two/deeper" / name)
        assert one == two.read_bytes(), name
    inputs = json.loads((tmp_path / "one" / "assessment.json").read_text())["provenance"]
    roles = {item["role"]: item for item in inputs["inputs"]}
    assert roles["call"]["path"] == "call.json"
    assert roles["genotype_input"]["digest_scheme"] == "pgx-report-region-sha256/1"
    assert "sha256" not in roles["genotype_input"]


def test_batch_and_run_take_full_digest(tmp_path: Path) -> None:
    vcf = DEMO / "vcfs" / "NA12878.OPRM1.g.vcf.gz"
    questionnaire = DEMO / "questionnaires" / "demo-aa.json"
    whole = hashlib.sha256(vcf.read_bytes()).hexdigest()
    task = {"sample": "S", "questionnaire": str(questionnaire), "input": str(vcf)}
    result = run_pgx(
        "batch", "--task", json.dumps(task), "--results", tmp_path / "r", "--logs",
        tmp_path / "l", "--full-digest",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    call = json.loads((tmp_path / "r" / "S" / "call.json").read_text())
    assert call["provenance"]["input"]["sha256"] == whole
    assessment = json.loads((tmp_path / "r" / "S" / "assessment.json").read_text())
    roles = {item["role"]: item for item in assessment["provenance"]["inputs"]}
    assert roles["genotype_input"]["sha256"] == whole  # the whole-file hash is preferred
    result = run_pgx("run", vcf, questionnaire, "--full-digest", "-o", tmp_path / "run")
    assert result.returncode == 0, result.stderr
    call = json.loads((tmp_path / "run" / "call.json").read_text())
    assert call["provenance"]["input"]["sha256"] == whole


def test_cached_index_work_follows_the_files(tmp_path: Path) -> None:
    """The index walk and the site's ranges are cached under the identity of the data file
    and its index (the user cache): a file rewritten in place is worked out again."""
    path = _write_vcf(tmp_path)
    first = _input(path)
    assert _input(path) == first  # the second call reuses the cache, same answer
    again = _write_vcf(tmp_path, "site")  # same path, same size, one byte changed, reindexed
    assert again == path
    changed = _input(path)
    assert changed["region_digest"]["sha256"] != first["region_digest"]["sha256"]
    check_input_identity(path, changed, Path(f"{path}.tbi"))
