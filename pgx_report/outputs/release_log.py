"""The release log: one JSON line per ``release`` / ``amend``, appended, never rewritten.

A lab's log (``release-log.jsonl`` beside the released reports) holds one
:class:`LogEntry` per line: the report id, its version and status, who released it and
when, the SHA-256 of the PDF and of the report it replaces. :func:`append_entry` adds a
line (exclusive lock, ``O_APPEND``, one ``write``, ``fsync``) after checking that what
is already there is a well-formed log and that the new entry continues its report's
chain; it never rewrites or truncates what was there. :func:`read_log` reads a log back
(errors name the file and line), :func:`check_chain` checks the chain of each report:
versions consecutive and unique, only the first one final, each ``previous_sha256``
the ``pdf_sha256`` of the version before, and each PDF named that is present still
has the SHA-256 logged. Pure but for :func:`read_log`, :func:`append_entry` and the
file checks of :func:`check_chain`.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pgx_report.contracts.schema import (
    Contract,
    error_message,
    json_path,
    schema_errors,
)
from pgx_report.errors import InputError, OutputError
from pgx_report.files.io import check_input_file, read_input_bytes, sha256_file
from pgx_report.files.jsonio import parse_json

RELEASE_LOG = Contract("pgx-report.release-log", ("1.0",))
SCHEMA_FILE = "release_log.schema.json"
LOG_NAME = "release-log.jsonl"  # the log's name in the folder of the released reports
STATUSES: tuple[str, ...] = ("final", "amended", "corrected")
SHORT_SHA = 12  # hex digits of a SHA-256 shown by ``history``


class ReleaseLogError(InputError):
    """The release log is malformed, or an entry would break its chain (exit 2)."""


def parse_at(text: str, source: str | Path | None = "--at") -> dt.datetime:
    """The release time ``text``: ISO 8601 date and time with a UTC offset
    (``2025-11-21T09:30:00+01:00`` or ``...Z``); anything else is a ReleaseLogError."""
    problem = _at_problem(text)
    if problem:
        raise ReleaseLogError(source, problem)
    return dt.datetime.fromisoformat(text)


def _at_problem(text: Any) -> str | None:
    import re

    shown = repr(text) if len(repr(text)) <= 40 else repr(text)[:37] + "..."
    if not isinstance(text, str) or not re.fullmatch(
        r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})", text, re.ASCII
    ):
        return (
            f"{shown} is not an ISO 8601 date and time with a UTC offset "
            "(e.g. 2025-11-21T09:30:00+01:00)"
        )
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        return f"{shown} is not a valid date and time ({exc})"
    if when.utcoffset() is None:  # pragma: no cover - the pattern requires an offset
        return f"{shown} has no UTC offset"
    return None


@dataclass(frozen=True)
class LogEntry:
    """One line of the release log (see ``contracts/schemas/release_log.schema.json``).

    Built with a value the schema refuses, it raises :class:`ReleaseLogError`."""

    report_id: str
    version: int
    status: str  # final | amended | corrected
    reviewer: str  # "NAME, ROLE"
    at: str  # ISO 8601 with a UTC offset, as given
    pdf: str  # the released PDF, relative to the log's folder where inside it
    pdf_sha256: str
    previous_pdf: str | None = None  # what it replaces (a release: the preliminary PDF)
    previous_sha256: str | None = None
    reason: str | None = None  # amended / corrected: why
    override: str | None = None  # released although the batch QC verdict was not OK

    def __post_init__(self) -> None:
        problems = entry_problems(self.to_dict())
        if problems:
            raise ReleaseLogError(None, "release log entry: " + "; ".join(problems))

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of the line (``override`` only when given)."""
        out: dict[str, Any] = {"schema": RELEASE_LOG.name, "schema_version": RELEASE_LOG.version}
        out.update(asdict(self))
        if out["override"] is None:
            del out["override"]
        return out

    @classmethod
    def from_dict(cls, data: Any, source: str | Path | None = None) -> LogEntry:
        """The entry of one parsed line; ``source`` names it in the error."""
        problems = entry_problems(data)
        if problems:
            raise ReleaseLogError(source, "; ".join(problems))
        fields = {key: data.get(key) for key in cls.__dataclass_fields__}
        return cls(**fields)

    def line(self) -> bytes:
        """The bytes appended to the log: compact JSON, sorted keys, UTF-8, a newline."""
        text = json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return (text + "\n").encode("utf-8")


def entry_problems(data: Any) -> list[str]:
    """Every problem of one entry's JSON object (empty: a valid entry)."""
    if not isinstance(data, Mapping):
        return ["$: not a release log entry (expected a JSON object)"]
    if data.get("schema") != RELEASE_LOG.name:
        return [f"$.schema: {data.get('schema')!r} is not {RELEASE_LOG.name!r}"]
    if data.get("schema_version") not in RELEASE_LOG.versions:
        return [
            f"$.schema_version: {data.get('schema_version')!r} is not supported "
            f"(this pgx-report reads {', '.join(RELEASE_LOG.versions)})"
        ]
    problems = [
        f"{json_path(err.absolute_path)}: {_message(err, data)}"
        for err in schema_errors(data, SCHEMA_FILE)
        if list(err.absolute_path) != ["at"]
    ]
    at_problem = _at_problem(data.get("at")) if "at" in data else None
    if at_problem:
        problems.append(f"$.at: {at_problem}")
    return sorted(set(problems))


def _message(err: Any, data: Mapping[str, Any]) -> str:
    """The schema error in words for the rules a reader meets most."""
    where = list(err.absolute_path)
    field = where[0] if len(where) == 1 else None
    if err.validator == "pattern" and field in ("pdf_sha256",):
        return f"{err.instance!r} is not a SHA-256 (64 lowercase hexadecimal digits)"
    if field in ("previous_pdf", "previous_sha256", "reason", "override") and err.validator in (
        "oneOf",
        "type",
    ):
        status = data.get("status")
        if err.instance is None and status in ("amended", "corrected"):
            return f"required for an {status} report (null given)"
        if err.instance is None:
            return "required when previous_pdf is given (null given)"
        if field == "reason" and status == "final":
            return "must be null for a release (final); a reason belongs to an amendment"
        if field == "previous_sha256" and data.get("previous_pdf") is None:
            return "must be null when previous_pdf is null"
        if err.validator == "oneOf" and field == "previous_sha256":
            return f"{err.instance!r} is not a SHA-256 (64 lowercase hexadecimal digits) or null"
        if err.validator == "oneOf":
            return f"{err.instance!r} is not one line of text or null"
    if err.validator == "pattern" and field == "report_id":
        return f"{err.instance!r} is not a report id (1-128 characters, no spaces)"
    if err.validator == "pattern":
        return f"{err.instance!r} is not one line of text"
    return error_message(err)


# --------------------------------------------------------------------------- reading


def parse_log(data: bytes, source: str | Path) -> list[LogEntry]:
    """The entries of a log's bytes; the first malformed line is ``SOURCE: line N: ...``.

    An empty log has no entries. Every line must be one entry and end with a newline
    (a last line without one was cut short)."""
    if not data:
        return []
    lines = data.split(b"\n")
    if lines[-1]:
        raise ReleaseLogError(
            source, f"line {len(lines)}: incomplete last line (no newline at the end)"
        )
    entries = []
    for number, raw in enumerate(lines[:-1], start=1):
        if not raw.strip():
            raise ReleaseLogError(source, f"line {number}: empty line (expected one entry)")
        try:
            value = parse_json(raw, None, ReleaseLogError)
        except ReleaseLogError as exc:
            message = exc.message.replace("line 1 column", "column", 1)
            raise ReleaseLogError(source, f"line {number}: {message}") from None
        entries.append(LogEntry.from_dict(value, f"{source}: line {number}"))
    return entries


def read_log(path: str | Path) -> list[LogEntry]:
    """The entries of the log at ``path``, in the order logged (entry i is line i+1)."""
    return parse_log(read_input_bytes(path, ReleaseLogError), path)


# --------------------------------------------------------------------------- the chain


@dataclass(frozen=True)
class FileCheck:
    """A PDF the log names: ``state`` is ``match``, ``absent`` or ``differs``."""

    path: str
    state: str
    sha256: str | None = None  # its SHA-256 now, when present


@dataclass(frozen=True)
class ChainLink:
    """One logged version of a report and what is wrong with it."""

    entry: LogEntry
    line: int  # its line in the log
    pdf: FileCheck | None = None  # None: files not checked
    previous: FileCheck | None = None
    problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class Chain:
    """Every logged version of one report, ordered by version (then line)."""

    report_id: str
    links: tuple[ChainLink, ...]

    @property
    def ok(self) -> bool:
        return all(link.ok for link in self.links)

    @property
    def latest(self) -> LogEntry:
        return self.links[-1].entry


@dataclass(frozen=True)
class ChainCheck:
    """The chains of a log, by report id in order of first appearance."""

    chains: tuple[Chain, ...]

    @property
    def ok(self) -> bool:
        return all(chain.ok for chain in self.chains)

    @property
    def problems(self) -> tuple[str, ...]:
        """Every problem, as ``report ID version N (line L): what``."""
        return tuple(
            f"report {chain.report_id} version {link.entry.version} (line {link.line}): {problem}"
            for chain in self.chains
            for link in chain.links
            for problem in link.problems
        )

    def chain(self, report_id: str) -> Chain | None:
        return next((c for c in self.chains if c.report_id == report_id), None)


def _short(sha: str | None) -> str:
    return (sha or "")[:SHORT_SHA]


def _link_problems(entry: LogEntry, line: int, before: Sequence[tuple[int, LogEntry]]) -> list[str]:
    """What is wrong with ``entry`` given the versions ordered before it in its chain."""
    problems = []
    same = [ln for ln, other in before if other.version == entry.version]
    if same:
        problems.append(f"version {entry.version} is already logged on line {same[0]}")
    if not before:
        if entry.status != "final":
            problems.append(
                f"the chain starts with an {entry.status} report, not a release (final)"
            )
        return problems
    prev_line, prev = before[-1]
    if entry.status == "final" and not same:
        problems.append(
            f"final after version {prev.version} (only the first release is final; "
            "later versions are amended or corrected)"
        )
    if not same and entry.version != prev.version + 1:
        missing = f"{prev.version + 1}" + (
            f"-{entry.version - 1}" if entry.version - 1 > prev.version + 1 else ""
        )
        problems.append(
            f"version {entry.version} follows version {prev.version} (version {missing} missing)"
        )
    if not same and entry.previous_sha256 != prev.pdf_sha256:
        problems.append(
            f"previous_sha256 {_short(entry.previous_sha256) or 'null'} is not the SHA-256 "
            f"of version {prev.version}'s PDF ({_short(prev.pdf_sha256)}, line {prev_line})"
        )
    reused = [other for _, other in before if other.pdf_sha256 == entry.pdf_sha256]
    if reused and not same:
        problems.append(f"the same PDF bytes as version {reused[0].version}")
    if not same and _time(entry.at) < _time(prev.at):
        problems.append(f"released at {entry.at}, before version {prev.version} ({prev.at})")
    if line < prev_line:
        problems.append(f"logged on line {line}, before version {prev.version} (line {prev_line})")
    return problems


def _time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def _file_check(name: str, logged: str, base_dir: Path) -> FileCheck:
    path = Path(name) if Path(name).is_absolute() else base_dir / name
    if not path.is_file():
        return FileCheck(name, "absent")
    actual = sha256_file(path)
    return FileCheck(name, "match" if actual == logged else "differs", actual)


def _file_problems(pdf: FileCheck, previous: FileCheck | None, entry: LogEntry) -> list[str]:
    problems = []
    if pdf.state == "differs":
        problems.append(
            f"{pdf.path}: SHA-256 is {_short(pdf.sha256)}, the log says "
            f"{_short(entry.pdf_sha256)} (the file changed after it was released)"
        )
    if previous is not None and previous.state == "differs":
        problems.append(
            f"{previous.path}: SHA-256 is {_short(previous.sha256)}, not the previous_sha256 "
            f"{_short(entry.previous_sha256)} the log names"
        )
    return problems


def _chain(
    report_id: str, numbered: Sequence[tuple[int, LogEntry]], base_dir: Path | None
) -> Chain:
    ordered = sorted(numbered, key=lambda item: (item[1].version, item[0]))
    links = []
    for index, (line, entry) in enumerate(ordered):
        problems = _link_problems(entry, line, ordered[:index])
        pdf = previous = None
        if base_dir is not None:
            pdf = _file_check(entry.pdf, entry.pdf_sha256, base_dir)
            if entry.previous_pdf is not None and entry.previous_sha256 is not None:
                previous = _file_check(entry.previous_pdf, entry.previous_sha256, base_dir)
            problems += _file_problems(pdf, previous, entry)
        links.append(ChainLink(entry, line, pdf, previous, tuple(problems)))
    return Chain(report_id, tuple(links))


def check_chain(
    entries: Sequence[LogEntry], base_dir: str | Path | None, report_id: str | None = None
) -> ChainCheck:
    """The chain of every report in ``entries`` (in log order: entry i is line i+1), or
    of ``report_id`` only. PDFs named by a relative path are looked for in ``base_dir``
    (the log's folder); ``base_dir=None`` checks no file."""
    by_id: dict[str, list[tuple[int, LogEntry]]] = {}
    for line, entry in enumerate(entries, start=1):
        if report_id is None or entry.report_id == report_id:
            by_id.setdefault(entry.report_id, []).append((line, entry))
    base = Path(base_dir) if base_dir is not None else None
    return ChainCheck(tuple(_chain(rid, numbered, base) for rid, numbered in by_id.items()))


# --------------------------------------------------------------------------- appending


def logged_name(pdf: str | Path, log_path: str | Path) -> str:
    """How the log names ``pdf``: relative to the log's folder when inside it (so the
    folder can be moved), else its absolute path; ``/`` separators."""
    folder = Path(log_path).parent.resolve()
    target = Path(pdf).resolve()
    try:
        return target.relative_to(folder).as_posix()
    except ValueError:
        return target.as_posix()


def log_path_for(output_pdf: str | Path) -> Path:
    """The log beside a released report: ``<its folder>/release-log.jsonl``."""
    return Path(output_pdf).parent / LOG_NAME


def append_problems(entries: Sequence[LogEntry], entry: LogEntry) -> list[str]:
    """What appending ``entry`` would break in its report's chain (files not checked)."""
    numbered = [(n, e) for n, e in enumerate(entries, start=1) if e.report_id == entry.report_id]
    numbered.append((len(entries) + 1, entry))
    chain = _chain(entry.report_id, numbered, None)
    new = next(link for link in chain.links if link.line == len(entries) + 1)
    return list(new.problems)


def check_append(log_path: str | Path, entry: LogEntry) -> None:
    """Refuse (ReleaseLogError naming the log) an ``entry`` that :func:`append_entry`
    would refuse, before anything is written: call it before writing the PDF."""
    path = Path(log_path)
    check_input_file(path, ReleaseLogError, kind="release log")
    entries = read_log(path) if path.exists() else []
    _refuse_problems(path, entries, entry)


def _refuse_problems(path: Path, entries: Sequence[LogEntry], entry: LogEntry) -> None:
    problems = append_problems(entries, entry)
    if problems:
        raise ReleaseLogError(
            path,
            f"cannot log report {entry.report_id} version {entry.version}: " + "; ".join(problems),
        )


def append_entry(log_path: str | Path, entry: LogEntry) -> None:
    """Append ``entry`` as one line to the log at ``log_path`` (created if missing).

    Under an exclusive ``flock`` the log is read and checked (:func:`parse_log`; a
    malformed log is refused, naming its file and line, and left as it is) and the
    entry checked against its report's chain (:func:`append_problems`); then the line
    is written with one ``write`` on an ``O_APPEND`` descriptor and ``fsync``-ed.
    Nothing before it is ever rewritten; a write that fails part-way is cut back to
    the log's length before it, so the log stays well-formed."""
    import fcntl

    path = Path(log_path)
    check_input_file(path, ReleaseLogError, kind="release log")
    created = not path.exists()
    try:
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise OutputError(path, f"cannot open the release log: {exc.strerror or exc}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        size = os.fstat(fd).st_size
        _refuse_problems(path, parse_log(_read_all(fd, size), path), entry)
        _write_line(fd, path, entry.line(), size)
    finally:
        os.close(fd)  # releases the lock
    if created:
        _fsync_folder(path.parent)


def _read_all(fd: int, size: int) -> bytes:
    chunks, offset = [], 0
    while offset < size:
        chunk = os.pread(fd, min(size - offset, 1 << 20), offset)
        if not chunk:
            break
        chunks.append(chunk)
        offset += len(chunk)
    return b"".join(chunks)


def _write_line(fd: int, path: Path, line: bytes, size: int) -> None:
    try:
        written = os.write(fd, line)
        if written != len(line):
            raise OSError(f"wrote {written} of {len(line)} bytes")
        os.fsync(fd)
    except OSError as exc:
        if os.fstat(fd).st_size > size:
            os.ftruncate(fd, size)  # only the bytes of this failed write
        raise OutputError(path, f"cannot append to the release log: {exc}") from None


def _fsync_folder(folder: Path) -> None:
    try:
        dir_fd = os.open(folder if str(folder) else ".", os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


# --------------------------------------------------------------------------- history


def history(log_path: str | Path, report_id: str | None = None) -> ChainCheck:
    """The checked chains of the log at ``log_path`` (PDFs looked for beside it)."""
    path = Path(log_path)
    entries = read_log(path)
    check = check_chain(entries, path.parent, report_id)
    if report_id is not None and not check.chains:
        known = sorted({entry.report_id for entry in entries})
        held = f"the log holds {', '.join(known[:5])}" + (", ..." if len(known) > 5 else "")
        raise ReleaseLogError(
            path,
            f"no entry for report id {report_id!r} ("
            + (held if known else "the log is empty")
            + ")",
        )
    return check


def history_lines(check: ChainCheck, *, ascii_only: bool = False) -> list[str]:
    """One line per logged version: id, version, status, time, reviewer, short SHA-256,
    then ``✓`` (and what was found of the PDF) or ``✗`` and the problems."""
    good, bad = ("ok", "BROKEN") if ascii_only else ("\u2713", "\u2717")
    rows = []
    for chain in check.chains:
        for link in chain.links:
            entry = link.entry
            if link.problems:
                mark = f"{bad} " + "; ".join(link.problems)
            else:
                found = {"match": "PDF verified", "absent": "PDF not present"}
                mark = good + (f" ({found[link.pdf.state]})" if link.pdf else "")
            rows.append(
                (
                    entry.report_id,
                    f"v{entry.version}",
                    entry.status.upper(),
                    entry.at,
                    entry.reviewer,
                    f"sha256:{_short(entry.pdf_sha256)}",
                    mark,
                )
            )
    return _columns(rows)


def _columns(rows: Iterable[tuple[str, ...]]) -> list[str]:
    table = list(rows)
    if not table:
        return []
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]) - 1)]
    return [
        "  ".join([*(cell.ljust(width) for cell, width in zip(row, widths, strict=False)), row[-1]])
        for row in table
    ]


def chain_error(check: ChainCheck, log_path: str | Path) -> ReleaseLogError | None:
    """The one-line error of a broken chain (its first problem), or None when intact."""
    problems = check.problems
    if not problems:
        return None
    more = f" (and {len(problems) - 1} more, listed above)" if len(problems) > 1 else ""
    return ReleaseLogError(log_path, f"release chain broken: {problems[0]}{more}")
