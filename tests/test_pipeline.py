"""One sample end to end in Python (pgx_report.pipeline.run_sample), the batch runner
(pgx_report.batch.runner) and the CLI's error mapping (errors.exit_code_of)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import DEMO, DEMO_PATIENTS

from pgx_report.batch.runner import StepFailed, _Logs, run_tasks
from pgx_report.batch.tasks import CallOptions, SampleTask, sample_logs, sample_outputs
from pgx_report.errors import InputError, UsageError, exit_code_of
from pgx_report.pipeline import ReportSettings, run_sample, run_to_folder

SAMPLE = "demo-carrier"


def demo_task(sample: str = SAMPLE, **extra: str) -> SampleTask:
    vcf, vcf_sample = DEMO_PATIENTS[sample]
    fields = {
        "sample": sample,
        "questionnaire": str(DEMO / "questionnaires" / f"{sample}.json"),
        "input": str(DEMO / "vcfs" / vcf),
        "vcf_sample": vcf_sample,
    }
    return SampleTask(**(fields | extra))


def test_run_sample_steps_outputs_and_order(tmp_path: Path) -> None:
    paths = sample_outputs(tmp_path, SAMPLE)
    stages: list[str] = []
    emitted: list[str] = []

    @contextlib.contextmanager
    def stage(name: str) -> Iterator[None]:
        stages.append(name)
        yield

    outputs = run_sample(
        demo_task(), paths, stage=stage, emit=lambda key, _data: emitted.append(key)
    )
    assert stages == ["call", "report", "fhir"]
    assert emitted == ["call", "assessment", "pdf", "html", "fhir"]
    call = json.loads(outputs.call)
    assert call["sample"] == "NA18564" and call["genotype"] == "A/G"
    assessment = json.loads(outputs.assessment)
    records = {item["role"]: item for item in assessment["provenance"]["inputs"]}
    assert records["call"]["path"] == "call.json"  # named by name + digest, not where
    assert outputs.pdf.startswith(b"%PDF-") and b"<html" in outputs.html
    assert outputs.fhir is not None and json.loads(outputs.fhir)["resourceType"] == "Bundle"
    assert not paths["call"].exists()  # run_sample itself writes nothing


def test_run_sample_without_fhir_and_report_language(tmp_path: Path) -> None:
    outputs = run_sample(
        demo_task(), sample_outputs(tmp_path, SAMPLE), report=ReportSettings(lang="en"), fhir=False
    )
    assert outputs.fhir is None
    assert b'lang="en"' in outputs.html


def test_task_language_is_the_report_language(tmp_path: Path) -> None:
    run_tasks([demo_task(lang="en")], tmp_path / "r", tmp_path / "l", CallOptions())
    html = (tmp_path / "r" / SAMPLE / "report.html").read_text("utf-8")
    assert 'lang="en"' in html
    assessment = json.loads((tmp_path / "r" / SAMPLE / "assessment.json").read_text("utf-8"))
    assert assessment["language"] == "nb"  # the questionnaire's, as `render --assess` makes it


def test_run_to_folder_writes_the_four_files(tmp_path: Path) -> None:
    task = demo_task()
    assert task.input is not None
    run_to_folder(Path(task.input), Path(task.questionnaire), tmp_path / "out", sample="NA18564")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "assessment.json",
        "call.json",
        "report.html",
        "report.pdf",
    ]


def test_run_to_folder_writes_nothing_on_bad_input(tmp_path: Path) -> None:
    bad = tmp_path / "q.json"
    bad.write_text("{", "utf-8")
    task = demo_task()
    assert task.input is not None
    with pytest.raises(InputError, match=r"q\.json"):
        run_to_folder(Path(task.input), bad, tmp_path / "out", sample="NA18564")
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_step_log_gets_the_one_line_and_step_failed(tmp_path: Path) -> None:
    logs = _Logs(sample_logs(tmp_path, "s"))
    with pytest.raises(StepFailed) as caught, logs.stage("report"):
        raise InputError("x.json", "broken")
    assert (caught.value.step, caught.value.code) == ("report", 2)
    assert (tmp_path / "s" / "report.log").read_text(
        "utf-8"
    ) == "pgx-report: error: x.json: broken\n"
    with logs.stage("call"):
        print("kept", file=sys.stderr)
    assert (tmp_path / "s" / "call.log").read_text("utf-8") == "kept\n"


def test_run_tasks_one_bad_sample_does_not_stop_the_others(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = demo_task("demo-aa")
    bad = demo_task("demo-nd", input=str(tmp_path / "absent.vcf.gz"))
    code = run_tasks([bad, good], tmp_path / "results", tmp_path / "logs", CallOptions())
    assert code == 2
    assert (tmp_path / "results" / "demo-aa" / "report.fhir.json").is_file()
    assert not (tmp_path / "results" / "demo-nd").exists()
    log = (tmp_path / "logs" / "demo-nd" / "call.log").read_text("utf-8")
    assert log.startswith("pgx-report: error: ") and "absent.vcf.gz" in log
    assert not (tmp_path / "logs" / "demo-nd" / "report.log").exists()
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("pgx-report: error: sample 'demo-nd' (call): ")
    assert err[1] == "pgx-report: 1 of 2 samples failed (the others are written)"


@pytest.mark.parametrize(
    ("exc", "code", "line"),
    [
        (UsageError("f", "bad"), 2, "pgx-report: error: f: bad"),
        (KeyboardInterrupt(), 130, "pgx-report: interrupted"),
        (BrokenPipeError(), 1, ""),
        (ValueError("oops"), 1, "pgx-report: internal error: ValueError: oops (set PGX_REPORT"),
    ],
)
def test_exit_code_of(
    exc: BaseException, code: int, line: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PGX_REPORT_DEBUG", raising=False)
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert exit_code_of(exc) == code
    assert err.getvalue().startswith(line) and err.getvalue().count("\n") == (1 if line else 0)


def test_exit_code_of_reraises_in_debug_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGX_REPORT_DEBUG", "1")
    with pytest.raises(ValueError, match="oops"):
        exit_code_of(ValueError("oops"))
    assert os.environ["PGX_REPORT_DEBUG"] == "1"
