"""The request and specimen (issue 15 item 2): ``run``/``render`` options, printed on
page 1 in both languages, recorded in ``report.json``, kept by a release, and in FHIR as
a Specimen (type, accession id, dates) and a ServiceRequest (requester, indication)
referenced from the DiagnosticReport; bad values are exit 2, one line naming the option."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from test_lab import DEMO, DEMO_LAB, one_error_line, pdftotext, squeeze

from pgx_report.cli import main
from pgx_report.outputs.report.embedded import read_embedded

OPTIONS = [
    "--specimen-type",
    "EDTA blood",
    "--specimen-id",
    "ACC-2025-0042",
    "--collected",
    "2025-11-10",
    "--received",
    "2025-11-11",
    "--requested-by",
    "Dr. Kari Lege, Fjordby DPS",
    "--indication",
    "Alcohol use disorder, naltrexone considered",
]
REQUEST = {
    "specimen_type": "EDTA blood",
    "specimen_id": "ACC-2025-0042",
    "collected": "2025-11-10",
    "received": "2025-11-11",
    "requested_by": "Dr. Kari Lege, Fjordby DPS",
    "indication": "Alcohol use disorder, naltrexone considered",
}
VCF = DEMO / "vcfs" / "NA18564.OPRM1.g.vcf.gz"
QUESTIONNAIRE = DEMO / "questionnaires" / "demo-carrier.json"


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("request")
    out = {}
    for lang in ("en", "nb"):
        folder = root / lang
        args = ["run", str(VCF), str(QUESTIONNAIRE), "-o", str(folder), "--lang", lang]
        assert main([*args, "--lab", str(DEMO_LAB), *OPTIONS]) == 0
        out[lang] = folder
    return out


PRINTED = {
    "en": ["Specimen", "EDTA blood", "ACC-2025-0042", "10 November 2025", "11 November 2025"],
    "nb": ["Prøvemateriale", "EDTA blood", "ACC-2025-0042", "10.11.2025", "11.11.2025"],
}
ORDER_LABELS = {"en": ("Requested by", "Indication"), "nb": ("Rekvirert av", "Indikasjon")}


@pytest.mark.parametrize("lang", ["en", "nb"])
def test_request_is_printed_on_page_one(lang: str, runs: dict[str, Path]) -> None:
    # the labels print in small capitals: compared ignoring case
    first = squeeze(pdftotext(runs[lang] / "report.pdf", 1, 1)).casefold()
    for text in [*PRINTED[lang], *ORDER_LABELS[lang], *REQUEST.values()]:
        if text in ("2025-11-10", "2025-11-11"):
            continue  # printed in the language's date form
        assert squeeze(text).casefold() in first, text
    # page 1 still holds the predictor table (its last row: the OPRM1 genotype)
    table = first.split(squeeze(PRINTED[lang][0]).casefold(), 1)[1]
    assert squeeze("OPRM1 c.118A>G").casefold() in table
    # and the genotype details still start on page 2
    details = "Genotype details" if lang == "en" else "Genotypedetaljer"
    assert squeeze(details).casefold() not in first


def test_report_json_records_the_request(runs: dict[str, Path]) -> None:
    info = json.loads(read_embedded(runs["en"] / "report.pdf")["report.json"])
    assert info["request"] == REQUEST


def test_without_request_options_nothing_is_printed(tmp_path: Path) -> None:
    folder = tmp_path / "plain"
    assert main(["run", str(VCF), str(QUESTIONNAIRE), "-o", str(folder), "--lang", "en"]) == 0
    first = pdftotext(folder / "report.pdf", 1, 1)
    assert "Requested by" not in first and "Collected" not in first
    info = json.loads(read_embedded(folder / "report.pdf")["report.json"])
    assert info["request"] is None


def _bundle(folder: Path, tmp_path: Path) -> dict[str, dict[str, Any]]:
    out = tmp_path / "bundle.json"
    pdf = folder / "report.pdf"
    assert main(["fhir", str(folder / "assessment.json"), "--pdf", str(pdf), "-o", str(out)]) == 0
    entries = json.loads(out.read_text("utf-8"))["entry"]
    return {e["resource"]["resourceType"]: e["resource"] for e in entries}


def test_fhir_specimen_and_service_request(runs: dict[str, Path], tmp_path: Path) -> None:
    resources = _bundle(runs["en"], tmp_path)
    specimen, order = resources["Specimen"], resources["ServiceRequest"]
    report = resources["DiagnosticReport"]
    assert specimen["accessionIdentifier"]["value"] == "ACC-2025-0042"
    assert specimen["type"] == {"text": "EDTA blood"}
    assert specimen["collection"] == {"collectedDateTime": "2025-11-10"}
    assert specimen["receivedTime"] == "2025-11-11"
    assert specimen["request"][0]["reference"].endswith(order["id"])
    assert order["requester"] == {"display": "Dr. Kari Lege, Fjordby DPS"}
    assert order["reasonCode"] == [{"text": "Alcohol use disorder, naltrexone considered"}]
    assert (order["status"], order["intent"]) == ("completed", "order")
    assert report["specimen"][0]["reference"].endswith(specimen["id"])
    assert report["basedOn"][0]["reference"].endswith(order["id"])


def test_fhir_bundle_parses_with_the_r4b_models(runs: dict[str, Path], tmp_path: Path) -> None:
    pytest.importorskip("fhir.resources")
    from fhir.resources.R4B.bundle import Bundle

    _bundle(runs["nb"], tmp_path)
    Bundle.model_validate(json.loads((tmp_path / "bundle.json").read_text("utf-8")))


def test_release_keeps_the_request(
    runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    final = tmp_path / "final.pdf"
    args = ["release", str(runs["nb"] / "report.pdf"), "--reviewer", "Kari Nordmann, overlege"]
    args += ["--at", "2025-11-21T09:30:00+01:00", "-o", str(final), "--lab", str(DEMO_LAB)]
    assert main(args) == 0, capsys.readouterr().err
    info = json.loads(read_embedded(final)["report.json"])
    assert info["status"] == "final" and info["request"] == REQUEST
    assert "ACC-2025-0042" in squeeze(pdftotext(final, 1, 1))
    # an amendment keeps the request and specimen of the report it replaces
    amended = tmp_path / "amended.pdf"
    args = ["amend", str(final), "--assessment", str(runs["nb"] / "assessment.json")]
    args += ["--reason", "Ny vurdering", "--reviewer", "Kari Nordmann, overlege"]
    args += ["--at", "2025-11-22T09:30:00+01:00", "-o", str(amended), "--lab", str(DEMO_LAB)]
    assert main(args) == 0, capsys.readouterr().err
    info = json.loads(read_embedded(amended)["report.json"])
    assert (info["status"], info["version"], info["request"]) == ("amended", 2, REQUEST)
    assert info["lab"]["name"] == "Demo Laboratory - fictitious, not for clinical use"


def test_same_inputs_same_bytes(runs: dict[str, Path], tmp_path: Path) -> None:
    pdfs = [tmp_path / "1.pdf", tmp_path / "2.pdf"]
    for pdf in pdfs:
        args = ["render", str(runs["en"] / "assessment.json"), "-o", str(pdf), "--lang", "en"]
        assert main([*args, "--lab", str(DEMO_LAB), *OPTIONS]) == 0
    assert pdfs[0].read_bytes() == pdfs[1].read_bytes()
    # the rendered report is the run's (same assessment, profile and request)
    assert pdfs[0].read_bytes() == (runs["en"] / "report.pdf").read_bytes()


@pytest.mark.parametrize(
    ("options", "fragments"),
    [
        (["--collected", "2025-11-12", "--received", "2025-11-11"], ("--received", "before")),
        (["--collected", "2025-02-30"], ("--collected", "not a date")),
        (["--received", "21.11.2025"], ("--received", "not a date")),
        (["--indication", "bad\x1b[31m"], ("--indication", "U+001B")),
        (["--specimen-id", "A" * 101], ("--specimen-id", "101 characters")),
        (["--requested-by", " Dr. X"], ("--requested-by", "space")),
    ],
    ids=["received-before-collected", "no-such-day", "not-iso", "control", "long", "space"],
)
@pytest.mark.parametrize("command", ["run", "render"])
def test_bad_request_options_are_one_line(
    command: str,
    options: list[str],
    fragments: tuple[str, ...],
    runs: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    if command == "run":
        out = tmp_path / "out"
        args = ["run", str(VCF), str(QUESTIONNAIRE), "-o", str(out)]
    else:
        out = tmp_path / "out.pdf"
        args = ["render", str(runs["en"] / "assessment.json"), "-o", str(out)]
    one_error_line(capsys, main([*args, *options]), *fragments)
    assert not out.exists()


def test_batch_task_request_keys(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    task = {"sample": "S1", "questionnaire": str(QUESTIONNAIRE), "input": str(VCF)}
    results, logs = tmp_path / "results", tmp_path / "logs"
    args = ["batch", "--results", str(results), "--logs", str(logs)]
    assert main([*args, "--task", json.dumps(task | REQUEST)]) == 0
    info = json.loads(read_embedded(results / "S1" / "report.pdf")["report.json"])
    assert info["request"] == REQUEST
    bad = task | {"collected": "2025-11-12", "received": "2025-11-11"}
    code = main([*args, "--task", json.dumps(bad | {"sample": "S2"})])
    one_error_line(capsys, code, "task 1", "'received'", "before")
