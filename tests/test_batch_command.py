"""``pgx-report batch``: many samples in one process (the workflow's chunk job).

Its files must be exactly those of the one-command-per-step route (same bytes), a bad
sample must fail alone with its error line in its own log, and bad task lists are
rejected with one line before anything is written.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import DEMO, DEMO_PATIENTS, CliResult, assert_clean_error, run_pgx

from pgx_report.batch.tasks import (
    OUTPUT_NAMES,
    CallOptions,
    SampleTask,
    chunks,
    parse_tasks,
    sample_steps,
)
from pgx_report.errors import InputError, UsageError
from pgx_report.outputs.call_json import cohort_call_file

VCFS = DEMO / "vcfs"
QUESTIONNAIRES = DEMO / "questionnaires"


def task(sample: str, **extra: str) -> dict[str, str]:
    vcf, vcf_sample = DEMO_PATIENTS[sample]
    return {
        "sample": sample,
        "input": str(VCFS / vcf),
        "vcf_sample": vcf_sample,
        "questionnaire": str(QUESTIONNAIRES / f"{sample}.json"),
        **extra,
    }


def task_args(tasks: list[dict[str, str]]) -> list[str]:
    return [word for item in tasks for word in ("--task", json.dumps(item))]


def run_batch(tmp_path: Path, tasks: list[dict[str, str]], *options: str) -> CliResult:
    return run_pgx(
        "batch",
        *task_args(tasks),
        "--results",
        tmp_path / "results",
        "--logs",
        tmp_path / "logs",
        *options,
    )


def test_batch_writes_the_same_bytes_as_the_single_commands(tmp_path: Path) -> None:
    """Three demo patients (carrier, contraindicated, not determined), one in nb: every
    file equals what `call`, `render --assess` and `fhir` write one process each (run
    from another folder with the same relative output paths, which provenance records)."""
    tasks = [task("demo-carrier"), task("demo-opioid", lang="nb"), task("demo-nd")]
    (tmp_path / "batch").mkdir()
    result = run_pgx(
        "batch", *task_args(tasks), "--results", "results", "--logs", "logs",
        cwd=tmp_path / "batch",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    single = tmp_path / "single"
    for item in tasks:
        sample = item["sample"]
        out = Path("results") / sample
        (single / out).mkdir(parents=True)
        steps = [
            ["call", item["input"], "--sample", item["vcf_sample"], "-o", out / "call.json"],
            [
                "render", out / "assessment.json", "-o", out / "report.pdf",
                "--html", out / "report.html",
                "--assess", out / "call.json", item["questionnaire"],
                *(["--lang", item["lang"]] if "lang" in item else []),
            ],
            ["fhir", out / "assessment.json", "--pdf", out / "report.pdf",
             "-o", out / "report.fhir.json"],
        ]  # fmt: skip
        for argv in steps:
            run_pgx(*argv, cwd=single, check=True)
        for name in OUTPUT_NAMES.values():
            batch_file = tmp_path / "batch" / out / name
            assert batch_file.read_bytes() == (single / out / name).read_bytes(), (sample, name)
        for step in ("call", "report", "fhir"):
            assert (tmp_path / "batch" / "logs" / sample / f"{step}.log").is_file()
    assessment = json.loads(
        (tmp_path / "batch" / "results" / "demo-opioid" / "assessment.json").read_text()
    )
    assert assessment["overall"]["category"] == "contraindicated"


def test_cohort_task_copies_the_cohort_call(tmp_path: Path) -> None:
    cohort = tmp_path / "cohort"
    run_pgx("call", VCFS / "cohort.b37.vcf.gz", "--all-samples", "-o", cohort, check=True)
    item = {
        "sample": "demo-cohort",
        "call": str(cohort / "COH-001.json"),
        "questionnaire": str(QUESTIONNAIRES / "demo-cohort.json"),
    }
    result = run_batch(tmp_path, [item])
    assert result.returncode == 0, result.stderr
    copied = tmp_path / "results" / "demo-cohort" / "call.json"
    assert copied.read_bytes() == (cohort / "COH-001.json").read_bytes()
    assert (tmp_path / "results" / "demo-cohort" / "report.pdf").read_bytes()[:5] == b"%PDF-"


@pytest.mark.parametrize(
    ("bad", "step", "fragment"),
    [
        pytest.param({"input": "absent.vcf.gz"}, "call", "absent.vcf.gz: file not found", id="vcf"),
        pytest.param(
            {"questionnaire": "nowhere.json"}, "report", "nowhere.json: file not found", id="q"
        ),
        pytest.param({"vcf_sample": "NOBODY"}, "call", "NOBODY", id="unknown-sample"),
    ],
)
def test_a_bad_sample_fails_alone(
    tmp_path: Path, bad: dict[str, str], step: str, fragment: str
) -> None:
    """The bad sample sits between two good ones: both good ones are written, the bad one
    has no files after its failed step, its log has the error line, and the batch says
    so in one line per failed sample plus a count, exit 2 (bad input)."""
    tasks = [task("demo-carrier"), task("demo-nd", **bad), task("demo-opioid")]
    tasks[1]["sample"] = "bad"
    result = run_batch(tmp_path, tasks)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 2, lines
    assert lines[0].startswith(f"pgx-report: error: sample 'bad' ({step}): ")
    assert fragment in lines[0]
    assert lines[1] == "pgx-report: 1 of 3 samples failed (the others are written)"
    assert "Traceback" not in result.stderr
    for good in ("demo-carrier", "demo-opioid"):
        for name in OUTPUT_NAMES.values():
            assert (tmp_path / "results" / good / name).is_file(), (good, name)
    log = (tmp_path / "logs" / "bad" / f"{step}.log").read_text("utf-8")
    assert fragment in log
    written = sorted(p.name for p in (tmp_path / "results" / "bad").glob("*"))
    expected = ["call.json"] if step == "report" else []
    assert written == expected  # nothing after the failed step, no temporary files


def test_a_failed_sample_keeps_nothing_it_did_not_finish(tmp_path: Path) -> None:
    """A truncated VCF: the call fails and the sample folder holds no file at all."""
    broken = tmp_path / "broken.vcf.gz"
    data = (VCFS / "NA12878.OPRM1.g.vcf.gz").read_bytes()
    broken.write_bytes(data[: len(data) // 2])
    item = {
        "sample": "broken",
        "input": str(broken),
        "questionnaire": str(QUESTIONNAIRES / "demo-aa.json"),
    }
    result = run_batch(tmp_path, [item])
    assert result.returncode == 2
    assert "broken.vcf.gz" in result.stderr
    assert not list((tmp_path / "results").rglob("*.*"))
    assert broken.read_bytes() == data[: len(data) // 2]  # the input is untouched


@pytest.mark.parametrize(
    ("tasks", "fragment"),
    [
        pytest.param(["{"], "--task 1: line 1 column 2: invalid JSON", id="not-json"),
        pytest.param([], "no samples: give --task JSON", id="none"),
        pytest.param(['"a"'], "batch: task 1: expected a JSON object", id="string-item"),
        pytest.param(
            ['{"sample": "a", "questionnaire": "q", "input": "v", "colour": "red"}'],
            "task 1: unknown key 'colour'",
            id="unknown-key",
        ),
        pytest.param(['{"sample": "a", "input": "v"}'], "missing 'questionnaire'", id="no-q"),
        pytest.param(
            ['{"sample": "a", "questionnaire": "q"}'],
            "exactly one of 'input', 'call' and 'cohort'",
            id="no-input",
        ),
        pytest.param(
            ['{"sample": "a", "questionnaire": "q", "input": "v", "call": "c"}'],
            "exactly one of 'input', 'call' and 'cohort'",
            id="both",
        ),
        pytest.param(
            ['{"sample": "a", "questionnaire": "q", "cohort": "c"}'],
            "task 1: a 'cohort' task needs 'vcf_sample' (and takes no 'reference')",
            id="cohort-without-vcf-sample",
        ),
        pytest.param(
            [
                '{"sample": "a", "questionnaire": "q", "cohort": "c", "vcf_sample": "S",'
                ' "reference": "r"}'
            ],
            "task 1: a 'cohort' task needs 'vcf_sample' (and takes no 'reference')",
            id="reference-on-cohort",
        ),
        pytest.param(
            ['{"sample": "a", "questionnaire": "q", "call": "c", "reference": "r"}'],
            "'vcf_sample' and 'reference' belong to an 'input' task",
            id="reference-on-call",
        ),
        pytest.param(
            ['{"sample": "a", "questionnaire": "q", "input": 3}'],
            "task 1: 'input' must be a non-empty string",
            id="number",
        ),
        pytest.param(
            ['{"sample": "a", "questionnaire": "q", "input": "v", "lang": "de"}'],
            "task 1: 'lang' must be one of en, nb",
            id="bad-language",
        ),
        pytest.param(
            ['{"sample": "../x", "questionnaire": "q", "input": "v"}'],
            "sample '../x' is not a valid folder name",
            id="path-sample",
        ),
        pytest.param(
            [
                '{"sample": "a", "questionnaire": "q", "input": "v"}',
                '{"sample": "a", "questionnaire": "q", "input": "w"}',
            ],
            "task 2: sample 'a' appears twice",
            id="duplicate",
        ),
    ],
)
def test_bad_task_list_is_rejected_before_anything_runs(
    tmp_path: Path, tasks: list[str], fragment: str
) -> None:
    words = [word for text in tasks for word in ("--task", text)]
    result = run_pgx("batch", *words, "--results", tmp_path / "r", "--logs", tmp_path / "l")
    assert_clean_error(result, fragment)
    assert not (tmp_path / "r").exists() and not (tmp_path / "l").exists()


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        pytest.param("[", "tasks.json: line 1 column 2: invalid JSON", id="not-json"),
        pytest.param('{"sample": "a"}', "tasks.json: expected a JSON list", id="object"),
        pytest.param("[]", "no samples", id="empty"),
    ],
)
def test_bad_tasks_file(tmp_path: Path, content: str, fragment: str) -> None:
    (tmp_path / "tasks.json").write_text(content, "utf-8")
    result = run_pgx(
        "batch", "--tasks-file", tmp_path / "tasks.json",
        "--results", tmp_path / "r", "--logs", tmp_path / "l",
    )  # fmt: skip
    assert_clean_error(result, fragment)


def test_tasks_file_adds_to_the_task_options(tmp_path: Path) -> None:
    listed = tmp_path / "tasks.json"
    listed.write_text(json.dumps([task("demo-nd")]), "utf-8")
    result = run_pgx(
        "batch", *task_args([task("demo-carrier")]), "--tasks-file", listed,
        "--results", tmp_path / "r", "--logs", tmp_path / "l",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "r").iterdir()) == ["demo-carrier", "demo-nd"]


def test_steps_are_the_single_commands() -> None:
    """The argument lists the batch runs: those of the one-sample workflow."""
    item = SampleTask(
        sample="s1",
        questionnaire="q.json",
        input="in.bam",
        vcf_sample="NA1",
        reference="ref.fa",
        lang="nb",
    )
    call, report, fhir = sample_steps(item, "res", "logs", CallOptions(min_depth=8, min_gq=None))
    assert call.argv == (
        "call", "in.bam", "--sample", "NA1", "--reference", "ref.fa", "--min-depth", "8",
        "-o", "res/s1/call.json",
    )  # fmt: skip
    assert report.argv == (
        "render", "res/s1/assessment.json", "-o", "res/s1/report.pdf",
        "--html", "res/s1/report.html", "--assess", "res/s1/call.json", "q.json",
        "--lang", "nb",
    )  # fmt: skip
    assert fhir.argv == (
        "fhir", "res/s1/assessment.json", "--pdf", "res/s1/report.pdf",
        "-o", "res/s1/report.fhir.json",
    )  # fmt: skip
    assert [step.log.as_posix() for step in (call, report, fhir)] == [
        "logs/s1/call.log", "logs/s1/report.log", "logs/s1/fhir.log",
    ]  # fmt: skip
    copied = sample_steps(
        SampleTask(sample="s2", questionnaire="q.json", call="c/NA2.json"),
        "res",
        "logs",
        CallOptions(),
    )[0]
    assert copied.argv == () and copied.copy == (Path("c/NA2.json"), Path("res/s2/call.json"))


def test_parse_tasks_round_trips() -> None:
    items = [
        SampleTask(sample="a", questionnaire="q", input="v", lang="en").to_dict(),
        SampleTask(sample="b", questionnaire="q", call="c").to_dict(),
    ]
    assert [t.to_dict() for t in parse_tasks(items, "x")] == items
    with pytest.raises(UsageError, match="x: task 2: sample 'a' appears twice"):
        parse_tasks([items[0], items[0]], "x")


@pytest.mark.parametrize(
    ("count", "size", "expected"),
    [
        (0, 3, []),
        (1, 3, [[0]]),
        (3, 3, [[0, 1, 2]]),
        (7, 3, [[0, 1, 2], [3, 4, 5], [6]]),
        (2, 1, [[0], [1]]),
    ],
)
def test_chunks_keep_order_and_size(count: int, size: int, expected: list[list[int]]) -> None:
    names = [f"s{i}" for i in range(count)]
    assert chunks(names, size) == [[f"s{i}" for i in chunk] for chunk in expected]


def test_chunk_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        chunks(["a"], 0)


def test_cohort_copy_of_a_missing_call_names_the_file(tmp_path: Path) -> None:
    item = {
        "sample": "c",
        "call": str(tmp_path / "cohort" / "NOBODY.json"),
        "questionnaire": str(QUESTIONNAIRES / "demo-cohort.json"),
    }
    result = run_batch(tmp_path, [item])
    assert result.returncode == 2
    assert "NOBODY.json: file not found" in result.stderr
    assert "NOBODY.json: file not found" in (tmp_path / "logs" / "c" / "call.log").read_text()


# VCF sample names that `call --all-samples` writes under hashed file names: not plain
# ASCII, a space and '/', and two that differ only in case.
ODD_NAMES = ("\u00d8", "a b/c", "X", "x")


def odd_cohort(tmp_path: Path) -> Path:
    """The demo cohort VCF with its four samples renamed to ODD_NAMES, called with
    --all-samples into tmp_path/cohort."""
    import gzip

    text = gzip.decompress((VCFS / "cohort.b37.vcf.gz").read_bytes()).decode("utf-8")
    lines = text.splitlines()
    for number, line in enumerate(lines):
        if line.startswith("#CHROM"):
            lines[number] = "\t".join([*line.split("\t")[:9], *ODD_NAMES])
    vcf = tmp_path / "odd.vcf"
    vcf.write_text("\n".join(lines) + "\n", "utf-8")
    run_pgx("call", vcf, "--all-samples", "-o", tmp_path / "cohort", check=True)
    return tmp_path / "cohort"


def test_cohort_calls_are_found_through_calls_tsv(tmp_path: Path) -> None:
    cohort = odd_cohort(tmp_path)
    files = {path.name for path in cohort.iterdir()} - {"calls.tsv"}
    assert not files & {f"{name}.json" for name in ODD_NAMES}  # all hashed
    found = {name: cohort_call_file(cohort, name) for name in ODD_NAMES}
    assert {path.name for path, _data in found.values()} == files
    for name, (path, data) in found.items():
        assert json.loads(data)["sample"] == name and path.read_bytes() == data


def test_cohort_call_lookup_refuses_what_it_cannot_trust(tmp_path: Path) -> None:
    cohort = odd_cohort(tmp_path)
    with pytest.raises(InputError, match=r"calls.tsv: column 'sample': VCF sample 'Y' is not"):
        cohort_call_file(cohort, "Y")
    tsv = cohort / "calls.tsv"
    lines = tsv.read_text("utf-8").split("\n")
    upper, lower = lines[3].rsplit("\t", 1)[1], lines[4].rsplit("\t", 1)[1]
    lines[3] = lines[3].rsplit("\t", 1)[0] + "\t" + lower  # X's row names x's file
    tsv.write_text("\n".join(lines), "utf-8")
    with pytest.raises(InputError) as caught:
        cohort_call_file(cohort, "X")
    assert str(caught.value) == (
        f"{cohort / lower}: field 'sample' is \"x\", but calls.tsv lists this file for 'X'"
    )
    lines[3] = lines[3].rsplit("\t", 1)[0] + "\t../" + upper
    tsv.write_text("\n".join(lines), "utf-8")
    with pytest.raises(InputError, match=r"column 'file': '\.\./X-.*' is not a call file name"):
        cohort_call_file(cohort, "X")
    tsv.unlink()
    with pytest.raises(InputError, match=r"calls.tsv: file not found"):
        cohort_call_file(cohort, "X")


def test_cohort_tasks_with_odd_vcf_sample_names(tmp_path: Path) -> None:
    """`batch` copies the call of a cohort task's vcf_sample, hashed file name or not."""
    cohort = odd_cohort(tmp_path)
    questionnaire = json.loads((QUESTIONNAIRES / "demo-cohort.json").read_text("utf-8"))
    items = []
    for number, name in enumerate(("\u00d8", "x")):
        path = tmp_path / f"q{number}.json"
        path.write_text(json.dumps({**questionnaire, "sample_id": name}), "utf-8")
        items.append(
            {
                "sample": f"s{number}",
                "cohort": str(cohort),
                "vcf_sample": name,
                "questionnaire": str(path),
            }
        )
    result = run_batch(tmp_path, items)
    assert result.returncode == 0, result.stderr
    for item in items:
        copied = (tmp_path / "results" / item["sample"] / "call.json").read_bytes()
        assert copied == cohort_call_file(cohort, item["vcf_sample"])[1]


def test_cohort_step_is_a_lookup() -> None:
    item = SampleTask(sample="s", questionnaire="q.json", cohort="c", vcf_sample="a b/c")
    step = sample_steps(item, "res", "logs", CallOptions())[0]
    assert (step.argv, step.copy, step.cohort) == ((), None, (Path("c"), "a b/c"))


def test_a_reader_crash_fails_that_sample_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A genotype reader that dies (SIGSEGV, as htslib on a record the precheck does not
    know; the test hook kills the reader process on one file) fails that sample alone,
    with its one line in its call log and in the summary (exit 1, not bad input); every
    other sample of the chunk, before and after it, is written byte for byte as without
    the crash. The batch summary lists the sample as failed with the same line."""
    from pgx_report.genotype.isolated import CRASH_ENV
    from pgx_report.outputs.batch_summary import SampleStatus, collect_sample

    order = ["demo-carrier", "demo-aa", "demo-opioid", "demo-nd"]
    tasks = [task(sample) for sample in order]
    crashed_vcf = VCFS / DEMO_PATIENTS["demo-aa"][0]
    for run in ("clean", "crash"):
        (tmp_path / run).mkdir()
        if run == "crash":
            monkeypatch.setenv(CRASH_ENV, crashed_vcf.name)
        result = run_pgx(
            "batch", *task_args(tasks), "--results", "results", "--logs", "logs",
            cwd=tmp_path / run,
        )  # fmt: skip
        assert result.returncode == (1 if run == "crash" else 0), result.stderr
    line = f"internal error: the genotype reader crashed (signal 11) on {crashed_vcf}"
    assert result.stderr.splitlines() == [
        f"pgx-report: error: sample 'demo-aa' (call): {line}; please report it",
        "pgx-report: 1 of 4 samples failed (the others are written)",
    ]
    crash, clean = tmp_path / "crash", tmp_path / "clean"
    log = (crash / "logs" / "demo-aa" / "call.log").read_text("utf-8")
    assert log == f"pgx-report: {line}; please report it\n"
    assert not (crash / "results" / "demo-aa").exists() or not any(
        (crash / "results" / "demo-aa").iterdir()
    )
    for sample in ("demo-carrier", "demo-opioid", "demo-nd"):
        for name in OUTPUT_NAMES.values():
            written = crash / "results" / sample / name
            assert written.read_bytes() == (clean / "results" / sample / name).read_bytes()
    record = collect_sample("demo-aa", "NA12878", crash / "results", crash / "logs")
    assert record.status is SampleStatus.FAILED
    assert record.error == f"pgx-report: {line}; please report it"


def test_a_reader_crash_in_a_single_call_is_one_internal_error_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`call` and `run` on one file: exit 1 (not input we recognised as bad), one line
    naming the file, no traceback, nothing written."""
    from pgx_report.genotype.isolated import CRASH_ENV

    vcf = VCFS / DEMO_PATIENTS["demo-nd"][0]
    monkeypatch.setenv(CRASH_ENV, vcf.name)
    expected = (
        f"pgx-report: internal error: the genotype reader crashed (signal 11) on {vcf}; "
        "please report it\n"
    )
    call = run_pgx("call", vcf, "-o", tmp_path / "call.json")
    assert (call.returncode, call.stderr) == (1, expected)
    run = run_pgx("run", vcf, QUESTIONNAIRES / "demo-nd.json", "-o", tmp_path / "out")
    assert (run.returncode, run.stderr) == (1, expected)
    cohort = run_pgx("call", vcf, "--all-samples", "-o", tmp_path / "cohort")
    assert (cohort.returncode, cohort.stderr) == (1, expected)
    assert sorted(tmp_path.iterdir()) == []


def _reader_pid(message: str) -> int:
    import os
    import sys

    print(f"pgx-report: WARNING: {message}", file=sys.stderr)
    return os.getpid()


def _reader_refuses(source: str) -> None:
    from pgx_report.errors import UnknownSampleError

    raise UnknownSampleError(source, "sample 'X' is not in the file")


def _reader_dies() -> None:
    import faulthandler
    import os
    import signal

    faulthandler.disable()  # pytest's: no dump of the expected crash
    os.kill(os.getpid(), signal.SIGSEGV)


def test_reader_session_keeps_one_reader_and_replaces_a_dead_one(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """In a session one reader process answers every call; its errors come back as they
    were raised (type and message), its stderr on ours; a dead reader is one
    ReaderCrashed, and the next call gets a new reader."""
    import os

    from pgx_report.errors import ReaderCrashed, UnknownSampleError
    from pgx_report.genotype.isolated import isolated, reader_session

    with reader_session():
        first = isolated("a.vcf", _reader_pid, "one")
        assert first != os.getpid()
        assert isolated("a.vcf", _reader_pid, "two") == first
        with pytest.raises(UnknownSampleError) as refused:
            isolated("b.vcf", _reader_refuses, "b.vcf")
        assert str(refused.value) == "b.vcf: sample 'X' is not in the file"
        with pytest.raises(ReaderCrashed) as crashed:
            isolated("c.vcf", _reader_dies)
        assert crashed.value.exit_code == 1
        assert str(crashed.value) == (
            "the genotype reader crashed (signal 11) on c.vcf; please report it"
        )
        after = isolated("d.vcf", _reader_pid, "three")
        assert after not in (first, os.getpid())
    assert isolated("e.vcf", _reader_pid, "four") not in (first, after, os.getpid())
    assert [line.split(": ")[-1] for line in capsys.readouterr().err.splitlines()] == [
        "one", "two", "three", "four"
    ]  # fmt: skip
