"""Fuzzing the VCF reading path: mutated VCF text in every container (plain, bgzip,
bgzip + tabix index, plain gzip) through ``pgx-report call FILE --sample S -o OUT``.

The property (issue 13): either exit 2 with exactly one stderr line naming the file, or
exit 0 with a genotype that an independent naive reading of the same records supports;
never another exit code (a segfault is -11/139), a hang, a traceback, or a file written
outside the output path. The CLI runs as a subprocess because the crash class this
guards against (inside cyvcf2/htslib) kills the process.

The examples the fuzzer found are kept as fixed regression cases (``REGRESSIONS``).
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

SITE = 154039662
SAMPLES = ("S1", "S2")
HEADER = (
    "##fileformat=VCFv4.2\n"
    "##contig=<ID=chr1,length=248956422>\n"
    "##contig=<ID=chr6,length=170805979>\n"
    '##INFO=<ID=END,Number=1,Type=Integer,Description="End">\n'
    '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
    '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Depth">\n'
    '##FORMAT=<ID=GQ,Number=1,Type=Integer,Description="Quality">\n'
    '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allele depths">\n'
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(SAMPLES) + "\n"
)
GOOD = ["chr6", str(SITE), ".", "A", "G", "50", "PASS", ".", "GT:DP:GQ", "0/1:30:99", "1/1:30:99"]
FILLER = "".join(f"chr6\t{1000 + i}\t.\tC\tT\t50\tPASS\t.\tGT\t0/0\t0/0\n" for i in range(3000))

TOKENS = [
    "", "-1", "0", "2147483648", "99999999999999999999", str(SITE + 2**32), str(SITE),
    ".", ":", "\x01", "\x7f", "a b", ";", "=", "chr6", "<NON_REF>", "*", "G,<NON_REF>",
    "1/2/3", "0/70000", "0/65537", "0|65534", "./1", "1", "0/-1", "END=1", "END=-5",
    f"END={SITE + 9}", "1_000", "+5", " 5", "0x10", "\r", "0/1:30", "1/1:30:99:0,30",
]  # fmt: skip


@st.composite
def record(draw: st.DrawFn) -> str:
    """A site record with up to three mutations: a field replaced, emptied, inserted,
    extended by an odd separator or control byte, or the line truncated."""
    fields = list(GOOD)
    fields[9] = draw(st.sampled_from(["0/1:30:99", "1/1:30:99", "0/0:30:99", "0|1:30:99"]))
    for _ in range(draw(st.integers(0, 3))):
        if not fields:
            break
        k = draw(st.integers(0, len(fields) - 1))
        op = draw(st.integers(0, 4))
        if op == 0:
            fields[k] = draw(st.sampled_from(TOKENS))
        elif op == 1:
            fields.insert(k, draw(st.sampled_from(TOKENS)))
        elif op == 2:
            fields[k] += draw(st.sampled_from([":", ",", "/", "|", "\x00", "\t", "\n"]))
        elif op == 3:
            del fields[k]
        else:
            fields = fields[:k]
    return "\t".join(fields)


@st.composite
def vcf_text(draw: st.DrawFn) -> str:
    lines = draw(st.lists(record(), min_size=1, max_size=3))
    if draw(st.booleans()):
        lines = [*lines, lines[0]]  # a duplicated record
    body = FILLER if draw(st.booleans()) else ""  # big enough to bisect, and to fall back
    if draw(st.booleans()):
        body += "chr1\t100\t.\tA\tG\t50\tPASS\t.\tGT\t0/0\t0/0\n"  # out of order
    return HEADER + body + "\n".join(lines) + "\n"


CONTAINERS = ("vcf", "bgzip", "tabix", "gzip")


def _write(folder: Path, text: str, container: str) -> Path:
    plain = folder / "in.vcf"
    plain.write_bytes(text.encode("utf-8", "surrogateescape"))
    if container == "vcf":
        return plain
    if container == "gzip":
        target = folder / "in.gz.vcf.gz"
        target.write_bytes(gzip.compress(plain.read_bytes(), mtime=0))
    else:
        target = folder / "in.vcf.gz"
        with target.open("wb") as handle:
            subprocess.run(["bgzip", "-c", str(plain)], check=True, stdout=handle)
        if container == "tabix":  # tabix refuses some mutated files: then no index
            subprocess.run(["tabix", "-p", "vcf", str(target)], capture_output=True)
    plain.unlink()
    return target


def naive_genotypes(text: str, sample: str) -> set[str]:
    """The genotypes an independent, naive reading of the records supports for ``sample``:
    every tab-separated line at exactly chr6:SITE with REF A, its GT indices mapped to
    REF/ALT alleles; only diploid A/G genotypes count."""
    column = 9 + SAMPLES.index(sample)
    found: set[str] = set()
    for line in text.split("\n"):
        fields = line.rstrip("\r").split("\t")
        if line.startswith("#") or len(fields) <= column:
            continue
        if fields[0] != "chr6" or fields[1] != str(SITE) or fields[3].upper() != "A":
            continue
        alleles = [fields[3].upper(), *fields[4].upper().split(",")]
        gt = fields[column].split(":")[0].replace("|", "/").split("/")
        if len(gt) != 2 or not all(g.isdigit() and int(g) < len(alleles) for g in gt):
            continue
        bases = sorted(alleles[int(g)] for g in gt)
        if set(bases) <= {"A", "G"}:
            found.add("/".join(bases))
    return found


def check_property(text: str, container: str, folder: Path, sample: str = "S1") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    src = _write(folder, text, container)
    before = sorted(p.name for p in folder.iterdir())
    out = folder / "out" / "call.json"
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "pgx_report", "call", str(src), "--sample", sample,
             "-o", str(out)],
            capture_output=True,
            text=True,
            timeout=60,
        )  # fmt: skip
    except subprocess.TimeoutExpired:  # pragma: no cover - a hang is a failure
        pytest.fail(f"hang on {text!r}")
    after = sorted(p.name for p in folder.iterdir() if p.name != "out")
    assert after == before, "a file was written beside the input"
    written = sorted(p.name for p in out.parent.iterdir()) if out.parent.exists() else []
    assert proc.returncode in (0, 2), (proc.returncode, proc.stderr[-500:], text[-400:])
    assert "Traceback" not in proc.stderr
    if proc.returncode == 2:
        lines = [line for line in proc.stderr.splitlines() if line.strip()]
        assert len(lines) == 1, proc.stderr
        assert lines[0].startswith(f"pgx-report: error: {src}"), lines[0]
        assert written == []
        return
    assert written == ["call.json"]
    call = json.loads(out.read_text("utf-8"))
    if call["status"] == "called":
        assert call["genotype"] in naive_genotypes(text, sample), (call, text[-400:])


def _case(*records: str, filler: bool = False, unsorted: bool = False) -> str:
    body = FILLER if filler else ""
    if unsorted:
        body += "chr1\t100\t.\tA\tG\t50\tPASS\t.\tGT\t0/0\t0/0\n"
    return HEADER + body + "".join(r + "\n" for r in records)


_SITE_LINE = f"chr6\t{SITE}\t.\tA\tG\t50\tPASS\t."
# Found by fuzzing (issue 13 and this harness); each once gave a wrong call or a crash.
REGRESSIONS = {
    # 16-bit wrap of allele indices: 0/65537 was called A/G, 0/65536 A/A
    "allele-65537": _case(f"{_SITE_LINE}\tGT:DP:GQ\t0/65537:30:99\t0/65536:30:99"),
    # a record at SITE + 2^32 read by htslib (bisection gives up: out of order)
    "pos-2^32": _case(
        f"chr6\t{SITE + 2**32}\t.\tA\tG\t50\tPASS\t.\tGT:DP:GQ\t1/1:30:99\t1/1:30:99",
        filler=True,
        unsorted=True,
    ),
    # duplicates for the same change, 0/0 and 1/1: was G/G
    "duplicates-contradict": _case(
        f"{_SITE_LINE}\tGT:DP:GQ\t0/0:30:99\t0/0:30:99",
        f"{_SITE_LINE}\tGT:DP:GQ\t1/1:30:99\t1/1:30:99",
    ),
    # a segmentation fault inside cyvcf2 (exit -11 / 139) found by fuzzing: an empty
    # CHROM with an extra sample column, then a short sample column, at the site
    "segv-empty-chrom": _case(
        "chr1\t100\t.\tA\tG\t50\tPASS\t.\tGT\t0/0\t0/0",
        f"\t{SITE}\t.\tA\tG\t50\tPASS\t.\tGT:DP:GQ:AD\t0/1:30:99:15,15\t\t0/1:30:99:15,15",
        f"{_SITE_LINE}\tGT:DP:GQ:AD\t0/1:30:99:15,15\t",
        f"chr6\t{SITE}\t.\tA\tG\tG,<NON_REF>\tPASS\t.\tGT:DP:GQ:AD\t0/1:30:99:15,15\t0/1:30:99:15,15",
    ),
    # neighbours of that crash (malformed lines on the streaming fallback)
    "malformed-empty-pos": _case(
        "chr6\t\t.\tA\tG\t50\tPASS\t.\tGT\t0/1\t0/1",
        f"{_SITE_LINE}\tGT:DP:GQ\t0/1:30:99\t0/1:30:99",
        filler=True,
    ),
    "malformed-format-without-samples": _case(
        f"{_SITE_LINE}\tGT:DP:GQ:AD",
        f"\t{SITE}\t.\tA\tG\t50\tPASS\t.\tGT:DP:GQ:AD\t0/1:30:99:15,15\t\t0/1",
        filler=True,
    ),
    # REF with a character that is not a base, at the site: was called A/G
    "ref-not-bases": _case(f"chr6\t{SITE}\t.\tA:\tG\t50\tPASS\t.\tGT:DP:GQ\t0/1:30:99\t1/1:30:99"),
    "malformed-blank-line": _case("", f"0/70000\t{SITE}\t.\tA\tG\t50\tPASS\t.\tGT\t\t"),
    "malformed-empty-chrom-short-samples": _case(
        f"\t{SITE}\t.\tA\tG\t50\tPASS\t.\tGT\t0/1",
        f"{_SITE_LINE}\tGT:DP:GQ\t0/1:30:99\t0/1:30:99",
        filler=True,
        unsorted=True,
    ),
}


@pytest.mark.parametrize("container", CONTAINERS)
@pytest.mark.parametrize("name", list(REGRESSIONS))
def test_regressions(name: str, container: str, tmp_path: Path) -> None:
    for sample in SAMPLES:
        check_property(REGRESSIONS[name], container, tmp_path / sample, sample)


def test_regressions_are_not_called(tmp_path: Path) -> None:
    """The wrong calls of issue 13 are not made any more (not just "no crash")."""
    for name in ("allele-65537", "pos-2^32", "duplicates-contradict"):
        src = _write(tmp_path, REGRESSIONS[name], "vcf")
        out = tmp_path / f"{name}.json"
        proc = subprocess.run(
            [sys.executable, "-m", "pgx_report", "call", str(src), "--sample", "S1", "-o",
             str(out)],
            capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
        call = json.loads(out.read_text("utf-8"))
        assert call["genotype"] is None, (name, call["reason_codes"], proc.stderr)
    assert call["reason_codes"] == ["MULTIPLE_RECORDS"]


@settings(
    max_examples=int(os.environ.get("PGX_FUZZ_EXAMPLES", "25")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=vcf_text(), container=st.sampled_from(CONTAINERS), sample=st.sampled_from(SAMPLES))
@example(text=REGRESSIONS["malformed-blank-line"], container="vcf", sample="S1")
def test_fuzz_call(
    text: str, container: str, sample: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    check_property(text, container, tmp_path_factory.mktemp("fuzz"), sample)


def test_gt_pattern_matches_what_the_plain_pattern_matches() -> None:
    """The precheck's GT pattern uses possessive quantifiers for speed: on every string of
    up to 6 symbols from the alphabet that matters, it accepts what the plain pattern does."""
    import itertools
    import re

    from pgx_report.genotype.vcf.precheck import _GT_COLUMNS

    plain = re.compile(rb"(?:\t[0-9.]+(?:[/|][0-9.]+)*(?::[^\t]*)?)+")
    alphabet = [b"\t", b"0", b".", b"/", b"|", b":", b"x", b"1"]
    for size in range(1, 7):
        for symbols in itertools.product(alphabet, repeat=size):
            text = b"".join(symbols)
            assert bool(_GT_COLUMNS.fullmatch(text)) == bool(plain.fullmatch(text)), text
