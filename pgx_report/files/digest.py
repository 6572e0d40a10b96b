"""What a call was made from, identified without reading the whole input.

A call at one site reads the header, the index and a few compressed blocks; hashing the
whole file for provenance costs ~0.75 s per GB and dominates a call from a large file.
The **region digest** (scheme ``pgx-report-region-sha256/1``, docs/calling.md) is the
SHA-256 of a byte stream built from exactly what the call depends on:

    b"pgx-report-region-sha256/1\\n"
    b"size <file size in bytes>\\n"
    b"index <SHA-256 of the index file's bytes, or '-' when there is none>\\n"
    for each byte range [start, end) of the file, in increasing order, merged:
        b"range <start> <end>\\n" + the file's bytes start..end-1

The ranges are the header (from byte 0 to the end of the compressed block holding its
last byte), the blocks an index query for the site returns (TBI/CSI/BAI chunks, filtered
by the linear index as htslib does; CRAM containers from the .crai), or the blocks a
bisection read, and the BGZF end-of-file marker. They are written into the call
(``provenance.input.region_digest.ranges``), so anyone can recompute the digest with a
few lines of code. Same file -> same digest; a changed byte in the header, the index,
the blocks read or a changed size -> another digest. A byte changed elsewhere in a file
of the same size is **not** seen (the call did not read it either): ``--full-digest``
adds the whole-file SHA-256.

Sidecar checksums a sequencing provider ships (``FILE.md5``, ``FILE.sha256``) are
recorded as given, "not verified" unless the whole file was hashed and compared.
"""

from __future__ import annotations

import gzip
import hashlib
import struct
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from pgx_report.errors import InputError
from pgx_report.files.io import reading, sha256_file
from pgx_report.files.sniff import BGZF_EOF, BGZF_MAGIC

SCHEME = "pgx-report-region-sha256/1"
_CHUNK = 1 << 20
_TBI_MIN_SHIFT, _TBI_DEPTH = 14, 5
_MAX_HEADER = 1 << 30  # a header larger than this is not a header we can hash region-wise

Range = tuple[int, int]


@dataclass(frozen=True)
class RegionDigest:
    """The region digest of one input (see the module text for the exact byte stream)."""

    sha256: str
    size: int
    index_sha256: str | None
    ranges: tuple[Range, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "scheme": SCHEME,
            "sha256": self.sha256,
            "size": self.size,
            "index_sha256": self.index_sha256,
            "ranges": [[start, end] for start, end in self.ranges],
        }


def merge_ranges(ranges: Iterable[Range], size: int) -> tuple[Range, ...]:
    """Sorted, clipped to ``[0, size)``, overlapping and touching ranges merged."""
    out: list[list[int]] = []
    for start, end in sorted((max(0, a), min(size, b)) for a, b in ranges):
        if end <= start:
            continue
        if out and start <= out[-1][1]:
            out[-1][1] = max(out[-1][1], end)
        else:
            out.append([start, end])
    return tuple((a, b) for a, b in out)


def region_digest(path: Path, ranges: Iterable[Range], index: Path | None) -> RegionDigest:
    """The region digest of ``path`` over ``ranges`` (merged here) and its ``index``."""
    size = path.stat().st_size
    merged = merge_ranges(ranges, size)
    index_sha = sha256_file(index) if index is not None else None
    digest = hashlib.sha256(f"{SCHEME}\nsize {size}\nindex {index_sha or '-'}\n".encode())
    with path.open("rb") as handle:
        for start, end in merged:
            digest.update(f"range {start} {end}\n".encode())
            handle.seek(start)
            left = end - start
            while left:
                chunk = handle.read(min(left, _CHUNK))
                if not chunk:
                    raise InputError(path, "file shrank while it was read")
                digest.update(chunk)
                left -= len(chunk)
    return RegionDigest(digest.hexdigest(), size, index_sha, merged)


# --------------------------------------------------------------------------- BGZF


def bgzf_block_end(handle: BinaryIO, offset: int) -> int:
    """The offset just past the BGZF block that starts at ``offset``."""
    handle.seek(offset)
    head = handle.read(18)
    if len(head) < 18 or head[:4] != BGZF_MAGIC or head[12:14] != b"BC":
        raise ValueError(f"no BGZF block at byte {offset}")
    return offset + int(struct.unpack_from("<H", head, 16)[0]) + 1


def chunk_range(handle: BinaryIO, begin: int, end: int) -> Range:
    """The compressed bytes holding the virtual-offset chunk ``[begin, end)``."""
    last_block, within = end >> 16, end & 0xFFFF
    stop = bgzf_block_end(handle, last_block) if within else last_block
    return begin >> 16, max(stop, bgzf_block_end(handle, begin >> 16))


def bgzf_header_range(handle: BinaryIO, header_length: Callable[[bytes], int | None]) -> Range:
    """``[0, end of the block holding the header's last byte)`` of a BGZF file.

    ``header_length(data)``: the header's length in decompressed bytes once ``data`` (the
    decompressed start of the file) is long enough to tell, else None."""
    data = bytearray()
    offset = 0
    while True:
        handle.seek(offset)
        head = handle.read(18)
        if len(head) < 18 or head[:4] != BGZF_MAGIC:
            return 0, offset  # end of the file: the header is all there is
        bsize = struct.unpack_from("<H", head, 16)[0] + 1
        handle.seek(offset)
        raw = handle.read(bsize)
        xlen = struct.unpack_from("<H", raw, 10)[0]
        try:
            data += zlib.decompress(raw[12 + xlen : bsize - 8], -15)
        except zlib.error:
            raise ValueError(f"corrupt BGZF block at byte {offset}") from None
        offset += bsize
        length = header_length(bytes(data)) if data else None
        if (length is not None and length <= len(data)) or len(data) > _MAX_HEADER:
            return 0, offset


def vcf_header_length(data: bytes) -> int | None:
    """Length of a VCF text header (up to and including the ``#CHROM`` line), once known."""
    at = 0 if data.startswith(b"#CHROM") else data.find(b"\n#CHROM")
    if at == -1:
        return None
    end = data.find(b"\n", at + 1)
    return None if end == -1 else end + 1


def bcf_header_length(data: bytes) -> int | None:
    if len(data) < 9:
        return None
    return 9 + int(struct.unpack_from("<I", data, 5)[0])


def bam_header_length(data: bytes) -> int | None:
    if len(data) < 12:
        return None
    at = 8 + int(struct.unpack_from("<i", data, 4)[0])
    if len(data) < at + 4:
        return None
    (n_ref,) = struct.unpack_from("<i", data, at)
    at += 4
    for _ in range(n_ref):
        if len(data) < at + 4:
            return None
        at += 4 + int(struct.unpack_from("<i", data, at)[0]) + 4
    return at


# --------------------------------------------------------------------------- binning indexes


@dataclass(frozen=True)
class _RefIndex:
    bins: dict[int, tuple[int, list[Range]]]  # bin -> (CSI loffset or 0, chunks)
    linear: list[int]  # TBI/BAI: the site window's minimum offset; empty for CSI


def site_chunks(
    index_bytes: bytes,
    name: str,
    number: int | None,
    pos: int,
    ref_offsets: Sequence[int] | None = None,
) -> list[Range] | None:
    """Virtual-offset chunks an htslib query of ``pos`` (1-based) on one sequence reads from
    a decompressed TBI/CSI/BAI index (SAM spec section 5, tabix spec). The sequence is
    found by ``name`` where the index stores names (TBI, tabix-style CSI), else by its
    ``number`` in the file's header. None when the index does not list the sequence
    (then nothing is read for the site). ``ref_offsets``: where each sequence's bins
    start, when a walk of the whole index already found them."""
    magic = index_bytes[:4]
    if magic == b"TBI\x01":
        (n_ref,) = struct.unpack_from("<i", index_bytes, 4)
        (l_nm,) = struct.unpack_from("<i", index_bytes, 32)
        names = index_bytes[36 : 36 + l_nm].split(b"\0")[:-1]
        start, min_shift, depth, csi = 36 + l_nm, _TBI_MIN_SHIFT, _TBI_DEPTH, False
    elif magic == b"BAI\x01":
        (n_ref,) = struct.unpack_from("<i", index_bytes, 4)
        names, start, min_shift, depth, csi = [], 8, _TBI_MIN_SHIFT, _TBI_DEPTH, False
    elif magic == b"CSI\x01":
        min_shift, depth, l_aux = struct.unpack_from("<iii", index_bytes, 4)
        names = []
        if l_aux >= 28:  # tabix-style CSI keeps the sequence names in aux
            (l_nm,) = struct.unpack_from("<i", index_bytes, 16 + 24)
            names = index_bytes[16 + 28 : 16 + 28 + l_nm].split(b"\0")[:-1]
        (n_ref,) = struct.unpack_from("<i", index_bytes, 16 + l_aux)
        start, csi = 16 + l_aux + 4, True
    else:
        raise ValueError("not a TBI, CSI or BAI index")
    if names:
        if name.encode() not in names:
            return None
        ref = names.index(name.encode())
    elif number is None:
        return None
    else:
        ref = number
    if not 0 <= ref < n_ref:
        return None
    path = _bin_path(pos - 1, min_shift, depth)
    wanted, window = frozenset(path), (pos - 1) >> min_shift
    if ref_offsets is not None and len(ref_offsets) == n_ref:
        found = _walk_to(index_bytes, ref_offsets[ref], 0, csi, wanted, window)
    else:
        found = _walk_to(index_bytes, start, ref, csi, wanted, window)
    return _query(found, path)


def _walk_to(
    data: bytes, offset: int, ref: int, csi: bool, wanted: frozenset[int], window: int
) -> _RefIndex:
    """Skip the sequences before ``ref``; read that one's ``wanted`` bins (the others are
    only stepped over) and its linear index entry for the 16 kb ``window``."""
    bin_head = 16 if csi else 8  # bin (u32) [+ loffset (u64)] + n_chunk (i32)
    unpack = struct.unpack_from
    for number in range(ref + 1):
        (n_bin,) = unpack("<i", data, offset)
        offset += 4
        bins: dict[int, tuple[int, list[Range]]] = {}
        for _ in range(n_bin):
            if csi:
                bin_id, loffset, n_chunk = unpack("<IQi", data, offset)
            else:
                (bin_id, n_chunk), loffset = unpack("<Ii", data, offset), 0
            if number == ref and bin_id in wanted:
                pairs = unpack(f"<{2 * n_chunk}Q", data, offset + bin_head)
                bins[bin_id] = (loffset, list(zip(pairs[::2], pairs[1::2], strict=True)))
            offset += bin_head + 16 * n_chunk
        linear: list[int] = []
        if not csi:
            (n_intv,) = unpack("<i", data, offset)
            if number == ref and n_intv > 0:
                linear = [unpack("<Q", data, offset + 4 + 8 * min(window, n_intv - 1))[0]]
            offset += 4 + 8 * n_intv
        if number == ref:
            return _RefIndex(bins, linear)
    raise AssertionError("unreachable")


def _bin_path(pos0: int, min_shift: int, depth: int) -> list[int]:
    """The bins, from the root to the leaf, whose range holds ``pos0`` (0-based)."""
    return [
        ((1 << (3 * level)) - 1) // 7 + (pos0 >> (min_shift + 3 * (depth - level)))
        for level in range(depth + 1)
    ]


def _query(ref: _RefIndex, path: Sequence[int]) -> list[Range]:
    """The chunks of ``path``'s bins that can hold a record over the site: those ending
    after the linear index's offset for its window (TBI/BAI), or after the deepest
    present bin's ``loffset`` (CSI), as htslib filters them."""
    min_off = ref.linear[0] if ref.linear else 0
    if not ref.linear:
        for bin_id in reversed(path):
            if bin_id in ref.bins:
                min_off = ref.bins[bin_id][0]
                break
    return sorted(
        chunk for bin_id in path for chunk in ref.bins.get(bin_id, (0, []))[1] if chunk[1] > min_off
    )


def read_index(index: Path) -> bytes:
    """The decompressed bytes of a BGZF-compressed (TBI/CSI) or raw (BAI) index."""
    raw = index.read_bytes()
    if raw[:4] == BGZF_MAGIC:
        return inflate_bgzf(raw)
    return gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw


def inflate_bgzf(raw: bytes) -> bytes:
    """Every block of a BGZF file, inflated (3x faster than ``gzip.decompress``, which
    parses each of the file's gzip members in Python). ValueError/zlib.error if corrupt."""
    view, out, at = memoryview(raw), [], 0
    while at < len(raw):
        if raw[at : at + 4] != BGZF_MAGIC or len(raw) < at + 18:
            raise ValueError(f"no BGZF block at byte {at}")
        (xlen,) = struct.unpack_from("<H", raw, at + 10)
        bsize = int(struct.unpack_from("<H", raw, at + 16)[0]) + 1
        if at + bsize > len(raw):
            raise ValueError(f"truncated BGZF block at byte {at}")
        data = zlib.decompress(view[at + 12 + xlen : at + bsize - 8], -15)
        crc, isize = struct.unpack_from("<II", raw, at + bsize - 8)
        if len(data) != isize or zlib.crc32(data) != crc:
            raise ValueError(f"corrupt BGZF block at byte {at}")
        out.append(data)
        at += bsize
    return b"".join(out)


def binning_index_ranges(
    path: Path,
    index: Path,
    sequences: Sequence[tuple[str, int | None]],
    pos: int,
    header_length: Callable[[bytes], int | None],
    *,
    read: tuple[bytes, Sequence[int]] | None = None,
) -> list[Range]:
    """The byte ranges of a BGZF file (VCF.gz, BCF, BAM) a call at ``pos`` on any of
    ``sequences`` ((name, number in the header) of each contig alias present) reads
    through its index: the header, the site's chunks, the end-of-file marker.
    ``read``: the decompressed index and where each sequence starts in it, when the
    caller already read it (else it is read here)."""
    data, offsets = read if read is not None else (read_index(index), None)
    chunks = [c for name, n in sequences for c in site_chunks(data, name, n, pos, offsets) or []]
    size = path.stat().st_size
    with path.open("rb") as handle:
        ranges = [bgzf_header_range(handle, header_length)]
        ranges += [chunk_range(handle, begin, end) for begin, end in chunks]
    ranges.append((size - len(BGZF_EOF), size))
    return ranges


def crai_ranges(path: Path, index: Path, ref: int, pos: int) -> list[Range]:
    """The byte ranges of a CRAM a call at ``ref:pos`` (1-based) reads through its .crai:
    the file definition and header container (everything before the first data container),
    each container holding a slice that spans the site, and the end-of-file container."""
    rows = []
    for line in gzip.decompress(index.read_bytes()).decode("ascii").splitlines():
        fields = line.split("\t")
        if len(fields) >= 6:
            rows.append(tuple(int(value) for value in fields[:6]))
    size = path.stat().st_size
    starts = sorted({row[3] for row in rows})
    ranges: list[Range] = [(0, starts[0] if starts else size)]
    for seq, begin, span, container, _, _ in rows:
        if seq == ref and begin <= pos < begin + max(span, 1):
            following = [s for s in starts if s > container]
            ranges.append((container, following[0] if following else size))
    eof = 38 if _cram_major(path) >= 3 else 30
    ranges.append((max(0, size - eof), size))
    return ranges


def _cram_major(path: Path) -> int:
    with path.open("rb") as handle:
        head = handle.read(6)
    return head[4] if len(head) >= 6 else 3


# --------------------------------------------------------------------------- sidecars


@dataclass(frozen=True)
class Sidecar:
    """A checksum file shipped beside the input (``FILE.md5``, ``FILE.sha256``)."""

    file: str
    algorithm: str  # md5 | sha256
    value: str
    verified: bool  # True only when the whole file was hashed here and matched

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "algorithm": self.algorithm,
            "value": self.value,
            "verified": self.verified,
        }


SIDECAR_SUFFIXES: Sequence[tuple[str, str, int]] = ((".md5", "md5", 32), (".sha256", "sha256", 64))


def read_sidecars(path: Path) -> list[tuple[Path, str, str]]:
    """(sidecar file, algorithm, value) of each checksum file beside ``path``.

    The first word of the file is the checksum (``md5sum``/``sha256sum`` output, or the
    bare value); anything else is refused (exit 2), naming the sidecar."""
    found = []
    for suffix, algorithm, length in SIDECAR_SUFFIXES:
        sidecar = path.with_name(path.name + suffix)
        if not sidecar.is_file():
            continue
        try:
            text = sidecar.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError):
            raise InputError(sidecar, f"cannot read it as a {algorithm} checksum") from None
        words = text.split()
        value = words[0].lower() if words else ""
        if len(value) != length or any(c not in "0123456789abcdef" for c in value):
            raise InputError(
                sidecar,
                f"line 1: not a {algorithm} checksum ({length} hexadecimal digits expected)",
            )
        found.append((sidecar, algorithm, value))
    return found


# --------------------------------------------------------------------------- identity


@dataclass(frozen=True)
class WholeFile:
    """Digests of every byte of the file (``--full-digest``, or a call that read it all)."""

    sha256: str
    md5: str | None = None


def whole_file(path: Path, *, md5: bool = False) -> WholeFile:
    """SHA-256 (and MD5, for an ``.md5`` sidecar) of the whole file, in one pass."""
    sha = hashlib.sha256()
    other = hashlib.md5(usedforsecurity=False) if md5 else None
    with reading(path), path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            sha.update(chunk)
            if other is not None:
                other.update(chunk)
    return WholeFile(sha.hexdigest(), other.hexdigest() if other is not None else None)


def wants_md5(path: Path) -> bool:
    return path.with_name(path.name + ".md5").is_file()


@dataclass(frozen=True)
class Identity:
    """What identifies a genotype input in its call's provenance."""

    sha256: str | None  # whole-file SHA-256, when every byte was hashed
    region: RegionDigest | None  # what the call read (absent when it read the whole file)
    checksums: tuple[Sidecar, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.sha256 is not None:
            out["sha256"] = self.sha256
        if self.region is not None:
            out["region_digest"] = self.region.to_dict()
        if self.checksums:
            out["checksums"] = [sidecar.to_dict() for sidecar in self.checksums]
        return out


def identify(
    path: Path,
    ranges: Iterable[Range] | None,
    index: Path | None,
    whole: WholeFile | None = None,
) -> Identity:
    """The identity of ``path`` for a call that read ``ranges`` (None: the whole file).

    ``whole``: the whole-file digests when already computed (``--full-digest``); a call that
    read the whole file gets its SHA-256 here. Sidecar checksums are compared with what was
    computed: a mismatch is bad input (exit 2); one not compared is "not verified"."""
    sidecars = read_sidecars(path)
    if whole is None and ranges is None:
        whole = whole_file(path)
    region = region_digest(path, ranges, index) if ranges is not None else None
    checked = []
    for sidecar, algorithm, value in sidecars:
        computed = None
        if whole is not None:
            computed = whole.sha256 if algorithm == "sha256" else whole.md5
        if computed is not None and computed != value:
            raise InputError(
                path,
                f"its {algorithm} is {computed}, but {sidecar.name} says {value} "
                "(a corrupt or incomplete copy?)",
            )
        checked.append(Sidecar(sidecar.name, algorithm, value, computed is not None))
    return Identity(whole.sha256 if whole else None, region, tuple(checked))
