"""Random access without an index (pgx_report.genotype.vcf.locate).

The property tests generate sorted VCFs (random record spacing, deletions, gVCF
reference blocks short and long, contigs in lexicographic / header / shuffled
order, random BGZF block sizes and compression levels, long multi-sample lines)
and a site present, absent, at a block edge or inside a long block, and assert
that bisection returns exactly what a full streaming scan and an independent
brute-force reading of the generated records return.
"""

from __future__ import annotations

import gzip
import random
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pgx_report.errors import VcfError
from pgx_report.files.sniff import BGZF_EOF, file_kind
from pgx_report.genotype.vcf.locate import NeedsFullScan, header_contigs, locate

ALIASES = ("chr6", "6", "NC_000006.12")
CONTIG_POOL = ("chr1", "chr10", "chr2", "chr6", "chr22", "chrX", "HLA-A*01:01:01:01")


# ----------------------------------------------------------------------------- writing


def bgzf_bytes(data: bytes, sizes: list[int], level: int) -> bytes:
    """BGZF container of ``data``, cut into blocks of the given sizes (cycled)."""
    out = bytearray()
    i = 0
    k = 0
    while i < len(data):
        size = max(1, min(sizes[k % len(sizes)], 0xFF00))
        k += 1
        chunk = data[i : i + size]
        i += size
        comp = zlib.compressobj(level, zlib.DEFLATED, -15)
        cdata = comp.compress(chunk) + comp.flush()
        bsize = 12 + 6 + len(cdata) + 8
        out += b"\x1f\x8b\x08\x04\x00\x00\x00\x00\x00\xff\x06\x00BC\x02\x00"
        out += struct.pack("<H", bsize - 1) + cdata
        out += struct.pack("<II", zlib.crc32(chunk), len(chunk))
    return bytes(out + BGZF_EOF)


@dataclass(frozen=True)
class Rec:
    chrom: str
    pos: int
    ref: str
    end: int  # INFO/END (gVCF block) or 0
    samples: int

    def line(self) -> str:
        alt = "<NON_REF>" if self.end else "G"
        info = f"END={self.end}" if self.end else "DP=30"
        gts = "\t".join("0/1:30" for _ in range(self.samples))
        fmt = f"\tGT:DP\t{gts}" if self.samples else ""
        return f"{self.chrom}\t{self.pos}\t.\t{self.ref}\t{alt}\t50\tPASS\t{info}{fmt}"

    def overlaps(self, aliases: tuple[str, ...], site: int) -> bool:
        last = max(self.pos + len(self.ref) - 1, self.end)
        return self.chrom in aliases and self.pos <= site <= last


def header_text(contigs: list[str], samples: int) -> str:
    lines = ["##fileformat=VCFv4.2"]
    lines += [f"##contig=<ID={c},length=250000000>" for c in contigs]
    cols = "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"
    if samples:
        cols += "\tFORMAT\t" + "\t".join(f"S{i}" for i in range(samples))
    return "\n".join([*lines, cols]) + "\n"


def write_vcf(
    path: Path, text: str, kind: str, sizes: list[int] | None = None, level: int = 6
) -> Path:
    data = text.encode()
    if kind == "bgzf":
        path.write_bytes(bgzf_bytes(data, sizes or [0xFF00], level))
    elif kind == "gzip":
        path.write_bytes(gzip.compress(data, mtime=0))
    else:
        path.write_bytes(data)
    return path


# ----------------------------------------------------------------------------- strategies


@st.composite
def contig_records(draw: st.DrawFn, chrom: str, samples: int) -> list[Rec]:
    n = draw(st.integers(0, 60))
    pos = draw(st.integers(1, 3000))
    out: list[Rec] = []
    for _ in range(n):
        kind = draw(st.sampled_from(["snp", "snp", "del", "block", "block", "long"]))
        if kind == "snp":
            out.append(Rec(chrom, pos, "A", 0, samples))
            step = draw(st.integers(0, 3000))  # 0: two records at one position
        elif kind == "del":
            length = draw(st.integers(2, 40))
            out.append(Rec(chrom, pos, "A" * length, 0, samples))
            step = draw(st.integers(1, 60))  # records may start inside the deletion
        else:
            length = draw(st.integers(1, 400 if kind == "block" else 60_000))
            out.append(Rec(chrom, pos, "A", pos + length - 1, samples))
            step = length + draw(st.integers(0, 5))  # blocks tile; gaps are allowed
        pos += step
    return out


@st.composite
def vcf_cases(draw: st.DrawFn) -> tuple[list[Rec], list[str], int, str]:
    samples = draw(st.sampled_from([0, 0, 1, 3, 200]))
    chosen = draw(st.lists(st.sampled_from(CONTIG_POOL), min_size=1, max_size=5, unique=True))
    header_order = [c for c in CONTIG_POOL if c in chosen]
    order = draw(st.sampled_from(["lexicographic", "header", "shuffled"]))
    if order == "lexicographic":
        file_order = sorted(chosen)
    elif order == "header":
        file_order = header_order
    else:
        file_order = draw(st.permutations(chosen))
    records: list[Rec] = []
    for chrom in file_order:
        records += draw(contig_records(chrom, samples))
    target = [r for r in records if r.chrom == "chr6"]
    where = draw(st.sampled_from(["start", "end", "after", "before", "inside", "random"]))
    if target and where != "random":
        r = draw(st.sampled_from(target))
        last = max(r.pos + len(r.ref) - 1, r.end)
        site = {
            "start": r.pos,
            "end": last,
            "after": last + 1,
            "before": max(r.pos - 1, 1),
            "inside": (r.pos + last) // 2,
        }[where]
    else:
        site = draw(st.integers(1, 200_000))
    kind = draw(st.sampled_from(["bgzf", "bgzf", "bgzf", "text"]))
    return records, header_order, site, kind


def expected(records: list[Rec], site: int) -> tuple[str, ...]:
    return tuple(r.line() for r in records if r.overlaps(ALIASES, site))


# ----------------------------------------------------------------------------- properties

FAST = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@FAST
@given(
    case=vcf_cases(),
    sizes=st.lists(st.integers(40, 0xFF00), min_size=1, max_size=4),
    level=st.sampled_from([0, 1, 6]),
)
def test_bisection_equals_streaming_scan(
    tmp_path_factory: pytest.TempPathFactory,
    case: tuple[list[Rec], list[str], int, str],
    sizes: list[int],
    level: int,
) -> None:
    records, contigs, site, kind = case
    samples = records[0].samples if records else 0
    text = header_text(contigs, samples) + "".join(r.line() + "\n" for r in records)
    path = write_vcf(tmp_path_factory.mktemp("v") / "x.vcf.gz", text, kind, sizes, level)
    fast = locate(path, ALIASES, site)
    slow = locate(path, ALIASES, site, method="stream")
    assert fast.method == "bisection"
    assert slow.method == "stream"
    assert fast.records == slow.records == expected(records, site)
    assert fast.header == slow.header == header_text(contigs, samples)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(case=vcf_cases(), seed=st.integers(0, 2**16))
def test_plain_gzip_early_exit_equals_full_scan(
    tmp_path_factory: pytest.TempPathFactory,
    case: tuple[list[Rec], list[str], int, str],
    seed: int,
) -> None:
    records, contigs, site, _ = case
    text = header_text(contigs, 0) + "".join(
        Rec(r.chrom, r.pos, r.ref, r.end, 0).line() + "\n" for r in records
    )
    path = write_vcf(tmp_path_factory.mktemp("g") / "x.vcf.gz", text, "gzip")
    assert file_kind(path) == "gzip"
    fast = locate(path, ALIASES, site)
    full = locate(path, ALIASES, site, method="stream")
    assert fast.method == full.method == "stream"
    want = tuple(
        Rec(r.chrom, r.pos, r.ref, r.end, 0).line() for r in records if r.overlaps(ALIASES, site)
    )
    assert fast.records == full.records == want


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(case=vcf_cases(), size=st.integers(60, 4000), data=st.data())
def test_disorder_near_the_site_falls_back_to_streaming(
    tmp_path_factory: pytest.TempPathFactory,
    case: tuple[list[Rec], list[str], int, str],
    size: int,
    data: st.DataObject,
) -> None:
    """Two records of the site's contig within the window before the site swapped:
    the file is not sorted there, bisection must notice it (the window is always read
    whole) and the answer must still be exact."""
    records, contigs, site, kind = case
    near = [
        i
        for i, r in enumerate(records)
        if r.chrom == "chr6" and site - 5_000 <= r.pos <= site and i + 1 < len(records)
        if records[i + 1].chrom == "chr6" and r.pos < records[i + 1].pos <= site
    ]
    if not near:
        return
    i = data.draw(st.sampled_from(near))
    records = [*records[:i], records[i + 1], records[i], *records[i + 2 :]]
    samples = records[0].samples
    text = header_text(contigs, samples) + "".join(r.line() + "\n" for r in records)
    path = write_vcf(tmp_path_factory.mktemp("u") / "x.vcf.gz", text, kind, [size])
    fast = locate(path, ALIASES, site)
    assert fast.method == "stream"
    assert fast.records == expected(records, site)


# ----------------------------------------------------------------------------- examples


def _simple(tmp_path: Path, kind: str = "bgzf", sizes: list[int] | None = None) -> Path:
    recs = [Rec("chr6", p, "A", 0, 0) for p in range(1000, 200_000, 37)]
    text = header_text(["chr6"], 0) + "".join(r.line() + "\n" for r in recs)
    return write_vcf(tmp_path / f"s.{kind}", text, kind, sizes or [3000])


@pytest.mark.parametrize("kind", ["bgzf", "text", "gzip"])
@pytest.mark.parametrize(
    ("site", "found"), [(1000, 1), (1001, 0), (1037, 1), (199_990, 0), (5, 0), (10**9, 0)]
)
def test_simple_sites(tmp_path: Path, kind: str, site: int, found: int) -> None:
    hit = locate(_simple(tmp_path, kind), ["6", "chr6"], site)
    assert len(hit.records) == found
    assert hit.method == ("stream" if kind == "gzip" else "bisection")
    if found:
        assert hit.records[0].startswith(f"chr6\t{site}\t")
        assert hit.contig == "chr6"


def test_bisection_reads_a_few_blocks_only(tmp_path: Path) -> None:
    path = _simple(tmp_path, "bgzf", [2000])
    hit = locate(path, ["chr6"], 150_036)
    assert hit.records and hit.method == "bisection"
    assert hit.probes < 40  # about log2(number of blocks) per boundary, not a scan


def test_fake_block_header_inside_stored_data_is_rejected(tmp_path: Path) -> None:
    """Level-0 (stored) blocks carry the text verbatim: a record containing a BGZF
    header lookalike must not fool the resynchronisation."""
    fake = b"\x1f\x8b\x08\x04\x00\x00\x00\x00\x00\xff\x06\x00BC\x02\x00\x20\x00"
    recs = [Rec("chr6", p, "A", 0, 0) for p in range(1000, 60_000, 50)]
    lines = [r.line() for r in recs]
    body = "".join(line + "\n" for line in lines).encode()
    body = body.replace(b"DP=30", b"DP=30;X=" + fake.replace(b"\t", b"_"), 40)
    data = header_text(["chr6"], 0).encode() + body
    path = tmp_path / "fake.vcf.gz"
    path.write_bytes(bgzf_bytes(data, [700], 0))
    for site in (1000, 1050, 20_000, 59_950, 59_951):
        assert (
            locate(path, ["chr6"], site).records
            == locate(path, ["chr6"], site, method="stream").records
        )


def test_header_contigs_keep_hla_names() -> None:
    header = "##contig=<ID=chr6,length=170805979>\n##contig=<ID=HLA-A*01:01:01:01,length=3503>\n"
    assert header_contigs(header) == ["chr6", "HLA-A*01:01:01:01"]


# ----------------------------------------------------------------------------- refusals


def test_bgzf_without_eof_marker_is_refused(tmp_path: Path) -> None:
    path = _simple(tmp_path, "bgzf")
    cut = tmp_path / "cut.vcf.gz"
    cut.write_bytes(path.read_bytes()[: -len(BGZF_EOF)])
    with pytest.raises(VcfError, match="truncated file: the BGZF end-of-file marker"):
        locate(cut, ["chr6"], 1000)


def test_truncated_plain_gzip_is_refused_even_after_the_site(tmp_path: Path) -> None:
    path = _simple(tmp_path, "gzip")
    cut = tmp_path / "cut.vcf.gz"
    cut.write_bytes(path.read_bytes()[:-2000])
    with pytest.raises(VcfError, match="truncated file: the gzip data ends early"):
        locate(cut, ["chr6"], 1000)  # the site is in the first kilobytes


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty file"),
        (b"hello world\nthis is not a vcf\n", "not a VCF"),
        (b"##fileformat=VCFv4.2\n", "not a VCF"),
    ],
)
def test_not_a_vcf(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.vcf"
    path.write_bytes(content)
    with pytest.raises(VcfError, match=message):
        locate(path, ["chr6"], 1000)
    gz = tmp_path / "bad.vcf.gz"
    gz.write_bytes(bgzf_bytes(content, [100], 6) if content else BGZF_EOF)
    with pytest.raises(VcfError, match=message):
        locate(gz, ["chr6"], 1000)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(VcfError, match="file not found"):
        locate(tmp_path / "nope.vcf.gz", ["chr6"], 1)


def test_nothing_is_written_beside_the_input(tmp_path: Path) -> None:
    path = _simple(tmp_path, "bgzf")
    folder = path.parent
    before = sorted((p.name, p.stat().st_mtime_ns) for p in folder.iterdir())
    folder.chmod(0o555)
    try:
        for site in (1000, 77_777, 10**8):
            locate(path, ["chr6"], site)
            locate(path, ["chr6"], site, method="stream")
    finally:
        folder.chmod(0o755)
    assert sorted((p.name, p.stat().st_mtime_ns) for p in folder.iterdir()) == before


def test_contig_again_at_the_end_of_the_file_is_detected(tmp_path: Path) -> None:
    """The last record of the file is always observed: a contig that comes back at
    the end (an unsorted file) sends the search to the streaming scan."""
    recs = [Rec("chr6", p, "A", 0, 0) for p in range(1000, 40_000, 40)]
    recs += [Rec("chr1", p, "A", 0, 0) for p in range(1000, 40_000, 40)]
    recs += [Rec("chr6", 20_000, "A", 0, 0)]  # chr6 again after chr1: unsorted
    text = header_text(["chr1", "chr6"], 0) + "".join(r.line() + "\n" for r in recs)
    path = write_vcf(tmp_path / "u.vcf.gz", text, "bgzf", [500])
    hit = locate(path, ["chr6"], 20_000)
    assert hit.method == "stream"
    assert hit.records == tuple(r.line() for r in recs if r.overlaps(("chr6",), 20_000))
    assert len(hit.records) == 2


def test_random_generator_is_deterministic() -> None:
    rng = random.Random(1)
    assert rng.randint(0, 10) == 2


def test_crlf_line_endings(tmp_path: Path) -> None:
    recs = [Rec("chr6", p, "A", p + 30, 0) for p in range(1000, 30_000, 21)]
    text = header_text(["chr6"], 0) + "".join(r.line() + "\r\n" for r in recs)
    path = write_vcf(tmp_path / "crlf.vcf.gz", text, "bgzf", [900])
    hit = locate(path, ["chr6"], 10_010)
    assert hit.method == "bisection"
    assert [r.split("\t")[1] for r in hit.records] == ["9988", "10009"]


@pytest.mark.parametrize("kind", ["bgzf", "text", "gzip"])
def test_without_fallback_a_bad_record_asks_for_a_full_scan(tmp_path: Path, kind: str) -> None:
    recs = [Rec("chr6", p, "A", 0, 0) for p in range(1000, 20_000, 10)]
    lines = [r.line() for r in recs]
    lines[900] = lines[900].replace("\t10000\t", "\tabc\t")  # chr6:10000 is the site
    text = header_text(["chr6"], 0) + "".join(line + "\n" for line in lines)
    path = write_vcf(tmp_path / "bad.vcf", text, kind, [700])
    with pytest.raises(NeedsFullScan):
        locate(path, ["chr6"], 10_000, fallback=False)
    with pytest.raises(VcfError, match="line 904: malformed record"):
        locate(path, ["chr6"], 10_000)  # the default scans itself and names the line


@pytest.mark.parametrize("kind", ["bgzf", "text"])
def test_a_short_last_line_is_noticed(tmp_path: Path, kind: str) -> None:
    recs = [Rec("chr6", p, "A", 0, 0) for p in range(1000, 5_000, 10)]
    text = header_text(["chr6"], 0) + "".join(r.line() + "\n" for r in recs)
    path = write_vcf(tmp_path / "short.vcf", text + "chr6\t6000\t.\tA\n", kind, [700])
    with pytest.raises(NeedsFullScan):
        locate(path, ["chr6"], 2_000, fallback=False)
