"""File helpers used at the edges: atomic writes, canonical JSON, hashing.

Outputs are written to a temporary file in the destination folder and renamed
into place, so a failed run never leaves a partial or corrupt file, and an
existing output is only replaced by a complete new one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from pgx_report.errors import InputError, OutputError

_CHUNK = 1 << 20


@contextlib.contextmanager
def reading(
    path: str | Path,
    error: type[InputError] = InputError,
    *,
    noun: str = "file",
    kind: str = "file",
) -> Iterator[None]:
    """Turn the OS errors of opening ``path`` into ``error(path, one line)``.

    ``noun`` names what is missing ("reference FASTA not found"), ``kind`` what a
    directory is not ("is a directory, not a VCF file").
    """
    check_input_file(path, error, kind=kind)
    try:
        yield
    except FileNotFoundError:
        raise error(path, f"{noun} not found") from None
    except IsADirectoryError:
        raise error(path, f"is a directory, not a {kind}") from None
    except PermissionError:
        raise error(path, "permission denied") from None


def read_input_bytes(path: str | Path, error: type[InputError] = InputError) -> bytes:
    """The bytes of an input file; a missing or unreadable file is ``error(path, ...)``."""
    with reading(path, error):
        return Path(path).read_bytes()


def read_head(
    path: str | Path,
    size: int,
    error: type[InputError] = InputError,
    *,
    noun: str = "file",
    kind: str = "file",
) -> bytes:
    """The first ``size`` bytes of an input file (to tell its format)."""
    with reading(path, error, noun=noun, kind=kind), Path(path).open("rb") as handle:
        return handle.read(size)


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with reading(path), Path(path).open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def canonical_json(obj: Any) -> str:
    """Deterministic JSON text: sorted keys, 2-space indent, UTF-8, trailing newline."""
    return json.dumps(obj, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


# Index and companion files a tool reads beside an input (htslib, samtools, pysam).
INDEX_SUFFIXES: tuple[str, ...] = (".tbi", ".csi", ".bai", ".crai", ".fai", ".gzi")
_PSEUDO_ROOTS = ("/proc/", "/sys/")


def companions(path: str | Path) -> list[Path]:
    """``path`` and the index files read beside it (``in.vcf.gz.tbi``, ``in.bai``, ...)."""
    src = Path(path)
    found = [src, *(Path(f"{src}{suffix}") for suffix in INDEX_SUFFIXES)]
    if src.suffix in {".bam", ".cram"}:
        found.append(src.with_suffix(".bai" if src.suffix == ".bam" else ".crai"))
    return found


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        info = Path(path).stat()
    except OSError:
        return None
    return (info.st_dev, info.st_ino)


def check_input_file(
    path: str | Path, error: type[InputError] = InputError, *, kind: str = "file"
) -> None:
    """Refuse at once an input that is a directory, a FIFO, a device, a socket or a
    /proc or /sys pseudo-file (reading them hangs or fails); a missing file is left to
    the reader, whose message says what was expected."""
    try:
        info = Path(path).stat()
    except FileNotFoundError:
        return
    except OSError as exc:
        raise error(path, f"cannot read: {exc.strerror or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        raise error(path, f"is a directory, not a {kind}")
    if not stat.S_ISREG(info.st_mode):
        raise error(path, f"is a {_kind(info.st_mode)}, not a regular file")
    if os.path.realpath(path).startswith(_PSEUDO_ROOTS):
        raise error(path, "is a /proc or /sys pseudo-file, not a regular file")


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "character device"
    if stat.S_ISBLK(mode):
        return "block device"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "special file"


def check_inputs(inputs: Sequence[str | Path]) -> None:
    """:func:`check_input_file` for every input and every index file beside it."""
    for item in inputs:
        for path in companions(item):
            check_input_file(path)


def check_not_input(output: str | Path, inputs: Sequence[str | Path]) -> None:
    """Refuse to write an output over one of the user's inputs or over a file read
    beside one (its index: ``.tbi``, ``.csi``, ``.bai``, ``.crai``, ``.fai``, ``.gzi``),
    whether it is named directly, through a symlink or a hard link (same device and
    inode). The inputs themselves are checked to be regular files first."""
    check_inputs(inputs)
    out = Path(output)
    out_id = _identity(out)
    out_real = os.path.realpath(out)
    for item in inputs:
        for src in companions(item):
            if (out_id is not None and out_id == _identity(src)) or out_real == os.path.realpath(
                src
            ):
                what = "the input file" if src == Path(item) else "the index of the input"
                raise OutputError(output, f"output would overwrite {what} {src}")


def check_output_folder(folder: str | Path, inputs: Sequence[str | Path]) -> None:
    """Refuse an output folder that is, holds, or is above any input (or its index):
    replacing it would delete the input."""
    check_not_input(folder, inputs)
    top = os.path.realpath(folder)
    for item in inputs:
        for src in companions(item):
            if os.path.lexists(src) and os.path.realpath(src).startswith(top.rstrip("/") + "/"):
                raise OutputError(folder, f"output folder holds the input {src}")


def _target(path: str | Path) -> tuple[Path, os.stat_result | None]:
    """Where an output really goes (a symlink to a file: its target) and what is there."""
    dest = Path(path)
    try:
        info = dest.stat()  # follows symlinks (/dev/stdout -> /proc/self/fd/1)
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise OutputError(path, f"cannot write: {exc.strerror or exc}") from None
    if dest.is_symlink() and (info is None or stat.S_ISREG(info.st_mode)):
        dest = Path(os.path.realpath(dest))
    return dest, info


@contextlib.contextmanager
def atomic_output(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it into place on success.

    On any exception the temporary file is removed and ``path`` is untouched. A symlink
    is written through: its target is replaced atomically and the link kept. A FIFO or a
    character device (``-o /dev/stdout``) is never replaced: the complete output is
    streamed into it once it is finished. A directory, block device or socket is
    refused (exit 2).
    """
    dest, info = _target(path)
    if info is not None and stat.S_ISDIR(info.st_mode):
        raise OutputError(path, "is a directory; give a file name")
    stream = info is not None and (stat.S_ISFIFO(info.st_mode) or stat.S_ISCHR(info.st_mode))
    if info is not None and not stream and not stat.S_ISREG(info.st_mode):
        raise OutputError(path, f"is a {_kind(info.st_mode)}, not a regular file")
    parent = dest.parent if str(dest.parent) else Path()
    try:
        if stream:
            fd, tmp_name = tempfile.mkstemp(prefix=".pgx-report.", suffix=".tmp")
        else:
            parent.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=parent)
    except OSError as exc:
        raise OutputError(dest, f"cannot write: {exc.strerror or exc}") from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        if stream:
            with dest.open("wb") as sink:  # no truncation or rename of the node
                sink.write(tmp.read_bytes())
            tmp.unlink()
        else:
            tmp.chmod(0o644)
            tmp.replace(dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    with atomic_output(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def write_json(path: str | Path, obj: Any) -> None:
    """Write canonical JSON atomically."""
    atomic_write_text(path, canonical_json(obj))
