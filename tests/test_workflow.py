"""The Snakemake workflow end to end: lint, the demo batch in a temp folder (every output,
text in the PDFs, summary counts), a rerun does nothing, sample-sheet validation names
the row, and one failing sample does not stop the others.

Snakemake runs as a subprocess (``python -m snakemake``), as a lab runs it.
"""

from __future__ import annotations

import json
import shlex
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


def batch_tasks(output: str) -> list[dict[str, str]]:
    """The tasks of every `pgx-report batch` command printed (-p) in ``output``."""
    tasks = []
    for line in output.splitlines():
        if " batch --task " in line:
            words = shlex.split(line)
            tasks += [json.loads(words[i + 1]) for i, w in enumerate(words) if w == "--task"]
    return tasks


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
        for step in ("call", "report", "fhir"):
            assert (workdir / "logs" / sample / f"{step}.log").is_file(), (sample, step)
    chunk_benchmarks = list((workdir / "benchmarks" / "results" / "reports").glob("*.tsv"))
    assert chunk_benchmarks, "no benchmark file of the report jobs"
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
    result = snakemake(workdir, "--cores", "2", "--printshellcmds")
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
        ("call_cohort", 1),
        ("reports_0001", 1),  # one job for the six samples (config samples_per_job: 50)
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
    # the four single-sample VCFs are called inside the report job, the cohort rows copied
    assert log.count(" batch --task ") == 1
    tasks = batch_tasks(log)
    assert {task["sample"]: ("input" in task, "cohort" in task) for task in tasks} == {
        sample: (vcf != "cohort.b37.vcf.gz", vcf == "cohort.b37.vcf.gz")
        for sample, (vcf, *_) in DEMO_EXPECTED.items()
    }


def test_cohort_with_odd_vcf_sample_names(tmp_path: Path) -> None:
    """VCF sample names that get hashed call file names (non-ASCII; a space and '/'; two
    that differ only in case) are reported: the report jobs find each call through the
    cohort's calls.tsv."""
    import gzip

    names = {"odd-o": "\u00d8", "odd-path": "a b/c", "odd-upper": "X", "odd-lower": "x"}
    workdir = demo_workdir(tmp_path, samples=("demo-aa",))
    text = gzip.decompress((DEMO / "vcfs" / "cohort.b37.vcf.gz").read_bytes()).decode()
    lines = [
        "\t".join([*line.split("\t")[:9], *names.values()]) if line.startswith("#CHROM") else line
        for line in text.splitlines()
    ]
    (workdir / "inputs" / "odd.vcf").write_text("\n".join(lines) + "\n", "utf-8")
    questionnaire = json.loads((DEMO / "questionnaires" / "demo-cohort.json").read_text())
    rows = []
    for sample, name in list(names.items())[:3]:  # three rows keep it small
        path = workdir / "inputs" / f"{sample}.json"
        path.write_text(json.dumps({**questionnaire, "sample_id": name}), "utf-8")
        rows.append(f"{sample}\t../inputs/odd.vcf\t../inputs/{sample}.json\t{name}\t\n")
    with (workdir / "sheets" / "samples.tsv").open("a", encoding="utf-8") as sheet:
        sheet.write("".join(rows))
    result = snakemake(workdir, "--cores", "2")
    assert result.returncode == 0, result.stderr[-3000:]
    cohort = workdir / "results" / "_cohorts" / "odd"
    listed = {
        line.split("\t")[0]: line.rsplit("\t", 1)[1]
        for line in (cohort / "calls.tsv").read_text("utf-8").splitlines()[1:]
    }
    for sample in ("odd-o", "odd-path", "odd-upper"):
        name = names[sample]
        assert listed[name] != f"{name}.json"  # a hashed file name
        copied = (workdir / "results" / sample / "call.json").read_bytes()
        assert copied == (cohort / listed[name]).read_bytes()
        assert json.loads(copied)["sample"] == name
        assert (workdir / "results" / sample / "report.pdf").is_file()


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


def test_chunks_track_files_one_by_one(tmp_path: Path) -> None:
    """Two samples per job: three jobs for the six demo patients. A changed questionnaire
    reruns its own job only; a deleted report is noticed and remade; the untouched
    samples' files are not rewritten."""
    workdir = demo_workdir(tmp_path)
    config = ("samples_per_job=2",)
    result = snakemake(workdir, "--cores", "2", config=config)
    assert result.returncode == 0, result.stderr[-3000:]
    log = result.stdout + result.stderr
    assert [f"rule reports_000{n}:" in log for n in (1, 2, 3, 4)] == [True, True, True, False]
    check_demo_outputs(workdir, DEMO_EXPECTED)

    def stamps() -> dict[Path, int]:
        return {p: p.stat().st_mtime_ns for p in (workdir / "results").glob("*/report.pdf")}

    before = stamps()
    # sheet order: carrier, aa | opioid, nd | sparse, cohort
    questionnaire = workdir / "inputs" / "demo-nd.json"
    questionnaire.write_text(questionnaire.read_text("utf-8").replace("\n", "\n "), "utf-8")
    (workdir / "results" / "demo-carrier" / "report.pdf").unlink()
    result = snakemake(workdir, "--cores", "2", config=config)
    assert result.returncode == 0, result.stderr[-3000:]
    log = result.stdout + result.stderr
    assert "rule reports_0001:" in log and "rule reports_0002:" in log
    assert "rule reports_0003:" not in log
    after = stamps()
    for sample in ("demo-sparse", "demo-cohort"):
        path = workdir / "results" / sample / "report.pdf"
        assert after[path] == before[path], sample
    for sample in ("demo-carrier", "demo-nd"):
        assert (workdir / "results" / sample / "report.pdf").is_file()


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
        ("sample\tquestionnaire\tlang\n", "line 1: missing column 'input'"),
        (
            "sample\tinput\tvcf\tquestionnaire\n",
            "line 1: columns 'input' and 'vcf' are the same column",
        ),
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


# --------------------------------------------------------------------------- BAM/CRAM rows
# The alignment test generator (test_vcfs/alignments/generate.py) writes one BAM and one
# CRAM with two read groups: NA12878 (12 A reads: A/A) and NA18564 (10 A + 10 G: A/G), the
# samples of the demo questionnaires demo-aa and demo-carrier, and the GRCh38 FASTA.
ALIGNMENT_HEADER = "sample\tinput\tquestionnaire\tvcf_sample\tlang\treference\n"
TWO_SAMPLES = {
    "formats": ["bam", "cram"],
    "samples": ["NA12878", "NA18564"],
    "reads": [
        {"n": 12, "base": "A", "sample": "NA12878"},
        {"n": 10, "base": "A", "sample": "NA18564"},
        {"n": 10, "base": "G", "sample": "NA18564"},
    ],
}
ALIGNMENT_EXPECTED: dict[str, tuple[str, str, str, str | None, str | None]] = {
    "aln-aa": ("pair.bam", "NA12878", "called", "A/A", None),
    "aln-carrier": ("pair.bam", "NA18564", "called", "A/G", None),
}


@pytest.fixture(scope="module")
def alignment_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from alignment_support import load_generator

    generator = load_generator()
    folder = tmp_path_factory.mktemp("alignments")
    fasta = generator.write_fasta(folder / "GRCh38.fa.gz", build="GRCh38", bgzip=True)
    generator.write_case("pair", TWO_SAMPLES, folder, fasta)
    (folder / "pair.sam").write_text("@HD\tVN:1.6\tSO:coordinate\n", "utf-8")
    return folder


def alignment_workdir(root: Path, files: Path, rows: str) -> Path:
    """A batch folder with the demo inputs, the generated alignments and FASTA in inputs/,
    and a sheet with the new 'input' column and a 'reference' column."""
    workdir = demo_workdir(root, samples=("demo-aa",))
    for path in files.iterdir():
        shutil.copy2(path, workdir / "inputs" / path.name)
    (workdir / "sheets" / "samples.tsv").write_text(ALIGNMENT_HEADER + rows, "utf-8")
    return workdir


BAM_AA = "aln-aa\t../inputs/pair.bam\t../inputs/demo-aa.json\tNA12878\t\t\n"
BAM_CARRIER = "aln-carrier\t../inputs/pair.bam\t../inputs/demo-carrier.json\tNA18564\t\t\n"
BAD_ALIGNMENT_SHEETS = [
    pytest.param(
        "aln\t../inputs/pair.cram\t../inputs/demo-aa.json\tNA12878\t\t\n",
        (),
        "line 2 (sample 'aln'): column 'input': inputs/pair.cram is CRAM, which needs the "
        "reference FASTA it was written with: fill in column 'reference' or set config key",
        id="cram-without-reference",
    ),
    pytest.param(
        "aln\t../inputs/pair.cram\t../inputs/demo-aa.json\tNA12878\t\t../inputs/absent.fa\n",
        (),
        "line 2 (sample 'aln'): column 'reference': inputs/absent.fa: file not found",
        id="missing-row-reference",
    ),
    pytest.param(
        BAM_AA + "aln-carrier\t../inputs/pair.bam\t../inputs/demo-carrier.json\t\t\t\n",
        (),
        "line 3 (sample 'aln-carrier'): column 'vcf_sample' is required: inputs/pair.bam is "
        "shared by 2 rows (a multi-sample BAM)",
        id="shared-bam-without-sample",
    ),
    pytest.param(
        BAM_AA + BAM_AA.replace("aln-aa", "aln-again"),
        (),
        "line 3 (sample 'aln-again'): BAM sample 'NA12878' of inputs/pair.bam is already used "
        "by sample 'aln-aa' (line 2)",
        id="same-read-group-twice",
    ),
    pytest.param(
        "aln\t../inputs/pair.sam\t../inputs/demo-aa.json\tNA12878\t\t\n",
        (),
        "line 2 (sample 'aln'): column 'input': inputs/pair.sam: is SAM text, which cannot be read",
        id="sam-text",
    ),
    pytest.param(
        "c1\t../inputs/cohort.b37.vcf.gz\t../inputs/demo-cohort.json\tCOH-001\t\t\n"
        "c2\t../inputs/cohort.b37.vcf.gz\t../inputs/demo-sparse.json\tCOH-002\t\t"
        "../inputs/GRCh38.fa.gz\n",
        (),
        "line 3 (sample 'c2'): column 'reference': inputs/cohort.b37.vcf.gz is called once for "
        "all its rows (a cohort VCF), so they need one reference; line 2 has none",
        id="cohort-rows-with-two-references",
    ),
    pytest.param(
        BAM_AA,
        ("reference=nowhere.fa",),
        "config: reference nowhere.fa: file not found",
        id="missing-config-reference",
    ),
]


@pytest.mark.parametrize(("rows", "config", "message"), BAD_ALIGNMENT_SHEETS)
def test_bad_alignment_row_fails_before_any_job(
    tmp_path: Path, alignment_files: Path, rows: str, config: tuple[str, ...], message: str
) -> None:
    workdir = alignment_workdir(tmp_path, alignment_files, rows)
    result = snakemake(workdir, "--cores", "1", config=config)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    prefix = "" if message.startswith("config:") else "sample sheet sheets/samples.tsv: "
    assert prefix + message in output, output
    assert not (workdir / "results").exists()


def test_cram_row_gets_the_reference_and_the_single_sample_rule(
    tmp_path: Path, alignment_files: Path
) -> None:
    """Dry run: a CRAM row with the config key's FASTA, a BAM row with its own (column
    'reference'), a VCF row without: each call gets its --reference, none is a cohort."""
    rows = (
        "aln-carrier\t../inputs/pair.cram\t../inputs/demo-carrier.json\tNA18564\t\t\n"
        "aln-aa\t../inputs/pair.bam\t../inputs/demo-aa.json\tNA12878\t\t../inputs/GRCh38.fa.gz\n"
    )
    workdir = alignment_workdir(tmp_path, alignment_files, rows)
    result = snakemake(
        workdir, "-n", "-p", "--cores", "1", config=("reference=inputs/GRCh38.fa.gz",)
    )
    assert result.returncode == 0, result.stdout + result.stderr
    tasks = {task["sample"]: task for task in batch_tasks(result.stdout)}
    assert set(tasks) == {"aln-carrier", "aln-aa"}, result.stdout
    assert tasks["aln-carrier"]["input"] == "inputs/pair.cram"
    assert tasks["aln-aa"]["input"] == "inputs/pair.bam"
    for task in tasks.values():
        assert task["reference"] == "inputs/GRCh38.fa.gz", task
        assert "call" not in task  # called on its own, not as a cohort
    assert "rule call_cohort" not in result.stdout


def test_bam_rows_end_to_end(tmp_path: Path, alignment_files: Path) -> None:
    """Two rows share one two-sample BAM: each is called on its own (--sample), with the
    config key's reference; reports and summary as for VCFs."""
    workdir = alignment_workdir(tmp_path, alignment_files, BAM_AA + BAM_CARRIER)
    result = snakemake(workdir, "--cores", "2", config=("reference=inputs/GRCh38.fa.gz",))
    assert result.returncode == 0, result.stderr[-5000:]
    log = result.stdout + result.stderr
    assert "rule call_cohort" not in log
    check_demo_outputs(workdir, ALIGNMENT_EXPECTED)
    for sample in ALIGNMENT_EXPECTED:
        call = json.loads((workdir / "results" / sample / "call.json").read_text("utf-8"))
        assert call["qc"]["source"] == "alignment"
        assert call["provenance"]["input"]["format"] == "bam"
        assert call["provenance"]["reference"]["base"] == "A"
        assert (workdir / "results" / sample / "report.fhir.json").is_file()


def test_lab_config_and_request_columns_reach_the_report(tmp_path: Path) -> None:
    """Config key 'lab' (issue 15 item 1) and the request and specimen columns (item 2):
    the job passes them on, the report prints them; an edited profile reruns the job."""
    workdir = demo_workdir(tmp_path, samples=("demo-aa",))
    sheet = workdir / "sheets" / "samples.tsv"
    header, row = sheet.read_text("utf-8").splitlines()[:2]
    sheet.write_text(
        f"{header}\tspecimen_id\tcollected\treceived\n{row}\tACC-77\t2025-11-10\t2025-11-11\n",
        "utf-8",
    )
    shutil.copy2(DEMO / "lab.yaml", workdir / "lab.yaml")
    result = snakemake(workdir, "--cores", "1", "-p", config=("lab=lab.yaml",))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "--lab lab.yaml" in result.stdout + result.stderr
    (task,) = batch_tasks(result.stdout + result.stderr)
    assert (task["specimen_id"], task["received"]) == ("ACC-77", "2025-11-11")
    text = " ".join(pdf_text(workdir / "results" / "demo-aa" / "report.pdf").split())
    assert "Demo Laboratory - fictitious" in text and "ACC-77" in text
    # a bad profile stops the run before any job, in one line naming the key and field
    (workdir / "lab.yaml").write_text("name: x\n", "utf-8")
    result = snakemake(workdir, "--cores", "1", "-n", config=("lab=lab.yaml",))
    assert result.returncode != 0
    assert "config: lab: lab.yaml: $.schema" in result.stdout + result.stderr
