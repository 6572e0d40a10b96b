"""The workflow with a genotyping plate shared by several sheet rows: the plate is called
once (`call --all-samples` with config key `assays`), each row's report is made from its
own well(s), and the method line says it was a targeted assay."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from plate_support import plate_text, write_assays
from test_workflow import DEMO, snakemake

pytestmark = pytest.mark.workflow

WELLS = [
    ["A1", "NTC", "NTC", "Undetermined", 100],
    ["A2", "PC-A", "PC_ALLELE_1", "Homozygous A118/A118", 99],
    ["B1", "NA18564", "UNKNOWN", "Heterozygous A118/G118", 99],
    ["B2", "NA12878", "UNKNOWN", "Homozygous A118/A118", 99],
    ["B3", "NA18945", "UNKNOWN", "Homozygous G118/G118", 99],
    ["B4", "NA18945", "UNKNOWN", "Homozygous G118/G118", 98],
]
ROWS = {"demo-carrier": "NA18564", "demo-aa": "NA12878", "demo-opioid": "NA18945"}


def test_plate_shared_by_rows_is_called_once(tmp_path: Path) -> None:
    workdir = tmp_path / "run"
    (workdir / "inputs").mkdir(parents=True)
    (workdir / "sheets").mkdir()
    (workdir / "inputs" / "plate1.txt").write_text(plate_text("p1", WELLS), encoding="utf-8")
    write_assays(workdir / "inputs")
    lines = ["sample\tinput\tquestionnaire\tvcf_sample"]
    for sample, on_plate in ROWS.items():
        shutil.copy2(DEMO / "questionnaires" / f"{sample}.json", workdir / "inputs")
        lines.append(f"{sample}\t../inputs/plate1.txt\t../inputs/{sample}.json\t{on_plate}")
    (workdir / "sheets" / "samples.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    result: subprocess.CompletedProcess[str] = snakemake(
        workdir, "--cores", "1", config=("assays=inputs/assays.yaml",)
    )
    assert result.returncode == 0, result.stderr[-3000:]
    log = result.stdout + result.stderr
    assert log.count("rule call_cohort:") == 1
    want = {"demo-carrier": "A/G", "demo-aa": "A/A", "demo-opioid": "G/G"}
    for sample, genotype in want.items():
        call = json.loads((workdir / "results" / sample / "call.json").read_text("utf-8"))
        assert (call["status"], call["genotype"]) == ("called", genotype)
        assert call["provenance"]["genotype_source"] == "targeted_assay"
        html = (workdir / "results" / sample / "report.html").read_text("utf-8")
        assert "targeted genotyping assay" in html or "målrettet genotypeanalyse" in html
    opioid = json.loads((workdir / "results" / "demo-opioid" / "call.json").read_text("utf-8"))
    assert [w["position"] for w in opioid["qc"]["wells"]] == ["B3", "B4"]
