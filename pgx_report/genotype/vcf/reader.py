"""Reading VCF / bgzipped VCF / plain-gzip VCF / BCF / gVCF: the file-reading half of calling.

One small interface over cyvcf2 (htslib):

- :func:`open_vcf` checks the file (exists, not empty, VCF/BCF content, BGZF end-of-file
  marker, index present / fresh / matching) and reads the header;
- :meth:`VcfReader.records_overlapping` is THE place that finds the records covering a
  position (indexed: fetch through the index; unindexed: stream the whole file).
  Faster unindexed access (BGZF bisection, ``pgx_report/genotype/vcf/locate.py``) plugs in there;
- records come back as :class:`SiteRecord`: plain values plus numpy arrays over the
  selected samples, so that calling can treat 1 or 100,000 samples alike.

htslib's own messages on stderr are captured and never reach the user; every problem
becomes one :class:`VcfError` naming the file.
"""

from __future__ import annotations

import array
import contextlib
import gzip
import logging
import math
import os
import re
import struct
import sys
import tempfile
import warnings
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from pgx_report.errors import UnknownSampleError, VcfError
from pgx_report.files import cache, digest
from pgx_report.files.io import read_head
from pgx_report.files.sniff import BGZF_EOF, GZIP_MAGIC, Container, InputFormat, vcf_format
from pgx_report.genotype.genome_build import ContigLine
from pgx_report.genotype.vcf.locate import NeedsFullScan, locate
from pgx_report.genotype.vcf.precheck import check_file, record_problem

if TYPE_CHECKING:
    import cyvcf2

log = logging.getLogger(__name__)

_INT32_MISSING_MAX = -2147483647  # htslib: INT32_MIN = missing, INT32_MIN+1 = vector end

# INFO flags and header words that mark imputed genotypes (Minimac, Beagle, IMPUTE).
IMPUTED_INFO_FLAGS = ("IMPUTED", "IMP")
IMPUTED_FORMAT_FIELDS = ("DS", "GP")
_IMPUTATION_WORDS = re.compile(r"minimac|beagle|impute|imputation", re.IGNORECASE)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int32]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Header:
    """What the caller needs from a VCF header."""

    samples: tuple[str, ...]
    contigs: tuple[ContigLine, ...]
    references: tuple[str, ...]
    imputation: tuple[str, ...]  # header lines saying the genotypes were imputed
    n_lines: int = 0  # header lines, including #CHROM
    written_samples: tuple[str, ...] = ()  # the #CHROM line's names as written (bytes)

    @cached_property  # asked once per index contig and per alias: thousands of contigs
    def contig_names(self) -> frozenset[str]:
        return frozenset(c.name for c in self.contigs)


@dataclass(frozen=True)
class SampleArrays:
    """Per-sample FORMAT values of one record, over the selected samples (n rows).

    ``alleles`` holds allele indices (n, ploidy): -1 = missing (``.``), -2 = no allele
    (shorter ploidy, or no GT at all). Missing numbers are NaN.
    """

    alleles: IntArray
    phased: BoolArray
    dp: FloatArray
    gq: FloatArray
    min_dp: FloatArray
    gp_max: FloatArray
    ad: FloatArray | None  # (n, number of alleles), or None when the record has no AD

    def take(self, columns: npt.NDArray[np.intp]) -> SampleArrays:
        """The same values for the samples at ``columns`` only."""
        return SampleArrays(
            alleles=self.alleles[columns],
            phased=self.phased[columns],
            dp=self.dp[columns],
            gq=self.gq[columns],
            min_dp=self.min_dp[columns],
            gp_max=self.gp_max[columns],
            ad=None if self.ad is None else self.ad[columns],
        )


@dataclass(frozen=True)
class SiteRecord:
    """One record overlapping the site: record-level values and per-sample arrays."""

    chrom: str
    pos: int
    end: int
    ref: str
    alts: tuple[str, ...]
    filters: tuple[str, ...]  # () when the FILTER column is "."
    qual: float | None
    format_keys: tuple[str, ...]
    info_flags: tuple[str, ...]
    samples: SampleArrays = field(repr=False)

    @property
    def alleles(self) -> tuple[str, ...]:
        return (self.ref, *self.alts)


@dataclass(frozen=True)
class FileInfo:
    """How the input is stored."""

    path: Path
    format: str  # vcf | vcf.gz (BGZF) | vcf.gzip (plain gzip) | bcf
    index: Path | None

    @property
    def index_kind(self) -> str:
        return self.index.suffix.lstrip(".") if self.index is not None else "none"

    @property
    def text_container(self) -> Container | None:
        """How VCF text is stored (None for BCF, which is binary)."""
        return _TEXT_CONTAINERS.get(self.format)


_TEXT_CONTAINERS = {
    InputFormat.VCF.value: Container.TEXT,
    InputFormat.VCF_GZ.value: Container.BGZF,
    InputFormat.VCF_GZIP.value: Container.GZIP,
}


# --------------------------------------------------------------------------- stderr


class _Captured:
    def __init__(self) -> None:
        self.text = ""

    def first_error(self) -> str | None:
        for line in self.text.splitlines():
            if line.startswith("[E::"):
                return line.split("]", 1)[-1].strip()
        return None


@contextlib.contextmanager
def quiet_htslib() -> Iterator[_Captured]:
    """Capture whatever htslib writes to file descriptor 2 (it bypasses ``sys.stderr``)."""
    captured = _Captured()
    with tempfile.TemporaryFile(mode="w+b") as sink, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # cyvcf2's "no intervals found" UserWarning
        saved = os.dup(2)
        try:
            os.dup2(sink.fileno(), 2)
            yield captured
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            captured.text = sink.read().decode("utf-8", "replace")
            for line in captured.text.splitlines():
                log.debug("htslib: %s", line)


# --------------------------------------------------------------------------- file checks


def _read_head(path: Path) -> bytes:
    return read_head(path, 65536, VcfError, kind="VCF file")


def _find_index(path: Path, fmt: str) -> Path | None:
    suffixes = (".csi",) if fmt == "bcf" else (".tbi", ".csi")
    for suffix in suffixes:
        candidate = path.with_name(path.name + suffix)
        if candidate.exists():
            return candidate
    return None


@dataclass(frozen=True)
class IndexSummary:
    """A .tbi / .csi index, read once: for the staleness check and the input digest."""

    names: tuple[str, ...] | None  # tabix stores sequence names; CSI for BCF does not
    n_ref: int
    max_chunk_end: int  # largest virtual file offset any chunk ends at
    data: bytes = field(repr=False, default=b"")  # the decompressed index (b"": not read)
    ref_offsets: tuple[int, ...] = ()  # where each sequence's bins start in ``data``


def _read_index(index: Path, path: Path) -> IndexSummary:
    """Parse a .tbi / .csi index (htslib formats, SAM spec section 5) just enough to check it.

    The walk over every bin (~0.07 s for a whole-genome index) is remembered in the user
    cache (``pgx_report.files.cache``) under the identity of the index and of ``path``,
    the data file: calling many samples of one cohort file walks it once."""
    key = {"index": cache.file_identity(index), "data": cache.file_identity(path)}
    name = str(index.resolve())
    found = cache.load("vcf-index", name, key)
    if isinstance(found, dict) and set(found) == {"names", "n_ref", "max_chunk_end", "refs"}:
        names = found["names"]
        return IndexSummary(  # the index is inflated later only if the digest needs it
            tuple(names) if isinstance(names, list) else None,
            int(found["n_ref"]),
            int(found["max_chunk_end"]),
            b"",
            tuple(int(offset) for offset in found["refs"]),
        )
    try:
        data = digest.read_index(index)
    except (OSError, EOFError, zlib.error, ValueError, struct.error):
        raise VcfError(index, "index file is corrupt (not BGZF-compressed)") from None
    try:
        summary = _parse_index(data)
    except (struct.error, IndexError, ValueError):
        raise VcfError(index, "index file is corrupt or truncated") from None
    names = list(summary.names) if summary.names is not None else None
    value = {"names": names, "n_ref": summary.n_ref, "max_chunk_end": summary.max_chunk_end}
    cache.store("vcf-index", name, key, {**value, "refs": list(summary.ref_offsets)})
    return summary


def _max_chunk_end(data: bytes, starts: list[int], counts: list[int]) -> int:
    """Largest chunk end offset; chunks are (beg, end) u64 pairs at ``starts``."""
    if not starts:
        return 0
    counts_arr = np.asarray(counts, dtype=np.int64)
    first = np.repeat(np.asarray(starts, dtype=np.int64), counts_arr)
    within = np.arange(len(first), dtype=np.int64) - np.repeat(
        np.cumsum(counts_arr) - counts_arr, counts_arr
    )
    at = first + 16 * within + 8  # the end half of each pair
    raw = np.frombuffer(data, dtype=np.uint8)[at[:, None] + np.arange(8)]
    return int(raw.copy().view("<u8").max())


def _scan_bins(
    data: bytes,
    offset: int,
    n_ref: int,
    bin_size: int,
    linear_index: bool,
    starts: list[int],
    counts: list[int],
    ref_offsets: list[int],
) -> int:
    """Walk the per-reference bins of a TBI/CSI index from ``offset``.

    Each bin header is ``bin_size`` bytes ending in its int32 chunk count; the
    16-byte chunks follow. Appends where each bin's chunks start and how many there
    are, and where each reference starts; returns the offset after the last one."""
    # Every field walked is an int32 at ``offset + 4k``: index them through a memoryview
    # (several times faster than struct.unpack_from per bin on a whole-genome index).
    if offset > len(data):
        raise ValueError("index shorter than its counts say")
    usable = (len(data) - offset) // 4 * 4
    raw = memoryview(data)[offset : offset + usable]
    ints: memoryview | array.array[int] = raw.cast("i")
    if sys.byteorder != "little":  # the index is little-endian, "i" is native
        ints = array.array("i", raw)
        ints.byteswap()
    step = bin_size // 4  # a bin header in int32s; its chunk count is the last one
    at = 0  # in int32s from ``offset``
    for _ in range(n_ref):
        ref_offsets.append(offset + 4 * at)
        n_bin = ints[at]
        at += 1
        for _ in range(n_bin):
            n_chunk = ints[at + step - 1]
            at += step
            if n_chunk > 0:
                starts.append(offset + 4 * at)
                counts.append(n_chunk)
                at += 4 * n_chunk
        if linear_index:
            at += 1 + 2 * ints[at]
            if at < 0:
                raise ValueError("negative linear index size")
    return offset + 4 * at


def _parse_index(data: bytes) -> IndexSummary:
    # One Python step per bin; the chunk offsets are read in bulk (numpy), so a
    # whole-genome index checks in a fraction of a second.
    names: tuple[str, ...] | None = None
    starts: list[int] = []
    counts: list[int] = []
    refs: list[int] = []
    if data[:4] == b"TBI\x01":
        n_ref = struct.unpack_from("<i", data, 4)[0]
        l_nm = struct.unpack_from("<i", data, 32)[0]
        names = tuple(n.decode("utf-8", "replace") for n in data[36 : 36 + l_nm].split(b"\0")[:-1])
        # bin: uint32 bin, int32 n_chunk; then a linear index per reference
        offset = _scan_bins(data, 36 + l_nm, n_ref, 8, True, starts, counts, refs)
    elif data[:4] == b"CSI\x01":
        l_aux = struct.unpack_from("<i", data, 12)[0]
        if l_aux >= 28:  # tabix-style CSI (tabix -C) keeps the sequence names in aux
            l_nm = struct.unpack_from("<i", data, 16 + 24)[0]
            raw = data[16 + 28 : 16 + 28 + l_nm]
            names = tuple(n.decode("utf-8", "replace") for n in raw.split(b"\0")[:-1])
        (n_ref,) = struct.unpack_from("<i", data, 16 + l_aux)
        # bin: uint32 bin, uint64 loffset, int32 n_chunk; no linear index
        offset = _scan_bins(data, 16 + l_aux + 4, n_ref, 16, False, starts, counts, refs)
    else:
        raise ValueError("unknown index magic")
    if offset > len(data):
        raise ValueError("index shorter than its counts say")
    return IndexSummary(names, n_ref, _max_chunk_end(data, starts, counts), data, tuple(refs))


def _check_index(path: Path, fmt: str, index: Path, header: Header) -> IndexSummary:
    """Refuse an index that is older than the data or was built for another file."""
    if fmt not in ("vcf.gz", "bcf"):
        raise VcfError(
            index,
            f"index found, but {path.name} is not BGZF-compressed; an index needs a file "
            "compressed with bgzip (re-create it: bgzip the VCF, then tabix -p vcf)",
        )
    if index.stat().st_mtime_ns < path.stat().st_mtime_ns:
        raise VcfError(
            index,
            f"index is older than {path.name} (stale); re-create it with "
            f"`{'bcftools index' if fmt == 'bcf' else 'tabix -p vcf'} -f {path.name}`",
        )
    summary = _read_index(index, path)
    mismatch = f"index does not match {path.name} (built for another file?); re-create it"
    if summary.names is not None and header.contigs:
        unknown = [n for n in summary.names if n not in header.contig_names]
        if unknown:
            raise VcfError(index, f"{mismatch}: it lists contig {unknown[0]!r} not in the header")
    if summary.names is None and header.contigs and summary.n_ref > len(header.contigs):
        raise VcfError(index, mismatch)
    size = path.stat().st_size
    block = summary.max_chunk_end >> 16
    if block > size - len(BGZF_EOF):
        raise VcfError(index, f"{mismatch}: it points past the end of the data")
    with path.open("rb") as handle:
        handle.seek(block)
        if handle.read(4) != b"\x1f\x8b\x08\x04":
            raise VcfError(index, f"{mismatch}: it points inside a compressed block")
    return summary


# --------------------------------------------------------------------------- header


def _header_text(path: Path, fmt: str) -> str:
    """The header lines exactly as stored in the file (up to and including #CHROM)."""
    try:
        if fmt == "bcf":
            compressed = _read_head(path)[:2] == GZIP_MAGIC
            with gzip.open(path, "rb") if compressed else path.open("rb") as handle:
                head = handle.read(9)
                length = struct.unpack_from("<I", head, 5)[0]
                return handle.read(length).rstrip(b"\0").decode("utf-8", "replace")
        opener = gzip.open if fmt in ("vcf.gz", "vcf.gzip") else open
        lines = []
        with opener(path, "rt", encoding="utf-8", errors="replace") as text:
            for line in text:
                lines.append(line)
                if not line.startswith("##"):
                    break
        return "".join(lines)
    except (OSError, EOFError, zlib.error, struct.error) as exc:
        raise VcfError(path, f"cannot read the VCF header: {exc}") from None


_META_ITEM = re.compile(r'([A-Za-z_][\w.]*)=("(?:[^"\\]|\\.)*"|[^,>]*)')


def _meta_fields(line: str) -> dict[str, str]:
    body = line[line.index("<") + 1 : line.rindex(">")] if "<" in line and ">" in line else ""
    return {k: v.strip('"') for k, v in _META_ITEM.findall(body)}


# The usual contig line, ``##contig=<ID=x,length=n[,assembly=a]>``, read without the
# general item parser (a gVCF header can have thousands); anything else goes through
# :func:`_meta_fields`. Both give the same ContigLine for a line this matches.
_PLAIN_CONTIG = re.compile(r'##contig=<ID=([^,<>"]*),length=([0-9]+)(?:,assembly=([^,<>"]*))?>')


def _contig_line(line: str) -> ContigLine:
    plain = _PLAIN_CONTIG.fullmatch(line)
    if plain is not None:
        return ContigLine(name=plain[1], length=int(plain[2]), assembly=plain[3] or None)
    meta = _meta_fields(line)
    length = meta.get("length", "")
    return ContigLine(
        name=meta.get("ID", ""),
        length=int(length) if length.isdigit() else None,
        assembly=meta.get("assembly") or None,
    )


def parse_header(raw_header: str, samples: Sequence[str]) -> Header:
    contigs: list[ContigLine] = []
    references: list[str] = []
    imputation: list[str] = []
    lines = raw_header.splitlines()
    for line in lines:
        if line.startswith("##contig="):
            contigs.append(_contig_line(line))
        elif line.startswith("##reference="):
            references.append(line.split("=", 1)[1].strip())
        elif line.startswith(("##source=", "##imputation", "##Imputation")) and (
            _IMPUTATION_WORDS.search(line)
        ):
            imputation.append(line.strip())
    # The #CHROM line split on tabs only (splitlines would also cut at other controls).
    chrom_line = next(
        (ln for ln in reversed(raw_header.split("\n")) if ln.startswith("#CHROM")), ""
    )
    written = tuple(chrom_line.removesuffix("\r").split("\t")[9:])
    return Header(
        tuple(samples), tuple(contigs), tuple(references), tuple(imputation), len(lines), written
    )


# --------------------------------------------------------------------------- records


class FormatTypeError(ValueError):
    """A FORMAT field the caller reads as numbers is not numbers in the header."""


def _format(variant: cyvcf2.Variant, key: str) -> Any:
    """FORMAT/``key`` of every sample (a 2-D numeric array), None when the record has none.

    htslib reads a FORMAT key the header does not define as a string ("assuming
    Type=String"): such a DP, GQ, AD, MIN_DP or GP cannot be used, and is refused with
    what to add to the header (the message then names the file and the line)."""
    if key not in variant.FORMAT:
        return None
    values = variant.format(key)
    array = np.asarray(values) if values is not None else None
    if array is None or array.ndim != 2 or array.dtype.kind not in "iuf":
        raise FormatTypeError(
            f"FORMAT/{key} is not defined as a number in the header (add a line like "
            f'##FORMAT=<ID={key},Number=1,Type=Integer,Description="...">)'
        )
    return values


def _int_field(variant: cyvcf2.Variant, key: str, n: int) -> FloatArray:
    values = _format(variant, key)
    if values is None:
        return np.full(n, np.nan)
    arr = np.asarray(values)[:, 0]
    if arr.dtype.kind == "f":
        return arr.astype(np.float64)
    out = arr.astype(np.float64)
    out[arr <= _INT32_MISSING_MAX] = np.nan
    return out


def _ad_field(variant: cyvcf2.Variant, n_alleles: int) -> FloatArray | None:
    values = _format(variant, "AD")
    if values is None:
        return None
    arr = np.asarray(values)
    out = arr.astype(np.float64)
    if arr.dtype.kind != "f":
        out[arr <= _INT32_MISSING_MAX] = np.nan
    if out.shape[1] != n_alleles:  # malformed AD (Number=R expected): treat as absent
        return None
    return out


def _gp_max(variant: cyvcf2.Variant, n: int) -> FloatArray:
    values = _format(variant, "GP")
    if values is None:
        return np.full(n, np.nan)
    arr = np.asarray(values, dtype=np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows
        return np.nanmax(arr, axis=1) if arr.size else np.full(n, np.nan)


def _genotype_matrix(variant: cyvcf2.Variant, genotype: Any) -> npt.NDArray[np.int32]:
    """(n, ploidy + 1) allele indices as the file gives them, last column phased.

    ``Genotypes.array()`` stores indices as int16, so ``0/65537`` wraps to ``0/1``:
    the layout (ploidy padding, -2) comes from it, the indices from
    ``variant.genotypes`` (Python ints, exact)."""
    layout = np.asarray(genotype.array(), dtype=np.int32)
    rows = variant.genotypes
    exact = np.full(layout.shape, -2, dtype=np.int64)
    try:
        filled = np.asarray(rows, dtype=np.int64)
    except ValueError:  # mixed ploidy: rows of different lengths
        for i, row in enumerate(rows):
            exact[i, : len(row) - 1] = row[:-1]
    else:
        if filled.ndim == 2 and filled.shape[1] >= 1:
            exact[:, : filled.shape[1] - 1] = filled[:, :-1]
    exact[:, -1] = layout[:, -1]
    # an index beyond int32 cannot occur (htslib refuses it); clip for the dtype
    return np.clip(exact, -2, np.iinfo(np.int32).max).astype(np.int32)


def _sample_arrays(variant: cyvcf2.Variant, n: int) -> SampleArrays:
    genotype = variant.genotype if "GT" in variant.FORMAT else None
    if genotype is None:
        alleles = np.full((n, 2), -2, dtype=np.int32)
        phased = np.zeros(n, dtype=np.bool_)
    else:
        array = _genotype_matrix(variant, genotype)
        alleles = array[:, :-1]
        phased = (array[:, -1] == 1) & ((alleles >= -1).sum(axis=1) >= 2)
    n_alleles = 1 + len(variant.ALT)
    return SampleArrays(
        alleles=alleles,
        phased=phased,
        dp=_int_field(variant, "DP", n),
        gq=_int_field(variant, "GQ", n),
        min_dp=_int_field(variant, "MIN_DP", n),
        gp_max=_gp_max(variant, n),
        ad=_ad_field(variant, n_alleles),
    )


def _info_flags(variant: cyvcf2.Variant) -> tuple[str, ...]:
    flags = []
    for key in IMPUTED_INFO_FLAGS:
        try:
            if variant.INFO.get(key) is True:
                flags.append(key)
        except KeyError:
            continue
    return tuple(flags)


def value_problem(record: SiteRecord) -> str | None:
    """A number of a site record that no reading can use, or None: a QUAL that is not
    finite, or an infinite FORMAT value of a selected sample (a Float-typed DP, GQ,
    MIN_DP or AD, or a GP, lets ``inf`` or ``1e300`` through htslib: it has no integer
    and no JSON form; found by ``make fuzz``). NaN is htslib's missing value and stays
    missing."""
    if record.qual is not None and not math.isfinite(record.qual):
        return f"QUAL is {record.qual}, not a finite number"
    samples = record.samples
    fields = (
        ("DP", samples.dp),
        ("GQ", samples.gq),
        ("MIN_DP", samples.min_dp),
        ("GP", samples.gp_max),
        ("AD", samples.ad),
    )
    for name, values in fields:
        if values is not None and bool(np.isinf(values).any()):
            return f"FORMAT/{name} holds an infinite value (or one too large for its type)"
    return None


def to_site_record(variant: cyvcf2.Variant, n_samples: int) -> SiteRecord:
    """Convert one cyvcf2 record (all the selected samples at once)."""
    return SiteRecord(
        chrom=variant.CHROM,
        pos=int(variant.start) + 1,  # variant.POS is cut to 32 bits by cyvcf2
        end=int(variant.end),
        ref=variant.REF,
        alts=tuple(variant.ALT),
        filters=tuple(variant.FILTERS),
        qual=None if variant.QUAL is None else float(variant.QUAL),
        format_keys=tuple(variant.FORMAT),
        info_flags=_info_flags(variant),
        samples=_sample_arrays(variant, n_samples),
    )


# --------------------------------------------------------------------------- reader


def _vcf_error(path: Path, captured: _Captured, exc: BaseException | None, what: str) -> VcfError:
    detail = captured.first_error() or (str(exc) if exc else "") or type(exc).__name__
    detail = detail.replace(str(path), path.name)
    if "error parsing variant" in detail:  # cyvcf2's wrapper text, htslib said nothing
        detail = "malformed record (too few columns or unparsable values)"
    if "truncated" in detail.lower():
        what = f"truncated file ({what})"
    return VcfError(path, f"{what}: {detail}")


@contextlib.contextmanager
def htslib_guard(path: Path, what: Callable[[], str]) -> Iterator[None]:
    """Run htslib work quietly; turn its failures (exceptions or [E::] messages) into one
    VcfError naming ``path``. ``what()`` says what was being done (called at failure)."""
    failure: Exception | None = None
    with quiet_htslib() as captured:
        try:
            yield
        except VcfError:
            raise
        except Exception as exc:
            failure = exc
    if failure is not None or captured.first_error():
        raise _vcf_error(path, captured, failure, what()) from None


class VcfReader:
    """An open, checked VCF/BCF. Use :func:`open_vcf`."""

    def __init__(
        self,
        info: FileInfo,
        header: Header,
        samples: Sequence[str] | None,
        spare: list[cyvcf2.VCF] | None = None,
        index: IndexSummary | None = None,
    ) -> None:
        self.info = info
        self.header = header
        self._index = index  # the index as the check read it (reused for the digest)
        # The handle open_vcf opened to check the header, kept for the first read so that
        # htslib does not open the file (and load its index) once more; shared by the
        # readers select() makes, taken by the first _open().
        self._spare: list[cyvcf2.VCF] = spare if spare is not None else []
        self.selected: tuple[str, ...] = tuple(samples) if samples is not None else header.samples
        # how records_overlapping found the records: index | bisection | stream
        self.access = "index" if info.index is not None else "stream"
        self._bisected: tuple[tuple[int, int], ...] | None = None  # the ranges bisection read
        # htslib subsets samples from a comma-separated list, so a name with a comma
        # cannot be passed; then all samples are read and the columns picked afterwards.
        self._native = samples is not None and not any("," in name for name in samples)
        self._columns: npt.NDArray[np.intp] | None = None
        if samples is not None and not self._native:
            position = {name: i for i, name in enumerate(header.samples)}
            self._columns = np.array([position[name] for name in samples], dtype=np.intp)

    @property
    def path(self) -> Path:
        return self.info.path

    def select(self, samples: Sequence[str]) -> VcfReader:
        """The same checked file, reading only ``samples`` (each must be in the file)."""
        for name in samples:
            if name not in self.header.samples:
                raise UnknownSampleError(
                    self.path, f"sample {name!r} is not in the file ({_list(self.header)})"
                )
        return VcfReader(self.info, self.header, samples, self._spare, self._index)

    def _open(self) -> cyvcf2.VCF:

        with htslib_guard(self.path, lambda: "cannot read"):
            if self._spare:
                vcf = self._spare.pop()
                if self._native:
                    vcf.set_samples(list(self.selected))
            else:
                samples = list(self.selected) if self._native else None
                vcf = open_cyvcf2(self.path, index=self.info.index, samples=samples)
            if self.info.index is not None:
                vcf.set_index(str(self.info.index))
        return vcf

    def records_overlapping(self, contigs: Sequence[str], pos: int) -> list[SiteRecord]:
        """Every record on one of ``contigs`` whose span (POS..END) covers ``pos`` (1-based).

        With an index the records are fetched through it; without one the whole file
        is streamed (which also checks the file to its end: truncation, bad lines).
        """
        container = self.info.text_container
        if self.info.index is None and container is not None:
            located = self._locate(contigs, pos, container)
            if located is not None:
                return located
        if self.info.index is None and container is not None:
            # every line is about to go through htslib: refuse the ones it cannot parse
            # safely (a crash inside cyvcf2 would take the process down)
            check_file(self.path, container, len(self.header.samples))
        if self.info.index is not None and container is not None:
            self._check_indexed_lines(contigs, pos, container)
        vcf = self._open()
        try:
            if self.info.index is not None:
                return self._fetch(vcf, contigs, pos)
            return self._stream(vcf, frozenset(contigs), pos)
        finally:
            vcf.close()

    def ranges_read(self, contigs: Sequence[str], pos: int) -> list[tuple[int, int]] | None:
        """The byte ranges of the file the site's records were read from (after
        :meth:`records_overlapping`); None when the whole file was read (a stream)."""
        if self.access == "bisection":
            return list(self._bisected) if self._bisected is not None else None
        if self.access != "index" or self.info.index is None:
            return None
        numbers = {c.name: i for i, c in enumerate(self.header.contigs)}
        sequences = [(name, numbers.get(name)) for name in contigs]
        length = digest.bcf_header_length if self.info.format == "bcf" else digest.vcf_header_length
        known = self._index
        read = (known.data, known.ref_offsets) if known is not None and known.data else None
        # The ranges depend only on the two files: remembered under their identity (like the
        # index walk), so calling many samples of one file works them out once.
        key = {
            "index": cache.file_identity(self.info.index),
            "data": cache.file_identity(self.path),
            "sequences": [list(item) for item in sequences],
            "pos": pos,
        }
        name = str(self.info.index.resolve())
        found = cache.load("vcf-site-ranges", name, key)
        if isinstance(found, list) and all(isinstance(r, list) and len(r) == 2 for r in found):
            return [(int(a), int(b)) for a, b in found]
        try:
            ranges = digest.binning_index_ranges(
                self.path, self.info.index, sequences, pos, length, read=read
            )
            cache.store("vcf-site-ranges", name, key, [list(r) for r in ranges])
            return ranges
        except (ValueError, struct.error, OSError, EOFError, zlib.error) as exc:
            log.info("%s: cannot tell the ranges read (%s): hashing the whole file", self.path, exc)
            return None

    def _record(self, variant: cyvcf2.Variant) -> SiteRecord:
        if self._columns is None:
            record = to_site_record(variant, len(self.selected))
        else:
            record = to_site_record(variant, len(self.header.samples))
            record = replace(record, samples=record.samples.take(self._columns))
        problem = value_problem(record)
        if problem:
            raise VcfError(self.path, f"{record.chrom}:{record.pos}: {problem}")
        return record

    def _locate(
        self, contigs: Sequence[str], pos: int, container: Container
    ) -> list[SiteRecord] | None:
        """Unindexed VCF text: find the records by bisection over the file (BGZF or
        uncompressed; plain gzip streams with an early exit), see pgx_report.genotype.vcf.locate,
        then let htslib parse just those lines, from memory (nothing is written).
        None: the file is not sorted where it was read, or a record there is
        malformed: the caller streams the whole file (and reports bad lines).
        ``container`` was told (and a BGZF end-of-file marker checked) by open_vcf."""
        try:
            found = locate(self.path, contigs, pos, fallback=False, container=container)
        except NeedsFullScan as why:
            log.info("%s: %s; reading the whole file", self.path, why)
            self.access = "stream"
            return None
        self.access = found.method
        self._bisected = found.ranges
        if not found.records:
            return []
        n_file_samples = len(self.header.samples)
        if any(record_problem(line.encode(), n_file_samples) for line in found.records):
            self.access = "stream"  # the full scan names the bad line
            return None
        import cyvcf2

        text = (found.header + "".join(line + "\n" for line in found.records)).encode()
        with _in_memory(text) as name:
            try:
                with htslib_guard(self.path, lambda: "cannot read"):
                    vcf = cyvcf2.VCF(name, samples=list(self.selected) if self._native else None)
                try:
                    return self._stream(vcf, frozenset(contigs), pos)
                finally:
                    vcf.close()
            except VcfError as why:  # let the full scan name the bad line of the file
                log.info("%s: %s; reading the whole file", self.path, why)
                self.access = "stream"
                return None

    def _check_indexed_lines(self, contigs: Sequence[str], pos: int, container: Container) -> None:
        """The lines the index returns for the site get the checks of the other paths
        (:func:`record_problem`) before htslib parses them: tabix reads only CHROM, POS
        and END, so a malformed record is fetched like any other. A bad one (or a failed
        read) is refused naming its line (found by a scan of the file, only then)."""
        n_samples = len(self.header.samples)
        try:
            with htslib_guard(self.path, lambda: "cannot read through the index (mismatched?)"):
                lines = self._indexed_lines(contigs, pos)
        except VcfError:
            check_file(self.path, container, n_samples)  # names a malformed line
            raise
        for contig, line in lines:
            problem = record_problem(line.encode("utf-8", "surrogateescape"), n_samples)
            if problem is not None:
                check_file(self.path, container, n_samples)  # names the line
                raise VcfError(self.path, f"record at {contig}:{pos}: malformed record: {problem}")

    def _indexed_lines(self, contigs: Sequence[str], pos: int) -> list[tuple[str, str]]:
        """(contig, raw line) of every line the index returns for ``pos`` (tabix query)."""
        import pysam

        assert self.info.index is not None
        found: list[tuple[str, str]] = []
        with pysam.TabixFile(str(self.path), index=str(self.info.index)) as tabix:
            known = set(tabix.contigs)
            for contig in contigs:
                if contig in known:
                    found += [(contig, line) for line in tabix.fetch(contig, pos - 1, pos)]
        return found

    def _fetch(self, vcf: cyvcf2.VCF, contigs: Sequence[str], pos: int) -> list[SiteRecord]:
        found: list[SiteRecord] = []
        with htslib_guard(self.path, lambda: "cannot read through the index (mismatched?)"):
            for contig in contigs:
                for variant in vcf(f"{contig}:{pos}-{pos}"):
                    if variant.CHROM != contig or not variant.start < pos <= variant.end:
                        raise VcfError(
                            self.info.index,
                            f"index does not match {self.path.name}: it returned a record "
                            f"at {variant.CHROM}:{variant.start + 1} for {contig}:{pos}",
                        )
                    try:
                        found.append(self._record(variant))
                    except FormatTypeError as exc:  # not the index's fault: name the record
                        where = f"record at {variant.CHROM}:{variant.start + 1}"
                        raise VcfError(self.path, f"{where}: {exc}") from None
        return found

    def _stream(self, vcf: cyvcf2.VCF, contigs: frozenset[str], pos: int) -> list[SiteRecord]:
        found: list[SiteRecord] = []
        count = 0

        def where() -> str:
            return f"line {self.header.n_lines + count + 1}"

        with htslib_guard(self.path, where):
            for variant in vcf:
                count += 1
                if variant.CHROM in contigs and variant.start < pos <= variant.end:
                    found.append(self._record(variant))
        return found


@contextlib.contextmanager
def _in_memory(data: bytes) -> Iterator[str]:
    """A file name htslib can open that holds ``data``: an anonymous in-memory file
    (Linux memfd), else a private temporary file in the system temp folder."""
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("pgx-report-site")
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            yield f"/proc/self/fd/{fd}"
        finally:
            os.close(fd)
        return
    with tempfile.NamedTemporaryFile(suffix=".vcf") as handle:
        handle.write(data)
        handle.flush()
        yield handle.name


def open_cyvcf2(path: Path, *, index: Path | None, samples: list[str] | None = None) -> cyvcf2.VCF:
    """cyvcf2's reader of ``path``. For a file with a .tbi, htslib is given the file under
    a name with no index beside it (``/proc/self/fd/N``, Linux): otherwise reading the
    header loads the whole index once more (to add its contig names to htslib's copy of
    the header, ~0.025 s on a whole-genome .tbi), before the fetch loads it again
    (``set_index``, which takes a .tbi by its path; a .csi it finds beside the data file,
    so a .csi file is opened by its name). The header as written is read apart
    (:func:`parse_header`)."""
    import cyvcf2

    if index is None or index.suffix != ".tbi" or not Path("/proc/self/fd").is_dir():
        return cyvcf2.VCF(str(path), samples=samples)
    fd = os.open(path, os.O_RDONLY)
    try:
        return cyvcf2.VCF(f"/proc/self/fd/{fd}", samples=samples)
    finally:
        os.close(fd)  # htslib opened the file itself


def open_vcf(
    path: str | Path,
    samples: Sequence[str] | None = None,
    *,
    input_format: InputFormat | None = None,
) -> VcfReader:
    """Check ``path`` and read its header; ``samples`` limits reading to those samples.

    ``input_format``: what :func:`pgx_report.files.sniff.sniff_format` already found
    (then the file is not sniffed again)."""

    path = Path(path)
    fmt = (input_format or vcf_format(path)).value
    index = _find_index(path, fmt)
    with htslib_guard(path, lambda: "cannot read the VCF header"):
        vcf = open_cyvcf2(path, index=index)  # htslib validates the header
        samples_in_file = vcf.samples
    try:
        # The header as written: htslib adds ##contig lines from a tabix index to its copy.
        header = parse_header(_header_text(path, fmt), samples_in_file)
        summary = _check_index(path, fmt, index, header) if index is not None else None
        reader = VcfReader(FileInfo(path, fmt, index), header, None, [vcf], summary)
        return reader if samples is None else reader.select(samples)
    except BaseException:
        vcf.close()
        raise


def check_sample_names(path: Path, header: Header, selected: Sequence[str]) -> None:
    """Refuse a sample to be called whose name, as the #CHROM line writes it, holds a
    control or format character (:mod:`pgx_report.contracts.text`): a NUL ends the name
    early in htslib (``S\\0X`` is read as ``S``, another name), and the others print as
    nothing or as something else in call.json and the report. Other samples' names do
    not matter (a cohort VCF with one odd name still calls the rest with --sample)."""
    from pgx_report.contracts.text import text_problem

    if len(header.written_samples) != len(header.samples):
        return  # htslib would not have read such a header
    if " ".join(header.written_samples).isprintable():
        return  # no name holds a refused character (one C-level test for 100,000 names)
    wanted = set(selected)
    pairs = zip(header.written_samples, header.samples, strict=True)
    for column, (as_written, as_read) in enumerate(pairs, start=10):
        problem = text_problem(as_written) if as_read in wanted else None
        if problem:
            raise VcfError(
                path, f"#CHROM line, column {column}: sample name {as_written[:40]!r}: {problem}"
            )


def _list(header: Header, limit: int = 10) -> str:
    if not header.samples:
        return "it has no samples"
    names = ", ".join(header.samples[:limit])
    more = f" and {len(header.samples) - limit} more" if len(header.samples) > limit else ""
    return f"samples: {names}{more}"


def describe_samples(header: Header) -> str:
    """``samples: A, B, C`` (shortened) for error messages."""
    return _list(header)


def site_record_summary(record: SiteRecord) -> dict[str, Any]:
    return {
        "chrom": record.chrom,
        "pos": record.pos,
        "end": record.end,
        "ref": record.ref,
        "alt": list(record.alts),
    }
