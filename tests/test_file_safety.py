"""Nothing a user gave is lost or replaced: bad output targets and non-regular inputs
are refused with exit 2 and one line, and every input file is unchanged afterwards."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest
from conftest import assert_clean_error, run_pgx

DEMO = Path(__file__).resolve().parent.parent / "demo"


def _snapshot(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "special"
        for p in sorted(folder.iterdir())
    }


@pytest.fixture
def cohort(tmp_path: Path) -> Path:
    for name in ("cohort.b37.vcf.gz", "cohort.b37.vcf.gz.tbi"):
        shutil.copy(DEMO / "vcfs" / name, tmp_path / name)
    (tmp_path / "notes.txt").write_text("lab notes\n", encoding="utf-8")
    return tmp_path / "cohort.b37.vcf.gz"


CASES = {
    "all-samples into the input's folder": (["--all-samples", "-o", "{dir}"], "holds the input"),
    "-o the index": (["--sample", "COH-001", "-o", "{vcf}.tbi"], "index of the input"),
    "-o the input": (["--sample", "COH-001", "-o", "{vcf}"], "input file"),
    "-o a directory": (["--sample", "COH-001", "-o", "{dir}"], "is a directory"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_call_refuses_targets_that_would_lose_a_file(case: str, cohort: Path) -> None:
    args, fragment = CASES[case]
    before = _snapshot(cohort.parent)
    argv = [a.format(dir=cohort.parent, vcf=cohort) for a in args]
    result = run_pgx("call", cohort, *argv)
    assert_clean_error(result, fragment)
    assert _snapshot(cohort.parent) == before


def test_a_folder_pgx_report_did_not_write_is_not_replaced(cohort: Path, tmp_path: Path) -> None:
    out = tmp_path / "calls"
    run_pgx("call", "--all-samples", cohort, "-o", out, check=True)
    run_pgx("call", "--all-samples", cohort, "-o", out, check=True)  # its own: replaced
    (out / "mine.txt").write_text("keep me\n", encoding="utf-8")
    before = _snapshot(out)
    assert_clean_error(run_pgx("call", "--all-samples", cohort, "-o", out), "mine.txt")
    assert _snapshot(out) == before


@pytest.mark.parametrize("kind", ["fifo", "directory", "proc"])
def test_non_regular_inputs_are_refused_at_once(kind: str, tmp_path: Path) -> None:
    if kind == "fifo":
        path = tmp_path / "in.vcf"
        os.mkfifo(path)
    elif kind == "directory":
        path = tmp_path
    else:
        path = Path("/proc/self/mem")
    result = run_pgx("call", path)
    assert_clean_error(result, str(path))


def test_a_symlink_output_is_written_through(cohort: Path, tmp_path: Path) -> None:
    real = tmp_path / "real.json"
    link = tmp_path / "link.json"
    link.symlink_to(real)
    run_pgx("call", "--sample", "COH-001", cohort, "-o", link, check=True)
    assert link.is_symlink()
    assert '"genotype": "A/A"' in real.read_text(encoding="utf-8")


def test_a_fifo_output_is_streamed_not_replaced(cohort: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    import subprocess
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-m", "pgx_report", "call", "--sample", "COH-001", str(cohort),
         "-o", str(fifo)],
    )  # fmt: skip
    with fifo.open("rb") as reader:
        data = reader.read()
    assert proc.wait(timeout=60) == 0
    assert b'"genotype": "A/A"' in data
    assert fifo.is_fifo()
