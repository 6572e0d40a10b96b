"""Every bad-input message names the input file and a field a user recognises (issue 13).

A table of bad files per contract: call.json (``assess --call``), assessment.json
(``render``), the questionnaire, native and FHIR (``validate-questionnaire``), and the
sample sheet. Each must give exit 2 and exactly ONE line that starts
``pgx-report: error: FILE:`` (the sheet: ``sample sheet FILE: line N``) and names the
field, never only a schema path (``$.item[5].item[1].answer``) or a field the rule for
another field made wrong (a ``status`` of "weird" is not a ``carrier`` problem).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import DEMO

from pgx_report import cli
from pgx_report.batch.sheet import SheetError, load_sample_sheet

DATA = Path(__file__).parent / "data"
CALL = DATA / "assess" / "call_AG.json"
CALL_ND = DATA / "assess" / "call_not_covered.json"
ASSESSMENT = DATA / "fhir_assessment_called.json"
NATIVE = DEMO / "questionnaires" / "demo-carrier.json"
FHIR = DATA / "questionnaire_response.fhir.json"

Edit = Callable[[Any], Any]


def _set(path: str, value: Any) -> Edit:
    """Set the dotted ``path`` (list items by number) to ``value``; the document."""

    def edit(data: Any) -> Any:
        *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
        node = data
        for part in parents:
            node = node[part]
        node[last] = value
        return data

    return edit


def _drop(path: str) -> Edit:
    def edit(data: Any) -> Any:
        *parents, last = path.split(".")
        node = data
        for part in parents:
            node = node[int(part) if part.isdigit() else part]
        del node[last]
        return data

    return edit


def _fhir_answer(link_id: str, answer: Any) -> Edit:
    """Replace the ``answer`` of the FHIR item ``link_id`` (at any nesting)."""

    def edit(data: Any) -> Any:
        def walk(items: list[dict[str, Any]]) -> bool:
            for item in items:
                if item.get("linkId") == link_id:
                    item["answer"] = answer
                    return True
                if walk(item.get("item", [])):
                    return True
            return False

        assert walk(data["item"]), link_id
        return data

    return edit


def _run(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, list[str]]:
    code = cli.main([str(arg) for arg in argv])
    err = capsys.readouterr().err
    return code, [line for line in err.splitlines() if line.strip()]


def _assert_one_line(code: int, lines: list[str], file: Path, *fields: str) -> None:
    assert code == 2, lines
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"pgx-report: error: {file}: "), lines[0]
    for field in fields:
        assert field in lines[0].removeprefix(f"pgx-report: error: {file}: "), (field, lines[0])


def _write(tmp_path: Path, original: Path, edit: Edit | str) -> Path:
    bad = tmp_path / f"bad-{original.name}"
    if isinstance(edit, str):
        bad.write_text(edit, "utf-8")
    else:
        data = edit(copy.deepcopy(json.loads(original.read_text("utf-8"))))
        bad.write_text(json.dumps(data), "utf-8")
    return bad


CALL_CASES = [
    pytest.param(CALL, _set("status", "weird"), ("status", "'weird'"), id="status-weird"),
    pytest.param(CALL, _set("status", 3), ("status",), id="status-number"),
    pytest.param(CALL_ND, _set("status", "called-ish"), ("status",), id="status-not-called"),
    pytest.param(CALL, _set("genotype", "A/T"), ("genotype", "A/T"), id="genotype"),
    pytest.param(CALL, _set("genotype", None), ("genotype",), id="genotype-missing-when-called"),
    pytest.param(CALL, _set("carrier", "yes"), ("carrier",), id="carrier"),
    pytest.param(CALL, _set("qc.depth", "x"), ("qc/depth",), id="qc-depth"),
    pytest.param(CALL, _set("variant.build", "hg99"), ("variant/build", "hg99"), id="build"),
    pytest.param(CALL, _set("reason_codes", ["NOPE"]), ("reason_codes", "NOPE"), id="reason"),
    pytest.param(CALL, _drop("provenance"), ("provenance",), id="missing-provenance"),
    pytest.param(CALL, _set("extra", 1), ("extra",), id="unknown-key"),
    pytest.param(CALL, _set("schema_version", "9"), ("schema_version",), id="version"),
    pytest.param(CALL, "[1]", ("(top level)", "expected a JSON object"), id="not-an-object"),
]


@pytest.mark.parametrize(("original", "edit", "fields"), CALL_CASES)
def test_bad_call_file(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    original: Path,
    edit: Edit | str,
    fields: tuple[str, ...],
) -> None:
    bad = _write(tmp_path, original, edit)
    code, lines = _run(
        capsys, "assess", "--call", bad, "--questionnaire", NATIVE, "-o", tmp_path / "a.json"
    )
    _assert_one_line(code, lines, bad, *fields)
    assert not (tmp_path / "a.json").exists()


ASSESSMENT_CASES = [
    pytest.param(_set("call.status", "weird"), ("call.status", "weird"), id="call-status"),
    pytest.param(_set("overall.category", "weird"), ("overall.category",), id="category"),
    pytest.param(_set("language", "xx"), ("language",), id="language"),
    pytest.param(_set("overall.label.nb", 12345), ("overall.label.nb",), id="local-text"),
    pytest.param(_set("questionnaire.zzz", 1), ("zzz",), id="unknown-key"),
    pytest.param(_drop("overall"), ("overall",), id="missing"),
    pytest.param("[]", ("not an assessment",), id="not-an-object"),
]


@pytest.mark.parametrize(("edit", "fields"), ASSESSMENT_CASES)
def test_bad_assessment_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], edit: Edit | str, fields: tuple[str, ...]
) -> None:
    bad = _write(tmp_path, ASSESSMENT, edit)
    code, lines = _run(capsys, "render", bad, "-o", tmp_path / "r.pdf")
    _assert_one_line(code, lines, bad, *fields)
    assert not (tmp_path / "r.pdf").exists()


QUESTIONNAIRE_CASES = [
    pytest.param(NATIVE, _set("smoking.status", "weird"), ("smoking.status",), id="native-enum"),
    pytest.param(NATIVE, _set("language", "xx"), ("language",), id="native-language"),
    pytest.param(
        NATIVE, _set("safety.current_opioid_use", "yes"), ("current_opioid_use",), id="native-bool"
    ),
    pytest.param(NATIVE, _drop("patient"), ("patient",), id="native-missing"),
    pytest.param(NATIVE, _set("drinking.audit_score", 99), ("audit_score",), id="native-range"),
    pytest.param(NATIVE, _set("completed_on", "2025-13-01"), ("completed_on",), id="native-date"),
    pytest.param(NATIVE, _set("smoking.kind", 1), ("kind",), id="native-unknown-key"),
    pytest.param(
        FHIR,
        _fhir_answer("drinking.audit_score", [{"valueInteger": 9}, {"valueInteger": 8}]),
        ("drinking.audit_score", "exactly one answer"),
        id="fhir-two-answers",
    ),
    pytest.param(
        FHIR,
        _fhir_answer("drinking.audit_score", {"valueInteger": 9}),
        ("drinking.audit_score",),
        id="fhir-answer-not-a-list",
    ),
    pytest.param(
        FHIR,
        _fhir_answer("drinking.audit_score", [{"valueString": "27"}]),
        ("drinking.audit_score", "wrong type"),
        id="fhir-type",
    ),
    pytest.param(
        FHIR,
        _fhir_answer("drinking.audit_score", [{"valueFoo": 9}]),
        ("drinking.audit_score", "valueFoo"),
        id="fhir-value-type",
    ),
    pytest.param(
        FHIR,
        _fhir_answer("language", [{"valueCoding": {"code": 5}}]),
        ("'language'", "code"),
        id="fhir-coding-code",
    ),
    pytest.param(
        FHIR,
        _fhir_answer("smoking.status", [{"valueCoding": {"code": "weird"}}]),
        ("smoking.status", "weird"),
        id="fhir-enum",
    ),
    pytest.param(FHIR, _set("status", "weird"), ("status", "weird"), id="fhir-status"),
    pytest.param(FHIR, _set("status", []), ("status",), id="fhir-status-list"),
    pytest.param(FHIR, _set("resourceType", "Patient"), ("resourceType",), id="fhir-resource"),
]


@pytest.mark.parametrize(("original", "edit", "fields"), QUESTIONNAIRE_CASES)
def test_bad_questionnaire(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    original: Path,
    edit: Edit | str,
    fields: tuple[str, ...],
) -> None:
    bad = _write(tmp_path, original, edit)
    code, lines = _run(capsys, "validate-questionnaire", bad)
    _assert_one_line(code, lines, bad, *fields)


SHEET_HEADER = "sample\tinput\tquestionnaire\tvcf_sample\tlang\n"
SHEET_CASES = [
    pytest.param("s1\tin.vcf\tq.json\t\txx\n", 2, ("column 'lang'", "xx"), id="lang"),
    pytest.param("s 1\tin.vcf\tq.json\t\t\n", 2, ("column 'sample'",), id="sample-pattern"),
    pytest.param("s1\t\tq.json\t\t\n", 2, ("'input'",), id="empty-input"),
    pytest.param("s1\tin.vcf\tq.json\tA\u202eB\t\n", 2, ("column 'vcf_sample'",), id="bidi"),
]


@pytest.mark.parametrize(("rows", "line", "fields"), SHEET_CASES)
def test_bad_sample_sheet(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    rows: str,
    line: int,
    fields: tuple[str, ...],
) -> None:
    """The sheet's messages keep their workflow form, ``sample sheet FILE: line N``."""
    monkeypatch.chdir(tmp_path)
    for name in ("in.vcf", "q.json"):
        (tmp_path / name).write_text("x", "utf-8")
    sheet = Path("samples.tsv")
    sheet.write_text(SHEET_HEADER + rows, "utf-8")
    with pytest.raises(SheetError) as raised:
        load_sample_sheet(sheet)
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(f"sample sheet {sheet}: line {line}"), message
    for field in fields:
        assert field in message, (field, message)
