"""Fixtures shared by every test module. Keep topic-specific fixtures in their own modules."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent

# Every safety question of the questionnaire answered "no" (shared by the assessment tests).
SAFE = {
    "current_opioid_use": False,
    "opioid_agonist_treatment": False,
    "opioid_analgesics_expected": False,
    "positive_opioid_screen": False,
    "acute_opioid_withdrawal": False,
    "acute_hepatitis": False,
    "hepatic_impairment": "none",
    "renal_impairment": "none",
    "pregnant_or_breastfeeding": False,
    "liver_enzymes_elevated": False,
    "hypersensitivity_to_naltrexone": False,
}
# The real 1000 Genomes gVCFs ship inside the package (README.md there: origin, licence).
REALDATA = REPO_ROOT / "pgx_report" / "data" / "realdata"
DEMO = REPO_ROOT / "demo"


def _demo_patients() -> dict[str, tuple[str, str]]:
    """The bundled demo patients, from the demo sample sheet (config/samples.tsv):
    sample -> (file name in demo/vcfs/, sample name inside that VCF)."""
    with (REPO_ROOT / "config" / "samples.tsv").open(encoding="utf-8", newline="") as sheet:
        rows = csv.DictReader(sheet, delimiter="\t")
        return {row["sample"]: (Path(row["input"]).name, row["vcf_sample"]) for row in rows}


DEMO_PATIENTS = _demo_patients()


@pytest.fixture(scope="session", autouse=True)
def _private_user_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Never write into the real user cache (~/.cache/pgx-report): every test, and every
    pgx-report process a test starts, uses a temporary one (pgx_report/files/cache.py)."""
    folder = tmp_path_factory.mktemp("user-cache")
    # Also: `pgx-report call` validates its own output against call.schema.json in tests.
    wanted = {"PGX_REPORT_CACHE_DIR": str(folder), "PGX_REPORT_SELF_CHECK": "1"}
    before = {name: os.environ.get(name) for name in wanted}
    os.environ.update(wanted)
    yield folder
    for name, value in before.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@dataclass(frozen=True)
class CliResult:
    returncode: int
    stdout: str
    stderr: str


def run_pgx(*args: str | Path, cwd: Path | None = None, check: bool = False) -> CliResult:
    """Run ``pgx-report`` as a real process (the way users and Snakemake run it)."""
    proc = subprocess.run(
        [sys.executable, "-m", "pgx_report", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
    )
    result = CliResult(proc.returncode, proc.stdout, proc.stderr)
    if check and proc.returncode != 0:
        raise AssertionError(f"pgx-report {args} failed ({proc.returncode}):\n{proc.stderr}")
    return result


def assert_clean_error(result: CliResult, *fragments: str) -> None:
    """Bad input: exit 2, exactly one line on stderr naming the problem, no traceback."""
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("pgx-report: error: "), lines[0]
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def realdata() -> Path:
    if not REALDATA.is_dir():
        pytest.fail(f"real data folder missing: {REALDATA} (part of the repository)")
    return REALDATA
