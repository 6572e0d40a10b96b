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


def check_not_input(output: str | Path, inputs: Sequence[str | Path]) -> None:
    """Refuse to write an output over one of the user's inputs."""
    out = Path(output)
    for item in inputs:
        src = Path(item)
        try:
            same = out.exists() and src.exists() and out.samefile(src)
        except OSError:
            same = False
        if same or out.resolve() == src.resolve():
            raise OutputError(output, f"output would overwrite the input file {item}")


@contextlib.contextmanager
def atomic_output(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it into place on success.

    On any exception the temporary file is removed and ``path`` is untouched.
    """
    dest = Path(path)
    parent = dest.parent if str(dest.parent) else Path()
    try:
        parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=parent)
    except OSError as exc:
        raise OutputError(dest, f"cannot write: {exc.strerror or exc}") from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
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
