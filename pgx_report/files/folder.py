"""An output folder replaced as a whole: all old files or all new ones, never a mix.

:func:`atomic_folder` yields a staging folder beside the target
(``.OUT.pgx-staging-XXXX``); on success its files are fsynced and it is swapped with the
target in one step (Linux ``renameat2(RENAME_EXCHANGE)``; elsewhere two renames, the old
folder first moved aside as ``.OUT.pgx-old-XXXX``), then the old folder is removed. A
kill at any moment leaves the target either complete old or complete new, plus at most a
leftover of ours that the next run removes. Only a folder holding nothing but the files
pgx-report writes there is ever replaced: a user's file is never deleted.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import shutil
import signal
import stat
import tempfile
from collections.abc import Collection, Iterator
from pathlib import Path

from pgx_report.errors import OutputError

STAGING = "pgx-staging-"
OLD = "pgx-old-"
# Tests only: kill this process (SIGKILL) at the named step, to prove the swap atomic.
KILL_ENV = "PGX_REPORT_TEST_KILL_AT"
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _checkpoint(step: str) -> None:
    if os.environ.get(KILL_ENV) == step:
        os.kill(os.getpid(), signal.SIGKILL)


def check_own_folder(target: Path, own: Collection[str]) -> None:
    """Refuse (exit 2) a ``target`` that exists and is not a folder holding only regular
    files named in ``own`` (what pgx-report writes there): replacing it would delete
    something pgx-report did not write. A missing or empty folder is fine."""
    if target.is_symlink():
        raise OutputError(target, "is a symlink; give the folder itself")
    if not target.exists():
        return
    if not target.is_dir():
        raise OutputError(target, "exists and is not a folder")
    for entry in sorted(target.iterdir()):
        if entry.name not in own:
            raise OutputError(
                target,
                f"folder holds '{entry.name}', which pgx-report did not write there; "
                "give a new or empty folder (only a folder of pgx-report's outputs is replaced)",
            )
        if entry.is_symlink() or not entry.is_file():
            raise OutputError(target, f"folder holds '{entry.name}', which is not a regular file")


def _ours(path: Path, own: Collection[str]) -> bool:
    try:
        info = path.lstat()
        if not stat.S_ISDIR(info.st_mode):
            return False
        return all(e.name in own and e.is_file() and not e.is_symlink() for e in path.iterdir())
    except OSError:
        return False


def remove_leftovers(target: Path, own: Collection[str]) -> None:
    """Remove the staging and old folders an earlier, killed run left beside ``target``
    (``.OUT.pgx-staging-*``, ``.OUT.pgx-old-*``), when they hold only our files."""
    parent = target.parent
    if not parent.is_dir():
        return
    if not target.exists():  # killed between the two renames of the fallback: put back
        olds = [e for e in parent.iterdir() if e.name.startswith(f".{target.name}.{OLD}")]
        if len(olds) == 1 and _ours(olds[0], own):
            olds[0].replace(target)
    prefixes = (f".{target.name}.{STAGING}", f".{target.name}.{OLD}")
    for entry in parent.iterdir():
        if entry.name.startswith(prefixes) and _ours(entry, own):
            shutil.rmtree(entry, ignore_errors=True)


def _fsync(path: Path, flags: int = os.O_RDONLY) -> None:
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _exchange(a: Path, b: Path) -> bool:
    """Swap ``a`` and ``b`` atomically (Linux renameat2); False when not supported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_uint,
    ]
    renameat2.restype = ctypes.c_int
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(b))


def swap_in(staging: Path, target: Path) -> None:
    """Put ``staging`` in the place of ``target`` (which may not exist), old one removed."""
    if not target.exists():
        staging.replace(target)
    elif _exchange(staging, target):
        _checkpoint("swapped")
        shutil.rmtree(staging, ignore_errors=True)  # now the old folder
    else:
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.{OLD}", dir=target.parent))
        old.rmdir()
        target.replace(old)
        _checkpoint("moved-aside")
        staging.replace(target)
        _checkpoint("swapped")
        shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def atomic_folder(target: str | Path, own: Collection[str]) -> Iterator[Path]:
    """Yield an empty staging folder beside ``target``; when the block succeeds, its
    files replace ``target`` as a whole (see the module). ``own`` names every file
    pgx-report may write there: an existing ``target`` holding anything else is
    refused before the block runs. On failure the staging folder is removed and
    ``target`` untouched."""
    target = Path(target)
    check_own_folder(target, own)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        remove_leftovers(target, own)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.{STAGING}", dir=target.parent))
    except OSError as exc:
        raise OutputError(target, f"cannot write: {exc.strerror or exc}") from None
    try:
        yield staging
        for entry in staging.iterdir():
            _fsync(entry)
            _checkpoint("written")
        staging.chmod(0o755)
        _fsync(staging)
        _checkpoint("staged")
        swap_in(staging, target)
        _fsync(target.parent)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise OutputError(target, f"cannot write: {exc.strerror or exc}") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
