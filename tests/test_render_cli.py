"""``pgx-report render`` as a process: outputs, language, errors, templates from a
wheel and from the repository, and that ``pgx-report call`` never imports WeasyPrint."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import assert_clean_error, run_pgx
from pypdf import PdfReader

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "demo"


@pytest.fixture(scope="module")
def assessment(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """assessment.json of the demo carrier (nb), made by the real call + assess commands."""
    folder = tmp_path_factory.mktemp("render-cli")
    call = folder / "call.json"
    run_pgx("call", DEMO / "vcfs" / "NA18564.OPRM1.g.vcf.gz", "-o", call, check=True)
    out = folder / "assessment.json"
    run_pgx(
        "assess",
        "--call",
        call,
        "--questionnaire",
        DEMO / "questionnaires" / "demo-carrier.json",
        "-o",
        out,
        check=True,
    )
    return out


def page_text(pdf: Path) -> str:
    reader = PdfReader(io.BytesIO(pdf.read_bytes()))
    return " ".join(" ".join((p.extract_text() or "").split()) for p in reader.pages)


def test_render_writes_pdf_and_html_in_the_questionnaire_language(
    assessment: Path, tmp_path: Path
) -> None:
    pdf, html = tmp_path / "r.pdf", tmp_path / "r.html"
    result = run_pgx("render", assessment, "-o", pdf, "--html", html)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    text = page_text(pdf)
    assert "Farmakogenetisk rapport" in text and "side 1 av" in text
    page = html.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert '<html lang="nb">' in page
    assert "@font-face" not in page  # no font URLs in the stand-alone HTML
    assert "file:" not in page and "http" not in page.split("<body>")[1]
    reader = PdfReader(io.BytesIO(pdf.read_bytes()))
    assert reader.attachments["assessment.json"] == [assessment.read_bytes()]


def test_lang_option_overrides_and_lab_goes_into_header_and_author(
    assessment: Path, tmp_path: Path
) -> None:
    lab = tmp_path / "lab.yaml"
    text = (DEMO / "lab.yaml").read_text(encoding="utf-8")
    lab.write_text(text.replace("Demo Laboratory - fictitious", "Lab of Ævar & Co"), "utf-8")
    pdf = tmp_path / "en.pdf"
    result = run_pgx("render", assessment, "-o", pdf, "--lang", "en", "--lab", lab)
    assert result.returncode == 0, result.stderr
    text = page_text(pdf)
    assert "Pharmacogenomic report" in text and "page 1 of" in text
    assert "Lab of Ævar & Co" in text
    reader = PdfReader(io.BytesIO(pdf.read_bytes()))
    assert reader.metadata is not None
    assert reader.metadata.author == "Lab of Ævar & Co, not for clinical use"


def test_lab_option_is_a_profile_file_not_a_name(assessment: Path, tmp_path: Path) -> None:
    """``--lab`` used to take the laboratory's name: a name is now a clean error."""
    pdf = tmp_path / "named.pdf"
    result = run_pgx("render", assessment, "-o", pdf, "--lab", "Lab of Ævar & Co")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pgx-report: error: Lab of Ævar & Co: ")
    assert "laboratory's profile" in lines[0] and not pdf.exists()


def test_two_processes_give_the_same_bytes_whatever_the_clock(
    assessment: Path, tmp_path: Path
) -> None:
    first, second = tmp_path / "1.pdf", tmp_path / "2.pdf"
    assert run_pgx("render", assessment, "-o", first).returncode == 0
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1700000000", "TZ": "Pacific/Auckland"}
    proc = subprocess.run(
        [sys.executable, "-m", "pgx_report", "render", str(assessment), "-o", str(second)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert first.read_bytes() == second.read_bytes()


def _broken(tmp_path: Path, assessment: Path, change: str) -> Path:
    data = json.loads(assessment.read_text(encoding="utf-8"))
    if change == "no_patient_id":
        del data["patient"]["id"]
    elif change == "bad_finding":
        data["factors"][0]["finding"] = "great"
    path = tmp_path / f"{change}.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("content", "fragments"),
    [
        (None, ("missing.json: file not found",)),
        (b"{nope", ("bad.json: ", "invalid JSON")),
        (b"\xff\xfe", ("bad.json: ",)),
        (b'{"schema": "pgx-report.call", "schema_version": "1.0"}', ("bad.json: ", "schema")),
        (b'{"schema": "pgx-report.assessment", "schema_version": "9.0"}', ("bad.json: ", "9.0")),
    ],
)
def test_bad_assessment_files_are_clean_errors_without_output(
    tmp_path: Path, content: bytes | None, fragments: tuple[str, ...]
) -> None:
    source = tmp_path / ("missing.json" if content is None else "bad.json")
    if content is not None:
        source.write_bytes(content)
    out = tmp_path / "r.pdf"
    result = run_pgx("render", source, "-o", out, "--html", tmp_path / "r.html")
    assert_clean_error(result, *fragments)
    assert sorted(p.name for p in tmp_path.iterdir()) == ([] if content is None else ["bad.json"])


@pytest.mark.parametrize(
    ("change", "fragment"),
    [("no_patient_id", "patient"), ("bad_finding", "great")],
)
def test_schema_invalid_assessment_is_a_clean_error(
    assessment: Path, tmp_path: Path, change: str, fragment: str
) -> None:
    source = _broken(tmp_path, assessment, change)
    result = run_pgx("render", source, "-o", tmp_path / "r.pdf")
    assert_clean_error(result, f"{source}: ", fragment)
    assert not (tmp_path / "r.pdf").exists()


def test_output_over_the_input_is_refused(assessment: Path, tmp_path: Path) -> None:
    copy = tmp_path / "a.json"
    shutil.copy(assessment, copy)
    before = copy.read_bytes()
    assert_clean_error(run_pgx("render", copy, "-o", copy), "would overwrite the input")
    assert_clean_error(
        run_pgx("render", copy, "-o", tmp_path / "r.pdf", "--html", copy), "would overwrite"
    )
    assert_clean_error(
        run_pgx("render", copy, "-o", tmp_path / "x", "--html", tmp_path / "x"), "same file"
    )
    assert copy.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json"]


def test_templates_option_must_name_a_templates_folder(assessment: Path, tmp_path: Path) -> None:
    result = run_pgx("render", assessment, "-o", tmp_path / "r.pdf", "--templates", tmp_path)
    assert_clean_error(result, f"{tmp_path}: not a report templates folder")


def test_explicit_templates_folder_is_used(assessment: Path, tmp_path: Path) -> None:
    folder = tmp_path / "mytemplates"
    shutil.copytree(REPO / "templates", folder)
    labels = folder / "i18n.yaml"
    labels.write_text(
        labels.read_text(encoding="utf-8").replace(
            'nb: "Farmakogenetisk rapport: naltrekson og OPRM1"',
            'nb: "Lokal rapportmal: naltrekson og OPRM1"',
        ),
        encoding="utf-8",
    )
    pdf = tmp_path / "r.pdf"
    result = run_pgx("render", assessment, "-o", pdf, "--templates", folder)
    assert result.returncode == 0, result.stderr
    assert "Lokal rapportmal" in page_text(pdf)


# --------------------------------------------------------------------------- packaging


def test_templates_resolve_from_the_repository_in_an_editable_install() -> None:
    from pgx_report.outputs.report import pdf as rendering

    assert not (REPO / "pgx_report" / "templates").exists()
    assert rendering.find_templates() == REPO / "templates"


def test_wheel_ships_the_templates_and_renders_from_them(assessment: Path, tmp_path: Path) -> None:
    """Build the real wheel (hatchling, no network), unpack it, and render from it."""
    wheels = tmp_path / "wheels"
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-build-isolation",
            "--no-deps",
            "-q",
            "-w",
            str(wheels),
            str(REPO),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert build.returncode == 0, build.stderr
    (wheel,) = wheels.glob("pgx_report-*.whl")
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        for needed in (
            "report.html.j2",
            "report.css",
            "fonts.css",
            "i18n.yaml",
            "fonts/DejaVuSans.ttf",
            "fonts/DejaVuSans-Bold.ttf",
            "fonts/DroidSansFallback.ttf",
            "fonts/LICENSE-DejaVu.txt",
            "fonts/LICENSE-DroidSansFallback.txt",
            "fonts/LICENSE-Apache-2.0.txt",
        ):
            assert f"pgx_report/templates/{needed}" in names, needed
        archive.extractall(site)
    out = tmp_path / "wheel.pdf"
    code = (
        "import sys; from pgx_report import cli; "
        "from pgx_report.outputs.report import pdf as rendering; "
        "t = rendering.find_templates(); "
        f"assert str(t) == {str(site / 'pgx_report' / 'templates')!r}, t; "
        f"sys.exit(cli.main(['render', {str(assessment)!r}, '-o', {str(out)!r}]))"
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    reference = tmp_path / "repo.pdf"
    assert run_pgx("render", assessment, "-o", reference).returncode == 0
    assert out.read_bytes() == reference.read_bytes()  # same fonts, same bytes


# --------------------------------------------------------------------------- render --assess


def test_render_assess_writes_the_bytes_of_assess_then_render(tmp_path: Path) -> None:
    call = tmp_path / "call.json"
    run_pgx("call", DEMO / "vcfs" / "NA18564.OPRM1.g.vcf.gz", "-o", call, check=True)
    questionnaire = DEMO / "questionnaires" / "demo-carrier.json"
    outputs = [tmp_path / name for name in ("assessment.json", "r.pdf", "r.html")]
    assessment, pdf, html = outputs
    run_pgx(
        "assess", "--call", call, "--questionnaire", questionnaire, "-o", assessment, check=True
    )
    run_pgx("render", assessment, "-o", pdf, "--html", html, "--lang", "en", check=True)
    two_processes = [path.read_bytes() for path in outputs]
    for path in outputs:
        path.unlink()
    result = run_pgx(
        "render", assessment, "-o", pdf, "--html", html, "--lang", "en",
        "--assess", call, questionnaire,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert [path.read_bytes() for path in outputs] == two_processes


def test_many_reports_in_one_process_give_the_bytes_of_one_process_each(tmp_path: Path) -> None:
    """What ``pgx-report batch`` does: ``render --assess`` for patient after patient in one
    process (warm caches: knowledge base, labels, stylesheets, fonts) writes exactly
    the files a fresh process writes for each patient."""
    from pgx_report.cli import main

    patients = {
        "demo-carrier": "NA18564.OPRM1.g.vcf.gz",
        "demo-aa": "NA12878.OPRM1.g.vcf.gz",
        "demo-opioid": "NA18945.OPRM1.g.vcf.gz",
    }
    names = ("assessment.json", "report.pdf", "report.html")

    def argv(name: str, folder: Path) -> list[str]:
        out = folder / name
        return [
            "render", str(out / names[0]), "-o", str(out / names[1]), "--html",
            str(out / names[2]), "--assess", str(tmp_path / f"{name}.call.json"),
            str(DEMO / "questionnaires" / f"{name}.json"),
        ]  # fmt: skip

    expected = {}
    for name, vcf in patients.items():
        run_pgx("call", DEMO / "vcfs" / vcf, "-o", tmp_path / f"{name}.call.json", check=True)
        run_pgx(*argv(name, tmp_path / "processes"), check=True)
        expected[name] = [(tmp_path / "processes" / name / n).read_bytes() for n in names]
    for round_, name in enumerate([*patients, "demo-carrier"]):  # the last one warm again
        folder = tmp_path / f"in-process-{round_}"
        assert main(argv(name, folder)) == 0
        assert [(folder / name / n).read_bytes() for n in names] == expected[name], name


@pytest.mark.parametrize(
    ("questionnaire", "assessment_name", "fragments"),
    [
        ("demo-aa.json", "a.json", ("demo-aa.json", "does not match the genotype call")),
        ("demo-carrier.json", "r.pdf", ("r.pdf", "ASSESSMENT and -o/--html name the same file")),
        ("demo-carrier.json", "call.json", ("would overwrite the input file",)),
    ],
)
def test_render_assess_errors_leave_no_output(
    tmp_path: Path, questionnaire: str, assessment_name: str, fragments: tuple[str, ...]
) -> None:
    call = tmp_path / "call.json"
    run_pgx("call", DEMO / "vcfs" / "NA18564.OPRM1.g.vcf.gz", "-o", call, check=True)
    call_bytes = call.read_bytes()
    assessment, pdf, html = tmp_path / assessment_name, tmp_path / "r.pdf", tmp_path / "r.html"
    result = run_pgx(
        "render", assessment, "-o", pdf, "--html", html,
        "--assess", call, DEMO / "questionnaires" / questionnaire,
    )  # fmt: skip
    assert_clean_error(result, *fragments)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["call.json"]
    assert call.read_bytes() == call_bytes


# --------------------------------------------------------------------------- lazy imports


def test_call_and_the_cli_do_not_import_weasyprint(tmp_path: Path) -> None:
    code = (
        "import sys; from pgx_report import cli; cli.build_parser(); "
        "assert 'weasyprint' not in sys.modules, 'parser'; "
        f"rc = cli.main(['call', {str(DEMO / 'vcfs' / 'NA18564.OPRM1.g.vcf.gz')!r}, "
        f"'-o', {str(tmp_path / 'c.json')!r}]); "
        "heavy = sorted(m for m in ('weasyprint', 'pydyf', 'jinja2', 'fontTools', "
        "'pgx_report.outputs.report.pdf', 'pgx_report.outputs.report.view') if m in sys.modules); "
        "print(rc, heavy)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "0 []"
    assert json.loads((tmp_path / "c.json").read_text())["genotype"] == "A/G"
