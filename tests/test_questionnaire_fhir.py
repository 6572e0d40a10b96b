"""FHIR R4 QuestionnaireResponse input: mapping by linkId, errors pointing at FHIR items."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from pgx_report.clinical.questionnaire import (
    FHIR_DEFINITION_PATH,
    fhir_questionnaire_definition,
    link_ids,
    load_questionnaire,
    parse_questionnaire,
)
from pgx_report.errors import QuestionnaireError
from pgx_report.files.io import canonical_json
from tests.conftest import REPO_ROOT, assert_clean_error, run_pgx

FIXTURE = REPO_ROOT / "tests" / "data" / "questionnaire_response.fhir.json"
DOCS = REPO_ROOT / "docs" / "questionnaire.md"


def fixture() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(FIXTURE.read_text("utf-8"))
    return data


def item(data: dict[str, Any], link_id: str) -> dict[str, Any]:
    def walk(items: list[dict[str, Any]]) -> dict[str, Any] | None:
        for entry in items:
            if entry["linkId"] == link_id:
                return entry
            found = walk(entry.get("item", []))
            if found is not None:
                return found
        return None

    found = walk(data["item"])
    assert found is not None, link_id
    return found


def problems_of(data: Any) -> str:
    with pytest.raises(QuestionnaireError) as err:
        parse_questionnaire(data, "qr.json")
    return str(err.value)


def test_fixture_is_valid_fhir_r4b() -> None:
    from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

    resource = QuestionnaireResponse.model_validate(fixture())
    assert resource.status == "completed"


def test_fixture_maps_to_the_native_fields() -> None:
    q = load_questionnaire(FIXTURE)
    assert q.format == "fhir"
    assert q.sample_id == "NA18564"
    assert q.patient_id == "P-1001"
    assert q.data["patient"] == {
        "id": "P-1001",
        "name": "Ingrid Haugen",
        "birth_date": "1971-03-14",
        "sex": "female",
    }
    assert q.data["questionnaire_version"] == "1.0"
    assert q.completed_on is not None and q.completed_on.isoformat() == "2025-11-20"  # authored
    assert q.language == "nb"
    assert q.data["drinking"] == {
        "dsm5_aud_criteria": 7,
        "audit_score": 27,
        "heavy_drinking_days_last_30": 18,
        "drinks_per_drinking_day": 9.5,
        "treatment_goal": "reduce",
    }
    assert q.get("drinking_motive.type") == "reward"
    assert q.get("smoking.cigarettes_per_day") == 15
    assert q.get("safety.hepatic_impairment") == "none"
    assert q.get("safety.current_opioid_use") is False
    assert len(q.data["safety"]) == 11


def test_fhir_and_native_give_the_same_questionnaire_for_the_same_answers() -> None:
    native = json.loads((REPO_ROOT / "demo/questionnaires/demo-carrier.json").read_text("utf-8"))
    native["drinking"]["drinks_per_drinking_day"] = 9.5
    assert load_questionnaire(FIXTURE).data == parse_questionnaire(native, "n.json").data


def test_completed_on_item_wins_over_authored_and_datetime_answers_give_the_date() -> None:
    data = fixture()
    data["item"].append(
        {"linkId": "completed_on", "answer": [{"valueDateTime": "2025-11-01T23:30:00Z"}]}
    )
    assert parse_questionnaire(data, "qr.json").get("completed_on") == "2025-11-01"


def test_no_authored_and_no_completed_on_means_unknown() -> None:
    data = fixture()
    del data["authored"]
    q = parse_questionnaire(data, "qr.json")
    assert q.completed_on is None and q.age_years() is None


def test_unanswered_items_are_unknown() -> None:
    data = fixture()
    item(data, "sweet_liking").pop("answer")
    item(data, "drinking.audit_score")["answer"] = []
    q = parse_questionnaire(data, "qr.json")
    assert q.get("sweet_liking") is None
    assert q.get("drinking.audit_score") is None


def test_valuequantity_is_accepted_for_numbers() -> None:
    data = fixture()
    item(data, "drinking.drinks_per_drinking_day")["answer"] = [
        {"valueQuantity": {"value": 6, "unit": "unit"}}
    ]
    assert parse_questionnaire(data, "qr.json").get("drinking.drinks_per_drinking_day") == 6


def _mutate(data: dict[str, Any], link_id: str, answer: Any) -> dict[str, Any]:
    out = copy.deepcopy(data)
    item(out, link_id)["answer"] = answer
    return out


BAD = [
    (
        "out of range",
        lambda d: _mutate(d, "drinking.audit_score", [{"valueInteger": 41}]),
        "qr.json: $.item[5].item[1].answer[0] (linkId 'drinking.audit_score'): 41 is above "
        "the maximum (allowed: integer 0-40, or null for unknown)",
    ),
    (
        "wrong value type",
        lambda d: _mutate(d, "safety.acute_hepatitis", [{"valueString": "no"}]),
        "qr.json: $.item[10].item[5].answer[0] (linkId 'safety.acute_hepatitis'): \"no\" is a "
        "string, wrong type (allowed: true or false, or null for unknown)",
    ),
    (
        "coding not in the value set",
        lambda d: _mutate(d, "smoking.status", [{"valueCoding": {"code": "daily"}}]),
        "qr.json: $.item[9].item[0].answer[0] (linkId 'smoking.status'): \"daily\" is not "
        'allowed (allowed: "current", "former", "never", or null for unknown)',
    ),
    (
        "two answers",
        lambda d: _mutate(d, "sweet_liking", [{"valueCoding": {"code": "liker"}}] * 2),
        "qr.json: $.item[8].answer (linkId 'sweet_liking'): exactly one answer allowed",
    ),
    (
        "unsupported value type",
        lambda d: _mutate(d, "patient.name", [{"valueAttachment": {"title": "x"}}]),
        "qr.json: $.item[2].item[1].answer[0].valueAttachment (linkId 'patient.name'): value "
        "type not supported "
        "(allowed: valueBoolean, valueInteger, valueDecimal, valueString, valueDate, "
        "valueDateTime, valueCoding, valueQuantity)",
    ),
    (
        "coding without code",
        lambda d: _mutate(d, "language", [{"valueCoding": {"display": "Norsk"}}]),
        "qr.json: $.item[4].answer[0].valueCoding (linkId 'language'): needs a 'code' string",
    ),
    (
        "bad dateTime",
        lambda d: _mutate(d, "patient.birth_date", [{"valueDateTime": "14.03.1971"}]),
        "qr.json: $.item[2].item[2].answer[0].valueDateTime (linkId 'patient.birth_date'): "
        '"14.03.1971" is not a FHIR dateTime',
    ),
    (
        "missing sample",
        lambda d: {**d, "item": [i for i in d["item"] if i["linkId"] != "sample_id"]},
        "qr.json: $.item (linkId 'sample_id'): required but missing (allowed: non-empty text)",
    ),
    (
        "answer not an object",
        lambda d: _mutate(d, "sample_id", ["NA18564"]),
        "qr.json: $.item[1].answer[0] (linkId 'sample_id'): an answer must be an object",
    ),
]


@pytest.mark.parametrize(("name", "mutate", "expected"), BAD, ids=[b[0] for b in BAD])
def test_bad_answers_point_at_the_fhir_item(name: str, mutate: Any, expected: str) -> None:
    assert problems_of(mutate(fixture())) == expected


def test_unknown_link_id_is_an_error_with_a_suggestion() -> None:
    data = fixture()
    item(data, "drinking.audit_score")["linkId"] = "drinking.audit"
    assert problems_of(data) == (
        "qr.json: $.item[5].item[1].linkId: unknown linkId 'drinking.audit' (did you mean "
        "'drinking.audit_score'? allowed: see docs/questionnaire.md, e.g. drinking.audit_score)"
    )


def test_duplicate_link_id() -> None:
    data = fixture()
    data["item"].append({"linkId": "sample_id", "answer": [{"valueString": "NA18564"}]})
    assert problems_of(data) == (
        "qr.json: $.item[11].linkId: linkId 'sample_id' appears twice (also at $.item[1].answer[0])"
    )


def test_mapping_and_schema_problems_are_reported_together() -> None:
    data = fixture()
    item(data, "drinking.audit_score")["answer"] = [{"valueInteger": 99}]
    item(data, "drinking.dsm5_aud_criteria")["linkId"] = "dsm5"
    data["item"].append({"text": "no linkId"})
    message = problems_of(data)
    assert message.startswith("qr.json: 3 problems: ")
    assert "$.item[11]: an item needs a 'linkId' string" in message
    assert "$.item[5].item[0].linkId: unknown linkId 'dsm5'" in message
    assert "(linkId 'drinking.audit_score'): 99 is above the maximum" in message


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"resourceType": "Patient"},
            'qr.json: $.resourceType: "Patient" is not supported (allowed: '
            '"QuestionnaireResponse")',
        ),
        (
            {"status": "entered-in-error"},
            'qr.json: $.status: the response is marked "entered-in-error" (allowed: completed, '
            "amended, in-progress)",
        ),
        ({"item": {"linkId": "x"}}, "qr.json: $.item: must be a list of items"),
    ],
)
def test_resource_level_problems(change: dict[str, Any], expected: str) -> None:
    assert problems_of({**fixture(), **change}) == expected


def test_every_link_id_is_documented() -> None:
    text = DOCS.read_text("utf-8")
    documented = set(re.findall(r"^\| `([a-z0-9_.]+)` \|", text, flags=re.MULTILINE))
    assert documented == set(link_ids())


def test_cli_validates_fhir(tmp_path: Path) -> None:
    result = run_pgx("validate-questionnaire", FIXTURE)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{FIXTURE}: valid (FHIR QuestionnaireResponse)\n"
    bad = tmp_path / "qr.json"
    bad.write_text(json.dumps(_mutate(fixture(), "drinking.audit_score", [{"valueInteger": -1}])))
    assert_clean_error(
        run_pgx("validate-questionnaire", bad),
        f"{bad}: $.item[5].item[1].answer[0] (linkId 'drinking.audit_score'): -1 is below",
    )


def test_shipped_fhir_questionnaire_definition_is_current_and_valid() -> None:
    from fhir.resources.R4B.questionnaire import Questionnaire

    definition = fhir_questionnaire_definition()
    assert FHIR_DEFINITION_PATH.read_text("utf-8") == canonical_json(definition)
    Questionnaire.model_validate(definition)

    def leaves(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for entry in items:
            if entry["type"] == "group":
                out.update(leaves(entry["item"]))
            else:
                out[entry["linkId"]] = entry
        return out

    items = leaves(definition["item"])
    assert list(items) == list(link_ids())
    assert {k for k, v in items.items() if v.get("required")} == {
        "sample_id",
        "patient.id",
        "patient.name",
    }
    assert items["drinking.audit_score"]["type"] == "integer"
    assert items["drinking.drinks_per_drinking_day"]["type"] == "decimal"
    assert items["safety.acute_hepatitis"]["type"] == "boolean"
    assert items["patient.birth_date"]["type"] == "date"
    assert [o["valueCoding"]["code"] for o in items["smoking.status"]["answerOption"]] == [
        "current",
        "former",
        "never",
    ]


# ---- every nesting FHIR R4 allows (QuestionnaireResponse.item.item, .item.answer.item) -----


def _without(data: dict[str, Any], link_id: str) -> dict[str, Any]:
    """Remove the item ``link_id`` from wherever it is and return it."""
    found = item(data, link_id)

    def walk(items: list[dict[str, Any]]) -> None:
        if found in items:
            items.remove(found)
        for entry in items:
            walk(entry.get("item", []))

    walk(data["item"])
    return found


def _nest_under_answer(data: dict[str, Any]) -> None:
    oat = _without(data, "safety.opioid_agonist_treatment")
    oat["answer"] = [{"valueBoolean": True}]
    item(data, "safety.current_opioid_use")["answer"][0]["item"] = [oat]


def _nest_under_question(data: dict[str, Any]) -> None:
    oat = _without(data, "safety.opioid_agonist_treatment")
    oat["answer"] = [{"valueBoolean": True}]
    item(data, "safety.current_opioid_use")["item"] = [oat]


def _group_in_group(data: dict[str, Any]) -> None:
    oat = _without(data, "safety.opioid_agonist_treatment")
    oat["answer"] = [{"valueBoolean": True}]
    item(data, "safety")["item"].append(
        {"linkId": "opioids", "item": [{"linkId": "opioids.agonist", "item": [oat]}]}
    )


def _value_less_answer_with_items(data: dict[str, Any]) -> None:
    oat = _without(data, "safety.opioid_agonist_treatment")
    oat["answer"] = [{"valueBoolean": True}]
    item(data, "safety")["item"].append({"linkId": "opioid-block", "answer": [{"item": [oat]}]})


def _top_level(data: dict[str, Any]) -> None:
    oat = _without(data, "safety.opioid_agonist_treatment")
    oat["answer"] = [{"valueBoolean": True}]
    data["item"].append(oat)


@pytest.mark.parametrize(
    "nest",
    [
        _nest_under_answer,
        _nest_under_question,
        _group_in_group,
        _value_less_answer_with_items,
        _top_level,
    ],
)
def test_a_nested_safety_answer_is_read(nest: Any, tmp_path: Path) -> None:
    data = fixture()
    nest(data)
    q = parse_questionnaire(data, "qr.json")
    assert q.get("safety.opioid_agonist_treatment") is True
    path = tmp_path / "qr.json"
    path.write_text(json.dumps(data), "utf-8")
    out = tmp_path / "a.json"
    run_pgx(
        "assess", "--call", REPO_ROOT / "tests/data/assess/call_AG.json", "--questionnaire", path,
        "-o", out, "--allow-sample-mismatch", check=True,
    )  # fmt: skip
    assessment = json.loads(out.read_text("utf-8"))
    assert assessment["overall"]["category"] == "contraindicated"
    assert "opioid_agonist_treatment" in json.dumps(assessment["contraindications"])


def test_the_same_link_id_at_two_nesting_levels_with_conflicting_answers() -> None:
    data = fixture()
    oat = copy.deepcopy(item(data, "safety.opioid_agonist_treatment"))  # answered false
    oat["answer"] = [{"valueBoolean": True}]
    item(data, "safety.current_opioid_use")["answer"][0]["item"] = [oat]
    assert problems_of(data) == (
        "qr.json: $.item[10].item[1].linkId: linkId 'safety.opioid_agonist_treatment' appears "
        "twice (also at $.item[10].item[0].answer[0].item[0].answer[0])"
    )


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            lambda d: item(d, "safety.acute_hepatitis").update(answers=[{"valueBoolean": True}]),
            "$.item[10].item[5].answers (linkId 'safety.acute_hepatitis'): unknown key 'answers' "
            "(allowed: answer, definition, "
            "extension, id, item, linkId, text)",
        ),
        (
            lambda d: item(d, "safety.acute_hepatitis").update(valueBoolean=True),
            "$.item[10].item[5].valueBoolean (linkId 'safety.acute_hepatitis'): unknown key "
            "'valueBoolean'",
        ),
        (
            lambda d: item(d, "safety.acute_hepatitis").update(
                modifierExtension=[{"url": "https://x.invalid/negated", "valueBoolean": True}]
            ),
            "$.item[10].item[5].modifierExtension (linkId 'safety.acute_hepatitis'): "
            "modifierExtension is not read",
        ),
        (
            lambda d: item(d, "safety.acute_hepatitis")["answer"][0].update(Item=[]),
            "$.item[10].item[5].answer[0].Item (linkId 'safety.acute_hepatitis'): "
            "unknown key 'Item' (allowed: extension, id, item)",
        ),
        (
            lambda d: d.update(implicitRules="https://x.invalid/rules"),
            "$.implicitRules: implicitRules is not read",
        ),
        (
            lambda d: d.update(items=[]),
            "$.items: unknown key 'items'",
        ),
        (
            lambda d: d.update(contained=[{"resourceType": "QuestionnaireResponse", "item": []}]),
            "$.contained[0]: answers in a contained QuestionnaireResponse are not read",
        ),
        (
            lambda d: item(d, "safety").update(
                linkId="safety-group", answer=[{"valueBoolean": True}]
            ),
            "$.item[10].linkId: unknown linkId 'safety-group'",
        ),
    ],
)
def test_an_answer_this_reader_would_not_read_is_refused(mutate: Any, expected: str) -> None:
    data = fixture()
    mutate(data)
    assert expected in problems_of(data)


def test_sample_mismatch_names_the_fhir_item(tmp_path: Path) -> None:
    """A FHIR QuestionnaireResponse has no `$.sample_id`: the swap message names the
    file and the item (linkId), as the parser's messages do."""
    vcf = REPO_ROOT / "demo" / "vcfs" / "NA12878.OPRM1.g.vcf.gz"
    run_pgx("call", vcf, "-o", tmp_path / "call.json", check=True)
    result = run_pgx(
        "assess", "--call", tmp_path / "call.json", "--questionnaire", FIXTURE,
        "-o", tmp_path / "a.json",
    )  # fmt: skip
    assert_clean_error(
        result,
        f"{FIXTURE}: $.item (linkId 'sample_id'): 'NA18564' does not match the genotype "
        "call's sample 'NA12878'",
    )
    assert not (tmp_path / "a.json").exists()
