"""A per-user cache of values derived from a file, trusted only while the file is unchanged.

Used for costs that do not depend on the sample, such as the MD5 of a reference FASTA's
chromosome 6 (the CRAM @SQ M5 check): computed once per FASTA, not once per sample.

- Folder: ``$PGX_REPORT_CACHE_DIR``, else ``$XDG_CACHE_HOME/pgx-report``, else
  ``~/.cache/pgx-report``. Never beside the user's files.
- An entry records the identity of the files it was derived from (resolved path, size,
  mtime and ctime in ns, inode, device). It is used only if every identity is the same
  today; otherwise the value is recomputed and the entry replaced. One entry per
  (kind, file, name), so the folder does not grow with the number of runs.
- Written atomically (temporary file + rename). A cache that cannot be read or written
  (read-only home, corrupt entry) is ignored: the value is computed as if there were none.

Limit (written down in docs/performance.md): a file rewritten in place with the same size
and the same inode whose mtime *and* ctime were both restored cannot be told apart; ctime
cannot be set from user space, so this needs a clock change or root.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

from pgx_report.errors import OutputError

log = logging.getLogger(__name__)

_FORMAT = 1


def cache_dir() -> Path:
    """The user's pgx-report cache folder (not created here)."""
    explicit = os.environ.get("PGX_REPORT_CACHE_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / "pgx-report"


def file_identity(path: str | Path) -> dict[str, Any]:
    """What must be unchanged for a value derived from ``path`` to be reused."""
    resolved = Path(path).resolve()
    info = resolved.stat()
    return {
        "path": str(resolved),
        "size": info.st_size,
        "mtime_ns": info.st_mtime_ns,
        "ctime_ns": info.st_ctime_ns,
        "inode": info.st_ino,
        "device": info.st_dev,
    }


def _entry_path(kind: str, name: str) -> Path:
    digest = hashlib.sha256(name.encode("utf-8", "surrogateescape")).hexdigest()
    return cache_dir() / kind / f"{digest}.json"


def load(kind: str, name: str, key: dict[str, Any]) -> Any:
    """The value stored for ``(kind, name)`` if it was stored under exactly ``key``, else None."""
    entry = _entry_path(kind, name)
    try:
        data = json.loads(entry.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict) or data.get("format") != _FORMAT or data.get("key") != key:
        return None
    return data.get("value")


def store(kind: str, name: str, key: dict[str, Any], value: Any) -> None:
    """Record ``value`` for ``(kind, name)`` under ``key``; failures are logged and ignored."""
    from pgx_report.files.io import atomic_write_text

    entry = _entry_path(kind, name)
    text = json.dumps({"format": _FORMAT, "key": key, "value": value}, sort_keys=True)
    try:
        atomic_write_text(entry, text + "\n")
    except (OSError, OutputError) as exc:
        log.debug("cannot write the cache entry %s: %s", entry, exc)


def cached_sha256(path: str | Path) -> str:
    """The SHA-256 of a file that is read by many calls (a reference FASTA), remembered
    under its identity: hashed once per FASTA, not once per sample."""
    from pgx_report.files.io import sha256_file

    key = {"file": file_identity(path)}
    name = str(Path(path).resolve())
    found = load("sha256", name, key)
    if isinstance(found, str) and len(found) == 64:
        return found
    value = sha256_file(path)
    store("sha256", name, key, value)
    return value
