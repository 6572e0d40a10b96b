"""``pgx-report validate``: method verification on samples of known genotype.

Small truth files are built in a temporary folder from the bundled real slices (A/A, A/G,
G/G) and the demo's FILTER=LowQual VCF (not determined); ``--bundled`` runs the shipped
real samples in all three file forms."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import REALDATA, REPO_ROOT, CliResult, assert_clean_error

from pgx_report import cli
from pgx_report.contracts.call import Call
from pgx_report.validation import run as validation_run
from pgx_report.validation.render import check_dict
from pgx_report.validation.stats import binomial_cdf, clopper_pearson

SLICES = REALDATA / "slices"
ND_VCF = REPO_ROOT / "demo" / "vcfs" / "DEMO-ND.vcf.gz"
HEADER = "sample\tinput\texpected\tvcf_sample\tnote\n"
GOOD_ROWS = (
    "NA12878\tNA12878.OPRM1.g.vcf\tA/A\t\treference block with REF=G\n"
    "NA18564\tNA18564.OPRM1.g.vcf\tA/G\t\t\n"
    "NA18945\tNA18945.OPRM1.g.vcf\tG/G\tNA18945\t\n"
    "DEMO-ND\tDEMO-ND.vcf.gz\tnot_determined\t\tFILTER=LowQual\n"
)
DATE_EPOCH = 1_700_000_000  # 2023-11-14 UTC


def invoke(*args: str | Path, capsys: pytest.CaptureFixture[str]) -> CliResult:
    """The CLI in this process (fast; the same dispatch as the console script)."""
    try:
        code = cli.main([str(a) for a in args])
    except SystemExit as exc:  # argparse
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return CliResult(code, out, err)


@pytest.fixture
def truth_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "truth"
    folder.mkdir()
    for sample in ("NA12878", "NA18564", "NA18945"):
        shutil.copyfile(SLICES / f"{sample}.OPRM1.g.vcf", folder / f"{sample}.OPRM1.g.vcf")
    shutil.copyfile(ND_VCF, folder / ND_VCF.name)
    shutil.copyfile(f"{ND_VCF}.tbi", folder / f"{ND_VCF.name}.tbi")
    return folder


def write_truth(folder: Path, text: str, name: str = "truth.tsv") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    os.utime(path, (DATE_EPOCH, DATE_EPOCH))
    return path


def validate(
    truth: Path, out: Path, capsys: pytest.CaptureFixture[str], *extra: str
) -> dict[str, Any]:
    result = invoke("validate", truth, "-o", out, *extra, capsys=capsys)
    assert result.returncode == 0, result.stderr
    data: dict[str, Any] = json.loads((out / "validation.json").read_text("utf-8"))
    check_dict(data)
    return data


def pdf_text(path: Path) -> str:
    done = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True)
    return done.stdout


def rows_by_sample(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["sample"]: row for row in data["rows"]}


# ---- statistics ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [
        (5, 10, 0.187086, 0.812914),  # textbook values (e.g. R binom.test)
        (0, 10, 0.0, 0.308497),
        (16, 16, 0.794093, 1.0),
        (15, 16, 0.697679, 0.998419),
        (3, 3, 0.292402, 1.0),
    ],
)
def test_clopper_pearson_exact_values(k: int, n: int, low: float, high: float) -> None:
    got_low, got_high = clopper_pearson(k, n)
    assert got_low == pytest.approx(low, abs=1e-6)
    assert got_high == pytest.approx(high, abs=1e-6)


def test_clopper_pearson_bounds_are_the_tail_roots() -> None:
    low, high = clopper_pearson(7, 20)
    assert 1 - binomial_cdf(6, 20, low) == pytest.approx(0.025, abs=1e-9)
    assert binomial_cdf(7, 20, high) == pytest.approx(0.025, abs=1e-9)


# ---- verdicts --------------------------------------------------------------------------------


def test_all_concordant_passes(
    truth_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    truth = write_truth(truth_dir, HEADER + GOOD_ROWS)
    data = validate(truth, tmp_path / "out", capsys)
    assert data["verdict"] == "pass"
    assert (data["total"], data["concordant"], data["discordant"], data["not_determined"]) == (
        4,
        4,
        0,
        0,
    )
    assert data["concordance"] == {"value": 1.0, "ci95_low": 0.397635, "ci95_high": 1.0}
    assert data["repeatability"] == {"repeat": 3, "runs": 12, "identical": 12}
    assert data["by_expected"]["G/G"]["rows"] == 1
    assert data["by_expected"]["not_determined"]["concordant"] == 1
    assert data["date"] == "2023-11-14"  # the truth file's mtime, not the clock
    assert data["truth"]["file"] == "truth.tsv"
    rows = rows_by_sample(data)
    assert rows["NA12878"]["observed"] == "A/A"
    assert rows["NA12878"]["record"]["ref"] == "G"  # the block's REF, not the genotype
    assert rows["DEMO-ND"]["observed"] is None
    assert rows["DEMO-ND"]["call_status"] == "failed_qc"
    assert "FILTERED" in rows["DEMO-ND"]["reason_codes"]
    assert data["inputs"] == {"kinds": ["vcf", "vcf.gz+tbi"], "builds": ["GRCh38"]}
    assert data["thresholds"]["min_depth"] == 10
    text = pdf_text(tmp_path / "out" / "validation.pdf")
    assert "Verdict: PASS: every row concordant and every repeat identical" in text
    assert "Clopper-Pearson" in text
    assert "39.8 % \u2013 100.0 %" in text
    assert "2023-11-14" in text
    html = (tmp_path / "out" / "validation.html").read_text("utf-8")
    assert "PASS" in html and "NA18945" in html


def test_wrong_truth_row_fails_and_is_listed(
    truth_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wrong = GOOD_ROWS.replace(
        "NA12878\tNA12878.OPRM1.g.vcf\tA/A", "NA12878\tNA12878.OPRM1.g.vcf\tG/G"
    )
    data = validate(write_truth(truth_dir, HEADER + wrong), tmp_path / "out", capsys)
    assert data["verdict"] == "fail"
    assert (data["concordant"], data["discordant"]) == (3, 1)
    row = rows_by_sample(data)["NA12878"]
    assert (row["expected"], row["observed"], row["status"]) == ("G/G", "A/A", "discordant")
    assert data["concordance"]["value"] == 0.75
    text = pdf_text(tmp_path / "out" / "validation.pdf")
    assert "FAIL" in text
    findings = text.split("Rows not concordant")[1].split("Repeatability")[0]
    assert "NA12878" in findings and "Discordant" in findings
    assert "chr6:154039656-154039666G><NON_REF>" in "".join(findings.split())  # record used
    assert "NA18564" not in findings


def test_not_determined_expectation_that_is_called_fails(
    truth_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = GOOD_ROWS.replace("NA18564.OPRM1.g.vcf\tA/G", "NA18564.OPRM1.g.vcf\tnot_determined")
    data = validate(write_truth(truth_dir, HEADER + rows), tmp_path / "out", capsys)
    assert data["verdict"] == "fail"
    row = rows_by_sample(data)["NA18564"]
    assert (row["observed"], row["status"]) == ("A/G", "discordant")


def test_expected_genotype_not_determined_fails(
    truth_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = GOOD_ROWS.replace("DEMO-ND.vcf.gz\tnot_determined", "DEMO-ND.vcf.gz\tA/A")
    data = validate(write_truth(truth_dir, HEADER + rows), tmp_path / "out", capsys)
    assert data["verdict"] == "fail"
    assert data["not_determined"] == 1
    row = rows_by_sample(data)["DEMO-ND"]
    assert (row["status"], row["call_status"]) == ("not_determined", "failed_qc")
    findings = pdf_text(tmp_path / "out" / "validation.pdf").split("Rows not concordant")[1]
    flat = "".join(findings.split("Repeatability")[0].split())  # cells wrap
    assert "DEMO" in flat and "failed_qcFILTERED,LOW_GQ" in flat


def test_repeat_mismatch_is_detected(
    truth_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A caller whose second call of NA18564 differs (as a non-deterministic one would)."""
    real = validation_run.call_sample
    seen: dict[str, int] = {}

    def flaky(path: Any, **kwargs: Any) -> Call:
        call = real(path, **kwargs)
        name = Path(path).name
        seen[name] = seen.get(name, 0) + 1
        if name.startswith("NA18564") and seen[name] == 2:
            return replace(call, qc={**call.qc, "depth": call.qc["depth"] + 1})
        return call

    monkeypatch.setattr(validation_run, "call_sample", flaky)
    data = validate(write_truth(truth_dir, HEADER + GOOD_ROWS), tmp_path / "out", capsys)
    assert data["verdict"] == "fail"
    assert data["concordant"] == 4  # accurate, but not repeatable
    assert data["repeatability"] == {"repeat": 3, "runs": 12, "identical": 11}
    row = rows_by_sample(data)["NA18564"]
    assert (row["runs"], row["identical_runs"]) == (3, 2)
    text = pdf_text(tmp_path / "out" / "validation.pdf")
    assert "NA18564 (2/3)" in text


def test_reruns_are_byte_identical(
    truth_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    truth = write_truth(truth_dir, HEADER + GOOD_ROWS)
    validate(truth, tmp_path / "a", capsys, "--repeat", "2", "--lang", "nb")
    validate(truth, tmp_path / "b", capsys, "--repeat", "2", "--lang", "nb")
    for name in ("validation.json", "validation.html", "validation.pdf"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    text = pdf_text(tmp_path / "a" / "validation.pdf")
    assert "Konklusjon: BESTÅTT" in text
    assert "100,0 %" in text


def test_date_option_and_thresholds_are_recorded(
    truth_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    truth = write_truth(truth_dir, HEADER + GOOD_ROWS)
    data = validate(
        truth,
        tmp_path / "out",
        capsys,
        "--date",
        "2026-03-01",
        "--min-depth",
        "31",
        "--repeat",
        "1",
    )
    assert data["date"] == "2026-03-01"
    assert data["thresholds"]["min_depth"] == 31
    # NA12878's block has MIN_DP 30: below the lab's threshold it is not determined.
    row = rows_by_sample(data)["NA12878"]
    assert row["status"] == "not_determined"
    assert "LOW_DEPTH" in row["reason_codes"]
    assert data["verdict"] == "fail"


def test_pdf_is_pdf_a_with_the_json_attached(
    truth_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pypdf import PdfReader

    validate(write_truth(truth_dir, HEADER + GOOD_ROWS), tmp_path / "out", capsys, "--repeat", "1")
    reader = PdfReader(tmp_path / "out" / "validation.pdf")
    xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode("utf-8")
    assert "<pdfaid:part>3</pdfaid:part>" in xmp or 'pdfaid:part="3"' in xmp
    attached = reader.attachments["validation.json"][0]
    assert attached == (tmp_path / "out" / "validation.json").read_bytes()


# ---- the bundled real samples ----------------------------------------------------------------


def test_bundled_real_samples_pass(tmp_path: Path) -> None:
    """As `make validate` runs it: a real process, default repeats."""
    from conftest import run_pgx

    out = tmp_path / "bundled"
    run_pgx("validate", "--bundled", "-o", out, check=True)
    data = json.loads((out / "validation.json").read_text("utf-8"))
    check_dict(data)
    assert data["verdict"] == "pass"
    assert (data["total"], data["concordant"]) == (16, 16)
    assert data["file_forms"]["rows"] == data["file_forms"]["concordant"] == 32
    assert data["repeatability"] == {"repeat": 3, "runs": 144, "identical": 144}
    assert {g: data["by_expected"][g]["rows"] for g in ("A/A", "A/G", "G/G")} == {
        "A/A": 7,
        "A/G": 6,
        "G/G": 3,
    }
    assert data["inputs"]["kinds"] == ["bcf", "vcf", "vcf.gz", "vcf.gz+tbi"]
    forms = {row["sample"]: row["input_kind"] for row in data["rows"]}
    assert forms["NA12878"] == "vcf"
    assert forms["NA12878 (bgzip + tabix index)"] == "vcf.gz+tbi"
    assert forms["NA12878 (BCF)"] == "bcf"
    assert forms["NA10859"] == "vcf.gz"  # a whole file without index
    text = pdf_text(out / "validation.pdf")
    assert "Verdict: PASS" in text
    assert "79.4 % \u2013 100.0 %" in text  # 16 samples: the interval says how little that shows
    assert "29.2 % \u2013 100.0 %" in text  # three G/G samples
    assert not any(p.suffix in (".tbi", ".bcf") for p in REALDATA.rglob("*"))


def test_labels_have_both_languages() -> None:
    labels = yaml.safe_load((REPO_ROOT / "templates" / "validation_i18n.yaml").read_text("utf-8"))
    for key, texts in labels.items():
        assert set(texts) == {"en", "nb"}, key
        assert all(isinstance(t, str) and t for t in texts.values()), key


# ---- bad input -------------------------------------------------------------------------------

BAD_TRUTHS = [
    pytest.param(
        "sample\tinput\n" + "NA12878\tNA12878.OPRM1.g.vcf\n",
        ("line 1", "missing column 'expected'"),
        id="missing-column",
    ),
    pytest.param(
        HEADER.replace("note", "lab") + GOOD_ROWS,
        ("line 1", "unknown column 'lab'"),
        id="unknown-column",
    ),
    pytest.param(
        "sample\tinput\texpected\texpected\n",
        ("line 1", "'expected' appears twice"),
        id="duplicate-column",
    ),
    pytest.param(
        HEADER + GOOD_ROWS.replace("\tG/G\t", "\tG/T\t"),
        ("line 4", "sample 'NA18945'", "'G/T' is not one of"),
        id="bad-genotype",
    ),
    pytest.param(
        HEADER + GOOD_ROWS.replace("\tA/G\t", "\tG/A\t"),
        ("line 3", "sample 'NA18564'", "'G/A'"),
        id="unordered-genotype",
    ),
    pytest.param(
        HEADER + GOOD_ROWS.replace("NA18564.OPRM1.g.vcf", "missing.vcf"),
        ("line 3", "file not found: missing.vcf"),
        id="missing-input",
    ),
    pytest.param(
        HEADER + GOOD_ROWS + "NA12878\tNA18564.OPRM1.g.vcf\tA/G\t\t\n",
        ("line 6", "duplicate sample 'NA12878' (first on line 2)"),
        id="duplicate-sample",
    ),
    pytest.param(
        HEADER + "NA12878\tNA12878.OPRM1.g.vcf\tA/A\n",
        ("line 2", "expected 5 tab-separated fields"),
        id="short-row",
    ),
    pytest.param(
        HEADER + "\tNA12878.OPRM1.g.vcf\tA/A\t\t\n",
        ("line 2", "column 'sample' is empty"),
        id="empty-sample",
    ),
    pytest.param(HEADER + "# nothing yet\n", ("no rows",), id="no-rows"),
    pytest.param(
        HEADER + GOOD_ROWS.replace("\tNA18945\t", "\tNOBODY\t"),
        ("line 4", "sample 'NA18945'", "NOBODY"),
        id="unknown-vcf-sample",
    ),
]


@pytest.mark.parametrize(("text", "fragments"), BAD_TRUTHS)
def test_bad_truth_file_exit_2_one_line(
    text: str,
    fragments: tuple[str, ...],
    truth_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    truth = write_truth(truth_dir, text)
    before = {p: p.read_bytes() for p in truth_dir.iterdir()}
    out = tmp_path / "out"
    result = invoke("validate", truth, "-o", out, "--repeat", "1", capsys=capsys)
    assert_clean_error(result, str(truth), *fragments)
    assert not out.exists()  # no partial output
    assert {p: p.read_bytes() for p in truth_dir.iterdir()} == before  # inputs untouched


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("--bundled", "TRUTH"), "either TRUTH.tsv or --bundled"),
        ((), "either TRUTH.tsv or --bundled"),
    ],
)
def test_truth_or_bundled(
    args: tuple[str, ...], fragment: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = invoke("validate", *args, "-o", tmp_path / "out", capsys=capsys)
    assert_clean_error(result, fragment)


def test_missing_truth_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = invoke("validate", tmp_path / "nope.tsv", "-o", tmp_path / "out", capsys=capsys)
    assert_clean_error(result, "nope.tsv", "truth file not found")


@pytest.mark.parametrize("value", ["2026-3-1", "yesterday", "2026-02-30"])
def test_bad_date_is_a_usage_error(
    value: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = invoke("validate", "--bundled", "-o", tmp_path, "--date", value, capsys=capsys)
    assert result.returncode == 2
    assert "not a date YYYY-MM-DD" in result.stderr
