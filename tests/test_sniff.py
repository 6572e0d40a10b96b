"""Input-format sniffing (pgx_report.files.sniff): every format, and broken or truncated files."""

from __future__ import annotations

import gzip
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest

from pgx_report.errors import InputError, VcfError
from pgx_report.files.sniff import (
    BGZF_EOF,
    TRUNCATED_BGZF,
    Container,
    InputFormat,
    alignment_format,
    file_kind,
    sniff_format,
    vcf_format,
)

VCF_TEXT = b"##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
BCF_START = b"BCF\x02\x02" + struct.pack("<I", 4) + b"x\0\0\0"
BAM_START = b"BAM\x01" + struct.pack("<i", 0) + struct.pack("<i", 0)


def bgzf(data: bytes, eof: bool = True) -> bytes:
    """``data`` as one BGZF block (SAM/BAM specification, section 4.1), then the EOF block."""
    deflate = zlib.compressobj(6, zlib.DEFLATED, -15)
    cdata = deflate.compress(data) + deflate.flush()
    header = b"\x1f\x8b\x08\x04\0\0\0\0\0\xff\x06\0BC\x02\0"
    block = header + struct.pack("<H", len(header) + 2 + len(cdata) + 8 - 1) + cdata
    block += struct.pack("<II", zlib.crc32(data), len(data))
    return block + (BGZF_EOF if eof else b"")


FORMATS: dict[str, tuple[bytes, InputFormat, Container]] = {
    "vcf": (VCF_TEXT, InputFormat.VCF, Container.TEXT),
    "vcf.gz": (bgzf(VCF_TEXT), InputFormat.VCF_GZ, Container.BGZF),
    "vcf.gzip": (gzip.compress(VCF_TEXT, mtime=0), InputFormat.VCF_GZIP, Container.GZIP),
    "bcf": (bgzf(BCF_START), InputFormat.BCF, Container.BGZF),
    "bcf-uncompressed": (BCF_START, InputFormat.BCF, Container.TEXT),
    "bam": (bgzf(BAM_START), InputFormat.BAM, Container.BGZF),
    "cram": (b"CRAM\x03\x00" + bytes(20), InputFormat.CRAM, Container.TEXT),
}


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_every_format(tmp_path: Path, name: str) -> None:
    data, expected, container = FORMATS[name]
    path = tmp_path / f"input.{name}"
    path.write_bytes(data)
    assert sniff_format(path) is expected
    assert file_kind(path) is container
    assert alignment_format(path) == (expected if expected.is_alignment else None)
    if not expected.is_alignment:
        assert vcf_format(path) is expected
    assert str(expected) == expected.value  # the name written to provenance.input.format


BROKEN: dict[str, tuple[bytes, type[Exception], str]] = {
    "empty": (b"", VcfError, "file is empty"),
    "not-vcf-text": (b"hello\n", VcfError, "not a VCF file (the first line must be"),
    "bgzf-no-eof": (bgzf(VCF_TEXT, eof=False), VcfError, TRUNCATED_BGZF),
    "bgzf-cut": (bgzf(VCF_TEXT)[:40], VcfError, TRUNCATED_BGZF),
    "bcf-no-eof": (bgzf(BCF_START, eof=False), VcfError, TRUNCATED_BGZF),
    "gzip-corrupt": (b"\x1f\x8b\x08\x00" + b"\xff" * 40, VcfError, "corrupt gzip data at the"),
    "gzip-empty": (gzip.compress(b"", mtime=0), VcfError, "truncated or empty compressed file"),
    "gzip-cut": (gzip.compress(VCF_TEXT, mtime=0)[:10], VcfError, "truncated or empty"),
    "gzip-not-vcf": (gzip.compress(b"hello\n", mtime=0), VcfError, "compressed, but does not"),
    "sam": (b"@HD\tVN:1.6\tSO:coordinate\n", InputError, "is SAM text"),
    "sam-sq": (b"@SQ\tSN:chr6\tLN:170805979\n", InputError, "samtools sort -o x.bam"),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_inputs(tmp_path: Path, name: str) -> None:
    data, error, fragment = BROKEN[name]
    path = tmp_path / "input.vcf"
    path.write_bytes(data)
    with pytest.raises(error) as caught:
        sniff_format(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and fragment in message
    assert "\n" not in message


def test_bgzf_eof_checked_even_when_short(tmp_path: Path) -> None:
    path = tmp_path / "tiny.vcf.gz"
    path.write_bytes(BGZF_EOF[:-1])  # a gzip member header only: shorter than the EOF block
    with pytest.raises(VcfError):
        sniff_format(path)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p, "file not found"),
        (lambda p: (p.mkdir(), p)[1], "is a directory, not a VCF file"),
    ],
    ids=["missing", "directory"],
)
def test_unreadable_is_the_vcf_readers_message(
    tmp_path: Path, make: Callable[[Path], Path], message: str
) -> None:
    path = make(tmp_path / "x.vcf")
    assert alignment_format(path) is None  # the workflow leaves it to the caller
    with pytest.raises(VcfError) as caught:
        sniff_format(path)
    assert str(caught.value) == f"{path}: {message}"


def test_alignment_format_only_refuses_sam(tmp_path: Path) -> None:
    path = tmp_path / "x.sam"
    path.write_bytes(b"@RG\tID:1\tSM:S1\n")
    with pytest.raises(InputError, match="is SAM text"):
        alignment_format(path)
    path.write_bytes(b"\x1f\x8b" + b"\0" * 30)  # broken gzip: not BAM, left to the VCF reader
    assert alignment_format(path) is None
