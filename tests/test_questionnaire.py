"""Native questionnaire format: schema, normalisation, every kind of bad input."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from pgx_report.clinical.questionnaire import (
    age_on,
    load_questionnaire,
    parse_questionnaire,
    questionnaire_schema,
)
from pgx_report.errors import QuestionnaireError
from tests.conftest import REPO_ROOT, assert_clean_error, run_pgx

DEMO = REPO_ROOT / "demo" / "questionnaires"
DEMO_FILES = sorted(DEMO.glob("*.json"))


def full() -> dict[str, Any]:
    """A complete, valid questionnaire (the carrier demo)."""
    data: dict[str, Any] = json.loads((DEMO / "demo-carrier.json").read_text("utf-8"))
    return data


def problems_of(data: Any) -> str:
    with pytest.raises(QuestionnaireError) as err:
        parse_questionnaire(data, "q.json")
    return str(err.value)


def _objects(schema: dict[str, Any], where: str = "$") -> Iterator[tuple[str, dict[str, Any]]]:
    if schema.get("type") == "object":
        yield where, schema
    for key, sub in schema.get("properties", {}).items():
        yield from _objects(sub, f"{where}.{key}")


# ---------------------------------------------------------------------------- schema


def test_schema_is_valid_draft_2020_12_and_closed_everywhere() -> None:
    schema = questionnaire_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)
    objects = list(_objects(schema))
    assert len(objects) == 8  # root, patient, clinician and 5 sections
    for where, obj in objects:
        assert obj.get("additionalProperties") is False, where


def test_demo_set_covers_the_contract() -> None:
    assert [p.stem for p in DEMO_FILES] == [
        "demo-aa",
        "demo-carrier",
        "demo-cohort",
        "demo-nd",
        "demo-opioid",
        "demo-sparse",
    ]


@pytest.mark.parametrize("path", DEMO_FILES, ids=lambda p: p.stem)
def test_demo_questionnaires_are_valid(path: Path) -> None:
    questionnaire = load_questionnaire(path)
    assert questionnaire.format == "native"
    assert questionnaire.sha256 is not None and len(questionnaire.sha256) == 64
    assert questionnaire.language in ("nb", "en")
    assert questionnaire.completed_on is not None


@pytest.mark.parametrize(
    ("stem", "sample"),
    [
        ("demo-carrier", "NA18564"),
        ("demo-aa", "NA12878"),
        ("demo-opioid", "NA18945"),
        ("demo-nd", "DEMO-ND"),
        ("demo-sparse", "COH-002"),
        ("demo-cohort", "COH-001"),
    ],
)
def test_demo_sample_ids_match_the_contract(stem: str, sample: str) -> None:
    assert load_questionnaire(DEMO / f"{stem}.json").sample_id == sample


def test_minimal_questionnaire_is_valid_and_everything_else_unknown() -> None:
    data = {"questionnaire_version": "1.0", "sample_id": "S1", "patient": {"id": "P", "name": "N"}}
    q = parse_questionnaire(data, "q.json")
    assert q.get("drinking.audit_score") is None
    assert q.get("safety.current_opioid_use") is None
    assert q.birth_date is None and q.completed_on is None and q.age_years() is None
    assert q.language is None


def test_nulls_and_empty_sections_are_dropped_and_whole_floats_become_integers() -> None:
    data = full()
    data["drinking"] = {
        "audit_score": 24.0,
        "dsm5_aud_criteria": None,
        "drinks_per_drinking_day": 7.5,
    }
    data["family_history"] = {"first_degree_relatives_with_aud": None}
    data["sweet_liking"] = None
    q = parse_questionnaire(data, "q.json")
    assert q.data["drinking"] == {"audit_score": 24, "drinks_per_drinking_day": 7.5}
    assert isinstance(q.data["drinking"]["audit_score"], int)
    assert "family_history" not in q.data
    assert "sweet_liking" not in q.data
    assert q.get("drinking.dsm5_aud_criteria") is None


def test_input_object_is_not_changed() -> None:
    data = full()
    data["sweet_liking"] = None
    before = copy.deepcopy(data)
    parse_questionnaire(data, "q.json")
    assert data == before


# ---------------------------------------------------------------------------- boundaries

SCORES = [
    ("drinking", "dsm5_aud_criteria", 0, 11),
    ("drinking", "audit_score", 0, 40),
    ("drinking", "heavy_drinking_days_last_30", 0, 30),
    ("drinking_motive", "gad7_score", 0, 21),
    ("family_history", "first_degree_relatives_with_aud", 0, 50),
    ("smoking", "cigarettes_per_day", 0, 200),
]


@pytest.mark.parametrize(("section", "key", "low", "high"), SCORES)
def test_score_boundaries(section: str, key: str, low: int, high: int) -> None:
    for value in (low, high):
        data = full()
        data[section][key] = value
        assert parse_questionnaire(data, "q.json").get(f"{section}.{key}") == value
    for value, word in ((low - 1, "below the minimum"), (high + 1, "above the maximum")):
        data = full()
        data[section][key] = value
        message = problems_of(data)
        assert message == (
            f"q.json: $.{section}.{key}: {value} is {word} "
            f"(allowed: integer {low}-{high}, or null for unknown)"
        )


@pytest.mark.parametrize("value", [0, 0.5, 100])
def test_drinks_per_day_accepts_decimals_in_range(value: float) -> None:
    data = full()
    data["drinking"]["drinks_per_drinking_day"] = value
    assert parse_questionnaire(data, "q.json").get("drinking.drinks_per_drinking_day") == value


# ---------------------------------------------------------------------------- bad input


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def apply(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = data
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value

    return apply


def _delete(path: str) -> Callable[[dict[str, Any]], None]:
    def apply(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = data
        for part in parents:
            node = node[part]
        del node[last]

    return apply


BAD = [
    (
        "wrong type integer",
        _set("drinking.audit_score", "24"),
        '$.drinking.audit_score: "24" is a string, wrong type (allowed: integer 0-40, or null '
        "for unknown)",
    ),
    (
        "fraction for integer",
        _set("drinking.audit_score", 24.5),
        "$.drinking.audit_score: 24.5 is a number, wrong type (allowed: integer 0-40",
    ),
    (
        "boolean for integer",
        _set("family_history.first_degree_relatives_with_aud", True),
        "$.family_history.first_degree_relatives_with_aud: true is a boolean, wrong type",
    ),
    (
        "string for boolean",
        _set("safety.current_opioid_use", "no"),
        '$.safety.current_opioid_use: "no" is a string, wrong type (allowed: true or false, '
        "or null for unknown)",
    ),
    (
        "integer for boolean",
        _set("safety.acute_hepatitis", 0),
        "$.safety.acute_hepatitis: 0 is an integer, wrong type (allowed: true or false",
    ),
    (
        "enum sex",
        _set("patient.sex", "f"),
        '$.patient.sex: "f" is not allowed (allowed: "female", "male", "other", "unknown", '
        "or null for unknown)",
    ),
    (
        "enum treatment goal",
        _set("drinking.treatment_goal", "stop"),
        '$.drinking.treatment_goal: "stop" is not allowed (allowed: "reduce", "abstain", '
        '"undecided", or null for unknown)',
    ),
    (
        "enum motive",
        _set("drinking_motive.type", "Reward"),
        '$.drinking_motive.type: "Reward" is not allowed (allowed: "reward", "relief", "habit", '
        '"mixed"',
    ),
    (
        "enum sweet liking",
        _set("sweet_liking", "yes"),
        '$.sweet_liking: "yes" is not allowed (allowed: "liker", "disliker"',
    ),
    (
        "enum hepatic impairment",
        _set("safety.hepatic_impairment", "high"),
        '$.safety.hepatic_impairment: "high" is not allowed (allowed: "none", "mild", '
        '"moderate", "severe"',
    ),
    (
        "enum language",
        _set("language", "no"),
        '$.language: "no" is not allowed (allowed: "nb", "en", or null for unknown)',
    ),
    (
        "version",
        _set("questionnaire_version", "2.0"),
        '$.questionnaire_version: "2.0" is not allowed (allowed: "1.0")',
    ),
    (
        "version as number",
        _set("questionnaire_version", 1.0),
        '$.questionnaire_version: 1.0 is not allowed (allowed: "1.0")',
    ),
    (
        "date format",
        _set("patient.birth_date", "17.05.1970"),
        '$.patient.birth_date: "17.05.1970" is not a valid date (allowed: YYYY-MM-DD)',
    ),
    (
        "impossible date",
        _set("completed_on", "2025-02-30"),
        '$.completed_on: "2025-02-30" is not a valid date (allowed: YYYY-MM-DD)',
    ),
    (
        "date with time",
        _set("completed_on", "2025-11-20T10:00:00"),
        '$.completed_on: "2025-11-20T10:00:00" is not a valid date',
    ),
    (
        "unknown top-level key",
        _set("sweet_liker", "liker"),
        "$.sweet_liker: unknown key (did you mean 'sweet_liking'? allowed: questionnaire_version,",
    ),
    (
        "unknown nested key (typo)",
        _set("drinking.audit", 20),
        "$.drinking.audit: unknown key (did you mean 'audit_score'? allowed: dsm5_aud_criteria,",
    ),
    (
        "unknown safety key",
        _set("safety.on_methadone", True),
        "$.safety.on_methadone: unknown key (allowed: current_opioid_use,",
    ),
    (
        "missing sample_id",
        _delete("sample_id"),
        "$.sample_id: required but missing (allowed: non-empty text)",
    ),
    ("missing patient id", _delete("patient.id"), "$.patient.id: required but missing"),
    ("missing version", _delete("questionnaire_version"), "$.questionnaire_version: required"),
    (
        "empty sample_id",
        _set("sample_id", ""),
        '$.sample_id: "" is not allowed (allowed: non-empty text without leading or trailing '
        "spaces)",
    ),
    (
        "padded sample_id",
        _set("sample_id", " NA18564"),
        '$.sample_id: " NA18564" is not allowed',
    ),
    (
        "section not an object",
        _set("drinking", [1, 2]),
        "$.drinking: [1, 2] is a list, wrong type (allowed: an object)",
    ),
    (
        "null section",
        _set("safety", None),
        "$.safety: null, wrong type (allowed: an object)",
    ),
    (
        "birth after completion",
        _set("patient.birth_date", "2025-12-01"),
        "$.patient.birth_date: 2025-12-01 is after completed_on 2025-11-20",
    ),
    (
        "never smoker who smokes",
        lambda d: d.update(smoking={"status": "never", "cigarettes_per_day": 5}),
        '$.smoking.cigarettes_per_day: 5 contradicts status "never"',
    ),
]


@pytest.mark.parametrize(("name", "mutate", "expected"), BAD, ids=[b[0] for b in BAD])
def test_bad_values_are_reported_with_path_and_allowed_values(
    name: str, mutate: Callable[[dict[str, Any]], None], expected: str
) -> None:
    data = full()
    mutate(data)
    message = problems_of(data)
    assert message.startswith("q.json: "), message
    assert expected in message, message
    assert "problems" not in message  # exactly one problem
    assert "\n" not in message


def test_every_problem_is_reported_at_once_in_one_sorted_line() -> None:
    data = full()
    data["drinking"]["audit_score"] = 41
    data["drinking"]["audit_scor"] = 3
    data["patient"]["sex"] = "F"
    data["safety"]["acute_hepatitis"] = "yes"
    data["extra"] = True
    message = problems_of(data)
    assert message.startswith("q.json: 5 problems: $.drinking.audit_scor: unknown key")
    parts = message.removeprefix("q.json: 5 problems: ").split("; $")
    paths = [p.split(":")[0].lstrip("$") for p in parts]
    assert paths == [
        ".drinking.audit_scor",
        ".drinking.audit_score",
        ".extra",
        ".patient.sex",
        ".safety.acute_hepatitis",
    ]
    assert "\n" not in message


def test_two_missing_required_keys_are_both_named() -> None:
    message = problems_of({"questionnaire_version": "1.0", "patient": {"name": "N"}})
    assert "$.patient.id: required but missing" in message
    assert "$.sample_id: required but missing" in message
    assert message.startswith("q.json: 2 problems: ")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ([], "$: a list, expected a JSON object"),
        ("x", "$: a string, expected a JSON object"),
        (None, "$: null, expected a JSON object"),
    ],
)
def test_top_level_must_be_an_object(value: Any, expected: str) -> None:
    assert problems_of(value) == f"q.json: {expected} (a questionnaire)"


# ---------------------------------------------------------------------------- files


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            b'{"sample_id": "x",}',
            ("line 1 column 19: invalid JSON: Expecting property name enclosed in double quotes"),
        ),
        (b'{"sample_id": "\xff"}', "not UTF-8 text (byte 0xff at offset 15)"),
        (b"", "file is empty (expected a JSON object)"),
        (b"  \n", "file is empty (expected a JSON object)"),
        (b'{"a": 1, "a": 2}', "duplicate key 'a' (each key may appear only once)"),
        (
            b"\xff\xfe{\x00}\x00",
            "not UTF-8 text (a UTF-16 byte-order mark; save the file as UTF-8)",
        ),
        (b'{"a": NaN}', "$.a: NaN is not a number (allowed: finite JSON numbers)"),
        (b'{"a": [Infinity]}', "$.a[0]: Infinity is not a number (allowed: finite JSON numbers)"),
        (b'{"a": -Infinity}', "$.a: -Infinity is not a number (allowed: finite JSON numbers)"),
        (b'{"a": 1e400}', "$.a: 1e400 is too large for a number (allowed: finite JSON numbers)"),
        (
            b'{"a": ' + b"9" * 5000 + b"}",
            "$.a: an integer with 5000 digits (allowed: at most 20 digits)",
        ),
        (
            b'{"a": "x\\ud800"}',
            "$.a: text holds a lone UTF-16 surrogate \\ud800 (not Unicode text)",
        ),
        (b'{"\\udfff": 1}', "$: a key holds a lone UTF-16 surrogate \\udfff (not Unicode text)"),
        (b"[" * 100_000 + b"]" * 100_000, "nested deeper than 64 levels"),
        (b"[" * 70 + b"]" * 70, "nested deeper than 64 levels (at $[0][0]"),
    ],
    ids=[
        "invalid-json",
        "non-utf8",
        "empty",
        "blank",
        "duplicate-key",
        "utf16",
        "nan",
        "infinity",
        "minus-infinity",
        "float-overflow",
        "huge-integer",
        "lone-surrogate",
        "surrogate-key",
        "recursion",
        "too-deep",
    ],
)
def test_unreadable_files(tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "q.json"
    path.write_bytes(content)
    with pytest.raises(QuestionnaireError) as err:
        load_questionnaire(path)
    assert str(err.value).startswith(f"{path}: {expected}")


def test_negative_zero_is_read_as_zero(tmp_path: Path) -> None:
    path = tmp_path / "q.json"
    data = {**full(), "drinking": {"drinks_per_drinking_day": -0.0, "audit_score": -0}}
    path.write_text(json.dumps(data), "utf-8")
    drinking = load_questionnaire(path).data["drinking"]
    assert drinking == {"drinks_per_drinking_day": 0.0, "audit_score": 0}
    assert str(drinking["drinks_per_drinking_day"]) == "0.0"


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "q.json"
    path.write_bytes(b"\xef\xbb\xbf" + (DEMO / "demo-carrier.json").read_bytes())
    assert load_questionnaire(path).patient_id == "P-1001"


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(QuestionnaireError, match="file not found"):
        load_questionnaire(tmp_path / "nope.json")
    with pytest.raises(QuestionnaireError, match="is a directory, not a file"):
        load_questionnaire(tmp_path)


# ---------------------------------------------------------------------------- age


@pytest.mark.parametrize(
    ("born", "on", "age"),
    [
        (date(2007, 11, 20), date(2025, 11, 19), 17),
        (date(2007, 11, 20), date(2025, 11, 20), 18),
        (date(2008, 2, 29), date(2026, 2, 28), 17),
        (date(2008, 2, 29), date(2026, 3, 1), 18),
        (date(1970, 1, 1), date(1970, 1, 1), 0),
    ],
)
def test_age_on_the_questionnaire_date(born: date, on: date, age: int) -> None:
    assert age_on(born, on) == age
    data = full()
    data["patient"]["birth_date"] = born.isoformat()
    data["completed_on"] = on.isoformat()
    assert parse_questionnaire(data, "q.json").age_years() == age


# ---------------------------------------------------------------------------- CLI


def test_cli_valid_file() -> None:
    path = DEMO / "demo-sparse.json"
    result = run_pgx("validate-questionnaire", path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{path}: valid\n"
    assert result.stderr == ""


def test_cli_invalid_file_is_one_clean_line(tmp_path: Path) -> None:
    data = full()
    data["drinking"]["audit_score"] = 99
    data["smoking"]["status"] = "sometimes"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data), "utf-8")
    before = path.read_bytes()
    result = run_pgx("validate-questionnaire", path)
    assert_clean_error(
        result,
        f"{path}: 2 problems: ",
        "$.drinking.audit_score: 99 is above the maximum (allowed: integer 0-40",
        '$.smoking.status: "sometimes" is not allowed (allowed: "current", "former", "never"',
    )
    assert path.read_bytes() == before


def test_cli_non_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "latin1.json"
    path.write_bytes('{"patient": {"name": "Bjørn"}}'.encode("latin-1"))
    assert_clean_error(run_pgx("validate-questionnaire", path), "not UTF-8 text (byte 0xf8")


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        (
            "patient.id",
            "P-\u202e1001",
            "$.patient.id: character 3 is U+202E RIGHT-TO-LEFT OVERRIDE",
        ),
        ("patient.id", "P-10\u200b01", "$.patient.id: character 5 is U+200B ZERO WIDTH SPACE"),
        ("patient.name", "Per\u2060Olsen", "$.patient.name: character 4 is U+2060 WORD JOINER"),
        ("patient.name", "Per\x00", "$.patient.name: character 4 is U+0000, a control"),
        ("patient.name", "Per\tOlsen", "$.patient.name: character 4 is U+0009, a control"),
        ("patient.name", "Per\nOlsen", "$.patient.name: character 4 is U+000A"),
        ("sample_id", "NA\u2028", "$.sample_id: character 3 is U+2028 LINE SEPARATOR"),
        ("clinician.name", "Dr \ue000", "$.clinician.name: character 4 is U+E000"),
        ("clinician.organisation", "DPS\u200d", "$.clinician.organisation: character 4 is U+200D"),
        ("patient.id", "P" * 65, "$.patient.id: 65 characters is too long (allowed: at most 64"),
        ("patient.name", "N" * 201, "$.patient.name: 201 characters is too long (allowed: at most"),
        ("sample_id", "S" * 101, "$.sample_id: 101 characters is too long (allowed: at most 100"),
    ],
)
def test_printed_text_is_printable_and_bounded(field: str, value: str, expected: str) -> None:
    data = full()
    section, _, key = field.rpartition(".")
    (data.setdefault(section, {}) if section else data)[key] = value
    assert expected in problems_of(data)


def test_schema_text_rules_match_the_character_check() -> None:
    import re
    import sys

    sys.path.insert(0, str(REPO_ROOT / "scripts"))
    from questionnaire_schema_text import SCHEMA, schema_text, with_text_rules

    from pgx_report.contracts.text import printable_pattern, text_problem

    shipped = SCHEMA.read_text("utf-8")
    assert shipped == schema_text(with_text_rules(json.loads(shipped)))  # regenerate: script
    pattern = re.compile(printable_pattern())
    for code in [*range(0, 0x3000), *range(0xD800, 0x10000), 0x110BD, 0xE0001, 0xF0000, 0x1F600]:
        char = chr(code)
        assert bool(pattern.search(f"a{char}b")) == (text_problem(char) is None), hex(code)
