"""Refuse record lines htslib cannot parse safely, before they reach cyvcf2.

Some malformed lines (an empty line, an empty CHROM or POS, a sample column count that
does not match the header) make htslib build a half-initialised record that cyvcf2 then
reads out of bounds: the process dies with a segmentation fault (exit 139, no message)
and, in ``pgx-report batch``, takes every later sample of the chunk with it. bcftools
refuses the same lines. These checks are plain text tests on the lines that are about
to be parsed (the site's lines for the bisection, every line for a streaming scan), so
their cost is that of the read itself.
"""

from __future__ import annotations

import gzip
import re
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path

from pgx_report.errors import VcfError
from pgx_report.files.sniff import Container

HTS_POS_MAX = (1 << 62) - 1  # larger than any real position; htslib keeps 64-bit POS
_BASES = re.compile(r"[ACGTNacgtn]+")
# The sample columns of a record whose FORMAT starts with GT: each begins with a
# genotype (allele numbers or '.', separated by '/' or '|'). htslib fails on another
# value, and cyvcf2 can then read freed memory (a segfault found by `make fuzz`: a
# record "GT 0/x" during a streaming scan of a file without ##FORMAT lines).
# Possessive quantifiers (Python 3.11): no backtracking, ~8x faster on a 100,000-sample line;
# the same strings match as without them (tests/test_fuzz_vcf.py checks it exhaustively).
_GT_COLUMNS = re.compile(rb"(?:\t[0-9.]++(?:[/|][0-9.]++)*+(?::[^\t]*+)?+)++")


def allele_problem(ref: str, alts: Iterable[str]) -> str | None:
    """What is wrong with the alleles of a record that covers the site, or None.

    REF must be bases (A, C, G, T, N; VCF 4.2 section 1.6.1), each ALT bases, ``*``, a
    symbolic allele (``<NON_REF>``, ``<*>``, ``<DEL>``...) or a breakend. Checked only for
    the records a call is made from: an IUPAC code in a REF elsewhere in a file (some
    GRCh37 files have them) does not stop a call at this site."""
    if not _BASES.fullmatch(ref):
        return f"REF {ref[:40]!r} is not a DNA sequence (A, C, G, T, N)"
    for alt in alts:
        symbolic = alt.startswith("<") and alt.endswith(">") and len(alt) > 2
        if alt == "*" or symbolic or "[" in alt or "]" in alt:
            continue
        if not _BASES.fullmatch(alt):
            return f"ALT {alt[:40]!r} is not a DNA sequence, '*' or a symbolic allele"
    return None


def record_problem(line: bytes, n_samples: int) -> str | None:
    """What is wrong with one record line (no newline), or None when it is safe."""
    line = line.rstrip(b"\r")
    if not line.strip():
        return "empty line among the records"
    if line.startswith(b"#"):  # htslib reads it as a record (CHROM "##FORMAT=...")
        return "a header line ('#...') among the records (the header ends at #CHROM)"
    if b"\0" in line:
        return "NUL byte in the record"
    fields = line.split(b"\t")
    if len(fields) < 8:
        return f"{len(fields)} tab-separated columns, a VCF record needs at least 8"
    if not fields[0]:
        return "CHROM is empty"
    pos = fields[1]
    if not (pos.isdigit() and pos.isascii()) or not 0 < int(pos) <= HTS_POS_MAX:
        shown = pos.decode("utf-8", "replace")[:40]
        return f"POS {shown!r} is not a position (a whole number from 1)"
    if not fields[3]:
        return "REF is empty"
    if not fields[4]:
        return "ALT is empty"
    expected = 9 + n_samples if n_samples else None
    if expected is not None and len(fields) != expected:
        return (
            f"{len(fields)} columns, but the header has {n_samples} sample(s): "
            f"{expected} columns expected"
        )
    if expected is None and len(fields) > 9:
        return f"{len(fields)} columns, but the header has no sample columns"
    if expected is not None and not all(fields[9:]):
        return "an empty sample column"
    if len(fields) > 9 and fields[8].split(b":", 1)[0] == b"GT":
        columns = b"\t" + b"\t".join(fields[9:])
        if _GT_COLUMNS.fullmatch(columns) is None:
            for number, column in enumerate(fields[9:], start=1):
                if _GT_COLUMNS.fullmatch(b"\t" + column) is None:
                    gt = column.split(b":", 1)[0][:40].decode("ascii", "backslashreplace")
                    return f"sample column {number}: GT '{gt}' is not a genotype (numbers or '.')"
    return None


def check_records(path: Path, lines: Iterable[tuple[int, bytes]], n_samples: int) -> None:
    """VcfError naming ``path`` and the line number of the first unsafe record line."""
    for number, line in lines:
        problem = record_problem(line, n_samples)
        if problem is not None:
            raise VcfError(path, f"line {number}: malformed record: {problem}")


def numbered_records(path: Path, container: Container) -> Iterator[tuple[int, bytes]]:
    """(line number, line) of every record line of a VCF text file: every line after the
    header (which ends at the first #CHROM line), a line starting with '#' too."""
    opener = gzip.open if container is not Container.TEXT else open
    in_header = True
    try:
        with opener(path, "rb") as handle:
            for number, raw in enumerate(handle, start=1):
                if in_header and raw.startswith(b"#"):
                    in_header = not raw.startswith(b"#CHROM")
                    continue
                in_header = False
                yield number, raw.rstrip(b"\n")
    except EOFError:
        raise VcfError(path, "truncated file: the compressed data ends early") from None
    except (OSError, zlib.error) as exc:
        raise VcfError(path, f"cannot read the file: {exc}") from None


def check_file(path: Path, container: Container, n_samples: int) -> None:
    """Check every record line of ``path`` (used before a streaming scan by htslib)."""
    check_records(path, numbered_records(path, container), n_samples)
