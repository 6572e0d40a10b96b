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
from test_workflow import DEMO_EXPECTED, demo_workdir, snakemake

pytestmark = pytest.mark.workflow


def test_dry_run_plans_a_bundle_for_every_sample(tmp_path: Path) -> None:
    """Each sample's bundle is a declared output of its report job (the job that
    renders the PDF it attaches)."""
    workdir = demo_workdir(tmp_path)
    result = snakemake(workdir, "-n")
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout + result.stderr
    outputs = " ".join(line for line in out.splitlines() if line.strip().startswith("output:"))
    for sample in DEMO_EXPECTED:
        assert f"results/{sample}/report.fhir.json" in outputs, sample
        assert f"results/{sample}/report.pdf" in outputs, sample


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
