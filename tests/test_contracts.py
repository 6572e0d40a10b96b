"""The shared contract helpers: schema loader, validator, version rule, strict JSON reader."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pgx_report.contracts.schema import (
    ASSESSMENT,
    CALL,
    Contract,
    check_version,
    json_path,
    load_schema,
    schema_errors,
    validator,
)
from pgx_report.errors import InputError, QuestionnaireError, UsageError
from pgx_report.files.jsonio import parse_json, read_json

SCHEMAS = ("call.schema.json", "questionnaire.schema.json", "assessment.schema.json")


@pytest.mark.parametrize("name", SCHEMAS)
def test_every_schema_loads_once_and_is_a_valid_draft_2020_12_schema(name: str) -> None:
    assert load_schema(name) is load_schema(name)
    assert validator(name) is validator(name)
    assert validator(name).META_SCHEMA["$id"].startswith("https://json-schema.org/draft/2020-12")


def test_the_assessment_schema_resolves_the_questionnaire_it_embeds() -> None:
    errors = schema_errors({"questionnaire": {"sample_id": 5}}, "assessment.schema.json")
    assert any(list(err.absolute_path)[:2] == ["questionnaire", "sample_id"] for err in errors)


def test_formats_are_checked() -> None:
    errors = schema_errors({"completed_on": "20.11.2025"}, "questionnaire.schema.json")
    assert any(err.validator == "format" for err in errors)


def test_schema_errors_come_in_document_order() -> None:
    errors = schema_errors({"reason_codes": ["X", "Y"]}, "call.schema.json")
    paths = [list(err.absolute_path) for err in errors if err.absolute_path]
    assert paths == sorted(paths, key=lambda p: [(isinstance(x, str), str(x)) for x in p])


def test_json_path() -> None:
    assert json_path(["a", "b", 0, "c"]) == "$.a.b[0].c"
    assert json_path([]) == "$"


@pytest.mark.parametrize("contract", [CALL, ASSESSMENT])
def test_the_current_version_passes(contract: Contract) -> None:
    check_version({"schema": contract.name, "schema_version": contract.version}, contract, "f")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "f.json: $.schema: None is not 'pgx-report.assessment'"),
        (
            {"schema": "pgx-report.call", "schema_version": "1.0"},
            "f.json: $.schema: 'pgx-report.call' is not 'pgx-report.assessment'",
        ),
        (
            {"schema": "pgx-report.assessment"},
            "f.json: $.schema_version: None is not supported (this pgx-report reads 1.0, 1.1)",
        ),
        (
            {"schema": "pgx-report.assessment", "schema_version": "1.2"},
            "f.json: $.schema_version: '1.2' is not supported (this pgx-report reads 1.0, 1.1)",
        ),
        (
            {"schema": "pgx-report.assessment", "schema_version": 1.0},
            "f.json: $.schema_version: 1.0 is not supported (this pgx-report reads 1.0, 1.1)",
        ),
    ],
)
def test_the_version_rule(data: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError) as info:
        check_version(data, ASSESSMENT, "f.json")
    assert str(info.value) == message


# ------------------------------------------------------------------ the strict JSON reader


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{", "line 1 column 2: invalid JSON: Expecting property name enclosed in double quotes"),
        (b'{"a": 1}\n{"b": 2}', "line 2 column 1: invalid JSON: Extra data"),
        (b"[1,]", "line 1 column 4: invalid JSON: Expecting value"),
        (b'{"a": "\xff"}', "not UTF-8 text (byte 0xff at offset 7)"),
        (
            b"\xff\xfe{\x00}\x00",
            "not UTF-8 text (a UTF-16 byte-order mark; save the file as UTF-8)",
        ),
        (b"", "file is empty (expected a JSON object)"),
        (b" \n\t", "file is empty (expected a JSON object)"),
        (b'{"a": {"b": 1, "b": 2}}', "duplicate key 'b' (each key may appear only once)"),
    ],
    ids=["truncated", "two-values", "trailing-comma", "non-utf8", "utf16", "empty", "blank", "dup"],
)
def test_bad_json_is_one_line_naming_the_file(content: bytes, message: str) -> None:
    with pytest.raises(InputError) as info:
        parse_json(content, "x.json")
    assert str(info.value) == f"x.json: {message}"


def test_the_error_class_is_the_callers() -> None:
    with pytest.raises(QuestionnaireError):
        parse_json(b"{", "q.json", QuestionnaireError)
    with pytest.raises(UsageError, match="--task 1: line 1 column 2: invalid JSON"):
        parse_json(b"{", "--task 1", UsageError)


def test_a_byte_order_mark_is_allowed_and_the_bytes_come_back(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_bytes(b'\xef\xbb\xbf{"a": [1, 2.5, null, true]}')
    assert read_json(path) == ({"a": [1, 2.5, None, True]}, path.read_bytes())


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"none\.json: file not found"):
        read_json(tmp_path / "none.json")


def test_text_problem_fast_path_agrees_with_the_categories() -> None:
    """text_problem skips the per-character walk for str.isprintable() text: exact only if
    no refused character is printable. Checked over every code point of this Python."""
    import sys
    import unicodedata

    from pgx_report.contracts.text import REFUSED_CATEGORIES, text_problem

    for code in range(sys.maxunicode + 1):
        char = chr(code)
        refused = unicodedata.category(char) in REFUSED_CATEGORIES
        if refused or not char.isprintable():  # the printable ones take the fast path
            assert (text_problem(f"a{char}b") is not None) is refused, hex(code)
        else:
            assert text_problem(f"a{char}b") is None, hex(code)
