"""The laboratory profile (``--lab LAB.yaml``, issue 15 item 1): the schema's refusals
(exit 2, one line naming the file and the field), the lab block printed in both
languages, the not-configured notice on page 1 without a profile, the profile's SHA-256
and name in ``report.json``, and the same bytes from the same inputs."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from pgx_report.cli import main
from pgx_report.contracts.lab import load_lab
from pgx_report.contracts.schema import load_schema
from pgx_report.contracts.text import printable_pattern
from pgx_report.outputs.report.embedded import read_embedded

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "demo"
DEMO_LAB = DEMO / "lab.yaml"


def pdftotext(pdf: Path, first: int | None = None, last: int | None = None) -> str:
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext (poppler-utils) is required: run scripts/install-system-deps.sh")
    pages = [*(("-f", str(first)) if first else ()), *(("-l", str(last)) if last else ())]
    done = subprocess.run(
        ["pdftotext", *pages, "-raw", str(pdf), "-"], capture_output=True, text=True, check=True
    )
    return " ".join(done.stdout.split())


def squeeze(text: str) -> str:
    """Without whitespace: a line break inside a hyphenated word still matches."""
    return "".join(text.split())


def demo_profile() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(DEMO_LAB.read_text(encoding="utf-8"))
    return data


def one_error_line(capsys: pytest.CaptureFixture[str], code: int, *fragments: str) -> str:
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1, err
    assert lines[0].startswith("pgx-report: error: "), err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


@pytest.fixture(scope="module")
def assessment(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("lab")
    call = folder / "call.json"
    assert main(["call", str(DEMO / "vcfs" / "NA18564.OPRM1.g.vcf.gz"), "-o", str(call)]) == 0
    out = folder / "assessment.json"
    questionnaire = DEMO / "questionnaires" / "demo-carrier.json"
    args = ["assess", "--call", str(call), "--questionnaire", str(questionnaire), "-o", str(out)]
    assert main(args) == 0
    return out


def test_demo_profile_is_valid_and_plainly_fictitious() -> None:
    lab = load_lab(DEMO_LAB)
    assert lab.name == "Demo Laboratory - fictitious, not for clinical use"
    assert lab.sha256 == hashlib.sha256(DEMO_LAB.read_bytes()).hexdigest()
    assert "Fictitious" in lab.accreditation.en and "Fiktivt" in lab.accreditation.nb
    assert not lab.method.en.endswith("\n")  # a YAML block's final line break is dropped


def test_schema_text_pattern_is_the_printable_rule() -> None:
    schema = load_schema("lab.schema.json")
    assert schema["$defs"]["line"]["pattern"] == printable_pattern()
    assert schema["$defs"]["paragraph"]["pattern"] == printable_pattern()


def _set(path: tuple[Any, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        target: Any = data
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value

    return change


def _delete(key: str) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        del data[key]

    return change


REFUSALS: list[tuple[str, Callable[[dict[str, Any]], None], tuple[str, ...]]] = [
    ("missing-name", _delete("name"), ("$.name (laboratory name)", "missing")),
    (
        "bad-email",
        _set(("contact", "email"), "lab.example.org"),
        ("$.contact.email (e-mail address)", "not an e-mail address"),
    ),
    (
        "control-char",
        _set(("method", "en"), "Sequencing\x07 and calling"),
        ("$.method.en (method, English text)", "U+0007"),
    ),
    (
        "format-char",
        _set(("limitations", 0, "nb"), "Fiktiv\u202e"),
        ("$.limitations[0].nb (local limitations, item 1, Norwegian text)", "U+202E"),
    ),
    (
        "over-long",
        _set(("performance", "nb"), "x" * 1501),
        ("$.performance.nb (analytical performance statement, Norwegian text)", "1501"),
    ),
    ("unknown-key", _set(("logo",), "lab.png"), ("$.logo", "unknown key")),
    (
        "missing-language",
        _set(("accreditation",), {"en": "ISO 15189"}),
        ("$.accreditation.nb (accreditation statement, Norwegian text)", "missing"),
    ),
    ("bad-version", _set(("schema_version",), "9.0"), ("$.schema_version", "9.0")),
]


@pytest.mark.parametrize(
    ("change", "fragments"), [item[1:] for item in REFUSALS], ids=[i[0] for i in REFUSALS]
)
@pytest.mark.parametrize("command", ["render", "release"])
def test_bad_profiles_are_one_line_naming_file_and_field(
    command: str,
    change: Callable[[dict[str, Any]], None],
    fragments: tuple[str, ...],
    assessment: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = demo_profile()
    change(data)
    lab = tmp_path / "badlab.yaml"
    lab.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    out = tmp_path / "out.pdf"
    if command == "render":
        args = ["render", str(assessment), "-o", str(out), "--lab", str(lab)]
    else:
        args = ["release", str(assessment), "--reviewer", "Kari Nordmann, overlege"]
        args += ["--at", "2025-11-21T09:30:00+01:00", "-o", str(out), "--lab", str(lab)]
    code = main(args)
    line = one_error_line(capsys, code, f"{lab}: ", *fragments)
    assert "Traceback" not in line
    assert not out.exists()


def test_duplicate_keys_and_non_mappings_are_refused(
    assessment: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out.pdf"
    twice = tmp_path / "twice.yaml"
    twice.write_text(DEMO_LAB.read_text(encoding="utf-8") + 'name: "Another"\n', "utf-8")
    code = main(["render", str(assessment), "-o", str(out), "--lab", str(twice)])
    one_error_line(capsys, code, "twice.yaml: ", "duplicate key 'name'")
    listed = tmp_path / "list.yaml"
    listed.write_text("- a\n- b\n", encoding="utf-8")
    code = main(["render", str(assessment), "-o", str(out), "--lab", str(listed)])
    one_error_line(capsys, code, "list.yaml: ", "YAML mapping")
    assert not out.exists()


@pytest.fixture(scope="module")
def rendered(assessment: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("rendered")
    files = {}
    for lang in ("en", "nb"):
        for with_lab in (True, False):
            pdf = folder / f"{lang}-{'lab' if with_lab else 'none'}.pdf"
            lab = ["--lab", str(DEMO_LAB)] if with_lab else []
            assert main(["render", str(assessment), "-o", str(pdf), "--lang", lang, *lab]) == 0
            files[pdf.stem] = pdf
    return files


LAB_TEXTS = {
    "en": [
        "Laboratory and method",
        "Performing laboratory",
        "Accreditation",
        "Head of laboratory",
        "Analytical performance",
        "Limitations stated by the laboratory",
    ],
    "nb": [
        "Laboratorium og metode",
        "Utførende laboratorium",
        "Akkreditering",
        "Laboratorieleder",
        "Analytisk ytelse",
        "Begrensninger oppgitt av laboratoriet",
    ],
}


@pytest.mark.parametrize("lang", ["en", "nb"])
def test_report_prints_the_lab_block_in_the_report_language(
    lang: str, rendered: dict[str, Path]
) -> None:
    lab = load_lab(DEMO_LAB)
    pdf = rendered[f"{lang}-lab"]
    first = pdftotext(pdf, 1, 1)
    whole = pdftotext(pdf)
    # page 1's header: the laboratory's name, address and contact
    assert "Demo Laboratory - fictitious, not for clinical use" in first
    assert "Eksempelveien 1, 0000 Oslo, Norway" in first
    assert "+47 00 00 00 00" in first
    assert "not configured" not in first and "ikke lagt inn" not in first.lower()
    for label in LAB_TEXTS[lang]:
        assert label in whole, label
    for text in (
        lab.accreditation.get(lang),
        lab.method.get(lang),
        lab.performance.get(lang),
        lab.test_name.get(lang),
        lab.director.role.get(lang),
        lab.limitations[0].get(lang),
    ):
        assert squeeze(text) in squeeze(whole), text
    assert "DEMO-OPRM1-001" in squeeze(whole)
    assert squeeze("Dr. Demo Example (fictitious)") in squeeze(whole)
    # the other language's texts are not printed
    other = "nb" if lang == "en" else "en"
    assert squeeze(lab.method.get(other)) not in squeeze(whole)
    # provenance: the profile's SHA-256
    assert lab.sha256 in whole.replace(" ", "")


@pytest.mark.parametrize(
    ("lang", "notice"),
    [
        ("en", "Laboratory details not configured"),
        ("nb", "Laboratorieopplysninger er ikke lagt inn"),
    ],
)
def test_without_a_profile_page_one_says_the_lab_is_not_configured(
    lang: str, notice: str, rendered: dict[str, Path]
) -> None:
    first = pdftotext(rendered[f"{lang}-none"], 1, 1)
    assert notice in first
    assert "--lab LAB.yaml" in first
    assert "Demo Laboratory" not in pdftotext(rendered[f"{lang}-none"])


def test_report_json_records_the_profile_name_and_sha256(rendered: dict[str, Path]) -> None:
    info = json.loads(read_embedded(rendered["en-lab"])["report.json"])
    assert info["lab"] == {
        "name": "Demo Laboratory - fictitious, not for clinical use",
        "sha256": hashlib.sha256(DEMO_LAB.read_bytes()).hexdigest(),
        "address": ["Eksempelveien 1", "0000 Oslo", "Norway"],
        "phone": "+47 00 00 00 00",
        "email": "demo-lab@example.org",
    }
    none = json.loads(read_embedded(rendered["en-none"])["report.json"])
    assert none["lab"] is None


def test_same_inputs_same_bytes_and_the_profile_changes_them(
    assessment: Path, rendered: dict[str, Path], tmp_path: Path
) -> None:
    again = tmp_path / "again.pdf"
    copy = tmp_path / "lab.yaml"
    shutil.copyfile(DEMO_LAB, copy)  # the same bytes under another folder
    assert (
        main(["render", str(assessment), "-o", str(again), "--lang", "en", "--lab", str(copy)]) == 0
    )
    assert again.read_bytes() == rendered["en-lab"].read_bytes()
    copy.write_text(DEMO_LAB.read_text(encoding="utf-8") + "# edited\n", encoding="utf-8")
    other = tmp_path / "other.pdf"
    assert (
        main(["render", str(assessment), "-o", str(other), "--lang", "en", "--lab", str(copy)]) == 0
    )
    assert other.read_bytes() != again.read_bytes()


def test_release_refuses_without_a_lab_profile(
    rendered: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "final.pdf"
    args = ["release", str(rendered["en-none"]), "--reviewer", "Kari Nordmann, overlege"]
    args += ["--at", "2025-11-21T09:30:00+01:00", "-o", str(out)]
    one_error_line(capsys, main(args), "--lab", "laboratory's profile")
    assert not out.exists()
    # with one, the final report names the laboratory (and no longer the notice)
    assert main([*args, "--lab", str(DEMO_LAB)]) == 0
    first = pdftotext(out, 1, 1)
    assert "Demo Laboratory - fictitious" in first and "not configured" not in first


def test_fhir_names_the_laboratory_as_performer(
    rendered: dict[str, Path], assessment: Path, tmp_path: Path
) -> None:
    out = tmp_path / "bundle.json"
    pdf = rendered["en-lab"]
    assert main(["fhir", str(assessment), "--pdf", str(pdf), "-o", str(out)]) == 0
    resources = [e["resource"] for e in json.loads(out.read_text("utf-8"))["entry"]]
    (lab,) = [r for r in resources if r["resourceType"] == "Organization"]
    assert lab["name"] == "Demo Laboratory - fictitious, not for clinical use"
    assert lab["identifier"][0]["value"] == hashlib.sha256(DEMO_LAB.read_bytes()).hexdigest()
    assert {"system": "email", "value": "demo-lab@example.org"} in lab["telecom"]
    (report,) = [r for r in resources if r["resourceType"] == "DiagnosticReport"]
    assert report["performer"][0]["reference"].endswith(lab["id"])
    # without a profile: no Organization, no performer
    assert main(["fhir", str(assessment), "--pdf", str(rendered["en-none"]), "-o", str(out)]) == 0
    resources = [e["resource"] for e in json.loads(out.read_text("utf-8"))["entry"]]
    assert "Organization" not in {r["resourceType"] for r in resources}


def test_batch_prints_the_lab_in_every_report(tmp_path: Path) -> None:
    task = {
        "sample": "S1",
        "questionnaire": str(DEMO / "questionnaires" / "demo-carrier.json"),
        "input": str(DEMO / "vcfs" / "NA18564.OPRM1.g.vcf.gz"),
        "lang": "nb",
    }
    results, logs = tmp_path / "results", tmp_path / "logs"
    args = ["batch", "--task", json.dumps(task), "--results", str(results), "--logs", str(logs)]
    assert main([*args, "--lab", str(DEMO_LAB)]) == 0
    pdf = results / "S1" / "report.pdf"
    assert "Demo Laboratory - fictitious" in pdftotext(pdf, 1, 1)
    assert "Laboratorium og metode" in pdftotext(pdf)
    bundle = json.loads((results / "S1" / "report.fhir.json").read_text("utf-8"))
    assert "Organization" in {e["resource"]["resourceType"] for e in bundle["entry"]}


def test_batch_refuses_a_bad_profile_before_any_sample(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    task = {"sample": "S1", "questionnaire": "q.json", "input": "x.vcf"}
    args = ["batch", "--task", json.dumps(task), "--results", str(tmp_path / "r")]
    code = main([*args, "--logs", str(tmp_path / "l"), "--lab", str(tmp_path / "nolab.yaml")])
    one_error_line(capsys, code, "nolab.yaml: no such file")
    assert not (tmp_path / "r").exists()


def test_workflow_config_lab_goes_to_every_chunk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os
    import shlex
    import sys

    from pgx_report.batch.plan import load_plan
    from pgx_report.errors import PgxError

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"])
    shutil.copyfile(DEMO / "vcfs" / "NA18564.OPRM1.g.vcf.gz", tmp_path / "in.vcf.gz")
    (tmp_path / "q.json").write_text("{}", "utf-8")
    (tmp_path / "samples.tsv").write_text(
        "sample\tinput\tquestionnaire\nS1\tin.vcf.gz\tq.json\n", "utf-8"
    )
    shutil.copyfile(DEMO_LAB, tmp_path / "lab.yaml")
    config: dict[str, Any] = {
        "samples": "samples.tsv",
        "population": "global_1000g",
        "reference": None,
        "samples_per_job": 50,
        "call": {"min_depth": None, "min_gq": None},
        "summary": {"alpha": 0.001, "max_not_determined_fraction": 0.2},
        "pgx_report": "pgx-report",
        "lab": "lab.yaml",
    }
    plan = load_plan(config)
    assert shlex.split(plan.batch_options()) == ["--lab", "lab.yaml"]
    assert "lab.yaml" in plan.chunk_inputs(["S1"])
    (tmp_path / "lab.yaml").write_text("name: x\n", "utf-8")
    with pytest.raises(PgxError, match=r"^config: lab: lab.yaml: \$.schema"):
        load_plan(config)
