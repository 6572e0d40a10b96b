"""``pgx-report run`` replaces its output folder as a whole (issue 13).

A kill at any step leaves OUTDIR with the complete old set or the complete new set (and
a rerun succeeds); an OUTDIR holding a file pgx-report did not write is refused before
any work, and nothing of it is deleted."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import DEMO, REPO_ROOT, assert_clean_error, run_pgx

from pgx_report.files import folder
from pgx_report.pipeline import RUN_OUTPUTS, run_to_folder

NAMES = sorted(RUN_OUTPUTS.values())
A = (DEMO / "vcfs" / "NA12878.OPRM1.g.vcf.gz", DEMO / "questionnaires" / "demo-carrier.json")
B = (DEMO / "vcfs" / "NA18564.OPRM1.g.vcf.gz", DEMO / "questionnaires" / "demo-aa.json")


def _run(patient: tuple[Path, Path], out: Path, kill_at: str | None = None) -> int:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    env.pop(folder.KILL_ENV, None)
    if kill_at:
        env[folder.KILL_ENV] = kill_at
    argv = [sys.executable, "-m", "pgx_report", "run", *map(str, patient), "-o", str(out)]
    return subprocess.run([*argv, "--allow-sample-mismatch"], env=env, check=False).returncode


def _snapshot(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in out.iterdir()}


@pytest.fixture(scope="module")
def sets(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, dict[str, bytes]]]:
    """An OUTDIR and the complete output sets of patients A and B written to it (the
    folder's path is in the outputs' provenance: every kill test reuses it)."""
    out = tmp_path_factory.mktemp("sets") / "out"
    found = {}
    for key, patient in (("A", A), ("B", B)):
        assert _run(patient, out) == 0
        found[key] = _snapshot(out)
        assert sorted(found[key]) == NAMES
    assert found["A"] != found["B"]
    return out, found


def test_outputs_are_the_bytes_run_sample_made(tmp_path: Path) -> None:
    out = tmp_path / "out"
    made = run_to_folder(*A, out, report=_mismatch())
    assert _snapshot(out) == {RUN_OUTPUTS[key]: getattr(made, key) for key in RUN_OUTPUTS}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no staging left


def _mismatch():  # type: ignore[no-untyped-def]
    from pgx_report.pipeline import ReportSettings

    return ReportSettings(allow_sample_mismatch=True)


def test_a_folder_with_a_foreign_file_is_refused_before_any_work(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "call.json").write_text("old\n", encoding="utf-8")
    (out / "notes.txt").write_text("mine\n", encoding="utf-8")
    result = run_pgx("run", *A, "-o", out, "--allow-sample-mismatch")
    assert_clean_error(result, f"{out}: folder holds 'notes.txt'")
    assert _snapshot(out) == {"call.json": b"old\n", "notes.txt": b"mine\n"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2", "two-renames"])
def test_in_process_swap_replaces_the_whole_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exchange: bool
) -> None:
    if not exchange:
        monkeypatch.setattr(folder, "_exchange", lambda a, b: False)
    out = tmp_path / "out"
    out.mkdir()
    (out / "call.json").write_text("old\n", encoding="utf-8")
    with folder.atomic_folder(out, NAMES) as staging:
        for name in NAMES:
            (staging / name).write_text(name, encoding="utf-8")
    assert _snapshot(out) == {name: name.encode() for name in NAMES}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_failure_leaves_the_old_set(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "call.json").write_text("old\n", encoding="utf-8")
    with pytest.raises(RuntimeError), folder.atomic_folder(out, NAMES) as staging:
        (staging / "call.json").write_text("new\n", encoding="utf-8")
        raise RuntimeError
    assert _snapshot(out) == {"call.json": b"old\n"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


@pytest.mark.parametrize("step", ["written", "staged", "swapped"])
def test_a_kill_leaves_the_old_or_the_new_set_and_a_rerun_succeeds(
    sets: tuple[Path, dict[str, dict[str, bytes]]], step: str
) -> None:
    out, found = sets
    shutil.rmtree(out)
    out.mkdir()
    for name, data in found["A"].items():
        (out / name).write_bytes(data)
    assert _run(B, out, kill_at=step) == -signal.SIGKILL
    assert _snapshot(out) in (found["A"], found["B"])
    assert _run(B, out) == 0
    assert _snapshot(out) == found["B"]
    assert sorted(p.name for p in out.parent.iterdir()) == ["out"]  # leftovers removed


def test_a_kill_between_the_fallback_renames_is_undone_by_the_next_run(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "call.json").write_text("old\n", encoding="utf-8")
    aside = tmp_path / f".out.{folder.OLD}x"
    out.rename(aside)  # what a kill after the first of the two renames leaves
    folder.remove_leftovers(out, NAMES)
    assert _snapshot(out) == {"call.json": b"old\n"}
    assert not aside.exists()
