"""Build the tiny BAM/CRAM/FASTA test files described in ``spec.yaml`` (with pysam).

Usage from tests: ``build_all(folder)`` writes every case and returns their paths.
From the shell: ``python test_vcfs/alignments/generate.py OUTDIR``.

The FASTA for a build is a full-length chromosome 6 (so that coordinates and the
@SQ length are the real ones) of N, except a 1 kb window of fixed pseudo-random
sequence around rs1799971 with the chosen base at the site. Bgzipped with its
indexes it takes about 0.6 MB.
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pysam
import yaml

HERE = Path(__file__).resolve().parent
SPEC = HERE / "spec.yaml"

# The site and chromosome 6 lengths, from the package's own data file.
sys.path.insert(0, str(HERE.parent.parent))
from pgx_report.genotype.site import rs1799971  # noqa: E402

READ_LENGTH = 50
WINDOW = 500  # reference sequence (not N) on each side of the site
NO_BUILD_LENGTH = 200_000_000  # a chr6 length that is neither build's
FLAGS = {"duplicate": 0x400, "secondary": 0x100, "supplementary": 0x800, "qc_fail": 0x200}


def site(build: str) -> tuple[int, int]:
    """(1-based position, chr6 length) of the site in ``build``."""
    coords = rs1799971().in_build(build)
    return coords.pos, coords.chr6_length


def window_sequence(site_base: str = "A", seed: int = 12345) -> str:
    """2 * WINDOW + 1 bases of fixed pseudo-random sequence with ``site_base`` in the middle."""
    state = seed
    bases = []
    for _ in range(2 * WINDOW + 1):
        state = (1103515245 * state + 12345) % (1 << 31)
        bases.append("ACGT"[(state >> 16) % 4])
    bases[WINDOW] = site_base
    return "".join(bases)


WIDTH = 60  # FASTA line width


def _write_wrapped(out: Any, sequence: str, column: int) -> int:
    """Write ``sequence`` in WIDTH-column lines, starting at ``column``; return the new column."""
    for char in sequence:
        out.write(char)
        column += 1
        if column == WIDTH:
            out.write("\n")
            column = 0
    return column


def _write_n(out: Any, count: int, column: int) -> int:
    """Write ``count`` N in WIDTH-column lines, fast (whole lines in large blocks)."""
    head = min(count, (WIDTH - column) % WIDTH)
    column = _write_wrapped(out, "N" * head, column)
    full, rest = divmod(count - head, WIDTH)
    block = ("N" * WIDTH + "\n") * 10_000
    for _ in range(full // 10_000):
        out.write(block)
    out.write(("N" * WIDTH + "\n") * (full % 10_000))
    return _write_wrapped(out, "N" * rest, column)


def write_fasta(
    path: Path,
    *,
    build: str,
    contig: str = "chr6",
    site_base: str = "A",
    length: int | None = None,
    bgzip: bool = False,
    index: bool = True,
    seed: int = 12345,
) -> Path:
    """A FASTA with one contig of the build's chr6 length holding the window at the site."""
    pos, chr6_length = site(build)
    total = length if length is not None else chr6_length
    start0 = pos - 1 - WINDOW
    sequence_window = window_sequence(site_base, seed)
    plain = path.with_suffix(".tmp.fa") if bgzip else path
    with plain.open("w") as out:
        out.write(f">{contig}\n")
        if total <= start0:  # a contig that ends before the site
            column = _write_n(out, total, 0)
        else:
            column = _write_n(out, start0, 0)
            column = _write_wrapped(out, sequence_window, column)
            column = _write_n(out, total - start0 - len(sequence_window), column)
        if column:
            out.write("\n")
    if bgzip:
        pysam.tabix_compress(str(plain), str(path), force=True)
        plain.unlink()
    if index:
        pysam.faidx(str(path))
    return path


def load_spec(path: Path = SPEC) -> dict[str, dict[str, Any]]:
    return dict(yaml.safe_load(path.read_text())["cases"])


@dataclass
class CaseFiles:
    name: str
    spec: dict[str, Any]
    files: dict[str, Path] = field(default_factory=dict)


def _header(case: dict[str, Any]) -> dict[str, Any]:
    header_build = case.get("header_build", case.get("build", "GRCh38"))
    length = NO_BUILD_LENGTH if header_build == "none" else site(header_build)[1]
    samples = case.get("samples", ["S1"])
    return {
        "HD": {"VN": "1.6", "SO": "coordinate"},
        "SQ": [{"SN": case.get("contig", "chr6"), "LN": length}],
        "RG": [{"ID": f"rg-{sm}", "SM": sm} for sm in samples],
    }


def _parse_cigar(text: str) -> list[tuple[int, int]]:
    ops = "MIDNSHP=X"
    result: list[tuple[int, int]] = []
    number = ""
    for char in text:
        if char.isdigit():
            number += char
        else:
            result.append((ops.index(char), int(number)))
            number = ""
    return result


def _read(
    header: pysam.AlignmentHeader,
    *,
    name: str,
    flag: int,
    start0: int,
    cigar: str,
    site0: int,
    base: str,
    bq: int,
    mapq: int,
    reference: str,
    ref_start0: int,
    read_group: str | None,
) -> pysam.AlignedSegment:
    ops = _parse_cigar(cigar)
    query_length = sum(n for op, n in ops if op in (0, 1, 4, 7, 8))
    leading_clip = ops[0][1] if ops[0][0] == 4 else 0
    # Query sequence: the reference under the read as if it were aligned ungapped from
    # (start - leading clip); then the site base at the query index over the site.
    origin = start0 - leading_clip
    sequence = list(reference[origin - ref_start0 : origin - ref_start0 + query_length])
    qualities = [30] * query_length
    # Query index over the site: walk the CIGAR (soft clips: where it would have been).
    index = None
    ref = start0
    query = leading_clip
    for op, n in ops[1:] if leading_clip else ops:
        if op in (0, 7, 8) and ref <= site0 < ref + n:
            index = query + site0 - ref
        if op in (0, 2, 3, 7, 8):
            ref += n
        if op in (0, 1, 4, 7, 8):
            query += n
    if index is None and base != "-":
        index = site0 - origin  # a clipped base that would lie over the site
    if base != "-" and index is not None:
        sequence[index] = base
        qualities[index] = bq
    segment = pysam.AlignedSegment(header)
    segment.query_name = name
    segment.flag = flag
    segment.reference_id = 0
    segment.reference_start = start0
    segment.mapping_quality = mapq
    segment.cigartuples = ops
    segment.query_sequence = "".join(sequence)
    segment.query_qualities = pysam.qualitystring_to_array("".join(chr(q + 33) for q in qualities))
    if flag & 0x1:
        segment.next_reference_id = 0
        segment.next_reference_start = start0
    if read_group is not None:
        segment.set_tag("RG", read_group)
    return segment


def write_case(
    name: str, case: dict[str, Any], folder: Path, fasta: Path | None = None
) -> CaseFiles:
    """Write the case's BAM (+ .bai), unindexed BAM and CRAM (+ .crai) as requested."""
    build = case.get("build", "GRCh38")
    pos, _ = site(build)
    site0 = pos - 1
    reference = window_sequence("A")
    ref_start0 = site0 - WINDOW
    header_dict = _header(case)
    samples = case.get("samples", ["S1"])
    header = pysam.AlignmentHeader.from_dict(header_dict)
    records: list[tuple[int, str, pysam.AlignedSegment]] = []
    for g, group in enumerate(case.get("reads") or []):
        sample = group.get("sample", samples[0] if samples else None)
        flag = sum(FLAGS[f] for f in group.get("flags", []))
        for i in range(int(group.get("n", 1))):
            qname = f"{name}-{g}-{i}"
            common = {
                "site0": site0,
                "bq": int(group.get("bq", 30)),
                "mapq": int(group.get("mapq", 60)),
                "reference": reference,
                "ref_start0": ref_start0,
                "read_group": f"rg-{sample}" if sample else None,
            }
            start = site0 + int(group.get("start", -20))
            cigar = str(group.get("cigar", f"{READ_LENGTH}M"))
            if group.get("pair"):
                first = _read(
                    header,
                    name=qname,
                    flag=flag | 0x1 | 0x2 | 0x20 | 0x40,
                    start0=start,
                    cigar=cigar,
                    base=str(group["base"]),
                    **common,
                )
                second = _read(
                    header,
                    name=qname,
                    flag=flag | 0x1 | 0x2 | 0x10 | 0x80,
                    start0=site0 - 10,
                    cigar=f"{READ_LENGTH}M",
                    base=str(group.get("mate_base", group["base"])),
                    **common,
                )
                first.next_reference_start = second.reference_start
                second.next_reference_start = first.reference_start
                records += [(first.reference_start, qname + "/1", first)]
                records += [(second.reference_start, qname + "/2", second)]
            else:
                read = _read(
                    header,
                    name=qname,
                    flag=flag,
                    start0=start,
                    cigar=cigar,
                    base=str(group["base"]),
                    **common,
                )
                records.append((read.reference_start, qname, read))
    records.sort(key=lambda item: (item[0], item[1]))
    result = CaseFiles(name, case)
    formats = case.get("formats", ["bam"])
    bam = folder / f"{name}.bam"
    with pysam.AlignmentFile(str(bam), "wb", header=header) as out:
        for _, _, read in records:
            out.write(read)
    pysam.index(str(bam))
    result.files["bam"] = bam
    if "bam_noindex" in formats:
        plain = folder / "noindex" / f"{name}.bam"
        plain.parent.mkdir(exist_ok=True)
        shutil.copyfile(bam, plain)
        result.files["bam_noindex"] = plain
    if "cram" in formats:
        if fasta is None:
            raise ValueError(f"case {name}: CRAM needs a FASTA")
        cram = folder / f"{name}.cram"
        with pysam.AlignmentFile(
            str(cram), "wc", header=header, reference_filename=str(fasta)
        ) as out:
            for _, _, read in records:
                out.write(read)
        pysam.index(str(cram))
        result.files["cram"] = cram
    return result


@dataclass
class Fixtures:
    folder: Path
    cases: dict[str, CaseFiles]
    fastas: dict[str, Path]


def build_all(folder: Path, spec: Path = SPEC) -> Fixtures:
    """Write every case of the spec, and the FASTAs the CRAM cases need, into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    fastas: dict[str, Path] = {}
    cases: dict[str, CaseFiles] = {}
    for name, case in load_spec(spec).items():
        fasta = None
        if "cram" in case.get("formats", ["bam"]):
            build = case.get("build", "GRCh38")
            contig = case.get("contig", "chr6")
            key = f"{build}-{contig}"
            if key not in fastas:
                fastas[key] = write_fasta(
                    folder / f"ref-{key}.fa.gz", build=build, contig=contig, bgzip=True
                )
            fasta = fastas[key]
        cases[name] = write_case(name, case, folder, fasta)
    return Fixtures(folder, cases, fastas)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: generate.py OUTDIR")
    made = build_all(Path(sys.argv[1]))
    for case in made.cases.values():
        for kind, file in case.files.items():
            print(f"{case.name}\t{kind}\t{file}")
    for key, file in made.fastas.items():
        print(f"fasta\t{key}\t{file}")
