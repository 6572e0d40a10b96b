"""``pgx-report assess`` as a process: demo patients end to end, reproducibility, errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pgx_report.contracts.assessment import load_assessment
from pgx_report.files.io import sha256_file
from tests.conftest import REPO_ROOT, CliResult, assert_clean_error, run_pgx

DATA = REPO_ROOT / "tests" / "data" / "assess"
DEMO = REPO_ROOT / "demo"
QUESTIONNAIRES = DEMO / "questionnaires"

# The demo patients of docs/contracts.md: genotype input, VCF sample, expected genotype,
# expected assessment category.
DEMO_PATIENTS = [
    ("demo-carrier", "NA18564.OPRM1.g.vcf.gz", "NA18564", "A/G", "several_favourable_features"),
    ("demo-aa", "NA12878.OPRM1.g.vcf.gz", "NA12878", "A/A", "few_favourable_features"),
    ("demo-opioid", "NA18945.OPRM1.g.vcf.gz", "NA18945", "G/G", "contraindicated"),
    ("demo-nd", "DEMO-ND.vcf.gz", "DEMO-ND", None, "several_favourable_features"),
    ("demo-sparse", "cohort.b37.vcf.gz", "COH-002", "A/G", "safety_screen_incomplete"),
    ("demo-cohort", "cohort.b37.vcf.gz", "COH-001", "A/A", "several_favourable_features"),
]


def run_env(*args: str | Path, env: dict[str, str]) -> CliResult:
    proc = subprocess.run(
        [sys.executable, "-m", "pgx_report", *map(str, args)],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        check=False,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


def read(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return data


@pytest.mark.parametrize(
    ("stem", "vcf", "sample", "genotype", "category"),
    DEMO_PATIENTS,
    ids=[d[0] for d in DEMO_PATIENTS],
)
def test_demo_patients_end_to_end(
    tmp_path: Path, stem: str, vcf: str, sample: str, genotype: str | None, category: str
) -> None:
    """Real caller on the bundled demo VCF, then assess: the demo table of the contract."""
    call_path = tmp_path / "call.json"
    run_pgx("call", DEMO / "vcfs" / vcf, "--sample", sample, "-o", call_path, check=True)
    out = tmp_path / "assessment.json"
    result = run_pgx(
        "assess", "--call", call_path, "--questionnaire", QUESTIONNAIRES / f"{stem}.json", "-o", out
    )
    assert result.returncode == 0, result.stderr
    data = read(out)
    assert data["call"]["genotype"] == genotype
    assert data["overall"]["category"] == category
    assert data["language"] == read(QUESTIONNAIRES / f"{stem}.json")["language"]
    genotype_factor = data["factors"][-1]
    assert genotype_factor["finding"] == (
        "unknown" if genotype is None else "neutral" if genotype == "A/A" else "favourable"
    )
    roles = {i["role"]: i for i in data["provenance"]["inputs"]}
    assert list(roles) == ["genotype_input", "call", "questionnaire"]
    assert roles["call"]["sha256"] == sha256_file(call_path)
    assert roles["questionnaire"]["sha256"] == sha256_file(QUESTIONNAIRES / f"{stem}.json")
    assert roles["questionnaire"]["format"] == "native"
    load_assessment(out)  # schema-valid


def test_output_is_reproducible_and_canonical(tmp_path: Path) -> None:
    outs = []
    for name in ("a.json", "b.json"):
        out = tmp_path / name
        run_pgx(
            "assess",
            "--call",
            DATA / "call_AG.json",
            "--questionnaire",
            QUESTIONNAIRES / "demo-carrier.json",
            "-o",
            out,
            check=True,
        )
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
    text = outs[0].decode("utf-8")
    assert text == json.dumps(json.loads(text), sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    assert "bærer av 118G-varianten" in text  # UTF-8, not escaped


def test_source_date_epoch_sets_the_report_date(tmp_path: Path) -> None:
    out = tmp_path / "a.json"
    result = run_env(
        "assess",
        "--call",
        DATA / "call_AG.json",
        "--questionnaire",
        QUESTIONNAIRES / "demo-carrier.json",
        "-o",
        out,
        env={"SOURCE_DATE_EPOCH": "1767225600"},
    )
    assert result.returncode == 0, result.stderr
    assert read(out)["dates"] == {"completed_on": "2025-11-20", "reported_on": "2026-01-01"}


def test_fhir_questionnaire_and_language_option(tmp_path: Path) -> None:
    out = tmp_path / "a.json"
    run_pgx(
        "assess",
        "--call",
        DATA / "call_AG.json",
        "--questionnaire",
        REPO_ROOT / "tests/data/questionnaire_response.fhir.json",
        "--language",
        "en",
        "-o",
        out,
        check=True,
    )
    data = read(out)
    assert data["language"] == "en"
    assert data["provenance"]["questionnaire_format"] == "fhir"
    assert data["provenance"]["inputs"][-1]["format"] == "fhir"
    assert data["overall"]["category"] == "several_favourable_features"


def test_sample_mismatch_exit_2_and_no_output(tmp_path: Path) -> None:
    out = tmp_path / "a.json"
    q = QUESTIONNAIRES / "demo-cohort.json"
    result = run_pgx("assess", "--call", DATA / "call_AA.json", "--questionnaire", q, "-o", out)
    assert_clean_error(
        result,
        f"{q}: $.sample_id: 'COH-001' does not match the genotype call's sample 'NA12878'",
        "--allow-sample-mismatch",
    )
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []  # no temp file left behind


def test_allowed_sample_mismatch_is_in_the_provenance(tmp_path: Path) -> None:
    out = tmp_path / "a.json"
    result = run_pgx(
        "assess",
        "--call",
        DATA / "call_AA.json",
        "--questionnaire",
        QUESTIONNAIRES / "demo-cohort.json",
        "--allow-sample-mismatch",
        "-o",
        out,
    )
    assert result.returncode == 0, result.stderr
    provenance = read(out)["provenance"]
    assert provenance["allow_sample_mismatch"] is True
    assert provenance["sample_mismatch"] == {
        "questionnaire_sample": "COH-001",
        "call_sample": "NA12878",
    }


def test_existing_output_survives_a_failed_run(tmp_path: Path) -> None:
    out = tmp_path / "a.json"
    out.write_text("old\n")
    bad = tmp_path / "q.json"
    bad.write_text('{"questionnaire_version": "1.0"}')
    result = run_pgx("assess", "--call", DATA / "call_AG.json", "--questionnaire", bad, "-o", out)
    assert_clean_error(result, f"{bad}: 2 problems: $.patient: required but missing")
    assert out.read_text() == "old\n"


@pytest.mark.parametrize(
    ("call_text", "fragment"),
    [
        ("{", "line 1 column 2: invalid JSON"),
        ('{"schema": "pgx-report.call"}', "not a valid pgx-report call"),
    ],
)
def test_bad_call_file(tmp_path: Path, call_text: str, fragment: str) -> None:
    call_path = tmp_path / "call.json"
    call_path.write_text(call_text)
    result = run_pgx(
        "assess",
        "--call",
        call_path,
        "--questionnaire",
        QUESTIONNAIRES / "demo-carrier.json",
        "-o",
        tmp_path / "a.json",
    )
    assert_clean_error(result, str(call_path), fragment)


def test_output_may_not_overwrite_an_input(tmp_path: Path) -> None:
    q = tmp_path / "q.json"
    q.write_bytes((QUESTIONNAIRES / "demo-carrier.json").read_bytes())
    before = q.read_bytes()
    result = run_pgx("assess", "--call", DATA / "call_AG.json", "--questionnaire", q, "-o", q)
    assert_clean_error(result, "output would overwrite the input file")
    assert q.read_bytes() == before


def test_missing_questionnaire(tmp_path: Path) -> None:
    result = run_pgx(
        "assess",
        "--call",
        DATA / "call_AG.json",
        "--questionnaire",
        tmp_path / "none.json",
        "-o",
        tmp_path / "a.json",
    )
    assert_clean_error(result, f"{tmp_path / 'none.json'}: file not found")
