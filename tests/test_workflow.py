"""The Snakemake workflow end to end: lint, the demo batch in a temp folder (every output,
text in the PDFs, summary counts), a rerun does nothing, sample-sheet validation names
the row, and one failing sample does not stop the others.

Snakemake runs as a subprocess (``python -m snakemake``), as a lab runs it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.workflow

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "demo"

# sample -> (vcf file, vcf_sample, call status, genotype, category)
DEMO_EXPECTED: dict[str, tuple[str, str, str, str | None, str | None]] = {
    "demo-carrier": ("NA18564.OPRM1.g.vcf.gz", "NA18564", "called", "A/G", None),
    "demo-aa": ("NA12878.OPRM1.g.vcf.gz", "NA12878", "called", "A/A", None),
    "demo-opioid": ("NA18945.OPRM1.g.vcf.gz", "NA18945", "called", "G/G", "contraindicated"),
    "demo-nd": ("DEMO-ND.vcf.gz", "DEMO-ND", "failed_qc", None, None),
    "demo-sparse": ("cohort.b37.vcf.gz", "COH-002", "called", "A/G", None),
    "demo-cohort": ("cohort.b37.vcf.gz", "COH-001", "called", "A/A", None),
}
HEADER = "sample\tvcf\tquestionnaire\tvcf_sample\tlang\n"


def snakemake(
    workdir: Path, *args: str, config: tuple[str, ...] = (), timeout: int = 600
) -> subprocess.CompletedProcess[str]:
    """``python -m snakemake`` on the repo's Snakefile in ``workdir`` (bounded by SIGINT)."""
    cmd = [
        "timeout", "-s", "INT", "-k", "15", str(timeout),
        sys.executable, "-m", "snakemake",
        "--snakefile", str(REPO / "Snakefile"),
        "--directory", str(workdir),
        "--config", "samples=sheets/samples.tsv", *config,
        *args,
    ]  # fmt: skip
    return subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=workdir)


def demo_workdir(root: Path, extra_rows: str = "", samples: tuple[str, ...] = ()) -> Path:
    """A lab-like folder: inputs copied under inputs/, the sheet under sheets/ with paths
    relative to the sheet (as the workflow resolves them)."""
    workdir = root / "run"
    (workdir / "inputs").mkdir(parents=True)
    (workdir / "sheets").mkdir()
    for path in (DEMO / "vcfs").iterdir():
        shutil.copy2(path, workdir / "inputs" / path.name)
    for path in (DEMO / "questionnaires").glob("*.json"):
        shutil.copy2(path, workdir / "inputs" / path.name)
    rows = [
        f"{sample}\t../inputs/{vcf}\t../inputs/{sample}.json\t{vcf_sample}\t\n"
        for sample, (vcf, vcf_sample, *_) in DEMO_EXPECTED.items()
        if not samples or sample in samples
    ]
    (workdir / "sheets" / "samples.tsv").write_text(HEADER + "".join(rows) + extra_rows, "utf-8")
    return workdir


def pdf_text(path: Path) -> str:
    from pypdf import PdfReader

    return " ".join(page.extract_text() or "" for page in PdfReader(path).pages)


def summary_facts(path: Path) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    lines = path.read_text("utf-8").splitlines()
    facts: dict[str, str] = {}
    for line in lines:
        if line.startswith("## ") and "=" in line:
            key, value = line[3:].split("=", 1)
            facts[key] = value if key not in facts else f"{facts[key]} | {value}"
    table = [line.split("\t") for line in lines if not line.startswith("#")]
    rows = [dict(zip(table[0], row, strict=True)) for row in table[1:]]
    return facts, {row["sample"]: row for row in rows}


def check_demo_outputs(
    workdir: Path, expected: dict[str, tuple[str, str, str, str | None, str | None]]
) -> None:
    """Every per-sample output and the batch summary, with their content."""
    results = workdir / "results"
    for sample, (_, vcf_sample, status, genotype, category) in expected.items():
        folder = results / sample
        call = json.loads((folder / "call.json").read_text("utf-8"))
        assert (call["sample"], call["status"], call["genotype"]) == (vcf_sample, status, genotype)
        assessment = json.loads((folder / "assessment.json").read_text("utf-8"))
        assert assessment["call"] == call
        assert assessment["sample_id"] == vcf_sample
        if category:
            assert assessment["overall"]["category"] == category
        html = (folder / "report.html").read_text("utf-8")
        text = pdf_text(folder / "report.pdf")
        assert vcf_sample in text and vcf_sample in html
        assert assessment["patient"]["name"] in text
        if genotype:
            assert genotype in text
        else:
            assert "Not determined" in text or "Ikke bestemt" in text
        assert (workdir / "logs" / sample / "report.log").is_file()
        assert (workdir / "benchmarks" / "results" / "report" / f"{sample}.tsv").is_file()
    facts, rows = summary_facts(results / "batch_summary.tsv")
    genotypes = [g for (_, _, _, g, _) in expected.values()]
    assert facts["samples"] == str(len(expected)) == facts["reported"]
    for genotype in ("A/A", "A/G", "G/G"):
        assert facts[genotype] == str(genotypes.count(genotype))
    assert facts["not_determined"] == str(genotypes.count(None))
    assert facts["verdict"] == "OK", facts
    assert set(rows) == set(expected)
    for sample, (_, vcf_sample, status, genotype, _) in expected.items():
        assert rows[sample]["status"] == "reported"
        assert rows[sample]["call_status"] == status
        assert rows[sample]["genotype"] == (genotype or "not_determined")
        assert rows[sample]["vcf_sample"] == vcf_sample
    html = (results / "batch_summary.html").read_text("utf-8")
    assert "<svg" in html and "Hardy-Weinberg" in html
    summary_text = pdf_text(results / "batch_summary.pdf")
    assert "batch summary" in summary_text and "OK" in summary_text
    for sample in expected:
        assert sample in summary_text


@pytest.fixture(scope="module")
def demo_run(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    workdir = demo_workdir(tmp_path_factory.mktemp("demo"))
    result = snakemake(workdir, "--cores", "2")
    assert result.returncode == 0, result.stderr[-5000:]
    return workdir, result


def test_lint_is_clean(tmp_path: Path) -> None:
    result = snakemake(demo_workdir(tmp_path), "--lint")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Congratulations, your workflow is in a good condition!" in result.stdout + result.stderr


def test_default_config_runs_the_bundled_demo() -> None:
    """The embedded config (no --config) names config/samples.tsv: the six demo patients."""
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "-n",
        "--forceall",
        "--cores",
        "1",
        "--quiet",
        "rules",
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, check=False)
    assert result.returncode == 0, result.stderr
    out = result.stdout + result.stderr
    for rule, count in (
        ("call_sample", 4),
        ("call_cohort", 1),
        ("report", 6),
        ("batch_summary", 1),
    ):
        assert any(line.split()[:2] == [rule, str(count)] for line in out.splitlines()), (rule, out)


def test_demo_outputs(demo_run: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    workdir, _ = demo_run
    check_demo_outputs(workdir, DEMO_EXPECTED)


def test_cohort_vcf_is_read_once(demo_run: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    workdir, result = demo_run
    log = result.stdout + result.stderr
    assert log.count("rule call_cohort:") == 1
    assert log.count("--all-samples") == 1
    cohort = workdir / "results" / "_cohorts" / "cohort.b37"
    assert sorted(p.name for p in cohort.iterdir() if not p.name.startswith(".")) == [
        "COH-001.json", "COH-002.json", "COH-003.json", "COH-004.json", "calls.tsv",
    ]  # fmt: skip
    for sample, vcf_sample in (("demo-sparse", "COH-002"), ("demo-cohort", "COH-001")):
        copied = workdir / "results" / sample / "call.json"
        assert copied.read_bytes() == (cohort / f"{vcf_sample}.json").read_bytes()
    assert log.count("rule call_sample:") == 4  # the four single-sample VCFs only


def test_rerun_does_nothing(demo_run: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    workdir, _ = demo_run
    before = {p: p.stat().st_mtime_ns for p in (workdir / "results").rglob("*") if p.is_file()}
    result = snakemake(workdir, "--cores", "2")
    assert result.returncode == 0, result.stderr
    assert "Nothing to be done" in result.stdout + result.stderr
    after = {p: p.stat().st_mtime_ns for p in (workdir / "results").rglob("*") if p.is_file()}
    assert before == after


def test_outputs_are_reproducible(
    demo_run: tuple[Path, subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    """A second run in another folder gives the same JSON and report bytes."""
    workdir, _ = demo_run
    other = demo_workdir(tmp_path, samples=("demo-carrier",))
    result = snakemake(other, "--cores", "2")
    assert result.returncode == 0, result.stderr[-3000:]
    for name in ("call.json", "assessment.json", "report.pdf", "report.html"):
        first = (workdir / "results" / "demo-carrier" / name).read_bytes()
        assert first == (other / "results" / "demo-carrier" / name).read_bytes(), name


BAD_SHEETS = [
    pytest.param(
        "demo-aa\t../inputs/NA12878.OPRM1.g.vcf.gz\t../inputs/demo-aa.json\tNA12878\t\n",
        "line 8 (sample 'demo-aa'): duplicate sample (first on line 3)",
        id="duplicate-sample",
    ),
    pytest.param(
        "new\t../inputs/absent.vcf.gz\t../inputs/demo-aa.json\tX\t\n",
        "line 8 (sample 'new'): column 'vcf': inputs/absent.vcf.gz: file not found",
        id="missing-vcf",
    ),
    pytest.param(
        "new\t../inputs/DEMO-ND.vcf.gz\t../inputs/none.json\t\t\n",
        "line 8 (sample 'new'): column 'questionnaire': inputs/none.json: file not found",
        id="missing-questionnaire",
    ),
    pytest.param(
        "new\t../inputs/DEMO-ND.vcf.gz\t../inputs/demo-nd.json\tY\tde\n",
        "line 8 (sample 'new'): column 'lang': 'de' is not one of ['nb', 'en']",
        id="bad-language",
    ),
    pytest.param(
        "new sample\t../inputs/DEMO-ND.vcf.gz\t../inputs/demo-nd.json\tY\t\n",
        "line 8 (sample 'new sample'): column 'sample': 'new sample' does not match",
        id="bad-sample-id",
    ),
    pytest.param(
        "new\t../inputs/cohort.b37.vcf.gz\t../inputs/demo-cohort.json\t\t\n",
        "line 8 (sample 'new'): column 'vcf_sample' is required",
        id="cohort-row-without-vcf-sample",
    ),
    pytest.param(
        "new\t../inputs/cohort.b37.vcf.gz\t../inputs/demo-cohort.json\tCOH-001\t\n",
        "line 8 (sample 'new'): VCF sample 'COH-001' of inputs/cohort.b37.vcf.gz is already "
        "used by sample 'demo-cohort' (line 7)",
        id="same-vcf-sample-twice",
    ),
    pytest.param(
        "new\t../inputs/DEMO-ND.vcf.gz\n",
        "line 8 (sample 'new'): expected 5 tab-separated fields (as in the header), found 2",
        id="short-row",
    ),
]


@pytest.mark.parametrize(("row", "message"), BAD_SHEETS)
def test_bad_sheet_row_fails_before_any_job(tmp_path: Path, row: str, message: str) -> None:
    workdir = demo_workdir(tmp_path, extra_rows=row)
    result = snakemake(workdir, "--cores", "1")
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert f"sample sheet sheets/samples.tsv: {message}" in output, output
    assert not (workdir / "results").exists()


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("sample\tvcf\tvcf_sample\n", "line 1: missing column 'questionnaire'"),
        ("sample\tvcf\tquestionnaire\tlanguage\n", "line 1: unknown column 'language'"),
    ],
)
def test_bad_sheet_header(tmp_path: Path, header: str, message: str) -> None:
    workdir = demo_workdir(tmp_path)
    (workdir / "sheets" / "samples.tsv").write_text(header + "a\tb\tc\n", "utf-8")
    result = snakemake(workdir, "--cores", "1")
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert f"sample sheet sheets/samples.tsv: {message}" in output, output


def test_bad_config_value_fails_validation(tmp_path: Path) -> None:
    workdir = demo_workdir(tmp_path)
    result = snakemake(workdir, "-n", config=("population=MARS",))
    assert result.returncode != 0
    assert "config: population 'MARS' is not known (choose one of: AFR," in result.stdout
    result = snakemake(workdir, "-n", config=("summary={alpha: 2}",))
    assert result.returncode != 0
    assert "Error validating config file" in result.stdout
    assert "On instance['summary']['alpha']" in result.stdout


def test_failing_sample_does_not_stop_the_others(tmp_path: Path) -> None:
    """A truncated VCF fails its call job; with --keep-going the other samples are
    reported and the batch summary (written by the on-error hook) lists the failure."""
    bad_row = "broken\t../inputs/broken.vcf.gz\t../inputs/demo-aa.json\tNA12878\t\n"
    workdir = demo_workdir(
        tmp_path, extra_rows=bad_row, samples=("demo-aa", "demo-sparse", "demo-cohort")
    )
    data = (workdir / "inputs" / "NA12878.OPRM1.g.vcf.gz").read_bytes()
    (workdir / "inputs" / "broken.vcf.gz").write_bytes(data[: len(data) // 2])
    result = snakemake(workdir, "--cores", "2", "--keep-going")
    assert result.returncode != 0
    for sample in ("demo-aa", "demo-sparse", "demo-cohort"):
        assert (workdir / "results" / sample / "report.pdf").is_file(), sample
    assert not (workdir / "results" / "broken").exists() or not list(
        (workdir / "results" / "broken").iterdir()
    )
    facts, rows = summary_facts(workdir / "results" / "batch_summary.tsv")
    assert facts["samples"] == "4" and facts["reported"] == "3"
    assert facts["verdict"] == "REVIEW" and "FAILED_SAMPLES: 1 of 4" in facts["flag"]
    broken = rows["broken"]
    assert broken["status"] == "failed"
    assert broken["error"].startswith("pgx-report: error: ")
    assert "broken.vcf.gz" in broken["error"]
    assert broken["error"] in (workdir / "logs" / "broken" / "call.log").read_text("utf-8")
    assert "broken" in pdf_text(workdir / "results" / "batch_summary.pdf")
    # once the input is fixed, a rerun completes the batch and rewrites the summary
    (workdir / "inputs" / "broken.vcf.gz").write_bytes(data)
    result = snakemake(workdir, "--cores", "2")
    assert result.returncode == 0, result.stderr[-3000:]
    facts, _ = summary_facts(workdir / "results" / "batch_summary.tsv")
    assert facts["reported"] == "4" and facts["verdict"] == "OK"
