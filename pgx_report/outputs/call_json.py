"""Call JSON writers: the canonical JSON of calls, fast for many samples, and the
``--all-samples`` output directory (one ``<sample>.json`` per sample plus ``calls.tsv``),
written into a fresh directory and moved into place."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pgx_report.errors import InputError, OutputError
from pgx_report.files.folder import STAGING, swap_in
from pgx_report.genotype.vcf.grouped import CallBatch

_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def sample_file_names(samples: Sequence[str]) -> list[str]:
    """A safe, unique file name per sample: ``<sample>.json``, or a hashed form when the
    name has characters unsafe in a path (``/``, spaces, leading dots, ...) or would
    clash with another sample's file on a case-insensitive file system."""
    lowered: dict[str, int] = {}
    for name in samples:
        if _SAFE_NAME.fullmatch(name):
            lowered[name.lower()] = lowered.get(name.lower(), 0) + 1
    names = []
    for name in samples:
        if _SAFE_NAME.fullmatch(name) and lowered[name.lower()] == 1:
            names.append(f"{name}.json")
        else:
            stem = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._-")[:60] or "sample"
            digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:12]
            names.append(f"{stem}-{digest}.json")
    return names


Memo = dict[int, tuple[Any, str]]


def _pretty(value: Any, level: int, memo: Memo, shared: frozenset[int]) -> str:
    """``json.dumps(value, sort_keys=True, indent=2, ensure_ascii=False)`` at nesting
    ``level``. Objects whose id is in ``shared`` (variant, provenance, the site record:
    the same for many samples) are rendered once and remembered in ``memo``. The standard
    encoder falls back to pure Python when indenting; this keeps 100,000 files fast and
    byte-identical to :func:`pgx_report.files.io.canonical_json`."""
    if not isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    hit = memo.get(id(value))
    if hit is not None and hit[0] is value:
        return hit[1]
    inner = "  " * (level + 1)
    if isinstance(value, dict):
        items = [
            f"{inner}{json.dumps(k, ensure_ascii=False)}: {_pretty(v, level + 1, memo, shared)}"
            for k, v in sorted(value.items())
        ]
        brackets = "{}"
    else:
        items = [f"{inner}{_pretty(v, level + 1, memo, shared)}" for v in value]
        brackets = "[]"
    if not items:
        return brackets
    text = brackets[0] + "\n" + ",\n".join(items) + "\n" + "  " * level + brackets[1]
    if id(value) in shared:
        memo[id(value)] = (value, text)
    return text


def render_call(call: Any, memo: Memo) -> str:
    """Canonical JSON text of one Call, equal to ``canonical_json(call.to_dict())``."""
    data = call.to_dict()
    data["variant"], data["provenance"] = call.variant, call.provenance  # the shared originals
    shared = frozenset((id(call.variant), id(call.provenance), id(call.qc.get("record"))))
    return _pretty(data, 0, memo, shared) + "\n"


_TSV_COLUMNS = ("sample", "status", "genotype", "carrier", "gt", "reason_codes", "depth", "gq")


def _tsv_values(call: Any) -> list[str]:
    return [
        call.sample,
        call.status.value,
        call.genotype or "",
        "" if call.carrier is None else str(call.carrier).lower(),
        call.gt or "",
        ",".join(call.reason_codes),
        "" if call.qc.get("depth_used") is None else str(call.qc["depth_used"]),
        "" if call.qc["gq"] is None else str(call.qc["gq"]),
    ]


def _tsv(calls: Sequence[Any], files: Sequence[str]) -> str:
    lines = ["\t".join((*_TSV_COLUMNS, "file"))]
    rows = calls.rows(_tsv_values) if isinstance(calls, CallBatch) else map(_tsv_values, calls)
    for values, file_name in zip(rows, files, strict=True):
        lines.append("\t".join((*values, file_name)))
    return "\n".join(lines) + "\n"


def _listed_files(tsv: Path) -> dict[str, str]:
    """{sample: file name} of a ``calls.tsv`` (split on newlines only: a VCF sample name
    may hold characters ``str.splitlines`` would also split on)."""
    from pgx_report.files.io import read_input_bytes

    try:
        text = read_input_bytes(tsv).decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(tsv, "not UTF-8 text") from None
    lines = text.rstrip("\n").split("\n")
    header = lines[0].split("\t")
    if not header or header[0] != "sample" or header[-1] != "file":
        raise InputError(tsv, "line 1: not the calls.tsv of call --all-samples (header)")
    files: dict[str, str] = {}
    for number, line in enumerate(lines[1:], start=2):
        fields = line.split("\t")
        if len(fields) != len(header):
            raise InputError(tsv, f"line {number}: expected {len(header)} tab-separated fields")
        files.setdefault(fields[0], fields[-1])
    return files


def cohort_call_file(folder: str | Path, sample: str) -> tuple[Path, bytes]:
    """The call of VCF sample ``sample`` in a ``call --all-samples`` folder, found through
    its ``calls.tsv`` (the file name is hashed for names unsafe in a path or differing
    only in case), and its bytes. The JSON's ``sample`` field must be ``sample``: a
    folder whose listing and files disagree is refused, never another sample's call."""
    from pgx_report.files.io import read_input_bytes
    from pgx_report.files.jsonio import parse_json

    tsv = Path(folder) / "calls.tsv"
    name = _listed_files(tsv).get(sample)
    if name is None:
        raise InputError(tsv, f"column 'sample': VCF sample '{sample}' is not listed")
    if not _SAFE_NAME.fullmatch(name.removesuffix(".json")) or not name.endswith(".json"):
        raise InputError(tsv, f"column 'file': '{name}' is not a call file name")
    path = Path(folder) / name
    data = read_input_bytes(path)
    parsed = parse_json(data, path)
    found = parsed.get("sample") if isinstance(parsed, dict) else None
    if found != sample:
        raise InputError(
            path,
            f"field 'sample' is {json.dumps(found, ensure_ascii=False)}, "
            f"but calls.tsv lists this file for '{sample}'",
        )
    return path, data


def check_replaceable(out_dir: Path) -> None:
    """An existing output folder is replaced only when pgx-report wrote it: it holds
    ``calls.tsv`` and nothing but the files that ``calls.tsv`` lists (an empty folder
    is also fine). Anything else is refused, so no file a user put there is deleted."""
    if out_dir.is_symlink():
        raise OutputError(out_dir, "is a symlink; give the folder itself")
    if not out_dir.is_dir():
        return
    present = {entry.name for entry in out_dir.iterdir()}
    if not present:
        return
    listed = {"calls.tsv"}
    tsv = out_dir / "calls.tsv"
    if tsv.is_file() and not tsv.is_symlink():
        lines = tsv.read_text("utf-8", "replace").splitlines()
        listed |= {line.rsplit("\t", 1)[-1] for line in lines[1:] if "\t" in line}
    foreign = sorted(present - listed) if "calls.tsv" in present else sorted(present)
    for name in foreign[:1]:
        raise OutputError(
            out_dir,
            f"folder holds '{name}', which pgx-report did not write there; "
            "give a new or empty folder (only a folder written by call --all-samples is replaced)",
        )
    for name in present:
        if (out_dir / name).is_symlink() or not (out_dir / name).is_file():
            raise OutputError(out_dir, f"folder holds '{name}', which is not a regular file")


def write_all_samples(out_dir: Path, calls: Sequence[Any]) -> None:
    """Write every call and calls.tsv into a fresh temporary directory, then move it into
    place: a failure leaves neither a partial directory nor a changed old one."""
    parent = out_dir.parent
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError(out_dir, "exists and is not a directory")
    check_replaceable(out_dir)
    try:
        parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.{STAGING}", dir=parent))
    except OSError as exc:
        raise OutputError(out_dir, f"cannot write: {exc.strerror or exc}") from None
    try:
        if isinstance(calls, CallBatch):  # bulk: one rendering per group of equal calls
            files = sample_file_names(calls.names)
            memo: Memo = {}
            texts = (text for _, text in calls.json_texts(lambda c: render_call(c, memo)))
        else:
            files = sample_file_names([c.sample for c in calls])
            memo = {}
            texts = (render_call(call, memo) for call in calls)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
        for text, file_name in zip(texts, files, strict=True):
            fd = os.open(staging / file_name, flags, 0o644)
            try:
                data = memoryview(text.encode("utf-8"))
                while data:
                    data = data[os.write(fd, data) :]
            finally:
                os.close(fd)
        (staging / "calls.tsv").write_text(_tsv(calls, files), "utf-8")
        staging.chmod(0o755)
        swap_in(staging, out_dir)  # one atomic exchange where the OS has it
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise OutputError(out_dir, f"cannot write: {exc.strerror or exc}") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
