"""What kind of genotype input a file is, from its first bytes: the one place formats are told.

* :func:`sniff_format` -- the format of any supported input (BAM, CRAM, VCF, bgzipped VCF,
  plain-gzip VCF, BCF); refuses SAM text and anything that is not a VCF with one
  :class:`~pgx_report.errors.VcfError` / :class:`~pgx_report.errors.InputError` naming the file.
  A BGZF-compressed VCF/BCF is checked here for its end-of-file marker (once per file).
* :func:`alignment_format` -- BAM or CRAM, else None (the file is left to the VCF reader);
  never fails on a missing or unreadable file, only on SAM text. The workflow uses it to
  route a sample sheet row.
* :func:`file_kind` -- the container only (text, BGZF, plain gzip), for the VCF bisection.

BGZF is the blocked gzip of htslib (SAM/BAM specification, section 4.1).
"""

from __future__ import annotations

import gzip
import io
import zlib
from enum import StrEnum
from pathlib import Path

from pgx_report.errors import InputError, VcfError
from pgx_report.files.io import read_head

GZIP_MAGIC = b"\x1f\x8b"
BGZF_MAGIC = b"\x1f\x8b\x08\x04"  # gzip, deflate, FEXTRA set
# The empty block every BGZF file ends with (SAM/BAM specification, section 4.1.2).
BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")

HEAD_SIZE = 65536  # bytes read to tell a format
TRUNCATED_BGZF = "truncated file: the BGZF end-of-file marker is missing (incomplete copy?)"

_SAM_HEADER_STARTS = frozenset({b"@HD\t", b"@SQ\t", b"@RG\t", b"@PG\t", b"@CO\t"})


class Container(StrEnum):
    """How the bytes of a file are stored."""

    TEXT = "text"
    BGZF = "bgzf"
    GZIP = "gzip"  # plain (not blocked) gzip: cannot be seeked


class InputFormat(StrEnum):
    """A supported genotype input; the value is the name recorded in provenance."""

    BAM = "bam"
    CRAM = "cram"
    VCF = "vcf"  # uncompressed text
    VCF_GZ = "vcf.gz"  # BGZF-compressed (bgzip)
    VCF_GZIP = "vcf.gzip"  # plain gzip
    BCF = "bcf"
    QUANTSTUDIO = "quantstudio"  # a qPCR genotyping plate's results text export

    @property
    def is_alignment(self) -> bool:
        return self in (InputFormat.BAM, InputFormat.CRAM)


def is_bgzf(head: bytes) -> bool:
    """A gzip member whose FEXTRA field starts with the ``BC`` subfield."""
    return len(head) >= 18 and head[:4] == BGZF_MAGIC and head[12:14] == b"BC"


def container_of(head: bytes) -> Container:
    if head[:2] != GZIP_MAGIC:
        return Container.TEXT
    if head[:4] == BGZF_MAGIC and len(head) >= 16 and head[12:14] == b"BC":
        return Container.BGZF
    return Container.GZIP


def file_kind(path: Path) -> Container:
    """What kind of container ``path`` is (by its first bytes)."""
    return container_of(read_head(path, 18, VcfError))


def ends_with_bgzf_eof(path: Path) -> bool:
    """Whether the file ends with the BGZF end-of-file marker block."""
    size = path.stat().st_size
    if size < len(BGZF_EOF):
        return False
    with path.open("rb") as handle:
        handle.seek(size - len(BGZF_EOF))
        return handle.read() == BGZF_EOF


def check_bgzf_eof(path: Path) -> None:
    """Refuse a BGZF file whose end-of-file marker block is missing (truncated)."""
    if not ends_with_bgzf_eof(path):
        raise VcfError(path, TRUNCATED_BGZF)


# --------------------------------------------------------------------------- alignments


def _alignment_from_head(path: str | Path, head: bytes) -> InputFormat | None:
    if head[:4] == b"CRAM":
        return InputFormat.CRAM
    if head[:4] in _SAM_HEADER_STARTS:
        raise InputError(
            path,
            "is SAM text, which cannot be read at one position; convert it: "
            "`samtools sort -o x.bam x.sam && samtools index x.bam`",
        )
    if head[:2] != GZIP_MAGIC:
        return None
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(head)) as inner:
            return InputFormat.BAM if inner.read(4) == b"BAM\x01" else None
    except (OSError, EOFError, zlib.error):
        return None


def _head_or_none(path: str | Path) -> bytes | None:
    try:
        with Path(path).open("rb") as handle:
            return handle.read(HEAD_SIZE)
    except OSError:
        return None  # missing/unreadable: the VCF reader's error path reports it


def alignment_format(path: str | Path) -> InputFormat | None:
    """``BAM`` or ``CRAM`` from the magic bytes, else None (left to the VCF reader).

    Raises :class:`InputError` for SAM text only; a missing or unreadable file is None."""
    head = _head_or_none(path)
    return None if head is None else _alignment_from_head(path, head)


# --------------------------------------------------------------------------- VCF / BCF


def _vcf_from_head(path: Path, head: bytes) -> InputFormat:
    if not head:
        raise VcfError(path, "file is empty")
    if head[:2] == GZIP_MAGIC:
        bgzf = is_bgzf(head)
        try:
            text = zlib.decompressobj(31).decompress(head)[:16]
        except zlib.error:
            raise VcfError(path, "corrupt gzip data at the start of the file") from None
        if bgzf:
            check_bgzf_eof(path)
        if text.startswith(b"BCF\x02"):
            return InputFormat.BCF
        if text.startswith(b"##fileformat=VCF"):
            return InputFormat.VCF_GZ if bgzf else InputFormat.VCF_GZIP
        if not text:
            raise VcfError(path, "truncated or empty compressed file")
        raise VcfError(
            path, "not a VCF file (compressed, but does not start with ##fileformat=VCF)"
        )
    if head.startswith(b"BCF\x02"):
        return InputFormat.BCF
    if head.startswith(b"##fileformat=VCF"):
        return InputFormat.VCF
    raise VcfError(path, "not a VCF file (the first line must be ##fileformat=VCF...)")


def vcf_format(path: str | Path) -> InputFormat:
    """The VCF/BCF storage of ``path``; refuses an empty, corrupt, truncated or non-VCF file."""
    path = Path(path)
    return _vcf_from_head(path, read_head(path, HEAD_SIZE, VcfError, kind="VCF file"))


def looks_like_plate(head: bytes) -> bool:
    """A QuantStudio text export: ``* `` header lines and a ``[Results]`` or
    ``[Sample Setup]`` section near the start."""
    text = head.removeprefix(b"\xef\xbb\xbf")
    return text.startswith(b"* ") and (b"\n[Sample Setup]" in text or b"\n[Results]" in text)


def is_plate(path: str | Path) -> bool:
    """A QuantStudio genotyping results text export (``* `` header lines, then
    ``[Sample Setup]``/``[Results]``); never fails (a missing file is False)."""
    head = _head_or_none(path)
    return head is not None and looks_like_plate(head)


def sniff_format(path: str | Path) -> InputFormat:
    """The format of any supported genotype input (see the module docstring)."""
    head = _head_or_none(path)
    found = None if head is None else _alignment_from_head(path, head)
    if found is not None:
        return found
    if head is not None and is_plate(path):
        return InputFormat.QUANTSTUDIO
    if head is None:
        return vcf_format(path)  # reports why the file cannot be read
    return _vcf_from_head(Path(path), head)
