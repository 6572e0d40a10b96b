"""Random access to one site of a VCF without an index.

Labs hand us multi-gigabyte gVCFs without a ``.tbi``/``.csi``. Decompressing the
whole file to read one site wastes minutes; the physical limit is reading a few
compressed blocks. :func:`locate` finds the records that overlap ``chrom:pos``
by **bisection over the file**:

* BGZF (``bgzip``) files: seek to a byte offset, resynchronise on the next BGZF
  block header (verified: gzip magic, the ``BC`` extra field, BSIZE, the block
  inflates with a matching CRC-32/ISIZE, and the next block header follows),
  skip the partial line, read the first complete record, compare, narrow.
* Plain (uncompressed) VCF: the same over 64 KiB chunks of the file.
* Plain gzip (not BGZF) cannot be seeked: it is streamed, with an early exit
  once the (so far sorted) file has passed the site; the rest of the stream is
  still inflated (not parsed) so that a truncated file is refused.

The file's contig order is **learnt from the probes**, never assumed: the real
NYGC gVCFs are grouped in lexicographic order (chr1, chr10, ...), others follow
the header or natural order. The header order, natural order and lexicographic
order are only used as a guess of where to look first; the answer never depends
on the guess. Every probe and every scanned line is checked against a sorted
file (each contig one contiguous run, positions non-decreasing within it); any
inconsistency (or a malformed probe line, or an exhausted probe budget) falls
back to a full streaming scan, so bisection never returns a different answer
from a streaming scan of a sorted file.

"Overlapping" means: on one of the site's contig aliases, ``POS <= pos <= END``
where END is the larger of ``POS + len(REF) - 1`` and ``INFO/END`` (gVCF
reference blocks). Bisection reads every record that starts within ``lookback``
bases before the site, and the last record starting before that window, so a
gVCF reference block of any length that spans the site is found, as are
deletions starting up to ``lookback`` bases before it. (A record longer than
``lookback`` followed by further records before the window is the one layout
this cannot see; no small-variant caller writes one.)

Nothing is ever written: no index, no cache, no temporary file beside the input.
"""

from __future__ import annotations

import bisect
import itertools
import logging
import re
import struct
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import BinaryIO, Literal

from pgx_report.errors import VcfError
from pgx_report.files.sniff import (
    BGZF_EOF,
    BGZF_MAGIC,
    GZIP_MAGIC,
    Container,
    check_bgzf_eof,
    file_kind,
)

log = logging.getLogger(__name__)

Method = Literal["bisection", "stream"]

_TEXT_CHUNK = 1 << 16  # pseudo-block size for uncompressed files
_MAX_BGZF_BLOCK = 1 << 16
_STREAM_CHUNK = 1 << 20
_DEFAULT_LOOKBACK = 10_000
_MAX_PROBES = 400
_END_RE = re.compile(rb"(?:^|;)END=(\d+)(?:;|$)")


@dataclass(frozen=True)
class Located:
    """What :func:`locate` found.

    ``header`` is the header text (every ``#`` line, newline-terminated);
    ``records`` the raw record lines (no newline) that overlap the site, in
    file order; ``method`` how they were found; ``contig`` the contig name as
    written in the file (None when no overlapping record was found).
    """

    header: str
    records: tuple[str, ...]
    method: Method
    contig: str | None
    probes: int = 0
    # bisection: the byte ranges of the file it read (every block it decoded, and a BGZF
    # file's end-of-file marker); the answer depends on no other byte. None: streamed.
    ranges: tuple[tuple[int, int], ...] | None = None


class NeedsFullScan(Exception):
    """Raised instead of falling back to a streaming scan when ``fallback=False``:
    the file is not sorted where it was read, or a record could not be parsed. The
    caller then reads the whole file its own way (and reports bad lines its way)."""


class _Inconsistent(NeedsFullScan):
    """The probes contradict a sorted file: fall back to streaming."""


# --------------------------------------------------------------------------- sources


class _Blocks:
    """A file seen as a sequence of data blocks addressed by their byte offset."""

    def __init__(self, path: Path, handle: BinaryIO, size: int) -> None:
        self.path = path
        self.handle = handle
        self.size = size  # offset where data ends
        self._cache: OrderedDict[int, tuple[bytes, int]] = OrderedDict()
        self.chain: dict[int, int] = {}  # block start -> next block start, once known
        self.reads = 0

    def block(self, offset: int) -> tuple[bytes, int]:
        """(decompressed data, offset of the next block) of the block at ``offset``."""
        hit = self._cache.get(offset)
        if hit is not None:
            self._cache.move_to_end(offset)
            return hit
        value = self._load(offset)
        self._cache[offset] = value
        self.chain[offset] = value[1]
        if len(self._cache) > 160:
            self._cache.popitem(last=False)
        return value

    def next_block(self, offset: int) -> int | None:
        """The first block start at or after ``offset`` (None past the data)."""
        raise NotImplementedError

    def _load(self, offset: int) -> tuple[bytes, int]:
        raise NotImplementedError


class _TextBlocks(_Blocks):
    def next_block(self, offset: int) -> int | None:
        start = -(-offset // _TEXT_CHUNK) * _TEXT_CHUNK
        return start if start < self.size else None

    def _load(self, offset: int) -> tuple[bytes, int]:
        self.handle.seek(offset)
        self.reads += 1
        data = self.handle.read(min(_TEXT_CHUNK, self.size - offset))
        return data, offset + len(data)


class _BgzfBlocks(_Blocks):
    def _parse(self, raw: bytes, at: int) -> tuple[int, bytes] | None:
        """Verify a BGZF block starting at ``raw[at:]``; (block size, data) or None."""
        if raw[at : at + 4] != BGZF_MAGIC or len(raw) < at + 18:
            return None
        xlen = struct.unpack_from("<H", raw, at + 10)[0]
        if xlen < 6 or raw[at + 12 : at + 14] != b"BC" or raw[at + 14 : at + 16] != b"\x02\x00":
            return None
        bsize = struct.unpack_from("<H", raw, at + 16)[0] + 1
        if bsize < 12 + xlen + 8 or len(raw) < at + bsize:
            return None
        cdata = raw[at + 12 + xlen : at + bsize - 8]
        crc, isize = struct.unpack_from("<II", raw, at + bsize - 8)
        try:
            inflater = zlib.decompressobj(-15)
            data = inflater.decompress(cdata)
        except zlib.error:
            return None
        if not inflater.eof or len(data) != isize or zlib.crc32(data) != crc:
            return None
        return bsize, data

    def _read(self, offset: int, size: int) -> bytes:
        self.handle.seek(offset)
        self.reads += 1
        return self.handle.read(size)

    def _load(self, offset: int) -> tuple[bytes, int]:
        raw = self._read(offset, _MAX_BGZF_BLOCK + 1)
        parsed = self._parse(raw, 0)
        if parsed is None:
            raise VcfError(self.path, f"corrupt BGZF block at byte {offset}")
        bsize, data = parsed
        return data, offset + bsize

    def next_block(self, offset: int) -> int | None:
        """Resynchronise: the first verified BGZF block header at or after ``offset``."""
        pos = offset
        window = 2 * _MAX_BGZF_BLOCK + 32
        while pos < self.size:
            raw = self._read(pos, window)
            full = len(raw) == window
            at = raw.find(BGZF_MAGIC)
            while at != -1 and pos + at < self.size and (not full or at <= _MAX_BGZF_BLOCK):
                parsed = self._parse(raw, at)
                # the next block header must follow right after this block
                if parsed is not None and raw[at + parsed[0] : at + parsed[0] + 4] == BGZF_MAGIC:
                    start = pos + at
                    self._cache[start] = (parsed[1], start + parsed[0])
                    self.chain[start] = start + parsed[0]
                    return start
                at = raw.find(BGZF_MAGIC, at + 1)
            if not full:
                return None
            pos += _MAX_BGZF_BLOCK + 1
        return None


# --------------------------------------------------------------------------- records

Cursor = tuple[int, int]  # (block offset, offset of the line start inside the block data)


@dataclass(frozen=True)
class _Rec:
    chrom: str
    pos: int
    end: int


def _parse_fields(line: bytes) -> _Rec:
    """CHROM, POS and END from a record line (or its first eight fields)."""
    parts = line.split(b"\t", 8)
    if len(parts) < 8:
        raise ValueError("fewer than 8 tab-separated fields")
    pos = int(parts[1])
    if pos < 0:
        raise ValueError("negative POS")
    end = pos + max(len(parts[3]), 1) - 1
    info = parts[7].rstrip(b"\r")
    if b"END=" in info:
        found = _END_RE.search(info)
        if found:
            end = max(end, int(found.group(1)))
    return _Rec(parts[0].decode("utf-8", "replace"), pos, end)


@dataclass
class _Obs:
    cursor: Cursor
    rec: _Rec | None  # None: end of data
    probe_block: int  # a block whose probe yields this record
    line: bytes | None = None  # full line, for records of the target contig read by a scan
    closed: bool = False  # every record between this one and the next observation is known


class _Reader:
    """Line access over :class:`_Blocks`."""

    def __init__(self, blocks: _Blocks) -> None:
        self.blocks = blocks

    def lines(self, cursor: Cursor, full: bool = True) -> Iterator[tuple[Cursor, bytes]]:
        """(cursor, line without newline) from ``cursor`` to the end of the data.

        With ``full=False`` a line that crosses blocks is cut after its first eight
        fields (the rest is skipped, not gathered): enough to learn CHROM, POS and END
        without assembling a 100,000-sample record."""
        blocks = self.blocks
        block, i = cursor
        data, nxt = blocks.block(block)
        while True:
            if i >= len(data):
                if nxt >= blocks.size:
                    return
                block, i = nxt, 0
                data, nxt = blocks.block(block)
                continue
            j = data.find(b"\n", i)
            if j != -1:
                yield (block, i), data[i:j]
                i = j + 1
                continue
            start = (block, i)
            parts = [data[i:]]
            gather = full or parts[0].count(b"\t") < 8
            while True:
                if nxt >= blocks.size:
                    yield start, b"".join(parts)
                    return
                block = nxt
                data, nxt = blocks.block(block)
                j = data.find(b"\n")
                if gather:
                    parts.append(data if j == -1 else data[:j])
                    gather = full or sum(p.count(b"\t") for p in parts) < 8
                if j != -1:
                    yield start, b"".join(parts)
                    i = j + 1
                    break

    def probe(self, offset: int) -> tuple[int, Cursor | None, bytes]:
        """Resynchronise at ``offset``; (block probed, cursor, first fields) of the
        first complete record starting after the first newline of that block."""
        block = self.blocks.next_block(offset)
        if block is None:
            return self.blocks.size, None, b""
        first = True
        for cursor, line in self.lines((block, 0), full=False):
            if first:
                first = False
                if cursor == (block, 0):
                    continue  # the partial line the block starts in (or may start in)
            if line.startswith(b"#"):
                continue
            return block, cursor, line
        return block, None, b""


# --------------------------------------------------------------------------- ordering


def _natural_key(name: str) -> tuple[int, int, str]:
    bare = name[3:] if name.lower().startswith("chr") else name
    if bare.isdigit():
        return (0, int(bare), "")
    special = {"X": 1, "Y": 2, "M": 3, "MT": 3}
    if bare in special:
        return (1, special[bare], "")
    return (2, 0, name)


class _Guess:
    """Guess of where the target contig lies among the contigs seen so far."""

    def __init__(self, header_contigs: Sequence[str], target_name: str) -> None:
        header_rank = {name: i for i, name in enumerate(header_contigs)}
        self.orders: list[Callable[[str], tuple[int, int, str]]] = [
            lambda c: (c not in header_rank, header_rank.get(c, 0), ""),
            _natural_key,
            lambda c: (0, 0, c),
        ]
        self.target = target_name

    def gap(self, seen: Sequence[str]) -> int | None:
        """Index i such that the target is guessed between seen[i] and seen[i+1]."""
        for order in self.orders:
            keys = [order(c) for c in seen]
            if any(not (a < b) for a, b in itertools.pairwise(keys)):
                continue
            return bisect.bisect_left(keys, order(self.target)) - 1
        return None


# --------------------------------------------------------------------------- bisection


@dataclass
class _Observations:
    """The records the probes have seen, in file order (with the end of the data last),
    and the checks that they look like a sorted file."""

    aliases: frozenset[str]
    items: list[_Obs] = field(default_factory=list)

    def group(self, rec: _Rec | None) -> str | None:
        if rec is None:
            return None
        return "\0target" if rec.chrom in self.aliases else rec.chrom

    def add(self, new: _Obs) -> _Obs:
        i = bisect.bisect_left(self.items, new.cursor, key=lambda o: o.cursor)
        if i < len(self.items) and self.items[i].cursor == new.cursor:
            old = self.items[i]
            old.probe_block = min(old.probe_block, new.probe_block)
            if new.line is not None:
                old.line = new.line
            return old
        if i > 0 and self.items[i - 1].closed:
            new.closed = True  # inserted inside a closed gap
        self.items.insert(i, new)
        return new

    def validate(self) -> None:
        """The observations (in file order) must look like a sorted file."""
        done: set[str] = set()
        current: str | None = None
        last_pos = -1
        for o in self.items:
            if o.rec is None:
                break
            g = self.group(o.rec)
            assert g is not None
            if g != current:
                if g in done:
                    raise _Inconsistent(f"contig {o.rec.chrom} appears in two places")
                if current is not None:
                    done.add(current)
                current, last_pos = g, -1
            if o.rec.pos < last_pos:
                raise _Inconsistent(f"{o.rec.chrom}:{o.rec.pos} after position {last_pos}")
            last_pos = o.rec.pos

    def site_window(self, pos: int, lookback: int) -> tuple[int, int] | None:
        """(left, right): the observations between which every record overlapping ``pos``
        lies (left starts before ``pos - lookback``, right after ``pos``); None while no
        record of the target contig has been seen."""
        site_lo = max(pos - lookback, 0)
        tgt = [i for i, o in enumerate(self.items) if o.rec and o.rec.chrom in self.aliases]
        if not tgt:
            return None
        first, last = tgt[0], tgt[-1]
        left = 0
        for i in range(last + 1):
            rec = self.items[i].rec
            if i < first or (rec is not None and rec.pos < site_lo):
                left = i
        right = first
        while right <= last:
            rec = self.items[right].rec
            if rec is not None and rec.pos > pos:
                break
            right += 1
        return left, right

    def open_boundaries(self) -> list[int]:
        """Gaps not yet read between observations of two different contigs."""
        return [
            i
            for i in range(len(self.items) - 1)
            if not self.items[i].closed
            and self.group(self.items[i].rec) != self.group(self.items[i + 1].rec)
        ]

    def contig_runs(self) -> tuple[list[str], list[int]]:
        """The contigs seen in file order, and the index of the last observation of each."""
        seen: list[str] = []
        ends: list[int] = []
        for i, o in enumerate(self.items):
            if o.rec is None:
                break
            if not seen or seen[-1] != o.rec.chrom:
                seen.append(o.rec.chrom)
                ends.append(i)
            else:
                ends[-1] = i
        return seen, ends

    def overlapping(self, reader: _Reader, pos: int) -> list[bytes]:
        """Every observed record of the contig that overlaps the site (the window
        between the two bounding observations has been read completely)."""
        out: list[bytes] = []
        for o in self.items:
            rec = o.rec
            if rec is None or rec.chrom not in self.aliases:
                continue
            if rec.pos <= pos <= rec.end:
                if o.line is None:
                    o.line = next(reader.lines(o.cursor))[1]
                out.append(o.line)
        return out


def _scan_gap(reader: _Reader, seen: _Observations, a: _Obs, b: _Obs, pos: int) -> list[_Obs]:
    """Read every record between observations ``a`` and ``b`` (checking their order);
    the ones worth keeping: records overlapping ``pos`` and the edges of each contig run."""
    found: list[_Obs] = []
    prev: _Obs | None = None
    prev_group = seen.group(a.rec)
    prev_pos = a.rec.pos if a.rec is not None else -1
    for cursor, line in reader.lines(a.cursor, full=False):
        if cursor >= b.cursor:
            if cursor > b.cursor and b.rec is not None:
                raise _Inconsistent("scan passed an observation")
            break
        if cursor == a.cursor:  # the line at a's cursor is a itself
            continue
        if line.startswith(b"#"):
            raise _Inconsistent("header line among records")
        parts = line.split(b"\t", 2)
        if line.count(b"\t") < 7:
            raise _Inconsistent("a record with fewer than 8 fields")
        try:
            chrom, start = parts[0].decode("utf-8", "replace"), int(parts[1])
            keep = chrom in seen.aliases
            # the full parse (REF, INFO/END) only where it can matter
            rec = _parse_fields(line) if keep and start <= pos else _Rec(chrom, start, start)
        except (ValueError, IndexError) as exc:
            raise _Inconsistent(f"unparsable record: {exc}") from None
        g = seen.group(rec)
        if g == prev_group:
            if rec.pos < prev_pos:
                raise _Inconsistent(f"{rec.chrom}:{rec.pos} after position {prev_pos}")
        elif prev is not None and (not found or found[-1] is not prev):
            found.append(prev)  # the last record of the previous run
        overlaps = keep and rec.pos <= pos <= rec.end
        current = _Obs(cursor, rec, cursor[0])
        if overlaps or g != prev_group:
            found.append(current)
        prev, prev_group, prev_pos = current, g, rec.pos
    if prev is not None and (not found or found[-1] is not prev):
        found.append(prev)
    return found


@dataclass
class _Search:
    """Bisection: probe the gaps between observations until the site's window is read."""

    reader: _Reader
    pos: int
    lookback: int
    guess: _Guess
    seen: _Observations
    probes: int = 0
    # per gap (keyed by the left observation's cursor): exclusive upper bound of probing
    upper: dict[Cursor, int] = field(default_factory=dict)

    def add_last_record(self, first: Cursor) -> None:
        """Observe the file's last record too: a cheap check of the tail's order."""
        start = max(first[0] + 1, self.reader.blocks.size - 2 * _MAX_BGZF_BLOCK)
        _, cursor, _ = self.reader.probe(start)
        if cursor is None:
            return
        last: tuple[Cursor, bytes] | None = None
        for item in self.reader.lines(cursor, full=False):
            if item[1].strip():
                last = item
        if last is not None and last[0] > first:
            try:
                rec = _parse_fields(last[1])
            except ValueError as exc:
                raise _Inconsistent(f"unparsable record: {exc}") from None
            self.seen.add(_Obs(last[0], rec, last[0][0]))

    def probe_gap(self, i: int) -> None:
        """Probe the middle of the gap between observations i and i+1, or close it."""
        a, b = self.seen.items[i], self.seen.items[i + 1]
        lo = a.cursor[0] + 1
        hi = min(b.probe_block, self.upper.get(a.cursor, b.probe_block))
        if lo >= hi or self.reader.blocks.chain.get(a.cursor[0], -1) >= hi:
            self.close(i)
            return
        mid = (lo + hi) // 2
        self.probes += 1
        if self.probes > _MAX_PROBES:
            raise _Inconsistent("probe budget exhausted")
        block, cursor, prefix = self.reader.probe(mid)
        if cursor is None or cursor >= b.cursor:
            if cursor is not None and cursor > b.cursor:
                raise _Inconsistent("probe landed beyond a later observation")
            self.upper[a.cursor] = mid
            b.probe_block = min(b.probe_block, block)
            return
        if cursor <= a.cursor:
            raise _Inconsistent("probe landed before an earlier observation")
        try:
            rec = _parse_fields(prefix)
        except ValueError as exc:
            raise _Inconsistent(f"unparsable record: {exc}") from None
        self.seen.add(_Obs(cursor, rec, block))

    def close(self, i: int) -> None:
        """Read every record between observations i and i+1 (and check their order)."""
        a, b = self.seen.items[i], self.seen.items[i + 1]
        found = _scan_gap(self.reader, self.seen, a, b, self.pos)
        a.closed = True
        for o in found:
            o.closed = True
            self.seen.add(o)

    def run(self) -> list[bytes]:
        while True:
            self.seen.validate()
            window = self.seen.site_window(self.pos, self.lookback)
            if window is not None:
                left, right = window
                open_gaps = [i for i in range(left, right) if not self.seen.items[i].closed]
                if not open_gaps:
                    return self.seen.overlapping(self.reader, self.pos)
                # narrow the window's edges first, then fill the inside
                if open_gaps[0] == left or open_gaps[-1] != right - 1:
                    self.probe_gap(open_gaps[0])
                else:
                    self.probe_gap(open_gaps[-1])
                continue
            candidates = self.seen.open_boundaries()
            if not candidates:
                return []  # every contig boundary is known: the contig is absent
            self.probe_gap(self.pick(candidates))

    def pick(self, candidates: list[int]) -> int:
        """The contig boundary to probe next: where the guess puts the target, else the
        widest gap."""
        seen, ends = self.seen.contig_runs()
        k = self.guess.gap(seen)
        if k is not None and k >= 0:
            boundary = ends[k]
            if boundary in candidates:
                return boundary
        items = self.seen.items
        return max(candidates, key=lambda i: items[i + 1].probe_block - items[i].cursor[0])


# --------------------------------------------------------------------------- header


def _read_header(reader: _Reader, path: Path) -> tuple[str, Cursor | None, bytes]:
    """Header text, cursor of the first record and its line (None: no records)."""
    blocks = reader.blocks
    buf = bytearray()
    starts: list[tuple[int, int]] = []  # (offset in buf, block offset)
    block = 0
    while True:
        data, nxt = blocks.block(block)
        starts.append((len(buf), block))
        buf += data
        if not buf.startswith(b"#"):
            break
        at = 0 if buf.startswith(b"#CHROM") else buf.find(b"\n#CHROM")
        if at != -1:
            end = buf.find(b"\n", at + 1)
            if end != -1 and (end + 1 < len(buf) or nxt >= blocks.size):
                break
        if nxt >= blocks.size:
            break
        block = nxt
    at = 0 if buf.startswith(b"#CHROM") else buf.find(b"\n#CHROM")
    if not buf.startswith(b"#") or at == -1:
        raise VcfError(path, "no '#CHROM' header line: not a VCF file")
    end = buf.find(b"\n", at + 1)
    if end == -1:
        return _header_text(bytes(buf).split(b"\n"), path), None, b""
    header = _header_text(bytes(buf[:end]).split(b"\n"), path)
    first = end + 1
    if first >= len(buf):
        return header, None, b""
    i = bisect.bisect_right(starts, (first, 1 << 62)) - 1
    cursor = (starts[i][1], first - starts[i][0])
    for cur, line in reader.lines(cursor, full=False):
        if line.strip():
            return header, cur, line
    return header, None, b""


def _header_text(lines: list[bytes], path: Path) -> str:
    if not lines or not lines[-1].startswith(b"#CHROM"):
        raise VcfError(path, "no '#CHROM' header line: not a VCF file")
    try:
        return "".join(line.decode("utf-8") + "\n" for line in lines)
    except UnicodeDecodeError:
        raise VcfError(path, "header is not UTF-8 text") from None


_CONTIG_RE = re.compile(r"^##contig=<.*?\bID=([^,>]+)", re.MULTILINE)


def header_contigs(header: str) -> list[str]:
    """Contig names declared in the header, in header order."""
    return _CONTIG_RE.findall(header)


# --------------------------------------------------------------------------- streaming


def _inflate_stream(handle: BinaryIO, path: Path) -> Iterator[bytes]:
    """Decompressed chunks of a (multi-member) gzip stream; refuses a truncated one."""
    inflater = zlib.decompressobj(31)
    fed = False
    while raw := handle.read(_STREAM_CHUNK):
        while raw:
            fed = True
            try:
                out = inflater.decompress(raw)
            except zlib.error as exc:
                raise VcfError(path, f"corrupt gzip data: {exc}") from None
            if out:
                yield out
            if inflater.eof:
                raw = inflater.unused_data
                inflater = zlib.decompressobj(31)
                fed = False
                if raw and raw[:2] != GZIP_MAGIC:
                    raise VcfError(path, "trailing garbage after the gzip data")
            else:
                raw = b""
    if fed and not inflater.eof:
        raise VcfError(path, "truncated file: the gzip data ends early (incomplete copy?)")


@dataclass
class _StreamScan:
    """The state of a streaming scan, fed complete lines chunk by chunk."""

    path: Path
    aliases: frozenset[bytes]
    pos: int
    early_exit: bool
    strict: bool
    header: list[bytes] = field(default_factory=list)
    out: list[bytes] = field(default_factory=list)  # overlapping record lines
    in_header: bool = True
    sorted_so_far: bool = True
    seen_target: bool = False
    past: bool = False  # the (sorted) file has passed the site: stop parsing
    done: set[bytes] = field(default_factory=set)  # contigs whose run has ended
    current: bytes = b""
    target_last: int = -1
    line_no: int = 0

    def __post_init__(self) -> None:
        self.tokens = [a + b"\t" for a in self.aliases]

    def parse(self, line: bytes, line_no: int) -> _Rec:
        try:
            return _parse_fields(line)
        except ValueError as exc:
            if not self.strict:
                raise NeedsFullScan(f"line {line_no}: {exc}") from None
            raise VcfError(self.path, f"line {line_no}: malformed record: {exc}") from None

    def feed(self, block: bytes) -> None:
        """Complete lines (``block`` ends with a newline)."""
        start = 0
        if self.in_header:
            while start < len(block) and block.startswith(b"#", start):
                nl = block.index(b"\n", start)
                self.header.append(block[start:nl])
                self.line_no += 1
                start = nl + 1
            if start >= len(block):
                return
            self.in_header = False
            _header_text(self.header, self.path)
        body = block[start:]
        n_lines = body.count(b"\n")
        first_chrom = body[: body.find(b"\t")]
        if (
            not any(tok in body for tok in self.tokens)
            and first_chrom == self.current
            and body.count(b"\n" + first_chrom + b"\t") == n_lines - 1
        ):
            self.line_no += n_lines  # one contig throughout: nothing to check or keep
            return
        self.records(body)

    def records(self, body: bytes) -> None:
        """Check the order of the record lines in ``body``; keep those overlapping the site."""
        aliases, pos, early_exit = self.aliases, self.pos, self.early_exit
        for line in body[:-1].split(b"\n"):
            self.line_no += 1
            chrom = line[: line.find(b"\t")]
            if chrom != self.current:
                if chrom in self.done:
                    self.sorted_so_far = False
                self.done.add(self.current)
                self.current = chrom
                self.target_last = -1
                if self.seen_target and chrom not in aliases:
                    self.past = self.sorted_so_far and early_exit
            if self.past:
                return
            if chrom not in aliases:
                continue
            rec = self.parse(line, self.line_no)
            self.seen_target = True
            if rec.pos < self.target_last:
                self.sorted_so_far = False
            self.target_last = rec.pos
            if rec.pos <= pos <= rec.end:
                self.out.append(line)
            elif rec.pos > pos and self.sorted_so_far and early_exit:
                self.past = True
                return

    def finish(self, carry: bytes) -> None:
        """The file's last line when it has no newline."""
        if not carry.strip() or self.past:
            return
        if self.in_header:
            self.header.extend(carry.split(b"\n"))
            return
        line = carry.rstrip(b"\n")
        if line[: line.find(b"\t")] in self.aliases:
            rec = self.parse(line, self.line_no + 1)
            if rec.pos <= self.pos <= rec.end:
                self.out.append(line)


def _stream(
    path: Path,
    compressed: bool,
    aliases: frozenset[str],
    pos: int,
    early_exit: bool,
    strict: bool = True,
) -> tuple[str, list[bytes], bool]:
    """Scan the whole file (or up to the site, see ``early_exit``).

    Returns (header, overlapping lines, file looked sorted)."""
    alias_bytes = frozenset(a.encode() for a in aliases)
    scan = _StreamScan(path, alias_bytes, pos, early_exit, strict)
    carry = b""
    with path.open("rb") as handle:
        chunks = (
            _inflate_stream(handle, path)
            if compressed
            else iter(lambda: handle.read(_STREAM_CHUNK), b"")
        )
        for chunk in chunks:
            if scan.past:
                continue  # keep inflating (not parsing) to verify the stream is whole
            data = carry + chunk
            cut = data.rfind(b"\n")
            if cut == -1:
                carry = data
                continue
            carry = data[cut + 1 :]
            scan.feed(data[: cut + 1])
        scan.finish(carry)
    return _header_text(scan.header, path), scan.out, scan.sorted_so_far


# --------------------------------------------------------------------------- entry


def locate(
    path: str | Path,
    contigs: Sequence[str],
    pos: int,
    *,
    lookback: int = _DEFAULT_LOOKBACK,
    method: Method | None = None,
    fallback: bool = True,
    container: Container | None = None,
) -> Located:
    """Find the records overlapping ``pos`` on any of ``contigs`` (aliases of one
    contig), in a VCF without an index.

    By default BGZF and uncompressed files are bisected and plain gzip is streamed
    with an early exit. ``method="stream"`` forces a full streaming scan without
    early exit (the reference answer in the tests). ``container``: the file was
    already sniffed (and a BGZF file's end-of-file marker checked) by the caller."""
    file = Path(path)
    aliases = frozenset(contigs)
    kind = container
    if kind is None:
        kind = file_kind(file)
        if kind is Container.BGZF:
            check_bgzf_eof(file)
    if kind is Container.GZIP or method == "stream":
        early = kind is Container.GZIP and method is None
        header, lines, _ = _stream(
            file, kind is not Container.TEXT, aliases, pos, early_exit=early, strict=fallback
        )
        return _result(header, lines, "stream", 0)
    with file.open("rb") as handle:
        size = file.stat().st_size
        blocks: _Blocks
        if kind is Container.BGZF:
            blocks = _BgzfBlocks(file, handle, size - len(BGZF_EOF))
        else:
            blocks = _TextBlocks(file, handle, size)
        reader = _Reader(blocks)
        if size == 0 or blocks.size <= 0:
            raise VcfError(file, "empty file: not a VCF")
        header, first_cursor, first_line = _read_header(reader, file)
        if first_line[:3] == b"BCF":
            raise VcfError(file, "BCF is binary: locate reads VCF text only")
        if first_cursor is None:
            return replace(
                _result(header, [], "bisection", 0), ranges=_ranges_read(blocks, size, kind)
            )
        try:
            first = _parse_fields(first_line)
        except ValueError:
            first = None
        if first is not None:
            names = header_contigs(header)
            target = next((a for a in contigs if a in names), None)
            if target is None:
                chr_style = first.chrom.startswith("chr")
                target = next((a for a in contigs if a.startswith("chr") == chr_style), contigs[0])
            ends = [
                _Obs(first_cursor, first, first_cursor[0]),
                _Obs((blocks.size, 0), None, blocks.size),
            ]
            search = _Search(
                reader, pos, lookback, _Guess(names, target), _Observations(aliases, ends)
            )
            try:
                search.add_last_record(first_cursor)
                lines = search.run()
                log.debug("%s: bisection with %d probes", file, search.probes)
                found = _result(header, lines, "bisection", search.probes)
                return replace(found, ranges=_ranges_read(blocks, size, kind))
            except _Inconsistent as why:
                if not fallback:
                    raise
                log.info("%s: %s; falling back to a streaming scan", file, why)
                probes = search.probes
        else:
            if not fallback:
                raise NeedsFullScan("the first record cannot be parsed")
            probes = 0
    header, lines, _ = _stream(file, kind is Container.BGZF, aliases, pos, early_exit=False)
    return _result(header, lines, "stream", probes)


def _ranges_read(blocks: _Blocks, size: int, kind: Container) -> tuple[tuple[int, int], ...]:
    """Every block :class:`_Blocks` decoded (its chain), and a BGZF file's end marker."""
    ranges = sorted(blocks.chain.items())
    if kind is Container.BGZF:
        ranges.append((size - len(BGZF_EOF), size))
    return tuple(ranges)


def _result(header: str, lines: list[bytes], method: Method, probes: int) -> Located:
    records = tuple(line.rstrip(b"\r").decode("utf-8", "replace") for line in lines)
    contig = records[0].split("\t", 1)[0] if records else None
    return Located(header=header, records=records, method=method, contig=contig, probes=probes)
