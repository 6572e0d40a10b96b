"""The sample sheet (pgx_report.batch.sheet) and the workflow plan built on it
(pgx_report.batch.plan), without Snakemake: good sheets resolve to rows, bad ones fail
with one line naming the sheet, the line and the sample."""

from __future__ import annotations

import json
import os
import shlex
import sys
from pathlib import Path

import pytest

from pgx_report.batch.plan import load_plan, sample_task
from pgx_report.batch.sheet import (
    ConfigError,
    SheetError,
    cohort_ids,
    load_sample_sheet,
    sheet_lines,
    sheet_samples,
)
from pgx_report.errors import InputError

REPO = Path(__file__).resolve().parent.parent
DEMO_VCFS = REPO / "demo" / "vcfs"
HEADER = "sample\tvcf\tquestionnaire\tvcf_sample\tlang\n"
ROWS = (
    "aa\t../inputs/NA12878.OPRM1.g.vcf.gz\t../inputs/q.json\tNA12878\t\n"
    "nd\t../inputs/DEMO-ND.vcf.gz\t../inputs/q.json\t\tnb\n"
    "# a comment line\n"
    "\n"
    "c1\t../inputs/cohort.b37.vcf.gz\t../inputs/q.json\tCOH-001\t\n"
    "c2\t../inputs/cohort.b37.vcf.gz\t../inputs/q.json\tCOH-002\ten\n"
)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """inputs/ (three demo VCFs, a questionnaire, a BAM- and a CRAM-looking file, SAM
    text) and sheets/; the working directory is the folder (paths are shown from it)."""
    (tmp_path / "inputs").mkdir()
    (tmp_path / "sheets").mkdir()
    for name in ("NA12878.OPRM1.g.vcf.gz", "DEMO-ND.vcf.gz", "cohort.b37.vcf.gz"):
        (tmp_path / "inputs" / name).write_bytes((DEMO_VCFS / name).read_bytes())
    (tmp_path / "inputs" / "q.json").write_text("{}", "utf-8")
    (tmp_path / "inputs" / "x.cram").write_bytes(b"CRAM\x03\x00rest")
    (tmp_path / "inputs" / "x.sam").write_text("@HD\tVN:1.6\n", "utf-8")
    (tmp_path / "inputs" / "ref.fa").write_text(">6\nA\n", "utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write_sheet(workdir: Path, text: str) -> Path:
    sheet = workdir / "sheets" / "samples.tsv"
    sheet.write_text(text, "utf-8")
    return Path("sheets/samples.tsv")


def test_good_sheet_rows_paths_and_cohort(workdir: Path) -> None:
    table = load_sample_sheet(write_sheet(workdir, HEADER + ROWS))
    assert list(table) == ["aa", "nd", "c1", "c2"]
    aa, nd, c1, c2 = table.values()
    assert aa.input == "inputs/NA12878.OPRM1.g.vcf.gz" and aa.questionnaire == "inputs/q.json"
    assert (aa.line, aa.vcf_sample, aa.lang, aa.format, aa.cohort) == (
        2,
        "NA12878",
        None,
        "vcf",
        None,
    )
    assert (nd.line, nd.vcf_sample, nd.lang) == (3, None, "nb")
    assert (c1.line, c1.cohort, c2.line, c2.cohort) == (6, "cohort.b37", 7, "cohort.b37")
    assert sample_task(c2).to_dict() == {
        "sample": "c2",
        "questionnaire": "inputs/q.json",
        "cohort": "results/_cohorts/cohort.b37",
        "vcf_sample": "COH-002",
        "lang": "en",
    }
    assert sample_task(aa).to_dict() == {
        "sample": "aa",
        "questionnaire": "inputs/q.json",
        "input": "inputs/NA12878.OPRM1.g.vcf.gz",
        "vcf_sample": "NA12878",
    }


def test_new_input_column_cram_and_config_reference(workdir: Path) -> None:
    header = "sample\tinput\tquestionnaire\tvcf_sample\treference\n"
    rows = (
        "x\t../inputs/x.cram\t../inputs/q.json\tS1\t\n"
        "y\t../inputs/x.cram\t../inputs/q.json\tS2\t../inputs/ref.fa\n"
    )
    table = load_sample_sheet(write_sheet(workdir, header + rows), "inputs/ref.fa")
    assert [(r.format, r.reference, r.cohort) for r in table.values()] == [
        ("cram", "inputs/ref.fa", None),
        ("cram", "inputs/ref.fa", None),
    ]


def test_paths_outside_the_working_directory_are_absolute(workdir: Path) -> None:
    outside = workdir / "inputs"
    os.chdir(workdir / "sheets")
    sheet = Path("samples.tsv")
    sheet.write_text(HEADER + "aa\t../inputs/DEMO-ND.vcf.gz\t../inputs/q.json\t\t\n", "utf-8")
    (row,) = load_sample_sheet(sheet).values()
    assert Path(row.input).is_absolute()
    assert Path(row.input).resolve() == (outside / "DEMO-ND.vcf.gz").resolve()


SHEET = "sample sheet sheets/samples.tsv: "
BAD_SHEETS = [
    pytest.param(
        HEADER + ROWS + "aa\t../inputs/DEMO-ND.vcf.gz\t../inputs/q.json\tX\t\n",
        "line 8 (sample 'aa'): duplicate sample (first on line 2)",
        id="duplicate-sample",
    ),
    pytest.param(
        HEADER + ROWS + "AA\t../inputs/DEMO-ND.vcf.gz\t../inputs/q.json\t\t\n",
        "line 8 (sample 'AA'): sample ID differs only in case from 'aa' (line 2): the two "
        "would share one results folder on a case-insensitive file system",
        id="sample-differs-only-in-case",
    ),
    pytest.param(
        HEADER + "new\t../inputs/absent.vcf.gz\t../inputs/q.json\tX\t\n",
        "line 2 (sample 'new'): column 'vcf': inputs/absent.vcf.gz: file not found",
        id="missing-vcf",
    ),
    pytest.param(
        HEADER + "new\t../inputs\t../inputs/q.json\tX\t\n",
        "line 2 (sample 'new'): column 'vcf': inputs: is not a file",
        id="input-is-a-folder",
    ),
    pytest.param(
        HEADER + "new\t../inputs/DEMO-ND.vcf.gz\t../inputs/none.json\t\t\n",
        "line 2 (sample 'new'): column 'questionnaire': inputs/none.json: file not found",
        id="missing-questionnaire",
    ),
    pytest.param(
        HEADER + "new\t../inputs/DEMO-ND.vcf.gz\t../inputs/q.json\tY\tde\n",
        "line 2 (sample 'new'): column 'lang': 'de' is not one of ['nb', 'en']",
        id="bad-language",
    ),
    pytest.param(
        HEADER + "new sample\t../inputs/DEMO-ND.vcf.gz\t../inputs/q.json\tY\t\n",
        "line 2 (sample 'new sample'): column 'sample': 'new sample' does not match",
        id="bad-sample-id",
    ),
    pytest.param(
        "sample\tinput\tquestionnaire\n" + "a\t\t../inputs/q.json\n",
        "line 2 (sample 'a'): 'input' is a required property",
        id="empty-input",
    ),
    pytest.param(
        HEADER + "batch_summary.tsv\t../inputs/DEMO-ND.vcf.gz\t../inputs/q.json\t\t\n",
        "line 2 (sample 'batch_summary.tsv'): this sample ID is reserved for a batch file",
        id="reserved-name",
    ),
    pytest.param(
        HEADER + ROWS + "new\t../inputs/cohort.b37.vcf.gz\t../inputs/q.json\t\t\n",
        "line 8 (sample 'new'): column 'vcf_sample' is required: inputs/cohort.b37.vcf.gz is "
        "shared by 3 rows (a cohort VCF)",
        id="cohort-row-without-vcf-sample",
    ),
    pytest.param(
        HEADER + ROWS + "new\t../inputs/cohort.b37.vcf.gz\t../inputs/q.json\tCOH-001\t\n",
        "line 8 (sample 'new'): VCF sample 'COH-001' of inputs/cohort.b37.vcf.gz is already "
        "used by sample 'c1' (line 6): a sample swap?",
        id="same-vcf-sample-twice",
    ),
    pytest.param(
        HEADER + "new\t../inputs/DEMO-ND.vcf.gz\n",
        "line 2 (sample 'new'): expected 5 tab-separated fields (as in the header), found 2",
        id="short-row",
    ),
    pytest.param(
        "sample\tinput\tquestionnaire\nx\t../inputs/x.cram\t../inputs/q.json\n",
        "line 2 (sample 'x'): column 'input': inputs/x.cram is CRAM, which needs the reference "
        "FASTA it was written with: fill in column 'reference' or set config key 'reference'",
        id="cram-without-reference",
    ),
    pytest.param(
        "sample\tinput\tquestionnaire\nx\t../inputs/x.sam\t../inputs/q.json\n",
        "line 2 (sample 'x'): column 'input': inputs/x.sam: is SAM text, which cannot be read",
        id="sam-text",
    ),
    pytest.param(
        "sample\tinput\tquestionnaire\treference\nx\t../inputs/x.cram\t../inputs/q.json\t"
        "../inputs/absent.fa\n",
        "line 2 (sample 'x'): column 'reference': inputs/absent.fa: file not found",
        id="missing-row-reference",
    ),
    pytest.param(
        "sample\tinput\tquestionnaire\tvcf_sample\treference\n"
        "c1\t../inputs/cohort.b37.vcf.gz\t../inputs/q.json\tCOH-001\t\n"
        "c2\t../inputs/cohort.b37.vcf.gz\t../inputs/q.json\tCOH-002\t../inputs/ref.fa\n",
        "line 3 (sample 'c2'): column 'reference': inputs/cohort.b37.vcf.gz is called once for "
        "all its rows (a cohort VCF), so they need one reference; line 2 has none",
        id="cohort-rows-with-two-references",
    ),
    pytest.param("sample\tvcf\tvcf_sample\na\tb\tc\n", "line 1: missing column 'questionnaire'"),
    pytest.param(
        "sample\tvcf\tquestionnaire\tlanguage\na\tb\tc\td\n",
        "line 1: unknown column 'language' (allowed: sample, input, vcf, questionnaire, "
        "vcf_sample, lang, reference, specimen_type, specimen_id, collected, received, "
        "requested_by, indication)",
    ),
    pytest.param("sample\tquestionnaire\tlang\na\tb\tc\n", "line 1: missing column 'input'"),
    pytest.param(
        "sample\tinput\tvcf\tquestionnaire\na\tb\tc\td\n",
        "line 1: columns 'input' and 'vcf' are the same column (the genotype input; 'vcf' is "
        "its old name): keep one",
    ),
    pytest.param("sample\tsample\tinput\tquestionnaire\n", "line 1: column 'sample' appears twice"),
    pytest.param(
        "# only a header\n" + HEADER, "no samples (header and at least one row needed)", id="empty"
    ),
    pytest.param(
        HEADER + "aa\t../inputs/NA12878.OPRM1.g.vcf.gz\t../inputs/q.json\tNA\u202e12878\t\n",
        "line 2 (sample 'aa'): column 'vcf_sample': character 3 is U+202E RIGHT-TO-LEFT "
        "OVERRIDE, a control or format character",
        id="rlo-vcf-sample",
    ),
    pytest.param(
        HEADER + "a\u200ba\t../inputs/NA12878.OPRM1.g.vcf.gz\t../inputs/q.json\tNA12878\t\n",
        "line 2: column 'sample': character 2 is U+200B ZERO WIDTH SPACE",
        id="zero-width-sample",
    ),
    pytest.param(
        HEADER + "aa\t../inputs/NA12878.OPRM1\x00.g.vcf.gz\t../inputs/q.json\tNA12878\t\n",
        "line 2 (sample 'aa'): column 'vcf': character 24 is U+0000, a control",
        id="nul-in-path",
    ),
    pytest.param(
        HEADER + "aa\t../inputs/NA12878.OPRM1.g.vcf.gz\t../inputs/q\u2066.json\tNA12878\t\n",
        "line 2 (sample 'aa'): column 'questionnaire': character 12 is U+2066 LEFT-TO-RIGHT "
        "ISOLATE",
        id="isolate-in-path",
    ),
]


@pytest.mark.parametrize(("text", "message"), BAD_SHEETS)
def test_bad_sheet(workdir: Path, text: str, message: str) -> None:
    with pytest.raises(SheetError) as caught:
        load_sample_sheet(write_sheet(workdir, text))
    assert str(caught.value).startswith(SHEET + message), str(caught.value)
    assert "\n" not in str(caught.value)


def test_vcf_sample_is_a_name_not_a_path(workdir: Path) -> None:
    """VCF sample names may hold spaces, '/' and non-ASCII letters (and differ only in
    case): the cohort rows keep them as written, and their tasks name the cohort folder
    and the name (the call file is looked up in its calls.tsv)."""
    names = ["a b/c", "\u00d8", "X", "x"]
    rows = "".join(
        f"s{i}\t../inputs/cohort.b37.vcf.gz\t../inputs/q.json\t{name}\t\n"
        for i, name in enumerate(names)
    )
    table = load_sample_sheet(write_sheet(workdir, HEADER + rows))
    assert [row.vcf_sample for row in table.values()] == names
    tasks = [sample_task(row).to_dict() for row in table.values()]
    assert {task["cohort"] for task in tasks} == {"results/_cohorts/cohort.b37"}
    assert [task["vcf_sample"] for task in tasks] == names
    assert all("call" not in task for task in tasks)


def test_unreadable_sheets(workdir: Path) -> None:
    with pytest.raises(SheetError, match=r"^sample sheet absent.tsv: file not found \(config"):
        load_sample_sheet(Path("absent.tsv"))
    (workdir / "latin1.tsv").write_bytes(HEADER.encode() + b"\xe6\n")
    with pytest.raises(SheetError, match=r"^sample sheet latin1\.tsv: not UTF-8 text$"):
        load_sample_sheet(Path("latin1.tsv"))


def test_config_reference_checked_after_the_rows(workdir: Path) -> None:
    sheet = write_sheet(workdir, HEADER + ROWS)
    with pytest.raises(ConfigError, match=r"^config: reference nowhere\.fa: file not found$"):
        load_sample_sheet(sheet, "nowhere.fa")
    with pytest.raises(ConfigError, match=r"^config: reference inputs: is not a file$"):
        load_sample_sheet(sheet, "inputs")


def test_sheet_lines_skip_comments_and_blanks() -> None:
    text = "a\t b \n# x\n\n\t\nc\td\n"
    assert list(sheet_lines(text)) == [(1, ["a", "b"]), (5, ["c", "d"])]


def test_cohort_ids_are_readable_and_unique() -> None:
    ids = cohort_ids(["/a/cohort.vcf.gz", "/b/cohort.vcf.gz", "/c/my set.bcf"])
    assert ids["/c/my set.bcf"] == "my_set"
    assert ids["/a/cohort.vcf.gz"].startswith("cohort-") and len(set(ids.values())) == 3


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sample\tvcf\na\tx\nb\tx\n", [("a", None), ("b", None)]),
        ("#c\nsample\tvcf_sample\na\tS1\n\nb\t\n", [("a", "S1"), ("b", None)]),
    ],
)
def test_summary_reading(tmp_path: Path, text: str, expected: list[tuple[str, str | None]]) -> None:
    sheet = tmp_path / "s.tsv"
    sheet.write_text(text, "utf-8")
    assert sheet_samples(sheet) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("sample\tvcf\na\tx\nb\tx\na\ty\n", "line 4: duplicate sample 'a' (first on line 2)"),
        ("sample\tvcf\na\tx\nA\ty\n", "line 3: duplicate sample 'A' (first on line 2)"),
        ("name\tvcf\na\tx\n", "line 1: header has no 'sample' column"),
        ("vcf\tsample\nx\t\n", "line 2: empty 'sample'"),
        ("sample\n", "no samples"),
    ],
)
def test_summary_reading_errors(tmp_path: Path, text: str, message: str) -> None:
    sheet = tmp_path / "s.tsv"
    sheet.write_text(text, "utf-8")
    with pytest.raises(InputError) as caught:
        sheet_samples(sheet)
    assert str(caught.value) == f"{sheet}: {message}"


def config(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "samples": "sheets/samples.tsv",
        "population": "global_1000g",
        "reference": None,
        "samples_per_job": 3,
        "call": {"min_depth": 12, "min_gq": None},
        "summary": {"alpha": 0.001, "max_not_determined_fraction": 0.2},
        "pgx_report": "pgx-report",
    }
    return base | changes


def test_plan_chunks_jobs_and_cohorts(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_sheet(workdir, HEADER + ROWS)
    monkeypatch.setenv("PATH", str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"])
    plan = load_plan(config())
    assert plan.samples == ["aa", "nd", "c1", "c2"]
    assert plan.chunks == {"0001": ["aa", "nd", "c1"], "0002": ["c2"]}
    assert list(plan.cohorts) == ["cohort.b37"]
    assert plan.chunk_inputs(["aa", "c1", "c2"]) == [
        "inputs/NA12878.OPRM1.g.vcf.gz",
        "inputs/q.json",
        "results/_cohorts/cohort.b37",
    ]
    assert plan.chunk_outputs(["aa"])[0] == "results/aa/call.json"
    assert plan.chunk_logs(["aa"]) == ["logs/aa/call.log", "logs/aa/report.log", "logs/aa/fhir.log"]
    words = shlex.split(plan.chunk_tasks(["aa", "c2"]))
    assert words[0::2] == ["--task", "--task"]
    cohort_task = json.loads(words[3])
    assert (cohort_task["cohort"], cohort_task["vcf_sample"]) == (
        "results/_cohorts/cohort.b37",
        "COH-002",
    )
    assert plan.call_options() == "--min-depth 12"
    full = load_plan(config(call={"min_depth": None, "min_gq": 5, "full_digest": True}))
    assert full.call_options() == "--full-digest --min-gq 5"  # config call.full_digest
    assert plan.summary_args()[:2] == ["--sheet", "sheets/samples.tsv"]

    class Wildcards:
        cohort = "cohort.b37"

    assert plan.cohort_vcf(Wildcards()) == "inputs/cohort.b37.vcf.gz"
    assert plan.cohort_reference(Wildcards()) == []
    assert plan.cohort_reference_option(Wildcards()) == ""


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"population": "MARS"}, "config: population 'MARS' is not known (choose one of: AFR,"),
        ({"pgx_report": "no-such-pgx-report"}, "config: command 'no-such-pgx-report' not found"),
    ],
)
def test_plan_config_errors(workdir: Path, changes: dict[str, object], message: str) -> None:
    write_sheet(workdir, HEADER + ROWS)
    with pytest.raises(ConfigError) as caught:
        load_plan(config(**changes))
    assert str(caught.value).startswith(message)


REQUEST_HEADER = (
    "sample\tinput\tquestionnaire\tspecimen_type\tspecimen_id\tcollected\treceived"
    "\trequested_by\tindication\n"
)


def test_request_and_specimen_columns_reach_the_task(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The optional request columns (issue 15 item 2): read, checked, and passed on to
    the sample's `pgx-report batch` task; an empty cell is left out."""
    sheet = write_sheet(
        workdir,
        REQUEST_HEADER + "aa\t../inputs/NA12878.OPRM1.g.vcf.gz\t../inputs/q.json\tEDTA blood\tACC-1"
        "\t2025-11-10\t2025-11-11\tDr. Ola Berg\tAlcohol use disorder\n"
        "nd\t../inputs/DEMO-ND.vcf.gz\t../inputs/q.json\t\t\t\t\t\t\n",
    )
    rows = load_sample_sheet(sheet)
    request = rows["aa"].request
    assert request is not None
    assert (request.specimen_type, request.specimen_id) == ("EDTA blood", "ACC-1")
    assert (request.collected, request.received) == ("2025-11-10", "2025-11-11")
    assert (request.requested_by, request.indication) == ("Dr. Ola Berg", "Alcohol use disorder")
    assert rows["nd"].request is None
    task = sample_task(rows["aa"]).to_dict()
    assert task["specimen_id"] == "ACC-1" and task["received"] == "2025-11-11"
    assert "specimen_id" not in sample_task(rows["nd"]).to_dict()


@pytest.mark.parametrize(
    ("cells", "fragments"),
    [
        (
            ("EDTA", "A1", "2025-11-12", "2025-11-11", "", ""),
            ("column 'received'", "before collected 2025-11-12"),
        ),
        (("EDTA", "A1", "2025-02-30", "", "", ""), ("column 'collected'", "not a date")),
        (("EDTA", "A1", "20.11.2025", "", "", ""), ("column 'collected'", "not a date")),
        (("EDTA", "A" * 101, "", "", "", ""), ("column 'specimen_id'", "101 characters")),
        (("EDTA", "A1", "", "", "Dr.\u200bX", ""), ("column 'requested_by'", "U+200B")),
    ],
    ids=["received-before-collected", "no-such-day", "not-iso", "over-long", "format-char"],
)
def test_bad_request_columns_name_line_sample_and_column(
    workdir: Path, cells: tuple[str, ...], fragments: tuple[str, ...]
) -> None:
    sheet = write_sheet(
        workdir,
        REQUEST_HEADER
        + "aa\t../inputs/NA12878.OPRM1.g.vcf.gz\t../inputs/q.json\t"
        + "\t".join(cells)
        + "\n",
    )
    with pytest.raises(SheetError) as caught:
        load_sample_sheet(sheet)
    message = str(caught.value)
    assert message.startswith("sample sheet sheets/samples.tsv: line 2 (sample 'aa'): ")
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, message
