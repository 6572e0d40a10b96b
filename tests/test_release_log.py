"""The release log (issue 15 item 6): append-only JSON lines, the chain check, ``history``."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pgx_report import cli
from pgx_report.outputs import release_log as rl
from pgx_report.outputs.release_log import LogEntry, ReleaseLogError
from tests.conftest import assert_clean_error, run_pgx

AT = "2025-11-21T09:30:00+01:00"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def entry(**changes: Any) -> LogEntry:
    """A valid first release of report R-1; ``changes`` replace fields."""
    fields: dict[str, Any] = {
        "report_id": "R-1",
        "version": 1,
        "status": "final",
        "reviewer": "Kari Lege, overlege",
        "at": AT,
        "pdf": "R-1.v1.pdf",
        "pdf_sha256": sha(b"v1"),
        "previous_pdf": "R-1.preliminary.pdf",
        "previous_sha256": sha(b"preliminary"),
        "reason": None,
    }
    fields.update(changes)
    return LogEntry(**fields)


def chain_of_three() -> list[LogEntry]:
    """final -> amended -> corrected, each previous_sha256 the PDF before."""
    return [
        entry(),
        entry(
            version=2,
            status="amended",
            at="2025-11-22T10:00:00+01:00",
            pdf="R-1.v2.pdf",
            pdf_sha256=sha(b"v2"),
            previous_pdf="R-1.v1.pdf",
            previous_sha256=sha(b"v1"),
            reason="AUDIT score corrected by the clinic",
        ),
        entry(
            version=3,
            status="corrected",
            at="2025-11-23T08:00:00Z",
            pdf="R-1.v3.pdf",
            pdf_sha256=sha(b"v3"),
            previous_pdf="R-1.v2.pdf",
            previous_sha256=sha(b"v2"),
            reason="typing error in the patient's name",
        ),
    ]


def write_pdfs(folder: Path) -> None:
    for name, data in [
        ("R-1.preliminary.pdf", b"preliminary"),
        ("R-1.v1.pdf", b"v1"),
        ("R-1.v2.pdf", b"v2"),
        ("R-1.v3.pdf", b"v3"),
    ]:
        (folder / name).write_bytes(data)


def write_log(path: Path, entries: list[LogEntry]) -> None:
    path.write_bytes(b"".join(item.line() for item in entries))


# --------------------------------------------------------------------------- entries


def test_entry_round_trip_and_line_bytes() -> None:
    item = entry(override="batch QC WARN accepted: control well re-run")
    line = item.line()
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    data = json.loads(line)
    assert list(data) == sorted(data)  # sorted keys
    assert data["schema"] == "pgx-report.release-log" and data["schema_version"] == "1.0"
    assert LogEntry.from_dict(data) == item
    assert "override" not in entry().to_dict()  # only when given
    assert LogEntry.from_dict(entry().to_dict()) == entry()


def test_entry_line_is_utf8_not_escaped() -> None:
    line = entry(reviewer="Øyvind Ås, overlege").line()
    assert "Øyvind Ås".encode() in line


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"status": "preliminary"}, "$.status"),
        ({"version": 0}, "$.version"),
        ({"version": True}, "$.version"),
        ({"at": "2025-11-21T09:30:00"}, "$.at: '2025-11-21T09:30:00' is not an ISO 8601"),
        ({"at": "2025-11-21"}, "UTC offset"),
        ({"at": "2025-02-30T09:30:00+01:00"}, "$.at: '2025-02-30T09:30:00+01:00' is not a valid"),
        ({"pdf_sha256": "ABC"}, "$.pdf_sha256: 'ABC' is not a SHA-256"),
        ({"previous_sha256": "0" * 63}, "$.previous_sha256"),
        ({"reviewer": ""}, "$.reviewer"),
        ({"reviewer": "   "}, "$.reviewer"),
        ({"reviewer": "Kari\nLege"}, "$.reviewer: 'Kari\\nLege' is not one line"),
        ({"report_id": "R 1"}, "$.report_id: 'R 1' is not a report id"),
        ({"reason": "why"}, "$.reason: must be null for a release (final)"),
        ({"previous_pdf": None}, "$.previous_sha256: must be null when previous_pdf is null"),
        ({"previous_sha256": None}, "$.previous_sha256: required when previous_pdf is given"),
        (
            {"status": "amended", "version": 2, "reason": None},
            "$.reason: required for an amended report",
        ),
        (
            {"status": "corrected", "previous_pdf": None, "previous_sha256": None, "reason": "x"},
            "$.previous_pdf: required for an corrected report",
        ),
    ],
)
def test_invalid_entry_refused(changes: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ReleaseLogError) as caught:
        entry(**changes)
    assert fragment in str(caught.value)
    assert "\n" not in str(caught.value)


def test_entry_without_previous_is_a_valid_release() -> None:
    item = entry(previous_pdf=None, previous_sha256=None)
    assert item.previous_sha256 is None


@pytest.mark.parametrize(
    "text", ["2025-11-21T09:30:00+01:00", "2025-11-21T08:30Z", "2025-11-21T09:30:00.123+01:00"]
)
def test_parse_at_accepts_offsets(text: str) -> None:
    assert rl.parse_at(text).utcoffset() is not None


@pytest.mark.parametrize("text", ["2025-11-21T09:30:00", "now", "21.11.2025 09:30", ""])
def test_parse_at_refuses(text: str) -> None:
    with pytest.raises(ReleaseLogError, match=r"^--at: "):
        rl.parse_at(text)


# --------------------------------------------------------------------------- appending


def test_append_creates_the_log_and_appends_one_line_each(tmp_path: Path) -> None:
    log = tmp_path / rl.LOG_NAME
    items = chain_of_three()
    for count, item in enumerate(items, start=1):
        rl.append_entry(log, item)
        assert log.read_bytes().count(b"\n") == count
    assert rl.read_log(log) == items
    assert log.read_bytes() == b"".join(item.line() for item in items)


def test_append_keeps_the_byte_prefix(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    items = chain_of_three()
    rl.append_entry(log, items[0])
    rl.append_entry(log, items[1])
    before = log.read_bytes()
    inode = log.stat().st_ino
    rl.append_entry(log, items[2])
    after = log.read_bytes()
    assert after.startswith(before)
    assert after[len(before) :] == items[2].line()
    assert log.stat().st_ino == inode  # appended in place, never replaced


def _appender_script(log: Path, prefix: str, count: int) -> str:
    return textwrap.dedent(
        f"""
        import hashlib
        from pgx_report.outputs.release_log import LogEntry, append_entry
        for n in range({count}):
            rid = "{prefix}-" + str(n)
            append_entry({str(log)!r}, LogEntry(
                report_id=rid, version=1, status="final", reviewer="R, lege",
                at="2025-11-21T09:30:00+01:00", pdf=rid + ".pdf",
                pdf_sha256=hashlib.sha256(rid.encode()).hexdigest()))
        """
    )


def test_concurrent_appends_from_two_processes_are_all_kept(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    count = 40
    procs = [
        subprocess.Popen([sys.executable, "-c", _appender_script(log, prefix, count)])
        for prefix in ("A", "B")
    ]
    assert [proc.wait() for proc in procs] == [0, 0]
    entries = rl.read_log(log)  # every line whole
    ids = sorted(item.report_id for item in entries)
    assert ids == sorted([f"{p}-{n}" for p in "AB" for n in range(count)])
    assert rl.check_chain(entries, None).ok


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b'{"a": 1\n', "line 2: column 8: invalid JSON"),
        (b"\n", "line 2: empty line"),
        (b"not json\n", "line 2: column 1: invalid JSON"),
        (b'{"schema": "other"}\n', "line 2: $.schema: 'other' is not 'pgx-report.release-log'"),
        (b"[]\n", "line 2: $: not a release log entry"),
        (b"\xff\xfe\n", "line 2: not UTF-8 text"),
        (b"LINE_WITHOUT_NEWLINE", "line 2: incomplete last line (no newline at the end)"),
    ],
)
def test_malformed_log_refused_and_left_unchanged(
    tmp_path: Path, content: bytes, fragment: str
) -> None:
    log = tmp_path / "log.jsonl"
    first, second, _ = chain_of_three()
    if content == b"LINE_WITHOUT_NEWLINE":
        content = second.line().rstrip(b"\n")
    log.write_bytes(first.line() + content)
    before = log.read_bytes()
    with pytest.raises(ReleaseLogError) as caught:
        rl.append_entry(log, second)
    message = str(caught.value)
    assert message.startswith(f"{log}: "), message
    assert fragment in message, message
    assert log.read_bytes() == before
    with pytest.raises(ReleaseLogError, match="line 2"):
        rl.read_log(log)


def test_invalid_entry_line_names_file_and_line(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    bad = entry().to_dict() | {"status": "draft"}
    log.write_bytes(entry().line() + json.dumps(bad).encode() + b"\n")
    with pytest.raises(ReleaseLogError) as caught:
        rl.read_log(log)
    assert str(caught.value).startswith(f"{log}: line 2: $.status: 'draft' is not one of")


def test_duplicate_key_line_refused(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    text = entry().line().decode()
    log.write_text(text + text.replace("{", '{"version":2,', 1), encoding="utf-8")
    with pytest.raises(ReleaseLogError, match=r"line 2: duplicate key 'version'"):
        rl.read_log(log)


@pytest.mark.parametrize(
    ("index", "changes", "fragment"),
    [
        (1, {"version": 3}, "version 3 follows version 1 (version 2 missing)"),
        (1, {"version": 1}, "version 1 is already logged on line 1"),
        (1, {"previous_sha256": sha(b"other")}, "is not the SHA-256 of version 1's PDF"),
        (1, {"status": "final", "reason": None}, "final after version 1"),
    ],
)
def test_append_refuses_an_entry_that_breaks_the_chain(
    tmp_path: Path, index: int, changes: dict[str, Any], fragment: str
) -> None:
    log = tmp_path / "log.jsonl"
    items = chain_of_three()
    rl.append_entry(log, items[0])
    before = log.read_bytes()
    bad = dataclasses.replace(items[index], **changes)
    with pytest.raises(ReleaseLogError) as caught:
        rl.check_append(log, bad)
    assert fragment in str(caught.value)
    with pytest.raises(ReleaseLogError) as caught:
        rl.append_entry(log, bad)
    assert str(caught.value).startswith(f"{log}: cannot log report R-1 version ")
    assert fragment in str(caught.value)
    assert log.read_bytes() == before


def test_append_refuses_a_directory(tmp_path: Path) -> None:
    with pytest.raises(ReleaseLogError, match="is a directory"):
        rl.append_entry(tmp_path, entry())


def test_check_append_on_a_missing_log_is_fine(tmp_path: Path) -> None:
    rl.check_append(tmp_path / "new.jsonl", entry())
    assert not (tmp_path / "new.jsonl").exists()


def test_logged_name_and_log_path(tmp_path: Path) -> None:
    log = rl.log_path_for(tmp_path / "out" / "R-1.pdf")
    assert log == tmp_path / "out" / rl.LOG_NAME
    assert rl.logged_name(tmp_path / "out" / "sub" / "R-1.pdf", log) == "sub/R-1.pdf"
    assert (
        rl.logged_name(tmp_path / "elsewhere.pdf", log)
        == (tmp_path / "elsewhere.pdf").resolve().as_posix()
    )


# --------------------------------------------------------------------------- the chain


def test_intact_chain_with_files(tmp_path: Path) -> None:
    write_pdfs(tmp_path)
    check = rl.check_chain(chain_of_three(), tmp_path)
    assert check.ok and check.problems == ()
    (chain,) = check.chains
    assert [link.entry.version for link in chain.links] == [1, 2, 3]
    assert [link.pdf.state for link in chain.links if link.pdf] == ["match"] * 3
    assert [link.previous.state for link in chain.links if link.previous] == ["match"] * 3
    assert chain.latest.status == "corrected"


def test_intact_chain_without_files(tmp_path: Path) -> None:
    check = rl.check_chain(chain_of_three(), tmp_path)
    assert check.ok
    assert {link.pdf.state for link in check.chains[0].links if link.pdf} == {"absent"}


def test_chains_are_per_report_and_filtered() -> None:
    other = [dataclasses.replace(item, report_id="R-2") for item in chain_of_three()[:2]]
    entries = [chain_of_three()[0], other[0], *chain_of_three()[1:], other[1]]
    check = rl.check_chain(entries, None)
    assert [c.report_id for c in check.chains] == ["R-1", "R-2"]
    assert [link.line for link in check.chain("R-2").links] == [2, 5]  # type: ignore[union-attr]
    only = rl.check_chain(entries, None, report_id="R-2")
    assert [c.report_id for c in only.chains] == ["R-2"]
    assert rl.check_chain(entries, None, report_id="R-9").chains == ()


def _replace(items: list[LogEntry], index: int, **changes: Any) -> list[LogEntry]:
    out = list(items)
    out[index] = dataclasses.replace(out[index], **changes)
    return out


Mutation = Callable[[list[LogEntry]], list[LogEntry]]

BROKEN: dict[str, tuple[Mutation, str]] = {
    "gap": (
        lambda c: [c[0], dataclasses.replace(c[2], previous_sha256=c[0].pdf_sha256)],
        "version 3 (line 2): version 3 follows version 1 (version 2 missing)",
    ),
    "duplicate": (
        lambda c: [c[0], c[1], c[1]],
        "version 2 (line 3): version 2 is already logged on line 2",
    ),
    "previous sha": (
        lambda c: _replace(c, 2, previous_sha256=sha(b"something else")),
        "version 3 (line 3): previous_sha256 "
        + sha(b"something else")[:12]
        + " is not the SHA-256 of version 2's PDF ("
        + sha(b"v2")[:12]
        + ", line 2)",
    ),
    "final after amended": (
        lambda c: _replace(c, 2, status="final", reason=None),
        "version 3 (line 3): final after version 2",
    ),
    "starts amended": (
        lambda c: c[1:],
        "version 2 (line 1): the chain starts with an amended report, not a release",
    ),
    "time goes back": (
        lambda c: _replace(c, 1, at="2025-11-20T10:00:00+01:00"),
        "version 2 (line 2): released at 2025-11-20T10:00:00+01:00, before version 1",
    ),
    "out of order": (
        lambda c: [c[1], c[0]],
        "version 2 (line 1): logged on line 1, before version 1 (line 2)",
    ),
    "same pdf twice": (
        lambda c: _replace(c, 1, pdf_sha256=c[0].pdf_sha256),
        "version 2 (line 2): the same PDF bytes as version 1",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_chain(case: str) -> None:
    make, expected = BROKEN[case]
    check = rl.check_chain(make(chain_of_three()), None)
    assert not check.ok
    assert any(
        problem == f"report R-1 {expected}" or problem.startswith(f"report R-1 {expected}")
        for problem in check.problems
    ), check.problems


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("R-1.v2.pdf", "R-1.v2.pdf: SHA-256 is"),
        ("R-1.preliminary.pdf", "R-1.preliminary.pdf: SHA-256 is"),
    ],
)
def test_changed_file_breaks_the_chain(tmp_path: Path, name: str, fragment: str) -> None:
    write_pdfs(tmp_path)
    (tmp_path / name).write_bytes(b"edited afterwards")
    check = rl.check_chain(chain_of_three(), tmp_path)
    assert not check.ok
    assert any(fragment in problem for problem in check.problems), check.problems
    states = {link.pdf.path: link.pdf.state for link in check.chains[0].links if link.pdf}
    if name in states:
        assert states[name] == "differs"


def test_absolute_pdf_path_is_checked(tmp_path: Path) -> None:
    pdf = tmp_path / "abs.pdf"
    pdf.write_bytes(b"v1")
    check = rl.check_chain([entry(pdf=str(pdf))], tmp_path / "elsewhere")
    assert check.chains[0].links[0].pdf == rl.FileCheck(str(pdf), "match", sha(b"v1"))


# --------------------------------------------------------------------------- history


def test_history_lines() -> None:
    lines = rl.history_lines(rl.check_chain(chain_of_three(), None))
    assert len(lines) == 3
    assert lines[0].split()[:3] == ["R-1", "v1", "FINAL"]
    assert lines[1].split()[:3] == ["R-1", "v2", "AMENDED"]
    assert lines[2].split()[:3] == ["R-1", "v3", "CORRECTED"]
    assert "Kari Lege, overlege" in lines[0] and AT in lines[0]
    assert f"sha256:{sha(b'v1')[:12]}" in lines[0]
    assert all(line.endswith("\u2713") for line in lines)
    assert rl.history_lines(rl.check_chain(chain_of_three(), None), ascii_only=True)[0].endswith(
        "ok"
    )


def run_history(*args: str | Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(["history", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def test_history_command_intact(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_pdfs(tmp_path)
    log = tmp_path / rl.LOG_NAME
    write_log(log, chain_of_three())
    code, out, err = run_history(log, capsys=capsys)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert len(lines) == 3
    assert all("\u2713 (PDF verified)" in line for line in lines)
    (tmp_path / "R-1.v3.pdf").unlink()
    code, out, _ = run_history(log, capsys=capsys)
    assert code == 0 and out.splitlines()[2].endswith("\u2713 (PDF not present)")


def test_history_command_broken(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_pdfs(tmp_path)
    (tmp_path / "R-1.v1.pdf").write_bytes(b"tampered")
    log = tmp_path / rl.LOG_NAME
    write_log(log, chain_of_three())
    code, out, err = run_history(log, capsys=capsys)
    assert code == 2
    assert len(out.splitlines()) == 3  # the chain is still printed
    assert "\u2717" in out.splitlines()[0] and "\u2717" in out.splitlines()[1]
    assert err.count("\n") == 1
    assert err.startswith(f"pgx-report: error: {log}: release chain broken: report R-1 version 1")
    assert "(and 1 more, listed above)" in err


def test_history_report_id(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / rl.LOG_NAME
    other = dataclasses.replace(entry(), report_id="R-2")
    write_log(log, [*chain_of_three(), other])
    code, out, _ = run_history(log, "--report-id", "R-2", capsys=capsys)
    assert code == 0 and len(out.splitlines()) == 1 and out.startswith("R-2  v1  FINAL")
    code, out, err = run_history(log, "--report-id", "R-9", capsys=capsys)
    assert code == 2 and out == ""
    assert (
        err == f"pgx-report: error: {log}: no entry for report id 'R-9' (the log holds R-1, R-2)\n"
    )


def test_history_empty_log(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / rl.LOG_NAME
    log.write_bytes(b"")
    code, out, _ = run_history(log, capsys=capsys)
    assert (code, out) == (0, f"{log}: no releases logged\n")


@pytest.mark.parametrize(
    ("content", "fragment"),
    [(None, "file not found"), (b"{}\n", "line 1: $.schema"), (b"x", "line 1: incomplete")],
)
def test_history_refuses_bad_log(tmp_path: Path, content: bytes | None, fragment: str) -> None:
    log = tmp_path / rl.LOG_NAME
    if content is not None:
        log.write_bytes(content)
    result = run_pgx("history", log)
    assert_clean_error(result, str(log), fragment)
    assert result.stdout == ""


def test_history_real_process_ok(tmp_path: Path) -> None:
    log = tmp_path / rl.LOG_NAME
    for item in chain_of_three():
        rl.append_entry(log, item)
    result = run_pgx("history", log, "--report-id", "R-1")
    assert result.returncode == 0, result.stderr
    assert [line.split()[1] for line in result.stdout.splitlines()] == ["v1", "v2", "v3"]


def test_history_on_an_ascii_terminal(tmp_path: Path) -> None:
    log = tmp_path / rl.LOG_NAME
    rl.append_entry(log, entry(reviewer="Øyvind Ås, overlege"))
    env = {**os.environ, "PYTHONIOENCODING": "ascii"}
    proc = subprocess.run(
        [sys.executable, "-m", "pgx_report", "history", str(log)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "\\xd8yvind \\xc5s, overlege" in proc.stdout
    assert proc.stdout.rstrip().endswith("ok (PDF not present)")
