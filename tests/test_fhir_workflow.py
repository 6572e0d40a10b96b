"""The workflow writes results/{sample}/report.fhir.json after the PDF, with the PDF attached.

Runs Snakemake as a subprocess on one demo patient (the contraindicated one), using the
workflow tests' helpers for a lab-like working folder.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from test_fhir import by_profile, one, resources, unresolved_references, validate
from test_workflow import demo_workdir, snakemake

pytestmark = pytest.mark.workflow


def test_dry_run_schedules_one_fhir_job_per_sample(tmp_path: Path) -> None:
    workdir = demo_workdir(tmp_path)
    result = snakemake(workdir, "-n")
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout + result.stderr
    assert any(line.split()[:2] == ["fhir", "6"] for line in out.splitlines()), out


def test_workflow_writes_the_bundle_with_the_pdf(tmp_path: Path) -> None:
    workdir = demo_workdir(tmp_path, samples=("demo-opioid",))
    result = snakemake(workdir, "--cores", "2")
    assert result.returncode == 0, result.stderr[-3000:]
    folder = workdir / "results" / "demo-opioid"
    bundle = json.loads((folder / "report.fhir.json").read_text(encoding="utf-8"))
    validate(bundle)
    assert unresolved_references(bundle) == []
    report = one(resources(bundle, "DiagnosticReport"))
    form = one(report["presentedForm"])
    assert base64.b64decode(form["data"]) == (folder / "report.pdf").read_bytes()
    assessment = json.loads((folder / "assessment.json").read_text(encoding="utf-8"))
    assert assessment["overall"]["category"] == "contraindicated"
    assert [i["severity"] for i in resources(bundle, "DetectedIssue")] == [
        {"absolute": "high", "relative": "moderate"}[c["severity"]]
        for c in assessment["contraindications"]
    ]
    assert by_profile(bundle, "genotype")
    # a rerun has nothing to do (the bundle is not rebuilt)
    again = snakemake(workdir, "--cores", "2")
    assert again.returncode == 0
    assert "Nothing to be done" in again.stdout + again.stderr
